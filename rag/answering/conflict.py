"""Conflicting evidence: two sources stating the same thing with different numbers, or one negating it.

A small model picks one side silently, so the system looks for the disagreement itself: a pair of
shown sentences from different sources that are close in meaning (the same claim) but differ in the
numbers they state or in negation. The answer then says so and cites both.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answering.evidence import Evidence
from rag.models.embed import Embedder
from rag.text import disagree
from rag.types import Passage

SAME_CLAIM = 0.7  # cosine of two sentences taken to state the same thing (MiniLM)
ON_TOPIC = 0.3  # cosine of a sentence and the question, for it to matter to the answer


@dataclass
class Conflict:
    first: tuple[int, tuple[int, int]]  # (passage index, sentence span)
    second: tuple[int, tuple[int, int]]
    similarity: float


def find_conflict(
    question: str,
    passages: list[Passage],
    evidence: list[Evidence],
    embedder: Embedder,
    anchors: dict[int, set[tuple[int, int]]],
) -> Conflict | None:
    """The closest pair of on-topic shown sentences from different sources that disagree, one of them
    a sentence the answer rests on (`anchors`: passage index -> supporting sentence spans), if any."""
    items = [(e.passage, span) for e in evidence for span in e.spans]
    if len({passages[p].chunk.source for p, _ in items}) < 2:
        return None
    texts = [passages[p].chunk.text[a:b] for p, (a, b) in items]
    vectors = embedder.encode([question, *texts])
    on_topic = vectors[1:] @ vectors[0]
    similarity = vectors[1:] @ vectors[1:].T
    best: Conflict | None = None
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if passages[items[i][0]].chunk.source == passages[items[j][0]].chunk.source:
                continue
            if not any(span in anchors.get(index, ()) for index, span in (items[i], items[j])):
                continue
            if min(on_topic[i], on_topic[j]) < ON_TOPIC or similarity[i, j] < SAME_CLAIM:
                continue
            if disagree(texts[i], texts[j]) and (best is None or similarity[i, j] > best.similarity):
                best = Conflict(items[i], items[j], float(similarity[i, j]))
    return best
