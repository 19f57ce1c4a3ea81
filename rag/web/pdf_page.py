"""A PDF page as the viewer shows it: rendered by PDFium, with the boxes of the cited sentences on it.

The index read the page's text with pypdf; PDFium's text of the same page differs in spacing, line breaks,
hyphens and ligatures. So a sentence is found on the page by its letters and digits alone (NFKC, lower
case), and PDFium gives the rectangles of the characters it covers.
"""

from __future__ import annotations

import hashlib
import io
import threading
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.ingest.ocr import TextBox

# A page is rendered this many pixels wide (a sharp page in a browser column, ~100 kB as PNG)
RENDER_WIDTH = 1100
# Where the whole sentence is not found (text split oddly, a word of it on the next page), its longest run
# found on the page is marked when it is at least this share of the sentence and this many characters
PARTIAL_SHARE = 0.5
PARTIAL_MIN = 12
_pdfium_lock = threading.Lock()  # PDFium is not thread-safe
OCR_CACHED_PAGES = 16
_ocr_cache: dict[tuple[str, int], list[TextBox]] = {}
_ocr_lock = threading.Lock()  # one page read at a time (OCR takes the cores), each read once


@dataclass(frozen=True)
class Box:
    """A highlighted rectangle as fractions of the rendered page: left, top, width, height in 0..1."""

    left: float
    top: float
    width: float
    height: float


@dataclass
class PageView:
    number: int  # 1-based
    pages: int  # in the document
    width: float  # points, as shown (rotation applied)
    height: float
    marks: list[list[Box]]  # per sentence asked for: its boxes (empty: not found on this page)
    has_text: bool  # False: a scan without a text layer (the index read it by OCR)


def letters_and_digits(text: str) -> tuple[str, list[int]]:
    """The letters and digits of `text`, folded, and for each the index of the character it came from."""
    keys, where = [], []
    for i, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).lower():
            if folded.isalnum():
                keys.append(folded)
                where.append(i)
    return "".join(keys), where


def find_span(page_text: str, sentence: str) -> tuple[int, int] | None:
    """(first, last) character index of `sentence` in `page_text`, matched on letters and digits; else its
    longest run on the page, if long enough (PARTIAL_SHARE, PARTIAL_MIN); else None."""
    haystack, where = letters_and_digits(page_text)
    needle, _ = letters_and_digits(sentence)
    if not needle or not haystack:
        return None
    at = haystack.find(needle)
    if at >= 0:
        return where[at], where[at + len(needle) - 1]
    run = SequenceMatcher(None, haystack, needle, autojunk=False).find_longest_match()
    if run.size >= max(PARTIAL_MIN, PARTIAL_SHARE * len(needle)):
        return where[run.a], where[run.a + run.size - 1]
    return None


def _open(data: bytes):  # noqa: ANN202 - pypdfium2's PdfDocument, imported lazily
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        raise RagError(f"the PDF cannot be opened ({error})") from None


def _page_text(textpage) -> str:  # noqa: ANN001
    """The page's characters, one per PDFium character index (get_text_range may merge some)."""
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count)
    if len(text) == count:
        return text
    import pypdfium2.raw as raw

    return "".join(chr(raw.FPDFText_GetUnicode(textpage, i) or 32) for i in range(count))


def _shown(rect: tuple[float, float, float, float], crop: tuple[float, float, float, float], rotation: int) -> Box:
    """A rectangle in PDF space (left, bottom, right, top) as fractions of the page as rendered."""
    left, bottom, right, top = rect
    x0, y0, x1, y1 = crop
    width, height = x1 - x0, y1 - y0
    # fractions of the unrotated page, from its top-left corner
    fl, fr = (left - x0) / width, (right - x0) / width
    ft, fb = (y1 - top) / height, (y1 - bottom) / height
    if rotation == 90:  # turned clockwise: the left edge becomes the top
        fl, ft, fr, fb = 1 - fb, fl, 1 - ft, fr
    elif rotation == 180:
        fl, ft, fr, fb = 1 - fr, 1 - fb, 1 - fl, 1 - ft
    elif rotation == 270:
        fl, ft, fr, fb = ft, 1 - fr, fb, 1 - fl
    clamp = lambda v: min(max(v, 0.0), 1.0)  # noqa: E731
    fl, ft, fr, fb = clamp(fl), clamp(ft), clamp(fr), clamp(fb)
    return Box(round(fl, 5), round(ft, 5), round(fr - fl, 5), round(fb - ft, 5))


