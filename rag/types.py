"""Typed results that flow through the pipeline and out of every face (API, CLI, web)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Document:
    """A loaded file: its full text, and where each page starts (PDF) so chunks can name a page."""

    source: str
    title: str
    text: str
    sha256: str
    page_starts: list[int] = field(default_factory=list)  # char offset of each page, PDF only

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        page = 1
        for number, start in enumerate(self.page_starts, start=1):
            if start <= offset:
                page = number
        return page


@dataclass
class Chunk:
    """A piece of a document small enough for the embedder, with where it came from."""

    id: int
    source: str
    title: str
    text: str
    start: int  # character offsets into the document text
    end: int
    page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Passage:
    """A retrieved chunk with its similarity to the question."""

    chunk: Chunk
    score: float

    def to_dict(self, n: int) -> dict[str, Any]:
        """As the JSON, the API and the MCP tools show it: numbered [n], the score rounded as citations' are."""
        c = self.chunk
        return {"n": n, "source": c.source, "text": c.text, "score": round(self.score, 4), "page": c.page}


@dataclass
class Citation:
    """A numbered passage the answer relies on, as shown to the reader."""

    n: int
    source: str
    text: str
    score: float
    title: str = ""
    page: int | None = None
    start: int = 0
    end: int = 0
    # (start, end) in `text` of the sentences that support the answer: what the reader should check
    highlights: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class SentenceSupport:
    """One sentence of the answer, the citations that back it, and how well they do."""

    text: str
    citations: list[int]
    support: float
    supported: bool
    attribution: str = ""  # the source's cue ("allegedly") this sentence dropped, and is shown with again


@dataclass
class Check:
    """One named check on the way to an answer (rag/answering/checks.py), as it came out: the answer is shown only
    when every check passed, and an abstention gives the first failed check's reason."""

    name: str
    passed: bool
    value: float | None = None  # what the check measured, where it measures a number
    threshold: float | None = None  # the setting it was compared with
    reason: str = ""  # why it failed; empty when it passed
    advisory: bool = False  # recorded, but not deciding (Settings.advisory_checks)
    not_run: str = ""  # why it could not run (a model server without token probabilities); it then decides nothing


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    sentences: list[SentenceSupport]
    passages: list[Passage]
    timings_ms: dict[str, float]
    abstain_reason: str = ""
    rewritten_question: str = ""  # a follow-up as rewritten for retrieval; empty when asked as is
    # P(Yes) when the model was asked whether the passages state the answer to the question (None: not asked)
    answer_check: float | None = None
    # the best cosine between the question and a passage or one of its sentences shown (min_retrieval_score)
    relevance: float | None = None
    # every check that ran, in order (rag/answering/checks.py)
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passages"] = [p.to_dict(n) for n, p in enumerate(self.passages, start=1)]
        return out


@dataclass
class IndexReport:
    """What `rag index` did."""

    documents: int
    chunks: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
