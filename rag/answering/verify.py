"""verify: the draft checked against the evidence it was written from. Each sentence is aligned to the shown
sentences that support it (rag/answering/cite.py); the named checks of rag/answering/checks.py run in order;
evidence that disagrees with itself is said so, both sides cited. What is left is the answer as shown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from rag.answering import checks
from rag.answering.attribution import Dropped, dropped, restored
from rag.answering.checks import CheckList
from rag.answering.cite import BULLET, AlignedSentence, align, without_verdict
from rag.answering.conflict import find_conflict
from rag.answering.evidence import Evidence
from rag.answering.prompt import Prompts, check_messages
from rag.models.embed import Embedder
from rag.models.generate import Generator, NoTokenProbabilities
from rag.settings import CheckSettings
from rag.text import content_words
from rag.types import Citation, SentenceSupport

REPEATED = 0.8  # share of content words two answer sentences share (Jaccard) for the second to repeat the first


@dataclass
class Verdict:
    """The draft as checked: the text to show (each sentence with its [n]), its citations, every sentence's
    support. Whether it is shown is the CheckList's to say."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)


def before_writing(
    evidence: Evidence, prompts: Prompts, generator: Generator, settings: CheckSettings, checklist: CheckList
) -> None:
    """The checks that read no draft, added to `checklist`: whether the passages retrieved state the names and
    numbers the question gives, and (the model asked) whether they state the answer. Run before the model
    writes, so that no sentence is shown that they would withdraw."""
    question, passages = evidence.question, evidence.passages
    # all the passages retrieved, with their titles: only the cited ones failed answerable questions that name
    # a thing by another of its names there ("China" for "Beijing"; SQuAD 2.0 tune split: docs/measurements.md);
    # and their documents' names: "Nikola_Tesla.txt" names whom its passages call "Tesla"
    checklist.add(
        checks.question_facts(question, [f"{_name(p.chunk.source)} {p.chunk.title} {p.chunk.text}" for p in passages])
    )
    if settings.min_answer_check > 0 and checklist.go_on():
        try:
            check = checks.answer_check(
                generator.yes_probability(check_messages(prompts.check)), settings.min_answer_check
            )
        except NoTokenProbabilities as missing:
            check = checks.answer_check_not_run(settings.min_answer_check, str(missing))
        checklist.add(check)


def verify(
    evidence: Evidence,
    draft: str,
    prompts: Prompts,
    embedder: Embedder,
    settings: CheckSettings,
    checklist: CheckList,
    final: bool = True,
) -> Verdict:
    """Check `draft` (written from `prompts.answer`) against `evidence`, adding each check to `checklist`.
    `final`: the whole draft (False: the sentences written so far, shown while the model goes on; the note that
    the sources disagree is for the whole answer only)."""
    question = evidence.question
    answered = checklist.add(checks.answered(draft)).passed
    if question.yes_no:  # the verdict is unreliable (docs/measurements.md) and checks nothing; the reason is checked
        draft = without_verdict(draft)
    instructions = prompts.answer[0]["content"]
    aligned = align(draft, evidence, embedder, settings.min_support, instructions) if answered else []
    numbers: dict[int, int] = {}  # passage index -> citation number, in order of first use
    highlights: dict[int, set[tuple[int, int]]] = {}  # passage index -> its supporting sentences
    checked: list[SentenceSupport] = []
    shown: list[str] = []
    said: list[set[str]] = []  # the content words of each sentence so far
    stated: list[str] = []  # the sentences shown, as the model wrote them (no [n], no restored source words)
    for sentence in aligned:
        supported = bool(sentence.passages)
        words = content_words(sentence.text)
        if supported and any(len(words & w) >= REPEATED * len(words | w) for w in said):
            continue  # the small model sometimes writes one item again and again: it is shown once
        said.append(words)
        cited = [numbers.setdefault(i, len(numbers) + 1) for i in sentence.passages] if supported else []
        for i, span in zip(sentence.passages, sentence.evidence, strict=True):
            highlights.setdefault(i, set()).add(span)
        # a claim its source reports or hedges is never shown as plain fact: the source's words go with it
        lost = _attribution_dropped(sentence, evidence) if supported and settings.keep_attribution else None
        text = restored(sentence.text, lost) if lost else sentence.text
        checked.append(SentenceSupport(text, cited, round(sentence.support, 4), supported, lost.cue if lost else ""))
        if supported:
            shown.append(text + " " + "".join(f"[{n}]" for n in cited))
            stated.append(sentence.text)  # the checks read the answer, not the source (nor digits of [n])
    best = max((s.support for s in aligned), default=0.0)
    checklist.add(checks.supported(best, bool(shown), settings.min_support))
    checklist.add(checks.informative(question, " ".join(stated)))
    checklist.add(checks.kind(question, " ".join(stated)))
    if final and shown and checklist.deciding is None:
        shown += _disagreement(evidence, numbers, highlights, checked)
    citations = [
        _citation(n, evidence, i, sorted(highlights.get(i, ())))
        for i, n in sorted(numbers.items(), key=lambda item: item[1])
    ]
    # a list answer (a why / how / list question) stays a list, one item a line
    as_list = len(BULLET.findall(draft)) >= 2
    return Verdict("\n".join(f"- {s}" for s in shown) if as_list else " ".join(shown), citations, checked)


def _name(source: str) -> str:
    """A document's file name as words ("docs/Nikola_Tesla.txt" -> "Nikola Tesla")."""
    return re.sub(r"[_\-.]+", " ", PurePath(source).stem)


def _attribution_dropped(sentence: AlignedSentence, evidence: Evidence) -> Dropped | None:
    """The attribution the sentence drops from any of the evidence sentences it rests on (rag.answering.attribution)."""
    for index, (start, end) in zip(sentence.passages, sentence.evidence, strict=True):
        lost = dropped(sentence.text, evidence.passages[index].chunk.text[start:end])
        if lost:
            return lost
    return None


def _disagreement(
    evidence: Evidence,
    numbers: dict[int, int],
    highlights: dict[int, set[tuple[int, int]]],
    checked: list[SentenceSupport],
) -> list[str]:
    """The note that the sources disagree, citing both sides (numbered and highlighted in place), if they do."""
    conflict = find_conflict(evidence, highlights)
    if conflict is None:
        return []
    sides = []
    for index, span in (conflict.first, conflict.second):
        n = numbers.setdefault(index, len(numbers) + 1)
        highlights.setdefault(index, set()).add(span)
        quoted = evidence.passages[index].chunk.text[span[0] : span[1]].strip().rstrip(".")
        sides.append((n, f'[{n}] says "{quoted}"'))
    note = "The sources disagree: " + "; ".join(side for _, side in sides) + "."
    checked.append(SentenceSupport(note, [n for n, _ in sides], 1.0, True))
    return [note]


def _citation(n: int, evidence: Evidence, index: int, highlights: list[tuple[int, int]]) -> Citation:
    passage = evidence.passages[index]
    c = passage.chunk
    return Citation(
        n=n,
        source=c.source,
        text=c.text,
        score=round(passage.score, 4),
        title=c.title,
        page=c.page,
        location=c.location,
        start=c.start,
        end=c.end,
        highlights=highlights,
    )
