"""Load files into Documents: .txt, .md, .html, .pdf, .docx, as single files or whole folders."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from rag.errors import RagError
from rag.types import Document

MAX_FILE_BYTES = 50 * 1024 * 1024


class LoadError(RagError):
    """A file that cannot be read as a document; the message says why."""


def _decode(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError(f"{path}: binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(f"{path}: not valid UTF-8 text (byte {error.start})") from None


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
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data, path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), title, []


def _load_pdf(path: Path, data: bytes) -> tuple[str, str, list[int]]:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(f"{path}: encrypted PDF")
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
    import io

    import docx

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


def load_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read one file; raise LoadError with a one-line reason if it cannot be used."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"{path}: unsupported file type '{path.suffix}' (supported: {', '.join(sorted(LOADERS))})")
    try:
        if path.stat().st_size > max_bytes:
            raise LoadError(f"{path}: larger than the {max_bytes // (1024 * 1024)} MB limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except OSError as error:
        raise LoadError(f"{path}: cannot read ({error.strerror or error})") from None
    text, title, page_starts = loader(path, data)
    if not text.strip():
        raise LoadError(f"{path}: empty document")
    return Document(
        source=str(path),
        title=title or path.stem.replace("_", " ").replace("-", " "),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        page_starts=page_starts,
    )


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the supported files they hold (hidden ones skipped); keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in LOADERS:
                    found.append(child)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise LoadError(f"{path}: no such file or folder")
    return list(dict.fromkeys(p.resolve() for p in found))
