"""Plain text, Markdown and source code: decoded (UTF-8, UTF-16 with a byte-order mark, else
Windows-1252 when that reads as clean text)."""

from __future__ import annotations

import re
from pathlib import Path

from rag.ingest.extracted import Extracted, LoadError, ReadOptions


def decode_text(data: bytes, path: Path) -> str:
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


def read_text(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    return Extracted(decode_text(data, path))


def read_markdown(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    text = decode_text(data, path)
    heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    return Extracted(text, heading.group(1).strip() if heading else "")


def read_code(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    """Source code as it is: its identifiers and comments are what a question about it names."""
    return Extracted(decode_text(data, path))
