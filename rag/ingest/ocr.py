"""OCR of scans and images on the CPU: RapidOCR (PP-OCRv4 text detection and recognition, ONNX models
inside the rapidocr-onnxruntime wheel), its boxes put back into lines and paragraphs in reading order.

Settings below were chosen by measurement with eval/ocr_accuracy.py (see eval/results/ocr/)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.ingest.extracted import LoadError, ReadOptions
from rag.ingest.reflow import reflow

if TYPE_CHECKING:
    from PIL import Image

# Mean CER on the 11 tuning pages (eval/ocr_accuracy.py --every 5) is given for each choice below.
# PDF pages are rendered at this resolution: at 300 dpi 0.8%, at 150 dpi 0.9%, at much the same speed (the
# detector sees DET_SIDE pixels either way; only the line images read are larger)
DPI = 300
# A longer side is scaled down to this many pixels first (300 dpi of a Letter or A4 page fits)
MAX_SIDE = 3600
# Text is found on a copy scaled down to this longer side, and read from the full image (rapidocr as
# shipped reads a copy scaled to 2000 pixels, with its angle classifier: 5.7%). 1280: 0.85%, 1600:
# 0.77%, 2000: 0.80%; the whole 300 dpi page: 0.81%, with three times the pixels to search.
DET_SIDE = 1600
# rapidocr's settings; a box grown by 2.0 (not 1.6) leaves room above and below a line, without which
# the recogniser drops more spaces (150 dpi: 1.33% -> 0.88%; 300 dpi 0.77% -> 0.83%). Boxes kept at 0.3
# (0.79%) or lines at a score of 0.3 (0.82%) changed nothing beyond noise.
ENGINE_SETTINGS: dict[str, Any] = {
    "det_limit_side_len": 736,
    "det_limit_type": "min",
    "det_box_thresh": 0.5,
    "det_unclip_ratio": 2.0,
    "text_score": 0.5,
}
# A space goes between two recognised characters where its probability between them reaches this
# (150 dpi: only where likeliest 1.79%, 0.15: 0.87%, 0.25: 0.88%, 0.4: 0.95%; 300 dpi: 0.1 was worse)
SPACE_PROBABILITY = 0.25
# Lines further apart than this many line heights start a new paragraph
PARAGRAPH_GAP = 0.8
# Two columns: an empty strip at least this many line heights wide between them, with at least
# MIN_COLUMN_BOXES boxes on either side
GUTTER = 0.5
MIN_COLUMN_BOXES = 3
COLUMN_BALANCE = 0.25  # and the smaller column at least this share of the larger
COLUMN_WIDTH = 4  # and lines of text: a tenth of them at least this many line heights wide
# A page reads poorly below this mean confidence: it is read turned over too (upright pages read at
# 0.95-0.99, upside down at 0.47-0.61)
POOR_CONFIDENCE = 0.8

_engine: Any = None
_lock = threading.Lock()  # one page at a time: bounds memory, and two pages would only share the 2 cores


@dataclass
class _Box:
    text: str
    confidence: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass
class _Reading:
    boxes: list[_Box]  # the lines read with confidence
    found: int = 0  # text boxes found
    vertical: int = 0  # of them, boxes taller than wide: text running down the page
    confidence: float = 0.0  # mean over all boxes found: low for text read upside down
    turn: int = 0  # quarter turns (np.rot90's k) the image was read turned by

    @property
    def score(self) -> float:
        return sum(box.confidence * len(box.text) for box in self.boxes)


def _threads() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, 8))


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        # CPU only (rapidocr's default); inter-op 1: these models are a chain of operators
        engine = RapidOCR(intra_op_num_threads=_threads(), inter_op_num_threads=1, **ENGINE_SETTINGS)
        engine.text_rec.postprocess_op = _SpacingDecoder(engine.text_rec.postprocess_op.character)
        _engine = engine
    return _engine


def _rgb(image: Image.Image) -> np.ndarray:
    """The image as 8-bit RGB: transparency on white (a transparent PNG's text is often black on
    nothing), 16-bit and float scans stretched to 0-255."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        gray = ((values - low) * (255 / max(high - low, 1e-6))).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


def _to_bgr(image: Image.Image) -> np.ndarray:
    rgb = _rgb(image)
    scale = MAX_SIDE / max(rgb.shape[:2])
    if scale < 1:
        import cv2

        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb[:, :, ::-1])


