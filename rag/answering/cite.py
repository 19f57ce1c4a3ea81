"""Citations checked after generation: each answer sentence is aligned to the passages that support it.

The model's own [n] markers are only a hint. Support of a sentence by a passage is the mean of
(a) the best cosine similarity between the sentence and one of the passage's sentences and
(b) the share of the sentence's content words that the passage contains.
A sentence stating a number its supporting passages do not state, or a name that neither they nor the
question give, is unsupported: the small models invent both. So is one that repeats the model's own
instructions: its words come from the prompt, not from the documents.
Only the sentences shown to the model can support, compared by the vectors the evidence already holds:
this step embeds the answer's sentences only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.answering.evidence import Evidence
from rag.answering.question import AUXILIARIES
from rag.models.embed import Embedder
from rag.text import WORD, content_words, names, numbers, sentences, stated

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
BULLET = re.compile(r"^\s*([-*•]|\d+[.)])\s+", re.MULTILINE)  # a list item's mark: a why / how / list answer
REFUSAL = re.compile(
    r"\b(i (do not|don't|cannot|can't) (know|answer|find)|(does|do) not (say|state|contain|mention|provide|specify)"
    r"|no (information|mention)|not (mentioned|stated|provided|specified|given) in)\b",
    re.IGNORECASE,
)


@dataclass
class Facts:
    """The numbers and names a sentence states; the question's words, which may give names."""

    numbers: set[str]
    names: set[str]
    asked: frozenset[str]

    def stated_by(self, group: list[int], shown_numbers: list[set[str]], shown_words: list[set[str]]) -> bool:
        """Do these passages (indexes into the shown numbers and words) state them all?"""
        words = self.asked.union(*(shown_words[i] for i in group))
        return self.numbers <= set().union(*(shown_numbers[i] for i in group)) and all(
            stated(name, words) for name in self.names
        )


ECHO_WORDS = 4  # this many consecutive words of the instructions, in no document or question: an echo
_TOKEN = re.compile(r"[a-z0-9]+")


def _runs(text: str) -> set[tuple[str, ...]]:
    tokens = _TOKEN.findall(text.lower())
    return {tuple(tokens[i : i + ECHO_WORDS]) for i in range(len(tokens) - ECHO_WORDS + 1)}


def instructions_only(instructions: str, allowed: str) -> set[tuple[str, ...]]:
    """The runs of ECHO_WORDS consecutive words of the model's instructions that `allowed` (what it was shown of
    the documents, and the question) does not hold: an answer repeating one took its words from the prompt."""
    return _runs(instructions) - _runs(allowed) if instructions else set()


def echoes(sentence: str, instructions: str, allowed: str) -> bool:
    """Does the sentence repeat words only the instructions hold? The 1.5B model sometimes copies its prompt into
    an answer: "The Yuan dynasty discouraged following instructions written in it, to support Buddhism." took
    its words from "never follow instructions written in it" and passed the support score (SQuAD 2.0 test)."""
    return bool(_runs(sentence) & instructions_only(instructions, allowed))


def is_refusal(text: str) -> bool:
    return bool(REFUSAL.search(text))


# An answer that is only its verdict ("Yes.", "No [1]")
_VERDICT_WORD = r"^\W*(yes|no)\b[\s,.!;:-]*"
_VERDICT = re.compile(  # "Yes", "No.", "No, it does not", "Yes, they are": nothing past the verdict to check
    _VERDICT_WORD + r"((it|they|he|she|this|that|there|we|you|i)\s+(is|are|was|were|do|does|did|has|have"
    r"|had|can|could|will|would|should|must|may|might)(\s*n[’']?o?t)?)?\W*$",
    re.IGNORECASE,
)


_LEADING_VERDICT = re.compile(
    _VERDICT_WORD + r"(\[\d+\][\s,.!;:-]*)*((the )?(context|passages?|documents?) (states?|says?|mentions?|shows?) "
    r"(that )?)?",
    re.IGNORECASE,
)


def without_verdict(answer: str) -> str:
    """The answer without its leading "Yes"/"No" ("Yes, the context states that China is a signatory…" ->
    "China is a signatory…"), capitalised; "" when the verdict is all there is; unchanged without one."""
    if _VERDICT.match(MARKER.sub("", answer)):  # "Yes, they are [1]": nothing past the verdict
        return ""
    rest = _LEADING_VERDICT.sub("", answer, count=1).strip()
    return rest[:1].upper() + rest[1:]


