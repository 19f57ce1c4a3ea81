"""Keyword search: BM25 (bm25s) over the same chunks as the vectors, rebuilt when the index is saved.

Exact names, numbers and rare terms are where embeddings are weakest and BM25 is strongest.
Building is fast (tokenise and count), so each save rebuilds it from all chunks rather than
patching it; it is saved beside the vectors and only loaded at query time.
"""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from rag.ingest.split import indexed_text
from rag.types import Chunk

_STEMMER = Stemmer.Stemmer("english")


def _tokens(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False, return_ids=False)


class KeywordIndex:
    def __init__(self, model: bm25s.BM25 | None, chunk_ids: np.ndarray) -> None:
        self.model = model
        self.chunk_ids = chunk_ids  # position in the BM25 corpus -> chunk id

    @classmethod
    def build(cls, chunks: dict[int, Chunk], with_title: bool = False) -> KeywordIndex:
        ids = np.array(sorted(chunks), dtype=np.int64)
        if not len(ids):
            return cls(None, ids)
        model = bm25s.BM25()
        model.index(_tokens([indexed_text(chunks[int(i)], with_title) for i in ids]), show_progress=False)
        return cls(model, ids)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save(str(folder), show_progress=False)
        np.save(folder / "chunk_ids.npy", self.chunk_ids)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """Memory-mapped: a large index opens at once and its pages are read as queries touch them."""
        if (folder / "chunk_ids.npy").is_file():
            ids = np.load(folder / "chunk_ids.npy", mmap_mode="r")
        else:  # saved by an earlier version
            ids = np.array(json.loads((folder / "chunk_ids.json").read_text(encoding="utf-8")), dtype=np.int64)
        model = bm25s.BM25.load(str(folder), show_progress=False, mmap=True) if len(ids) else None
        return cls(model, ids)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the best k chunks that share at least one term with the query; `allowed`:
        sorted chunk ids, the only ones that may be returned (the best k of them)."""
        if self.model is None or k <= 0:
            return []
        tokens = _tokens([query])
        if allowed is not None:
            return self._search_among(tokens[0], k, allowed)
        documents, scores = self.model.retrieve(tokens, k=min(k, len(self.chunk_ids)), show_progress=False)
        return [(int(self.chunk_ids[d]), float(s)) for d, s in zip(documents[0], scores[0], strict=True) if s > 0]

    def _search_among(self, tokens: list[str], k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
        """Every chunk scored, as `retrieve` does, then the best k picked among the allowed alone: `retrieve`'s
        weight_mask would rank all the scores, a million at 1M chunks, however few are kept
        (bench/filter_latency.py)."""
        if not tokens:  # nothing but stop words
            return []
        scores = self.model.get_scores(tokens)
        positions = self._positions(allowed)
        kept = scores[positions]
        top = np.argpartition(-kept, k)[:k] if len(kept) > k else np.arange(len(kept))
        top = top[np.argsort(-kept[top], kind="stable")]
        return [(int(self.chunk_ids[positions[i]]), float(kept[i])) for i in top if kept[i] > 0]

    def _positions(self, allowed: np.ndarray) -> np.ndarray:
        """Where the allowed chunks are in the BM25 corpus (ids it does not hold are left out)."""
        size = max(int(allowed[-1]) if len(allowed) else 0, int(self.chunk_ids[-1])) + 1
        wanted = np.zeros(size, dtype=bool)  # by chunk id: one lookup per position, no search (2 ms at 1M chunks)
        wanted[allowed] = True
        return np.flatnonzero(wanted[self.chunk_ids])