class _SpacingDecoder:
    """Greedy CTC decoding as rapidocr's, but with a space between two characters wherever the space was
    likely (SPACE_PROBABILITY) in the frames between them, not only where it was the likeliest: the
    recogniser, trained mostly on Chinese, often drops the spaces of English text."""

    def __init__(self, characters: list[str]) -> None:
        self.characters = characters
        self.space = characters.index(" ")

    def __call__(self, preds: np.ndarray, *_: object, **__: object) -> list[tuple[str, float]]:
        return [self._decode(probabilities) for probabilities in preds]

    def _decode(self, probabilities: np.ndarray) -> tuple[str, float]:
        best = probabilities.argmax(axis=1)
        emitted = np.flatnonzero((best != 0) & np.concatenate(([True], best[1:] != best[:-1])))  # 0: blank
        if not len(emitted):
            return "", 0.0
        space = probabilities[:, self.space]
        out: list[str] = []
        previous = None
        for at in emitted:
            char = self.characters[best[at]]
            if previous is not None and " " not in (out[-1], char):
                between = space[previous + 1 : at]
                if between.size and between.max() >= SPACE_PROBABILITY:
                    out.append(" ")
            out.append(char)
            previous = at
        return "".join(out), float(probabilities[emitted, best[emitted]].mean())


def _read(engine: Any, bgr: np.ndarray) -> _Reading:
    """One reading of the image as it stands: text found on a scaled-down copy, read from the full one."""
    import cv2

    scale = min(1.0, DET_SIDE / max(bgr.shape[:2]))
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
    boxes, _ = engine.text_det(small)
    if boxes is None or len(boxes) == 0:
        return _Reading([])
    boxes = (boxes / scale).astype(np.float32)
    # rapidocr's angle classifier is left out: it turned right-way-up lines over (CER 7.7% against 0.8%)
    recognised, _ = engine.text_rec(engine.get_crop_img_list(bgr, boxes))
    kept, vertical = [], 0
    for box, (text, confidence) in zip(boxes, recognised, strict=True):
        xs, ys = box[:, 0], box[:, 1]
        vertical += (ys.max() - ys.min()) > 1.5 * (xs.max() - xs.min())
        text = text.replace("\u3000", " ").strip()
        if text and confidence >= engine.text_score:
            kept.append(_Box(text, confidence, xs.min(), ys.min(), xs.max(), ys.max()))
    mean = sum(confidence for _, confidence in recognised) / len(recognised)
    return _Reading(kept, len(boxes), vertical, mean)


def _best_reading(engine: Any, bgr: np.ndarray) -> _Reading:
    """Read the image; when it looks turned (most text runs down the page, or its lines read poorly:
    upside down), read it turned until it reads well, and keep the reading with most confident characters."""
    first = _read(engine, bgr)
    if first.vertical > first.found / 2:
        # rapidocr reads a tall box turned a quarter turn anticlockwise: when that read well, the page
        # wants the same turn (np.rot90 k=1), else the opposite one (k=3)
        turns = [1, 3] if first.confidence >= POOR_CONFIDENCE else [3, 1]
    elif first.found and first.confidence < POOR_CONFIDENCE:
        turns = [2]
    else:
        return first
    # a page read sideways may read well line by line, but its lines run across the page: it is not kept
    readings = [] if turns != [2] else [first]
    for turn in turns:
        readings.append(_read(engine, np.ascontiguousarray(np.rot90(bgr, turn))))
        readings[-1].turn = turn
        if readings[-1].confidence >= POOR_CONFIDENCE:
            break
    best = max(readings, key=lambda reading: reading.score)
    return best if best.boxes else first


