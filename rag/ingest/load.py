"""Load files into Documents, one reader per kind of file (rag/ingest/formats), as single files or whole
folders; a folder's files that are not read are named with the reason (`unread`)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.extracted import MAX_FILE_BYTES, LoadError, ReadOptions
from rag.ingest.formats import READERS, reader_for
from rag.types import Document

__all__ = ["MAX_FILE_BYTES", "READERS", "LoadError", "ReadOptions", "file_info", "find_files", "load_file"]


def file_info(path: Path, max_bytes: int = MAX_FILE_BYTES) -> os.stat_result:
    """The file's stat if it is a regular file within the size limit; else LoadError saying why."""
    try:
        info = path.stat()
    except FileNotFoundError:
        missing = "broken link" if path.is_symlink() else "no such file"
        raise LoadError(f"{path}: {missing}", reason="unreadable") from None
    except OSError as error:
        raise LoadError(f"{path}: cannot read ({error.strerror or error})", reason="unreadable") from None
    if stat.S_ISDIR(info.st_mode):
        raise LoadError(f"{path}: a folder that cannot be listed", reason="unreadable")
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise LoadError(f"{path}: not a regular file", reason="unreadable")
    if info.st_size > max_bytes:
        raise LoadError(f"{path}: larger than the {max_bytes / (1024 * 1024):g} MB limit", reason="too large")
    return info


def load_file(path: Path, options: ReadOptions = ReadOptions()) -> Document:  # noqa: B008 - frozen
    """Read one file; raise LoadError with a one-line reason if it cannot be used."""
    reader = reader_for(path)
    if reader is None:
        raise LoadError(f"{path}: {unsupported(path)}", reason="unsupported")
    file_info(path, options.max_bytes)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LoadError(f"{path}: cannot read ({error.strerror or error})", reason="unreadable") from None
    extracted = reader(path, data, options)
    if not extracted.text.strip():
        raise LoadError(f"{path}: empty document", reason="no text")
    return Document(
        source=str(path),
        # only a title the file itself declares: it is embedded with every chunk (title_in_chunks), and
        # a file name's words would make all chunks of a document alike, which defeats duplicate collapse
        title=extracted.title,
        text=extracted.text,
        sha256=hashlib.sha256(extracted.text.encode("utf-8")).hexdigest(),
        page_starts=extracted.page_starts,
        locations=extracted.locations,
    )


def unsupported(path: Path) -> str:
    kind = f"'{path.suffix}'" if path.suffix else "without a suffix"
    return f"unsupported file type {kind} (rag reads: {', '.join(sorted(READERS))})"


@dataclass
class FolderWalk:
    """What expanding the paths found: every file to look at (kinds not read included, so a report can
    name them), and how many hidden files and folders were left out."""

    files: list[Path]
    hidden: int = 0


def walk(paths: Iterable[Path]) -> FolderWalk:
    """Expand folders into their files (hidden ones left out and counted); keep files as given.

    Linked folders are followed once each, so a symlink loop ends; a file met twice is kept once."""
    found: list[Path] = []
    hidden = 0
    for path in paths:
        if path.is_dir():
            visited: set[str] = set()
            unreadable: list[Path] = []
            walker = os.walk(path, followlinks=True, onerror=lambda e, into=unreadable: into.append(Path(e.filename)))
            for folder, subfolders, files in walker:
                real = os.path.realpath(folder)
                if real in visited:
                    subfolders[:] = []
                    continue
                visited.add(real)
                hidden += sum(name.startswith(".") for name in [*subfolders, *files])
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                found.extend(Path(folder, name) for name in sorted(files) if not name.startswith("."))
            found.extend(unreadable)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise LoadError(f"{path}: no such file or folder", reason="unreadable")
    return FolderWalk(list(dict.fromkeys(_resolved(p) for p in found)), hidden)


def find_files(paths: Iterable[Path]) -> list[Path]:
    """The files under `paths` of a kind that is read (hidden ones left out)."""
    return [path for path in walk(paths).files if reader_for(path) is not None]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # a broken or looping link: kept by name, reported when read
        return path.absolute()
