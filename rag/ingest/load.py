"""Load files into Documents: .txt, .md, .html, .pdf, .docx, as single files or whole folders."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from rag.errors import RagError
from rag.types import Document

MAX_FILE_BYTES = 50 * 1024 * 1024
# A DOCX is a zip: refuse one that would expand past this many times the file size limit (a zip bomb).
MAX_EXPANSION = 4


class LoadError(RagError):
    """A file that cannot be read as a document; the message says why."""


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 (or UTF-16 with its byte-order mark); else Windows-1252 when that reads as clean text,
    as legacy Western files do; anything else is binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError(f"{path}: damaged UTF-16 text") from None
    if b"\x00" in data[:8192]:
        raise LoadError(f"{path}: binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        utf8_error = f"{path}: not text (invalid UTF-8 at byte {error.start}, and not Windows-1252 text either)"
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise LoadError(utf8_error) from None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text) / 100:
        raise LoadError(utf8_error)
    return text


def _first_heading(text: str, pattern: str) -> str:
    match = re.search(pattern, text, flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def _load_text(path: Path, data: bytes) -> tuple[str, str, list[int]]:
    text = _decode(data, path)
    return text, "", []


def _load_markdown(path: Path, data: bytes) -> tuple[str, str, list[int]]:
    text = _decode(data, path)
    return text, _first_heading(text, r"^#\s+(.+)$"), []


def _load_html(path: Path, data: bytes) -> tuple[str, str, list[int]]:
    from rag.ingest.html_text import html_text

    return (*html_text(_decode(data, path)), [])


def _load_pdf(path: Path, data: bytes) -> tuple[str, str, list[int]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        # one encrypted with an empty user password (only copying or printing restricted) opens without one
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(f"{path}: encrypted PDF (it needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "")
    except LoadError:
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many kinds on broken files; all mean "corrupt"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LoadError(f"{path}: corrupt PDF ({reason})") from None
    text, starts = "", []
    for page_text in pages:
        starts.append(len(text))
        text += page_text.strip() + "\n\n"
    if not text.strip():
        raise LoadError(f"{path}: PDF has no text layer (scanned images are not read)")
    return text, title, starts


def _load_docx(path: Path, data: bytes) -> tuple[str, str, list[int]]:
    import docx

    try:
        expanded = sum(member.file_size for member in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError):
        raise LoadError(f"{path}: malformed DOCX (not a zip archive)") from None
    if expanded > MAX_EXPANSION * MAX_FILE_BYTES:
        raise LoadError(f"{path}: DOCX expands to {expanded // (1024 * 1024)} MB (a zip bomb?)")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - any failure to parse means a malformed file
        raise LoadError(f"{path}: malformed DOCX ({type(error).__name__})") from None
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text.strip() for cell in row.cells))
    heading = next((p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))), "")
    return "\n\n".join(paragraphs), document.core_properties.title or heading, []


LOADERS: dict[str, Callable[[Path, bytes], tuple[str, str, list[int]]]] = {
    ".txt": _load_text,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
}


def file_info(path: Path, max_bytes: int = MAX_FILE_BYTES) -> os.stat_result:
    """The file's stat if it is a regular file within the size limit; else LoadError saying why."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise LoadError(f"{path}: {'broken link' if path.is_symlink() else 'no such file'}") from None
    except OSError as error:
        raise LoadError(f"{path}: cannot read ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise LoadError(f"{path}: a folder that cannot be listed")
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise LoadError(f"{path}: not a regular file")
    if info.st_size > max_bytes:
        raise LoadError(f"{path}: larger than the {max_bytes / (1024 * 1024):g} MB limit")
    return info


def load_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read one file; raise LoadError with a one-line reason if it cannot be used."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"{path}: unsupported file type '{path.suffix}' (supported: {', '.join(sorted(LOADERS))})")
    file_info(path, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LoadError(f"{path}: cannot read ({error.strerror or error})") from None
    text, title, page_starts = loader(path, data)
    if not text.strip():
        raise LoadError(f"{path}: empty document")
    return Document(
        source=str(path),
        # only a title the file itself declares: it is embedded with every chunk (title_in_chunks), and
        # a file name's words would make all chunks of a document alike, which defeats duplicate collapse
        title=title,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        page_starts=page_starts,
    )


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the supported files they hold (hidden ones skipped); keep files as given.

    Linked folders are followed once each, so a symlink loop ends; a file met twice is kept once."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            visited: set[str] = set()
            unreadable: list[Path] = []
            walk = os.walk(path, followlinks=True, onerror=lambda e, into=unreadable: into.append(Path(e.filename)))
            for folder, subfolders, files in walk:
                real = os.path.realpath(folder)
                if real in visited:
                    subfolders[:] = []
                    continue
                visited.add(real)
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                for name in sorted(files):
                    child = Path(folder, name)
                    if not name.startswith(".") and child.suffix.lower() in LOADERS:
                        found.append(child)
            found.extend(unreadable)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise LoadError(f"{path}: no such file or folder")
    return list(dict.fromkeys(_resolved(p) for p in found))


def _resolved(path: Path) -> Path:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # a broken or looping link: kept by name, reported when read
        return path.absolute()
