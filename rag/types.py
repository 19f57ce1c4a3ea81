"""Typed results that flow through the pipeline and out of every face (API, CLI, web)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# "Sheet1!A5:D5": a sheet's cell range; two of one sheet merge into the range that covers both
_CELLS = re.compile(r"^(?P<sheet>.*?)(?P<c1>[A-Z]+)(?P<r1>\d+):(?P<c2>[A-Z]+)(?P<r2>\d+)$")
# "slide 3", "page 12": a numbered part; two of one kind merge into "slide 3–4"
_NUMBERED = re.compile(r"^(?P<kind>.*?\D)(?P<n>\d+)$")


def location_of(locations: list[tuple[int, str]], start: int, end: int) -> str:
    """The label of the text from `start` to `end`: the one label covering it, or the first and last
    merged ("Sheet1!A5:D9", "slide 3–4", else "slide 3 – notes")."""
    first = last = ""
    for offset, label in locations:
        if offset <= start:
            first = label
        if offset < end:
            last = label
        else:
            break
    return merged(first, last)


def merged(first: str, last: str) -> str:
    if not first or not last or first == last:
        return first or last
    if last.startswith(first + ", "):  # "slide 1" then "slide 1, notes": the slide, notes and all
        return first
    a, b = _CELLS.match(first), _CELLS.match(last)
    if a and b and a["sheet"] == b["sheet"]:
        return f"{a['sheet']}{a['c1']}{a['r1']}:{b['c2']}{b['r2']}"
    a, b = _NUMBERED.match(first), _NUMBERED.match(last)
    if a and b and a["kind"] == b["kind"]:
        return f"{first}–{b['n']}"
    return f"{first} – {last}"


def place(location: str, page: int | None) -> str:
    """Where a passage is in its file, as a reader is told: its location, or its page (indexes built
    before locations were kept), or ""."""
    return location or (f"page {page}" if page else "")


@dataclass
class Document:
    """A loaded file: its full text, where each page starts (PDF) so chunks can name a page, and where
    each labelled part starts (a page, a slide, a sheet's cells, a message) so citations can say where."""

    source: str
    title: str
    text: str
    sha256: str
    page_starts: list[int] = field(default_factory=list)  # char offset of each page, PDF only
    locations: list[tuple[int, str]] = field(default_factory=list)  # (char offset, label), in order

    def location_of(self, start: int, end: int) -> str:
        return location_of(self.locations, start, end)

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
    location: str = ""  # where in the file: "page 3", "slide 2", "Sheet1!A5:D9", "message 4: Re: budget"

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
        return {
            "n": n,
            "source": c.source,
            "text": c.text,
            "score": round(self.score, 4),
            "page": c.page,
            "location": c.location,
            "start": c.start,
            "end": c.end,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        """A passage as to_dict showed it (its chunk's id and title are not shown, so not known)."""
        start, end = data.get("start", 0), data.get("end", 0)
        chunk = Chunk(-1, data["source"], "", data["text"], start, end, data.get("page"), data.get("location", ""))
        return cls(chunk, data["score"])


@dataclass
class Citation:
    """A numbered passage the answer relies on, as shown to the reader."""

    n: int
    source: str
    text: str
    score: float
    title: str = ""
    page: int | None = None
    location: str = ""  # the passage's place in its file (Chunk.location)
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The Answer that to_dict gave (a kept conversation's); keys it does not know are passed over."""
        citations = [
            Citation(**{**_known(Citation, c), "highlights": [(a, b) for a, b in c.get("highlights", [])]})
            for c in data["citations"]
        ]
        return cls(
            **{
                **_known(cls, data),
                "citations": citations,
                "sentences": [SentenceSupport(**_known(SentenceSupport, s)) for s in data["sentences"]],
                "passages": [Passage.from_dict(p) for p in data["passages"]],
                "checks": [Check(**_known(Check, c)) for c in data.get("checks", [])],
            }
        )


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of the dataclass `cls` (JSON written by another version may hold more)."""
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


@dataclass
class Checked:
    """An answer's sentences that passed their checks so far, while the model still writes (rag.RAG.stream):
    shown as they come. The final Answer follows and decides: it may still abstain, withdrawing them."""

    answer: Answer  # provisional: the checked sentences so far, with their citations


@dataclass
class IndexReport:
    """What `rag index` did."""

    documents: int
    chunks: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # files not indexed: path, error (one line, the path first) and reason (LoadError.reason: unsupported,
    # too large, encrypted, corrupt, no text, unreadable)
    skipped: list[dict[str, str]] = field(default_factory=list)
    hidden: int = 0  # hidden files and folders left out (names starting with ".")
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
