"""Document filters: narrow a question to some documents by source glob, folder, file type and modified date.

A filter becomes the sorted chunk ids it keeps, read from the index's manifest (each document's source,
modification time and chunk ids); dense and keyword search then look only among those (rag/store), so the top
k are the best of the kept chunks, not what is left of the best k once the others are dropped.

Within one kind the values are alternatives (`types=("pdf", "docx")`: either); the kinds combine (a PDF *and*
under reports/). Sources are matched as the index names them (as citations show them):

    sources          globs: `*` and `?` within a folder name, `**` across folders (`reports/**/*.pdf`); a glob
                     without `/` matches the file name in any folder (`*.pdf`), as in .gitignore
    folders          a source under one of these (`reports` keeps reports/a.txt and reports/2024/b.pdf)
    types            file suffixes, with or without the dot, any case (`pdf`, `.PDF`)
    modified_after   modified at or after this (a date: its midnight, local time)
    modified_before  modified before this (a date: its midnight), so `--after 2025-01-01 --before 2025-02-01`
                     is January
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError
from rag.store.index import Index

NO_MATCH = "no document matches the filter"
CACHED_FILTERS = 8  # per index: a few filters asked in turn; each holds up to 8 bytes per chunk
_GLOB_TOKEN = re.compile(r"(\*\*/|\*\*|\*|\?|\[[^\]]+\])")


class FilterError(RagError, ValueError):
    """A filter as typed cannot be read (a bad date, an empty value, an unknown key)."""


@functools.lru_cache(maxsize=256)  # a server sees the same few globs again and again
def glob_pattern(glob: str) -> re.Pattern[str]:
    """The regular expression a source glob stands for (see the module's docstring)."""
    glob = glob.removeprefix("./")
    parts = []
    for token in _GLOB_TOKEN.split(glob):
        if token == "**/":
            parts.append("(?:.*/)?")  # any folders, none included
        elif token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        elif token.startswith("[") and token.endswith("]") and len(token) > 2:
            inner = token[1:-1]
            parts.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner).replace("\\", "\\\\") + "]")
        else:
            parts.append(re.escape(token))
    prefix = "" if "/" in glob else "(?:.*/)?"  # a file name: in any folder
    return re.compile(prefix + "".join(parts) + r"\Z")


def _texts(value: str | Iterable[str] | None, name: str) -> tuple[str, ...]:
    """A value as users give it (one string or several) as a tuple of stripped, non-empty strings."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable) or not all(isinstance(item, str) for item in items):
        raise FilterError(f"filter {name}: give a string or a list of strings")
    texts = tuple(item.strip() for item in items)
    if any(not text for text in texts):
        raise FilterError(f"filter {name}: an empty value")
    return texts


def _moment(value: str | date | None, name: str) -> date | datetime | None:
    """A date or date-time as typed: 2025-01-01, 2025-01-01T09:30 (or with a space, seconds, a UTC offset)."""
    if value is None or isinstance(value, date):  # a datetime is a date too
        return value
    if not isinstance(value, str):
        raise FilterError(f"filter {name}: give a date as YYYY-MM-DD")
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"filter {name}: bad date {value!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None


def _ns(moment: date | datetime) -> int:
    """Nanoseconds since the epoch, as the manifest's mtime_ns; a date or a naive time is local time."""
    at = moment if isinstance(moment, datetime) else datetime.combine(moment, time())
    return round(at.timestamp() * 1e6) * 1000


def _folder(text: str) -> str:
    folder = os.path.expanduser(text).removeprefix("./").rstrip("/")
    if not folder or folder == ".":
        raise FilterError("filter folders: name a folder (every document is under the index's own)")
    return folder


