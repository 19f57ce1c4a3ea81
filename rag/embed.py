"""Sentence embeddings (sentence-transformers), normalised so inner product is cosine similarity."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rag.errors import ModelNotFoundError
from rag.models import fingerprint_folder, resolve_embedder


class Embedder:
    def __init__(self, name: str = "minilm", batch_size: int = 32, cache_dir: Path | None = None) -> None:
        source = resolve_embedder(name, cache_dir)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub we cannot reach
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(source.location, device="cpu", trust_remote_code=False)
        except Exception as error:  # noqa: BLE001 - any load failure is a bad model setting to the user
            raise ModelNotFoundError(f"cannot load embedder '{name}': {str(error).splitlines()[0]}") from None
        self.name = name
        self.batch_size = batch_size
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        self.dimension = int(self.model.get_embedding_dimension())
        self.fingerprint = (
            fingerprint_folder(Path(source.location)) if source.kind == "folder" else f"hub:{source.location}"
        )

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces the embedder sees, without its special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
