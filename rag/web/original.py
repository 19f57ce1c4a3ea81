"""The original file behind a citation, and its text as the index read it: what the viewer may show.

Only a document the collection's index lists is ever served, at the real path it was indexed from: a source
the index does not name, a path with a link swapped in since, or anything but a regular file is refused
the same way (NotServed), so a refusal tells nothing about what exists outside the collection.

The text is read again from the file (cached), and used only when it is the text indexed (its sha256 is
the manifest's), so the citation's character offsets point into it. A file changed or gone since: the
text is put together from the index's own chunks, as indexed.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError
from rag.ingest.load import LoadError, load_file
from rag.pipeline import RAG
from rag.store.index import Index
from rag.types import Document

CACHED_DOCUMENTS = 8  # documents kept read, most recently viewed (a citation is often opened twice)


class NotServed(RagError):
    """Not a document of this collection (or no longer where it was indexed): never served."""


@dataclass(frozen=True)
class Original:
    source: str  # as the index names it
    path: Path | None  # the file, None when it is gone or no longer the file indexed from
    title: str
    sha256: str  # of the text indexed


def original(rag: RAG, source: str) -> Original:
    """The indexed document `source` of this pipeline's collection; NotServed if it is none."""
    index = rag.index
    entry = index.manifest.documents.get(source)
    if entry is None:
        raise NotServed("not a document of this collection")
    return Original(source, _indexed_path(index, source), entry.title, entry.sha256)


def _indexed_path(index: Index, source: str) -> Path | None:
    """The file at the very path the index read: sources are stored resolved (rag.store.sync.source_name),
    so a link anywhere on the way now would lead elsewhere, and is not followed."""
    stored = Path(source)
    expected = stored if stored.is_absolute() else index.folder.parent.resolve() / stored
    try:
        real = expected.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return real if real == expected and real.is_file() else None


def read_original(path: Path) -> bytes:
    """The file's bytes, read without following a link put in its place since it was checked."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(path, flags)
    except OSError:
        raise NotServed("not a document of this collection") from None
    with os.fdopen(handle, "rb") as file:
        return file.read()


class IndexedTexts:
    """Documents' text as indexed, read again from their files, the last few kept."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], Document] = OrderedDict()
        self._lock = threading.Lock()

    def text(self, rag: RAG, doc: Original) -> tuple[Document, bool]:
        """The document's text and locations as indexed, and whether they were read from the file now
        (False: put together from the index, the file having changed or gone)."""
        key = (str(doc.path), doc.sha256)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key], True
        read = self._read(rag, doc)
        if read is None:
            return from_chunks(rag.index, doc), False
        with self._lock:
            self._cache[key] = read
            while len(self._cache) > CACHED_DOCUMENTS:
                self._cache.popitem(last=False)
        return read, True

    @staticmethod
    def _read(rag: RAG, doc: Original) -> Document | None:
        if doc.path is None:
            return None
        try:
            read = load_file(doc.path, rag.settings.ingest.read_options())
        except LoadError:
            return None
        return read if read.sha256 == doc.sha256 else None


def from_chunks(index: Index, doc: Original) -> Document:
    """The document's text as the index holds it: its chunks laid at their offsets (overlaps agree; a gap
    between two chunks, only ever white space the splitter left out, becomes a line break)."""
    entry = index.manifest.documents[doc.source]
    chunks = sorted((index.chunks[i] for i in entry.chunk_ids), key=lambda c: c.start)
    text: list[str] = []
    at = 0
    locations: list[tuple[int, str]] = []
    for chunk in chunks:
        if chunk.start > at:
            text.append(("\n" * (chunk.start - at)) if chunk.start - at < 3 else "\n\n".ljust(chunk.start - at))
            at = chunk.start
        if chunk.end > at:
            text.append(chunk.text[at - chunk.start :])
            at = chunk.end
        label = chunk.location or (f"page {chunk.page}" if chunk.page else "")
        if label and (not locations or locations[-1][1] != label):
            locations.append((chunk.start, label))
    return Document(doc.source, doc.title, "".join(text), doc.sha256, locations=locations)
