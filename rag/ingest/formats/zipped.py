"""Office files, OpenDocument and EPUB are zip archives: opened only when what they hold stays within
MAX_EXPANSION times the file size limit (a zip bomb expands a small file into gigabytes)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from rag.ingest.extracted import LoadError, ReadOptions

MAX_EXPANSION = 4
# A password-protected Office file is not a zip but an OLE container holding the encrypted one
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def checked_zip(path: Path, data: bytes, kind: str, options: ReadOptions) -> zipfile.ZipFile:
    """The archive, or LoadError naming `kind` ("DOCX") when it is not a zip or expands too far."""
    if data.startswith(OLE_MAGIC):
        raise LoadError(
            f"{path}: encrypted {kind} (it needs a password), or an old binary file renamed", reason="encrypted"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise LoadError(f"{path}: malformed {kind} (not a zip archive)") from None
    if expanded > MAX_EXPANSION * options.max_bytes:
        raise LoadError(f"{path}: {kind} expands to {expanded // (1024 * 1024)} MB (a zip bomb?)")
    if any(member.flag_bits & 0x1 for member in archive.infolist()):
        raise LoadError(f"{path}: encrypted {kind} (it needs a password)", reason="encrypted")
    return archive
