"""HTML pages (rag/ingest/html_text.py: a streaming parse, tables kept as rows that name their columns)."""

from __future__ import annotations

from pathlib import Path

from rag.ingest.extracted import Extracted, ReadOptions
from rag.ingest.formats.text import decode_text
from rag.ingest.html_text import html_text


def read_html(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    text, title = html_text(decode_text(data, path))
    return Extracted(text, title)
