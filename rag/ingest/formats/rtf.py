"""RTF: its text through striprtf. RTF is 7-bit text whose other characters are escapes (\\'e9 in the
document's code page, \\u233 for Unicode), so the bytes are read as Windows-1252 and striprtf decodes
the escapes."""

from __future__ import annotations

import re
from pathlib import Path

from rag.ingest.extracted import Extracted, LoadError, ReadOptions

# Pictures and embedded objects are long runs of hex digits inside groups striprtf ignores; dropping them
# first saves it walking every digit (a page of text with a photo is mostly photo)
_HEX_BLOB = re.compile(r"[0-9a-fA-F\r\n]{512,}")
_TITLE = re.compile(r"\{\\title\s*((?:[^{}\\]|\\[^{}])*)\}")
_BLANK_LINES = re.compile(r"\n[ \t\xa0]*(?:\n[ \t\xa0]*)+")


def read_rtf(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        raise LoadError(f"{path}: not an RTF file (no {{\\rtf header)")
    source = _HEX_BLOB.sub("", data.decode("cp1252", errors="replace"))
    text = _to_text(path, source)
    title = _TITLE.search(source)
    return Extracted(_tidy(text), " ".join(_to_text(path, "{\\rtf1 " + title.group(1) + "}").split()) if title else "")


def _to_text(path: Path, source: str) -> str:
    from striprtf.striprtf import rtf_to_text

    try:
        text = rtf_to_text(source, errors="replace")
    except (LookupError, ValueError) as error:  # a code page Python has no codec for; a malformed number
        raise LoadError(f"{path}: corrupt RTF ({error})") from None
    # striprtf writes each half of a surrogate pair (\u-10179 \u-8704: an emoji) as its own character:
    # joined here into the one character they encode; a lone half becomes U+FFFD
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", errors="replace")


def _tidy(text: str) -> str:
    """Lines without trailing spaces, and no more than one blank line in a row."""
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()
