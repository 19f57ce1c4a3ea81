"""Conflicting evidence: two sources stating the same thing with different numbers, or one negating it.

A small model picks one side silently, so the system looks for the disagreement itself: a pair of
shown sentences from different sources that are close in meaning (the same claim) but differ in the
numbers they state or in negation. The answer then says so and cites both.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answering.evidence import Evidence
from rag.text import disagree

SAME_CLAIM = 0.7  # cosine of two sentences taken to state the same thing (MiniLM)
ON_TOPIC = 0.3  # cosine of a sentence and the question, for it to matter to the answer


@dataclass
class Conflict:
    first: tuple[int, tuple[int, int]]  # (passage index, sentence span)
    second: tuple[int, tuple[int, int]]
    similarity: float


def find_conflict(evidence: Evidence, anchors: dict[int, set[tuple[int, int]]]) -> Conflict | None:
    """The closest pair of on-topic shown sentences from different sources that disagree, one of them
    a sentence the answer rests on (`anchors`: passage index -> supporting sentence spans), if any."""
    shown, passages = evidence.shown, evidence.passages
    source = [passages[s.passage].chunk.source for s in shown]
    if len(set(source)) < 2:
        return None
    similarity = evidence.vectors @ evidence.vectors.T
    best: Conflict | None = None
    for i, a in enumerate(shown):
        for j in range(i + 1, len(shown)):
            b = shown[j]
            if source[i] == source[j] or not (
                a.span in anchors.get(a.passage, ()) or b.span in anchors.get(b.passage, ())
            ):
                continue
            if min(a.closeness, b.closeness) < ON_TOPIC or similarity[i, j] < SAME_CLAIM:
                continue
            if disagree(a.text, b.text) and (best is None or similarity[i, j] > best.similarity):
                best = Conflict((a.passage, a.span), (b.passage, b.span), float(similarity[i, j]))
    return best
