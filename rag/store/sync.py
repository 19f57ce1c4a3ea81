"""Bring an index up to date with files on disk: embed only what is new or changed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from rag.ingest.load import MAX_FILE_BYTES, LoadError, file_info, find_files, load_file
from rag.ingest.split import Splitter
from rag.models.embed import Embedder
from rag.store.index import DocumentEntry, Index
from rag.types import Chunk, Document, IndexReport


def source_name(path: Path, base: Path) -> str:
    """How a file is named in the index: relative to the index's parent folder when inside it."""
    resolved = path.resolve() if path.exists() else path.absolute()  # a broken link keeps its own name
    try:
        return str(resolved.relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())


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


def sync(
    index: Index,
    embedder: Embedder,
    splitter: Splitter,
    roots: list[Path],
    progress: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
) -> IndexReport:
    """Add new files under `roots`, re-embed changed ones, drop those that disappeared."""
    started = time.perf_counter()
    base = index.folder.parent
    report = IndexReport(documents=0, chunks=0)
    files = find_files(roots)
    # a file named explicitly is wanted again, even if it was removed by hand before
    named = {source_name(root, base) for root in roots if root.is_file()}
    index.manifest.excluded = [source for source in index.manifest.excluded if source not in named]
    excluded = set(index.manifest.excluded)
    seen: set[str] = set()
    pending: list[_Pending] = []
    for path in tqdm(files, desc="reading", unit="file", disable=not progress):
        source = source_name(path, base)
        if source in excluded:
            continue
        seen.add(source)
        entry = index.manifest.documents.get(source)
        try:
            stat = file_info(path, max_bytes)
            if entry and (entry.size, entry.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                report.unchanged.append(source)
                continue
            document = load_file(path, max_bytes)
        except LoadError as error:
            report.skipped.append({"path": source, "error": str(error)})
            continue
        except Exception as error:  # noqa: BLE001 - one unreadable file must not stop the others
            reason = getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"
            report.skipped.append({"path": source, "error": f"{path}: cannot read ({reason})"})
            continue
        if entry and entry.sha256 == document.sha256:
            entry.size, entry.mtime_ns = stat.st_size, stat.st_mtime_ns
            report.unchanged.append(source)
            continue
        document.source = source
        pending.append(
            _Pending(source, document, splitter.split(document), stat.st_size, stat.st_mtime_ns, bool(entry))
        )

    # Same content under another name (a copy or a rename): reuse its vectors instead of embedding.
    known = {entry.sha256: src for src, entry in index.manifest.documents.items()}
    to_embed = [p for p in pending if p.document.sha256 not in known]
    texts = [splitter.indexed_text(chunk) for p in to_embed for chunk in p.chunks]
    vectors = embedder.encode(texts, progress=progress and len(texts) > 64)
    # Take every item's vectors before changing the index: a donor may itself be updated below.
    per_item, offset = [], 0
    for item in pending:
        donor = known.get(item.document.sha256)
        if donor is not None:
            per_item.append(index.vectors_of(donor))
        else:
            per_item.append(vectors[offset : offset + len(item.chunks)])
            offset += len(item.chunks)
    for item, item_vectors in zip(pending, per_item, strict=True):
        entry = DocumentEntry(item.document.sha256, item.document.title, [], item.size, item.mtime_ns)
        index.add(item.source, entry, item.chunks, item_vectors)
        (report.updated if item.replaces else report.added).append(item.source)

    resolved_roots = [root.resolve() for root in roots]
    for source in list(index.manifest.documents):
        path = source_path(source, base).resolve()
        under_root = any(path == root or root in path.parents for root in resolved_roots)
        if under_root and source not in seen and not path.exists():
            index.remove(source)
            report.removed.append(source)

    root_names = [source_name(root, base) for root in roots]
    index.manifest.roots = sorted({*index.manifest.roots, *root_names})
    report.documents = len(index.manifest.documents)
    report.chunks = len(index)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


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