@dataclass(frozen=True)
class DocumentFilter:
    """Which documents a question may be answered from (see the module's docstring)."""

    sources: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    modified_after: date | datetime | None = None
    modified_before: date | datetime | None = None

    @classmethod
    def parse(
        cls,
        sources: str | Iterable[str] | None = None,
        folders: str | Iterable[str] | None = None,
        types: str | Iterable[str] | None = None,
        modified_after: str | date | None = None,
        modified_before: str | date | None = None,
    ) -> DocumentFilter:
        """A filter from values as users type them; FilterError (a RagError) names what is wrong."""
        kinds = tuple(t.lower().lstrip(".") for t in _texts(types, "types"))
        if any(not kind for kind in kinds):
            raise FilterError("filter types: a suffix such as pdf or .docx")
        made = cls(
            sources=_texts(sources, "sources"),
            folders=tuple(_folder(f) for f in _texts(folders, "folders")),
            types=kinds,
            modified_after=_moment(modified_after, "modified_after"),
            modified_before=_moment(modified_before, "modified_before"),
        )
        for glob in made.sources:
            try:
                glob_pattern(glob)
            except re.error as error:
                raise FilterError(f"filter sources: bad glob {glob!r} ({error})") from None
        if made == cls():
            raise FilterError("the filter is empty: give sources, folders, types, modified_after or modified_before")
        after, before = made.modified_after, made.modified_before
        if after is not None and before is not None and _ns(after) >= _ns(before):
            raise FilterError(f"filter: modified_after ({after}) is not before modified_before ({before})")
        return made

    @classmethod
    def from_dict(cls, data: Any) -> DocumentFilter:
        """A filter from a JSON object with the keys of DocumentFilter (the /v1 field `rag_filter`)."""
        if not isinstance(data, Mapping):
            raise FilterError("the filter must be an object with keys " + ", ".join(f.name for f in fields(cls)))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FilterError(f"unknown filter key {unknown[0]!r} (the keys: {', '.join(sorted(known))})")
        return cls.parse(**data)

    def keeps(self, source: str, mtime_ns: int) -> bool:
        """Whether one document (its source name and modification time) passes."""
        return self._test(self.folders)(source, mtime_ns)

    def _test(self, folders: tuple[str, ...]) -> Callable[[str, int], bool]:
        """`keeps` with its bounds worked out once, for a pass over every document; `folders`: the prefixes."""
        suffixes = tuple("." + kind.lower().lstrip(".") for kind in self.types)  # as parse gives them, if made by hand
        patterns = [glob_pattern(glob) for glob in self.sources]
        low = _ns(self.modified_after) if self.modified_after is not None else None
        high = _ns(self.modified_before) if self.modified_before is not None else None

        def test(source: str, mtime_ns: int) -> bool:
            return (
                (not folders or any(source.startswith(prefix + "/") for prefix in folders))
                and (not suffixes or source.lower().endswith(suffixes))
                and (low is None or mtime_ns >= low)
                and (high is None or mtime_ns < high)
                and (not patterns or any(pattern.match(source) for pattern in patterns))
            )

        return test

    def chunk_ids(self, index: Index) -> np.ndarray | None:
        """The sorted chunk ids (int64) of the documents kept; None when every chunk is kept, so the unfiltered
        search runs. Cached per index and its state, so a second question with this filter costs nothing."""
        manifest = index.manifest
        key = (self, manifest.generation, manifest.next_id, len(manifest.documents))
        with _lock:
            cached = _cache.setdefault(index, OrderedDict())
            if key in cached:
                cached.move_to_end(key)
                return cached[key]
        kept = self._kept(index)
        with _lock:
            cached[key] = kept
            while len(cached) > CACHED_FILTERS:
                cached.popitem(last=False)
        return kept

    def _kept(self, index: Index) -> np.ndarray | None:
        test = self._test((*self.folders, *self._relative_folders(index.folder)))
        documents = index.manifest.documents
        lists = [e.chunk_ids for source, e in documents.items() if test(source, e.mtime_ns)]
        kept = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=sum(map(len, lists)))
        if len(kept) == sum(len(e.chunk_ids) for e in documents.values()):
            return None
        kept.sort()
        kept.flags.writeable = False  # shared by every question asked with this filter
        return kept

    def _relative_folders(self, index_folder: Path) -> tuple[str, ...]:
        """A folder given as a full path, as sources name it: relative to the index's parent when inside it."""
        base = index_folder.parent.resolve()
        found = []
        for folder in self.folders:
            path = Path(folder).expanduser()
            if path.is_absolute() and path.resolve().is_relative_to(base) and path.resolve() != base:
                found.append(path.resolve().relative_to(base).as_posix())  # as sources are named
        return tuple(found)


_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[Index, OrderedDict[tuple[Any, ...], np.ndarray | None]] = weakref.WeakKeyDictionary()
