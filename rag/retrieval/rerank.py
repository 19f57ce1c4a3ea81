"""Second-stage scoring with a user-supplied cross-encoder (sentence-transformers CrossEncoder).

None ships its weights on PyPI (MODELS.md), so this is off by default: set `reranker` to a local
folder (or a hub id, with network) to re-score the head of the fused list, question and passage together.
"""

from __future__ import annotations

import os

from rag.errors import ModelNotFoundError
from rag.retrieval.retrieve import Rescorer


def load_reranker(name: str) -> Rescorer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import CrossEncoder

    try:
        model = CrossEncoder(name, device="cpu", trust_remote_code=False)
    except Exception as error:  # noqa: BLE001 - any load failure is a bad setting to the user
        raise ModelNotFoundError(f"cannot load reranker '{name}': {str(error).splitlines()[0]}") from None

    def rescore(question: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        scores = model.predict([(question, passage) for passage in passages], show_progress_bar=False)
        return [float(s) for s in scores]

    return rescore
