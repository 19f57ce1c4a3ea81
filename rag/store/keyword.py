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

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the best k chunks that share at least one term with the query."""
        if self.model is None or k <= 0:
            return []
        documents, scores = self.model.retrieve(_tokens([query]), k=min(k, len(self.chunk_ids)), show_progress=False)
        return [(int(self.chunk_ids[d]), float(s)) for d, s in zip(documents[0], scores[0], strict=True) if s > 0]
