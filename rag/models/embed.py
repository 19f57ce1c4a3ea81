"""Sentence embeddings, normalised so inner product is cosine similarity.

A sentence-transformers folder of the usual shape (a transformer, mean or CLS pooling, normalise:
MiniLM and mpnet are) is run with transformers directly: the same computation as
`SentenceTransformer.encode` (tests/models/test_embed.py checks the vectors agree), without importing
sentence-transformers, which pulls in scikit-learn and SciPy and made up most of a cold `rag ask`'s
import time. Any other model goes through sentence-transformers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelNotFoundError
from rag.models.weights import fingerprint_folder, resolve_embedder

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"


class Embedder:
    def __init__(self, name: str = "minilm", batch_size: int = 32, cache_dir: Path | None = None) -> None:
        source = resolve_embedder(name, cache_dir)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub we cannot reach
        try:
            folder = Path(source.location)
            pooling = _pooling_of(folder) if source.kind == "folder" else None
            self._model: TransformerEncoder | SentenceTransformersEncoder = (
                TransformerEncoder(folder, pooling) if pooling else SentenceTransformersEncoder(source.location)
            )
        except Exception as error:  # noqa: BLE001 - any load failure is a bad model setting to the user
            raise ModelNotFoundError(f"cannot load embedder '{name}': {str(error).splitlines()[0]}") from None
        self.name = name
        self.batch_size = batch_size
        self.tokenizer = self._model.tokenizer
        self.max_tokens = self._model.max_tokens
        self.dimension = self._model.dimension
        self.fingerprint = (
            fingerprint_folder(Path(source.location)) if source.kind == "folder" else f"hub:{source.location}"
        )

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(self._model.encode(texts, self.batch_size, progress), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces the embedder sees, without its special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def _pooling_of(folder: Path) -> str | None:
    """'mean' or 'cls' when the folder is transformer → pooling → normalise, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        types = [m["type"] for m in modules]
        if types[:2] != [TRANSFORMER, POOLING] or types[2:] not in ([], [NORMALIZE]) or modules[0]["path"]:
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    modes = [key for key, on in pooling.items() if key.startswith("pooling_mode") and on]
    known = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
    return known.get(modes[0]) if len(modes) == 1 else None


class TransformerEncoder:
    """transformers' AutoModel with the folder's pooling, then normalised, as sentence-transformers does."""

    def __init__(self, folder: Path, pooling: str) -> None:
        from transformers import AutoModel, AutoTokenizer

        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.pooling = pooling  # "mean" or "cls", as _pooling_of read it from the folder
        self.lower_case = bool(config.get("do_lower_case"))
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        self.max_tokens = int(config.get("max_seq_length") or self.tokenizer.model_max_length)
        self.dimension = int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        import torch
        from tqdm import tqdm

        texts = [t.strip().lower() if self.lower_case else t.strip() for t in texts]
        order = np.argsort([-len(t) for t in texts], kind="stable")  # alike lengths batch with little padding
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in tqdm(range(0, len(texts), batch_size), desc="embedding", disable=not progress):
                rows = order[start : start + batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_tokens,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                if self.pooling == "mean":
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                else:
                    pooled = hidden[:, 0]
                vectors[rows] = torch.nn.functional.normalize(pooled, p=2, dim=1).float().numpy()
        return vectors


class SentenceTransformersEncoder:
    """Any other sentence-transformers model (a hub id, extra modules)."""

    def __init__(self, location: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(location, device="cpu", trust_remote_code=False)
        self.tokenizer: Any = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress
        )