def page_view(data: bytes, number: int, sentences: list[str]) -> PageView:
    """Page `number` of the PDF and the boxes of each sentence on it."""
    with _pdfium_lock:
        document = _open(data)
        try:
            pages = len(document)
            if not 1 <= number <= pages:
                raise RagError(f"no page {number} (the PDF has {pages})")
            page = document[number - 1]
            rotation = page.get_rotation() % 360
            crop = page.get_bbox()  # the crop box in effect (get_cropbox ignores an inherited one)
            width, height = page.get_size()
            if rotation in (90, 270):
                width, height = height, width
            textpage = page.get_textpage()
            text = _page_text(textpage)
            marks = []
            for sentence in sentences:
                span = find_span(text, sentence)
                boxes = []
                if span:
                    for i in range(textpage.count_rects(span[0], span[1] - span[0] + 1)):
                        boxes.append(_shown(textpage.get_rect(i), crop, rotation))
                marks.append([b for b in boxes if b.width > 0 and b.height > 0])
        finally:
            document.close()
    if text.strip():
        return PageView(number, pages, width, height, marks, True)
    # a scan: the index read it by OCR, so the sentences are found among the boxes OCR reads on it
    return PageView(number, pages, width, height, scanned_marks(data, number, sentences), False)


def _scanned_boxes(data: bytes, number: int) -> list[TextBox]:
    """The page's OCR boxes, read once for the last few pages viewed (a page takes seconds)."""
    from rag.ingest.ocr import ocr_pdf_page_boxes

    key = (hashlib.sha256(data).hexdigest(), number)
    with _ocr_lock:
        if key not in _ocr_cache:
            _ocr_cache[key] = ocr_pdf_page_boxes(data, number)
            while len(_ocr_cache) > OCR_CACHED_PAGES:
                _ocr_cache.pop(next(iter(_ocr_cache)))
        return _ocr_cache[key]


def scanned_marks(data: bytes, number: int, sentences: list[str]) -> list[list[Box]]:
    """Each sentence's boxes on a page without a text layer: the OCR boxes it covers, the first and last cut
    at the sentence's first and last character (as if the box's characters were evenly wide)."""
    found = _scanned_boxes(data, number)
    text, owner, at = [], [], []  # the page's OCR text; for each character, its box and place in the box
    for n, box in enumerate(found):
        for i, char in enumerate(box.text + " "):
            text.append(char)
            owner.append(n)
            at.append(i / max(1, len(box.text)))
    marks = []
    for sentence in sentences:
        span = find_span("".join(text), sentence)
        if span is None:
            marks.append([])
            continue
        (first, last), boxes = span, []
        for n in range(owner[first], owner[last] + 1):
            box = found[n]
            width = box.right - box.left
            left = box.left + (width * at[first] if n == owner[first] else 0)
            right = box.left + (width * min(1.0, at[last] + 1 / max(1, len(box.text))) if n == owner[last] else width)
            boxes.append(Box(round(left, 5), round(box.top, 5), round(right - left, 5), round(box.bottom - box.top, 5)))
        marks.append(boxes)
    return marks


def page_png(data: bytes, number: int, width_px: int = RENDER_WIDTH) -> bytes:
    """Page `number` rendered as a PNG `width_px` wide."""
    with _pdfium_lock:
        document = _open(data)
        try:
            if not 1 <= number <= len(document):
                raise RagError(f"no page {number} (the PDF has {len(document)})")
            page = document[number - 1]
            shown_width = page.get_height() if page.get_rotation() % 180 else page.get_width()
            image = page.render(scale=width_px / shown_width).to_pil()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
