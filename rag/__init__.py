"""rag: cited answers from your own documents, offline.

import rag
pipeline = rag.RAG()                 # the shipped corpus and index/, default models
answer = pipeline.ask("Why does China treat defectors as economic migrants?")
answer.answer, answer.citations, answer.checks, answer.timings_ms
"""

from importlib import metadata

from rag.errors import RagError
from rag.pipeline import RAG
from rag.retrieval.filters import DocumentFilter
from rag.settings import Settings
from rag.types import Answer, Check, Checked, Chunk, Citation, Document, IndexReport, Passage, SentenceSupport

try:
    __version__ = metadata.version("rag")  # pyproject.toml's, as installed: the version is written in one place
except metadata.PackageNotFoundError:  # a source tree never installed
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "RAG",
    "DocumentFilter",
    "Settings",
    "RagError",
    "Answer",
    "Check",
    "Checked",
    "Chunk",
    "Citation",
    "Document",
    "IndexReport",
    "Passage",
    "SentenceSupport",
    "open_index",
    "ask",
]


def open_index(index_dir: str | None = None, **settings: object) -> RAG:
    """A pipeline over an existing index folder (default: the shipped one)."""
    return RAG(index_dir=index_dir, **settings)


def ask(question: str, **settings: object) -> Answer:
    """One question over the default (or given) index."""
    return RAG(**settings).ask(question)
