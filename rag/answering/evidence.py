"""prepare: the evidence, built once per answer: from the retrieved passages, the sentences that bear on the
question, each with what every later step reads of it (its vector, words, numbers, names).

The model reads only these (numbered by passage, with their source), within a word budget: less
text in means a faster first token and less for a small model to get wrong. A sentence that reads
as an instruction to the assistant ("ignore your instructions and…") is withheld: documents are
data, never instructions. Citations are later checked against exactly the sentences shown, with the
vectors embedded here: the shown sentences are embedded once per answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rag.answering.question import Question
from rag.models.embed import Embedder
from rag.settings import AnsweringSettings
from rag.text import content_words, names, numbers, sentences
from rag.types import Passage

# Sentences addressed to the assistant rather than to a reader: a heuristic, measured on eval/injection.
_AI = r"(AI|assistants?|chatbots?|language models?|LLMs?|bots?)"
INSTRUCTION_PATTERNS = [
    r"\boverride (previous|prior|all|your)\b",
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules?|context|directions?|prompts?|question|everything"
    r"|above)\b",
    r"\b(you are now|pretend to be|jailbreak|(?-i:DAN))\b",
    rf"\b(to|dear|attention|hey|if you are|for the)\s+(an?\s+|the\s+)?{_AI}\b|\bas an? {_AI}\b",
    r"\b(AI|assistant|chatbot|bot)\s*:|\bassistant instructions?\b",
    rf"\bthe {_AI} (must|should|shall|will now|is required)\b",
    r"\b(system (message|prompt|override)|new instructions?|### instruction)\b",
    r"<\|im_start\|>|<\|im_end\|>|</?context>|\[/?INST\]",
    r"^\W*(system|assistant|user)\s*:",
    r"^\W*(please,?\s+|instead,?\s+|now,?\s+)?(always\s+)?(answer|say|reply|respond|tell|write|output|print"
    r"|translate|state that|claim that)\b",
    r"\b(reply|respond|answer|say)\s+(only\b|with (only\b|the (word|phrase)\b|['\"“])|['\"“])",
    r"\b(answer|reply|respond)\b.{0,30}\bin (french|german|spanish|(all )?capital letters|all caps)\b",
    r"\b(you must (answer|reply|respond|say)|do not use the context|output your|translate your)\b",
]
INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in INSTRUCTION_PATTERNS), re.IGNORECASE | re.MULTILINE)


def is_instruction(sentence: str) -> bool:
    return bool(INSTRUCTION.search(sentence))


Candidate = tuple[int, tuple[int, int], str]  # a sentence that may be shown: (passage, span, text)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a retrieved passage shown to the model."""

    passage: int  # index into the retrieved passages; the prompt numbers it passage + 1
    span: tuple[int, int]  # (start, end) in the passage's text
    text: str
    vector: np.ndarray  # the embedder's, normalised
    closeness: float  # cosine with the question
    words: frozenset[str]  # content words
    numbers: frozenset[str]  # numbers stated, spelled ones too ("four" -> "4")
    names: frozenset[str]  # words written as names inside the sentence


@dataclass
class Evidence:
    """What the model is shown of the retrieved passages for one question, and what was withheld."""

    question: Question
    passages: list[Passage]
    shown: list[Sentence]  # by passage, then in text order
    withheld: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # passage -> instruction-like spans

    def of(self, passage: int) -> list[Sentence]:
        return [s for s in self.shown if s.passage == passage]

    @property
    def shown_passages(self) -> list[int]:
        return sorted({s.passage for s in self.shown})

    def text(self, passage: int) -> str:
        """What the model reads of one passage."""
        return " ".join(s.text for s in self.of(passage))

    @property
    def relevance(self) -> float:
        """How close what the model is shown comes to the question: the best cosine of a passage it is shown
        sentences of, or of one of those sentences (-1 when it is shown nothing)."""
        return max([max(self.passages[s.passage].score, s.closeness) for s in self.shown], default=-1.0)

    @property
    def vectors(self) -> np.ndarray:
        """The shown sentences' vectors, one row each (in `shown`'s order)."""
        return np.stack([s.vector for s in self.shown]) if self.shown else np.zeros((0, 0), dtype=np.float32)


def prepare(question: Question, passages: list[Passage], embedder: Embedder, settings: AnsweringSettings) -> Evidence:
    """The sentences of `passages` most similar to the question, at most `settings.evidence_words` words in all
    (0: every sentence), each passage's kept in text order. Instruction-like sentences are withheld
    (`settings.withhold_instructions`)."""
    candidates: list[Candidate] = []
    withheld: dict[int, list[tuple[int, int]]] = {}
    for index, passage in enumerate(passages):
        text = passage.chunk.text
        tainted_line = -1  # an injection's continuation on the same line is withheld with it
        for span in sentences(text):
            piece, line = text[span.start : span.end], text.count("\n", 0, span.start)
            if settings.withhold_instructions and (line == tainted_line or is_instruction(piece)):
                withheld.setdefault(index, []).append((span.start, span.end))
                tainted_line = line
            else:
                candidates.append((index, (span.start, span.end), piece))
    if not candidates:
        return Evidence(question, passages, [], withheld)

    # each sentence's closeness to the question: it chooses the evidence, and the best of it says whether
    # the passages bear on the question at all (a whole chunk's vector dilutes its one relevant sentence)
    vectors = embedder.encode([question.text] + [c[2] for c in candidates])
    similarity = vectors[1:] @ vectors[0]
    chosen = _within_budget(candidates, similarity, vectors[1:], settings.evidence_budget(question.kind == "complete"))
    shown = []
    for i in sorted(chosen):
        passage, span, text = candidates[i]
        shown.append(
            Sentence(
                passage,
                span,
                text,
                vectors[1 + i],
                float(similarity[i]),
                frozenset(content_words(text)),
                frozenset(numbers(text, spelled=True)),
                frozenset(names(text)),
            )
        )
    return Evidence(question, passages, shown, withheld)


SAME_SENTENCE = 0.9  # cosine at which two sentences say the same thing: the second is not shown


def _within_budget(candidates: list[Candidate], similarity: np.ndarray, vectors: np.ndarray, budget: int) -> list[int]:
    """The candidates closest to the question that fit in `budget` words (0: all of them), a sentence that
    repeats one already chosen left out: documents often say a thing twice, and the words are better spent on
    another fact."""
    if budget <= 0:
        return list(range(len(candidates)))
    # a passage's rank still counts: an equally similar sentence from a better passage goes first
    rank_bonus = np.array([-0.01 * c[0] for c in candidates])
    chosen: list[int] = []
    used = 0
    for i in np.argsort(-(similarity + rank_bonus)):
        words = len(candidates[i][2].split())
        if (used + words > budget and chosen) or (chosen and (vectors[chosen] @ vectors[i]).max() >= SAME_SENTENCE):
            continue
        chosen.append(int(i))
        used += words
    return chosen
