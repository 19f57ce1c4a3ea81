"""Bring an index up to date with files on disk: embed only what is new or changed."""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag.ingest.formats import revision_of
from rag.ingest.load import LoadError, ReadOptions, file_info, load_file, walk
from rag.ingest.split import Splitter
from rag.models.embed import Embedder
from rag.store.index import DocumentEntry, Index
from rag.types import Chunk, Document, IndexReport


def source_name(path: Path, base: Path) -> str:
    """How a file is named in the index: relative to the index's parent folder when inside it."""
    resolved = path.resolve() if path.exists() else path.absolute()  # a broken link keeps its own name
    try:
        return resolved.relative_to(base.resolve()).as_posix()  # '/' on every system: the manifest travels
    except ValueError:
        return path.resolve().as_posix()


def printable(text: str) -> str:
    """`text` as JSON and a UTF-8 terminal take it: bytes of a file name that are not UTF-8 (which Python
    keeps as lone surrogates) shown as \\xNN."""
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def name_problem(source: str) -> str:
    """Why a file cannot be indexed under this name ("" if it can): the index is UTF-8 JSON."""
    shown = printable(source)
    return "" if shown == source else f"{shown}: file name is not valid UTF-8: rename it"


def source_path(source: str, base: Path) -> Path:
    path = Path(source)
    return path if path.is_absolute() else base / path


@dataclass
class _Pending:
    source: str
    document: Document
    chunks: list[Chunk]
    size: int
    mtime_ns: int
    replaces: bool
    revision: int = 1


@dataclass
class Examined:
    """What looking at one file decided: `unchanged` (same size and mtime), `touched` (same content, new
    size or mtime), `skipped` (with the reason) or `pending` (new or changed: loaded and split)."""

    source: str
    status: str
    error: str = ""
    reason: str = ""  # a skipped file's kind of reason (LoadError.reason)
    size: int = 0
    mtime_ns: int = 0
    revision: int = 1  # of the reader that read it
    pending: _Pending | None = None


def candidates(
    index: Index, roots: list[Path], report: IndexReport
) -> tuple[list[tuple[Path, str]], set[str], list[Examined]]:
    """The files under `roots` to look at, in index order, with their source names; the names seen; and
    the files skipped for their name alone (one not valid UTF-8 could not be saved in the index). The
    count of hidden files and folders left out goes into `report`."""
    base = index.folder.parent
    found_files = walk(roots)
    report.hidden = found_files.hidden
    own = index.folder.resolve()  # an index kept inside an indexed folder never indexes its own files
    files = [path for path in found_files.files if path != own and own not in path.parents]
    # a file named explicitly is wanted again, even if it was removed by hand before
    named = {source_name(root, base) for root in roots if root.is_file()}
    index.manifest.excluded = [source for source in index.manifest.excluded if source not in named]
    excluded = set(index.manifest.excluded)
    found: list[tuple[Path, str]] = []
    refused: list[Examined] = []
    for path in files:
        source = source_name(path, base)
        if problem := name_problem(source):
            refused.append(Examined(printable(source), "skipped", problem, reason="unreadable"))
        elif source not in excluded:
            found.append((path, source))
    return found, {source for _, source in found}, refused


def examine(
    path: Path,
    source: str,
    entry: DocumentEntry | None,
    splitter: Splitter,
    options: ReadOptions = ReadOptions(),  # noqa: B008 - frozen
) -> Examined:
    """Decide one file: not even read when its size and mtime are unchanged, not split when its content is.
    Pure (the index is not touched), so distributed ingestion (rag.scale) runs it on its workers."""
    try:
        stat = file_info(path, options.max_bytes)
        revision = revision_of(path)
        if entry and (entry.size, entry.mtime_ns, entry.revision) == (stat.st_size, stat.st_mtime_ns, revision):
            return Examined(source, "unchanged")
        document = load_file(path, options)
    except LoadError as error:
        return Examined(source, "skipped", str(error), reason=error.reason)
    except Exception as error:  # noqa: BLE001 - one unreadable file must not stop the others
        why = getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"
        return Examined(source, "skipped", f"{path}: cannot read ({why})", reason="unreadable")
    found = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "revision": revision}
    if entry and entry.sha256 == document.sha256:
        return Examined(source, "touched", **found)
    document.source = source
    chunks = splitter.split(document)
    pending = _Pending(source, document, chunks, stat.st_size, stat.st_mtime_ns, bool(entry), revision)
    return Examined(source, "pending", **found, pending=pending)


