"""One reader per kind of file, each `read(path, data, options) -> Extracted`, found by file suffix.

A reader is imported when a file of its kind is first read: indexing text files never loads the
spreadsheet, e-mail or OCR libraries."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from rag.ingest.extracted import Extracted, ReadOptions

Reader = Callable[[Path, bytes, ReadOptions], Extracted]

# Source code and plain-text formats: read as text, cited by line-free character offsets
CODE = (
    ".py .pyi .js .mjs .jsx .ts .tsx .java .kt .scala .c .h .cc .cpp .hpp .cs .go .rs .rb .php .swift .m .r "
    ".jl .lua .pl .sh .bash .zsh .ps1 .bat .sql .css .scss .yaml .yml .toml .ini .cfg .conf .tex .rst .org .adoc "
    ".log .xml .svg .properties .gradle .dockerfile .mk .cmake .vue .dart .hs .ex .exs .erl .clj .elm .fs .groovy"
).split()

# suffix -> "module:function" under rag.ingest.formats
READERS: dict[str, str] = {
    ".txt": "text:read_text",
    ".text": "text:read_text",
    ".md": "text:read_markdown",
    ".markdown": "text:read_markdown",
    **{suffix: "text:read_code" for suffix in CODE},
    ".json": "data:read_json",
    ".jsonl": "data:read_jsonl",
    ".ndjson": "data:read_jsonl",
    ".ipynb": "data:read_notebook",
    ".html": "web:read_html",
    ".htm": "web:read_html",
    ".xhtml": "web:read_html",
    ".pdf": "pdf:read_pdf",
    ".docx": "office:read_docx",
    ".pptx": "office:read_pptx",
    ".odt": "opendocument:read_odt",
    ".rtf": "rtf:read_rtf",
    ".xlsx": "sheets:read_xlsx",
    ".xlsm": "sheets:read_xlsx",
    ".xls": "sheets:read_xls",
    ".ods": "sheets:read_ods",
    ".csv": "sheets:read_csv",
    ".tsv": "sheets:read_tsv",
    ".epub": "ebook:read_epub",
    ".eml": "mail:read_eml",
    ".mbox": "mail:read_mbox",
    ".msg": "outlook:read_msg",
    ".png": "images:read_image",
    ".jpg": "images:read_image",
    ".jpeg": "images:read_image",
    ".tif": "images:read_image",
    ".tiff": "images:read_image",
    ".bmp": "images:read_image",
    ".webp": "images:read_image",
}


# A reader's revision, raised when the text it gives changed: documents read by an older one are read again
# (rag.store.sync.examine) though their files did not change. 2: a PDF page's and an OCR page's lines run on
# into paragraphs (rag/ingest/reflow.py); mail reads its PDF and image attachments with those readers.
REVISIONS: dict[str, int] = {"pdf": 2, "images": 2, "mail": 2, "outlook": 2}


def revision_of(path: Path) -> int:
    """The revision of the reader of `path`'s kind (1: never changed)."""
    target = READERS.get(path.suffix.lower(), "")
    return REVISIONS.get(target.split(":")[0], 1)


def reader_for(path: Path) -> Reader | None:
    """The reader of `path`'s kind, None when the kind is not read."""
    target = READERS.get(path.suffix.lower())
    if target is None:
        return None
    module, function = target.split(":")
    return getattr(importlib.import_module(f"rag.ingest.formats.{module}"), function)
