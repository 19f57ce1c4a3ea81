"""What a format reader gets from a file: its text, its title, and where each part of the text came from
(a page, a slide, a sheet's cell range, a message), so a citation can say where to look."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.errors import RagError

MAX_FILE_BYTES = 50 * 1024 * 1024


class LoadError(RagError):
    """A file that cannot be read as a document; the message (starting with the path) says why, and
    `reason` names the kind of why for reports: unsupported, too large, encrypted, corrupt, no text,
    unreadable (the file system refused)."""

    def __init__(self, message: str, reason: str = "corrupt") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ReadOptions:
    """How files are read (settings.ingest): the size limit, and OCR of images and of PDF pages
    without a text layer."""

    max_bytes: int = MAX_FILE_BYTES
    ocr: bool = True
    progress: bool = False  # a progress bar for slow work inside one file (OCR of many pages)


@dataclass
class Extracted:
    """A file's text as read: `page_starts` (PDF) are each page's first character; `locations` are
    (first character, label) pairs in order, each label holding until the next."""

    text: str
    title: str = ""
    page_starts: list[int] = field(default_factory=list)
    locations: list[tuple[int, str]] = field(default_factory=list)


class TextBuilder:
    """Builds an Extracted from parts appended in reading order, each with where it came from.

    >>> built = TextBuilder()
    >>> built.add("First slide.", "slide 1"); built.add("Second.", "slide 2")
    >>> built.result().locations
    [(0, 'slide 1'), (14, 'slide 2')]
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.page_starts: list[int] = []
        self.locations: list[tuple[int, str]] = []

    def add(self, text: str, location: str = "", *, page: bool = False, end: str = "\n\n") -> None:
        """Append one part (blank parts are dropped); `location` labels it ("" keeps the label before);
        `page`: it starts a new page (PDF). `end` separates it from the next part: a blank line ends a
        paragraph, "\\n" a table row or a line."""
        if page:
            self.page_starts.append(self._length)
        text = text.strip()
        if text:
            self._label(self._length, location)
            self._append(text + end)

    def include(self, other: Extracted, prefix: str) -> None:
        """Append another file's text (an attachment, an e-book's chapter), its labels under `prefix`."""
        text = other.text.strip()
        if not text:
            return
        lead = len(other.text) - len(other.text.lstrip())
        self._label(self._length, prefix)
        for offset, label in other.locations:
            self._label(self._length + max(0, offset - lead), f"{prefix}, {label}" if label else prefix)
        self._append(text + "\n\n")

    def end_paragraph(self) -> None:
        """Parts added with end="\\n" (a table's rows) end here: a blank line before what follows."""
        if self._parts and not self._parts[-1].endswith("\n\n"):
            self._append("\n")

    def _label(self, at: int, location: str) -> None:
        if not location or (self.locations and self.locations[-1][1] == location):
            return
        if self.locations and self.locations[-1][0] == at:  # nothing was written under the label before
            self.locations[-1] = (at, location)
        else:
            self.locations.append((at, location))

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def result(self, title: str = "") -> Extracted:
        return Extracted("".join(self._parts), title.strip(), self.page_starts, self.locations)
