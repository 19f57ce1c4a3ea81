"""Retrieve: dense and keyword candidates, fused, optionally re-scored, near-duplicates collapsed.

Every returned Passage keeps its cosine similarity to the question as `score` (what the abstention
threshold reads), whatever ordered it: the order comes from the fusion.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.settings import SearchSettings
from rag.store.index import Index
from rag.text import adds_sentence, texts_disagree
from rag.types import Passage


def rrf(rankings: list[list[int]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion: each list gives 1 / (k + rank) to each of its items."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def convex(dense: dict[int, float], keyword: dict[int, float], dense_weight: float) -> dict[int, float]:
    """Weighted sum of min-max normalised scores; an item missing from one list gets 0 there."""

    def normalised(scores: dict[int, float]) -> dict[int, float]:
        if not scores:
            return {}
        low, high = min(scores.values()), max(scores.values())
        return {i: (s - low) / (high - low) if high > low else 1.0 for i, s in scores.items()}

    d, w = normalised(dense), normalised(keyword)
    return {i: dense_weight * d.get(i, 0.0) + (1 - dense_weight) * w.get(i, 0.0) for i in {*d, *w}}


def collapse(
    order: list[int],
    vectors: np.ndarray,
    threshold: float,
    keep: int,
    distinct: Callable[[int, int], bool] = lambda a, b: False,
) -> list[int]:
    """Keep items in order, skipping any whose cosine to one already kept is >= threshold, unless
    `distinct(kept position, other position)` says they differ (two sources that disagree)."""
    if threshold >= 1.0:
        return order[:keep]
    suppressed = np.zeros(len(order), dtype=bool)
    kept: list[int] = []
    for position in range(len(order)):
        if suppressed[position]:
            continue
        kept.append(order[position])
        if len(kept) == keep:
            break
        close = np.flatnonzero(vectors @ vectors[position] >= threshold)
        suppressed[[other for other in close if not distinct(position, other)]] = True
    return kept


def _first(scores: dict[int, float], n: int) -> dict[int, float]:
    return dict(sorted(scores.items(), key=lambda item: -item[1])[:n])


def _fuse(dense: dict[int, float], keyword: dict[int, float], settings: SearchSettings) -> dict[int, float]:
    if not keyword:
        return dense
    if not dense:
        return keyword
    if settings.fusion == "rrf":
        return rrf([sorted(scores, key=lambda i: -scores[i]) for scores in (dense, keyword)], settings.rrf_k)
    return convex(dense, keyword, settings.dense_weight)


Rescorer = Callable[[str, list[str]], list[float]]  # (question, passage texts) -> relevance, higher is better


def search(
    index: Index,
    query_vector: np.ndarray,
    question: str,
    k: int,
    settings: SearchSettings,
    rescore: Rescorer | None = None,
    allowed: np.ndarray | None = None,
) -> list[Passage]:
    """The k best passages for the question, by the method and fusion of the search settings. `allowed`: sorted
    chunk ids (rag/retrieval/filters.py), the only ones searched, so fusion and collapse see only them."""
    size = len(index) if allowed is None else len(allowed)
    if size == 0:
        return []
    method, head_size = settings.retrieval, settings.candidates
    depth = min(size, max(k, head_size))
    dense = {} if method == "keyword" else {p.chunk.id: p.score for p in index.search(query_vector, depth, allowed)}
    keyword = {} if method == "dense" else dict(index.keywords.search(question, depth, allowed))
    # Fuse the first `candidates` of each list, whatever k is, so a deeper search (rag eval asks for
    # 100 or 1000) ranks its head exactly as `rag ask` does; deeper items follow below that head.
    head = _fuse(_first(dense, head_size), _first(keyword, head_size), settings)
    order = sorted(head, key=lambda i: (-head[i], i))
    if depth > head_size:
        rest = _fuse(dense, keyword, settings)
        order += sorted((i for i in rest if i not in head), key=lambda i: (-rest[i], i))
    if not order:
        return []
    if rescore is not None:  # a second, stronger scorer reorders the head of the list
        top = order[: settings.rerank_candidates]
        scores = rescore(question, [index.chunks[i].text for i in top])
        order = [i for _, i in sorted(zip(scores, top, strict=True), key=lambda pair: -pair[0])] + order[len(top) :]
    vectors = np.vstack([index.vectors.reconstruct(int(i)) for i in order])
    cosines = vectors @ query_vector
    chunks = index.chunks

    def distinct(a: int, b: int) -> bool:
        """Near-duplicates both kept: from two sources that disagree, or the later holding a sentence of its own
        (a paraphrase that goes on to another fact: the other fact would be lost with it)."""
        first, second = chunks[order[a]], chunks[order[b]]
        if first.source != second.source and texts_disagree(first.text, second.text):
            return True
        return adds_sentence(second.text, first.text)

    chosen = collapse(order, vectors, settings.duplicate_threshold, k, distinct)
    position = {item: p for p, item in enumerate(order)}
    return [Passage(index.chunks[i], float(cosines[position[i]])) for i in chosen]