def _lines(boxes: list[_Box]) -> list[list[_Box]]:
    """Boxes grouped into lines by vertical overlap, top to bottom, each line left to right."""
    lines: list[list[_Box]] = []
    spans: list[tuple[float, float]] = []
    for box in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        for n in range(len(lines) - 1, max(-1, len(lines) - 4), -1):  # the last few lines suffice
            top, bottom = spans[n]
            overlap = min(bottom, box.y1) - max(top, box.y0)
            # half the taller: a box the detector drew over several lines does not join them into one
            if overlap > 0.5 * max(bottom - top, box.height):
                lines[n].append(box)
                spans[n] = (min(top, box.y0), max(bottom, box.y1))
                break
        else:
            lines.append([box])
            spans.append((box.y0, box.y1))
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _columns(boxes: list[_Box], height: float) -> list[list[_Box]]:
    """The boxes as blocks in reading order: where an empty strip (a gutter) runs down the middle of the
    page between two columns of text, the left column's boxes, then the right's, between the boxes that
    span both (a title above the columns)."""
    if len(boxes) < 2 * MIN_COLUMN_BOXES:
        return [boxes]
    starts, ends = np.array([b.x0 for b in boxes]), np.array([b.x1 for b in boxes])
    left, right = starts.min(), ends.max()
    xs = np.linspace(left + 0.2 * (right - left), right - 0.2 * (right - left), 200)
    crossing = ((starts[None, :] < xs[:, None]) & (ends[None, :] > xs[:, None])).sum(axis=1)
    fewest = int(crossing.min())
    if fewest > max(2, 0.1 * len(boxes)):  # a title or two may cross the gutter
        return [boxes]
    free = np.flatnonzero(crossing == fewest)
    strips = np.split(free, np.flatnonzero(np.diff(free) > 1) + 1)
    # of the strips crossed by fewest boxes, the one where most lines start just after: a column's edge
    gutter = max(strips, key=lambda strip: int(np.sum(np.abs(starts - xs[strip[-1]]) < height)))
    cut = xs[gutter[len(gutter) // 2]]
    spanning = sorted((b for b in boxes if b.x0 < cut < b.x1), key=lambda b: b.y0)
    sides = [b for b in boxes if b.x1 <= cut], [b for b in boxes if b.x0 >= cut]
    # a few boxes off to one side (notes beside a table) are not a column
    if min(map(len, sides)) < max(MIN_COLUMN_BOXES, COLUMN_BALANCE * max(map(len, sides))):
        return [boxes]
    if min(b.x0 for b in sides[1]) - max(b.x1 for b in sides[0]) < GUTTER * height:
        return [boxes]
    # a column of short boxes (page numbers, a table's figures) goes with its rows, not after them
    if min(np.percentile([b.x1 - b.x0 for b in side], 90) for side in sides) < COLUMN_WIDTH * height:
        return [boxes]
    blocks: list[list[_Box]] = []
    spans: list[_Box] = []  # spanning boxes with no column text between them: one block
    top = -np.inf
    for n, bottom in enumerate([b.y0 for b in spanning] + [np.inf]):
        # each column's part above this spanning box, recursively (three columns)
        parts = [[b for b in side if top <= (b.y0 + b.y1) / 2 < bottom] for side in sides]
        if any(parts):
            blocks += [spans] if spans else []
            spans = []
            blocks += [block for part in parts if part for block in _columns(part, height)]
        spans += spanning[n : n + 1]
        top = bottom
    return blocks + ([spans] if spans else [])
    return blocks


def _in_order(boxes: list[_Box]) -> Iterator[tuple[str, _Box]]:
    """Each box in reading order, after what separates it from the one before: "" (the first), " " (the
    same line), a line break, or a blank line (a paragraph: a gap of more than PARAGRAPH_GAP line heights,
    or the next column)."""
    if not boxes:
        return
    height = median(box.height for box in boxes)
    before = ""
    for block in _columns(boxes, height):
        bottom = None
        for line in _lines(block):
            top = min(box.y0 for box in line)
            if bottom is not None:
                before = "\n\n" if top - bottom > PARAGRAPH_GAP * height else "\n"
            for n, box in enumerate(line):
                yield (before if n == 0 else " "), box
            bottom = max(box.y1 for box in line)
        before = "\n\n"


def _layout(boxes: list[_Box]) -> str:
    """Columns one after the other; paragraphs apart by a blank line; the lines of one run on (reflow)."""
    return reflow("".join(before + box.text for before, box in _in_order(boxes)).strip())


@dataclass(frozen=True)
class TextBox:
    """A box of text read by OCR, where it is on the image: fractions of its width and height."""

    text: str
    left: float
    top: float
    right: float
    bottom: float


def ocr_boxes(image: Image.Image) -> list[TextBox]:
    """The image's text boxes in the order ocr_image reads them (its text is theirs, joined by spaces and
    line breaks); none where the image was read turned, its boxes then being on the turned image."""
    with _lock:
        reading = _best_reading(_get_engine(), _to_bgr(image))
    if reading.turn:
        return []
    w, h = image.size
    return [TextBox(b.text, b.x0 / w, b.y0 / h, b.x1 / w, b.y1 / h) for _, b in _in_order(reading.boxes)]


def ocr_pdf_page_boxes(data: bytes, number: int) -> list[TextBox]:
    """The text boxes of page `number` (1-based) of a PDF, rendered as for indexing (see ocr_boxes)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return ocr_boxes(_render(document, number - 1))
    finally:
        document.close()


def ocr_image(image: Image.Image) -> str:
    """The text of one image (a scan, a photo of a page), in reading order."""
    with _lock:
        engine = _get_engine()
        reading = _best_reading(engine, _to_bgr(image))
    return _layout(reading.boxes)


def _render(document: Any, n: int) -> Image.Image:
    page = document[n]
    try:
        # a poster-sized page is drawn no larger than MAX_SIDE
        scale = min(DPI / 72, MAX_SIDE / max(page.get_size()))
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def ocr_pdf_pages(path: Path, data: bytes, pages: list[int], options: ReadOptions) -> dict[int, str]:
    """The OCR text of the PDF's `pages` (0-based), rendered one at a time at DPI."""
    import pypdfium2 as pdfium
    from tqdm import tqdm

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        raise LoadError(f"{path}: corrupt PDF ({error})") from None
    texts: dict[int, str] = {}
    try:
        bar = tqdm(pages, desc="OCR", unit="page", disable=not options.progress or len(pages) < 2, leave=False)
        for n in bar:
            try:
                image = _render(document, n)
            except pdfium.PdfiumError:
                continue  # a page that cannot be drawn is left without text; the others are kept
            texts[n] = ocr_image(image)
    finally:
        document.close()
    return texts