def record(index: Index, outcomes: list[Examined], report: IndexReport) -> list[_Pending]:
    """Put the outcomes, in order, into the report (and touched files' new size and mtime into the
    manifest, and what was not indexed, with why, into its list of those); returns the files to index."""
    pending: list[_Pending] = []
    not_indexed = index.manifest.not_indexed
    for outcome in outcomes:
        not_indexed.pop(outcome.source, None)
        if outcome.status == "unchanged":
            report.unchanged.append(outcome.source)
        elif outcome.status == "touched":
            entry = index.manifest.documents[outcome.source]
            entry.size, entry.mtime_ns, entry.revision = outcome.size, outcome.mtime_ns, outcome.revision
            report.unchanged.append(outcome.source)
        elif outcome.status == "skipped":
            # a reason naming a path under a folder whose name is not UTF-8 must still print as JSON
            why = {"error": printable(outcome.error), "reason": outcome.reason or "unreadable"}
            report.skipped.append({"path": outcome.source, **why})
            if outcome.source == printable(outcome.source):  # the manifest is UTF-8 JSON
                not_indexed[outcome.source] = why
        else:
            assert outcome.pending is not None
            pending.append(outcome.pending)
    return pending


def known_contents(index: Index) -> dict[str, str]:
    """Content hash -> a source holding it: a copy or a rename reuses those vectors instead of embedding."""
    return {entry.sha256: src for src, entry in index.manifest.documents.items()}


def embed_new(
    pending: list[_Pending], known: Collection[str], embedder: Embedder, splitter: Splitter, progress: bool = False
) -> list[np.ndarray | None]:
    """Per pending file, in order, the vectors of its chunks; None where its content is `known` (a copy or a
    rename: its donor's vectors are reused, nothing is embedded). One batch for all, for the embedder's sake."""
    new = [p for p in pending if p.document.sha256 not in known]
    texts = [splitter.indexed_text(chunk) for p in new for chunk in p.chunks]
    vectors = embedder.encode(texts, progress=progress and len(texts) > 64)
    per_new = iter(np.split(vectors, np.cumsum([len(p.chunks) for p in new], dtype=int)[:-1]))
    return [None if p.document.sha256 in known else next(per_new) for p in pending]


def add_pending(
    index: Index,
    pending: list[_Pending],
    embedded: list[np.ndarray | None],
    known: dict[str, str],
    report: IndexReport,
) -> None:
    """Add the pending files in order. `embedded`: embed_new's vectors of each, None where its content is
    `known`: it takes its donor's vectors."""
    # Take every item's vectors before changing the index: a donor may itself be updated below.
    per_item = [
        index.vectors_of(known[item.document.sha256]) if vectors is None else vectors
        for item, vectors in zip(pending, embedded, strict=True)
    ]
    for item, item_vectors in zip(pending, per_item, strict=True):
        entry = DocumentEntry(item.document.sha256, item.document.title, [], item.size, item.mtime_ns, item.revision)
        index.add(item.source, entry, item.chunks, item_vectors)
        (report.updated if item.replaces else report.added).append(item.source)


def finish(index: Index, roots: list[Path], seen: set[str], report: IndexReport, started: float) -> IndexReport:
    """Drop documents whose files disappeared from under `roots`, record the roots and the totals."""
    base = index.folder.parent
    resolved_roots = [root.resolve() for root in roots]
    for source in list(index.manifest.documents):
        path = source_path(source, base).resolve()
        under_root = any(path == root or root in path.parents for root in resolved_roots)
        if under_root and source not in seen and not path.exists():
            index.remove(source)
            report.removed.append(source)
    for source in list(index.manifest.not_indexed):  # a file not indexed that is gone is no longer listed
        if not source_path(source, base).exists() and not source_path(source, base).is_symlink():
            del index.manifest.not_indexed[source]

    root_names = [name for name in (source_name(root, base) for root in roots) if not name_problem(name)]
    index.manifest.roots = sorted({*index.manifest.roots, *root_names})
    report.documents = len(index.manifest.documents)
    report.chunks = len(index)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def sync(
    index: Index,
    embedder: Embedder,
    splitter: Splitter,
    roots: list[Path],
    progress: bool = False,
    options: ReadOptions = ReadOptions(),  # noqa: B008 - frozen
) -> IndexReport:
    """Add new files under `roots`, re-embed changed ones, drop those that disappeared."""
    started = time.perf_counter()
    report = IndexReport(documents=0, chunks=0)
    found, seen, refused = candidates(index, roots, report)
    outcomes = refused + [
        examine(path, source, index.manifest.documents.get(source), splitter, options)
        for path, source in tqdm(found, desc="reading", unit="file", disable=not progress)
    ]
    pending = record(index, outcomes, report)
    known = known_contents(index)
    add_pending(index, pending, embed_new(pending, known, embedder, splitter, progress), known, report)
    return finish(index, roots, seen, report, started)


def add_documents(
    index: Index, embedder: Embedder, splitter: Splitter, documents: list[Document], progress: bool = False
) -> int:
    """Index documents that are not files (an evaluation corpus); returns the number of chunks added."""
    split = [(document, splitter.split(document)) for document in documents]
    texts = [splitter.indexed_text(chunk) for _, chunks in split for chunk in chunks]
    vectors = embedder.encode(texts, progress=progress)
    offset = 0
    for document, chunks in split:
        entry = DocumentEntry(document.sha256, document.title, [])
        index.add(document.source, entry, chunks, vectors[offset : offset + len(chunks)])
        offset += len(chunks)
    return offset