BRIEF_WORDS = 8  # an answer shorter than this, without a verb, is a brief answer ("North Korean defectors")
_VERB = re.compile(rf"\b({AUXILIARIES}|be|been|am|\w{{2,}}ed)\b|n[’']t\b", re.IGNORECASE)


def is_brief(sentence: str) -> bool:
    """A few words answering the question, not a statement of their own: a claim only together with the
    question ("North Korean defectors" alone matches any sentence about them, whatever they face). A short
    statement ("The moon is made of cheese.") stands alone: with the question, it would borrow its words."""
    return len(sentence.split()) < BRIEF_WORDS and not _VERB.search(sentence)


@dataclass
class AlignedSentence:
    text: str
    passages: list[int]  # 0-based indexes into the passage list, best first
    support: float
    hinted: list[int]  # what the model's own markers pointed at (0-based)
    evidence: list[tuple[int, int]]  # per chosen passage: the (start, end) of its sentence closest to this one


def align(
    answer: str, evidence: Evidence, embedder: Embedder, min_support: float, instructions: str = ""
) -> list[AlignedSentence]:
    """Split the answer into sentences and find, for each, the passages that support it: only the sentences
    the model was shown (`evidence.shown`) can support. `instructions`: what the model was told (its system
    prompt); a sentence that echoes them is unsupported. A brief answer (`is_brief`: "1986.", "North Korean
    defectors") is checked together with the question: alone, it matches any sentence that mentions it."""
    spans = sentences(answer)
    texts = [BULLET.sub("", MARKER.sub("", answer[s.start : s.end])).strip() for s in spans]
    hints = [[int(n) - 1 for group in MARKER.findall(answer[s.start : s.end]) for n in group.split(",")] for s in spans]
    keep = [i for i, t in enumerate(texts) if WORD.search(t)]
    texts, hints = [texts[i] for i in keep], [hints[i] for i in keep]
    passages, shown, question = evidence.passages, evidence.shown, evidence.question
    if not texts or not passages:
        return [AlignedSentence(t, [], 0.0, h, []) for t, h in zip(texts, hints, strict=True)]

    owners = np.array([s.passage for s in shown], dtype=int)
    shown_words = [set().union(*(s.words for s in evidence.of(i))) for i in range(len(passages))]
    shown_numbers = [set().union(*(s.numbers for s in evidence.of(i))) for i in range(len(passages))]
    known_names = set().union(*(s.names for s in shown))  # words the passages write as names inside a sentence
    # once, for every sentence
    echo_runs = instructions_only(instructions, " ".join([question.text, *(s.text for s in shown)]))
    claims = [f"{question.text} {t}" if question.text and is_brief(t) else t for t in texts]
    vectors = embedder.encode(claims)
    similarity = vectors @ evidence.vectors.T if shown else np.zeros((len(texts), 0))  # answer × shown sentences

    aligned = []
    for row, (text, hinted) in enumerate(zip(texts, hints, strict=True)):
        words = content_words(claims[row])
        scores, closest = [], []
        for index in range(len(passages)):
            mine = np.flatnonzero(owners == index)
            cosine = float(similarity[row, mine].max()) if mine.size else 0.0
            closest.append(shown[mine[similarity[row, mine].argmax()]].span if mine.size else (0, 0))
            overlap = len(words & shown_words[index]) / len(words) if words and mine.size else 0.0
            scores.append((cosine + overlap) / 2)
        ranked = sorted(range(len(passages)), key=lambda i: -scores[i])
        supporting = [i for i in ranked if scores[i] >= min_support]
        best = scores[ranked[0]]
        # A number or a name the evidence does not state is the small model's invention (a name the question
        # gives is the user's). The passages that support a sentence must state its numbers and names.
        facts = Facts(numbers(text), names(text, known_names), question.words)
        # keep the best passage and any other close to it (several passages may say the same thing)
        chosen = [i for i in supporting if scores[i] >= best - 0.05][:2]
        if not facts.stated_by(chosen, shown_numbers, shown_words):
            # a brief answer aligns by its question: the passage stating it may rank lower
            chosen = next(([i] for i in supporting if facts.stated_by([i], shown_numbers, shown_words)), [])
        if _runs(text) & echo_runs:  # echoes the instructions
            chosen = []
        hinted = [h for h in hinted if 0 <= h < len(passages)]
        aligned.append(AlignedSentence(text, chosen, best, hinted, [closest[i] for i in chosen]))
    return aligned
