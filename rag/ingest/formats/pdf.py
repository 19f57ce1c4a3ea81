"""PDF: each page's text layer (pypdf), its lines joined into paragraphs; a page without one (a scan) is read by
OCR when it is on."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.reflow import reflow

# pypdf logs what it repairs in a damaged file ("EOF marker not found"); the skip reason says what matters
logging.getLogger("pypdf").setLevel(logging.ERROR)

# A page with a picture and fewer characters than this in its text layer is taken as a scan (a page
# number or a stray header is all some scanners put in the text layer); a page with no text is one always
MIN_PAGE_CHARS = 16


def _has_picture(page: object) -> bool:
    try:
        return bool(page.images)  # type: ignore[attr-defined] - pypdf lists them without decoding
    except Exception:  # noqa: BLE001 - a damaged image table: let OCR have a look
        return True


def _text_layer(path: Path, data: bytes) -> tuple[list[str], list[int], str]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        # one encrypted with an empty user password (only copying or printing restricted) opens without one
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(f"{path}: encrypted PDF (it needs a password)", reason="encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        scans = [
            n
            for n, (page, text) in enumerate(zip(reader.pages, pages, strict=True))
            if not text.strip() or (len(text.strip()) < MIN_PAGE_CHARS and _has_picture(page))
        ]
        title = str((reader.metadata or {}).get("/Title") or "")
    except LoadError:
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many kinds on broken files; all mean "corrupt"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LoadError(f"{path}: corrupt PDF ({reason})") from None
    return pages, scans, title


def read_pdf(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    pages, scans, title = _text_layer(path, data)
    pages = [reflow(text) for text in pages]  # a line break of the layout is not a sentence's end
    if scans and options.ocr:
        from rag.ingest.ocr import ocr_pdf_pages

        for n, text in ocr_pdf_pages(path, data, scans, options).items():
            pages[n] = text
    built = TextBuilder()
    for n, text in enumerate(pages, start=1):
        built.add(text, f"page {n}", page=True)
    extracted = built.result(title)
    if not extracted.text.strip():
        if not options.ocr:
            raise LoadError(f"{path}: PDF has no text layer (a scan), and OCR is off (ingest.ocr)", reason="no text")
        raise LoadError(f"{path}: no text found, even by OCR", reason="no text")
    return extracted
