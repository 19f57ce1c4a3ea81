"""OCR of scans and images on the CPU: RapidOCR (PP-OCRv4 text detection and recognition, ONNX models
inside the rapidocr-onnxruntime wheel), its boxes put back into lines and paragraphs in reading order.

Settings below were chosen by measurement with eval/ocr_accuracy.py (see eval/results/ocr/)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.ingest.extracted import LoadError, ReadOptions

if TYPE_CHECKING:
    from PIL import Image

# PDF pages are rendered at this resolution
DPI = 300
# A longer side is scaled down to this many pixels first (300 dpi of a Letter or A4 page fits)
MAX_SIDE = 3600
# Text is found on a copy scaled down to this longer side (the detector misses lines of large text),
# and read from the full image
DET_SIDE = 1600
# Detection and recognition settings (rapidocr's names)
ENGINE_SETTINGS: dict[str, Any] = {
    "det_limit_side_len": 736,
    "det_limit_type": "min",
    "det_box_thresh": 0.5,
    "det_unclip_ratio": 1.6,
    "text_score": 0.5,
}
# A space goes between two recognised characters where its probability between them reaches this
SPACE_PROBABILITY = 0.25
# Lines further apart than this many line heights start a new paragraph
PARAGRAPH_GAP = 0.8
# A page reads poorly below this mean confidence: the other orientations are tried
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
    upside down), read it turned too and keep the reading with most confident characters."""
    first = _read(engine, bgr)
    if first.vertical > first.found / 2:
        turns = [1, 3]  # np.rot90: a quarter turn anticlockwise each
    elif first.found and first.confidence < POOR_CONFIDENCE:
        turns = [2]
    else:
        return first
    readings = [first] + [_read(engine, np.ascontiguousarray(np.rot90(bgr, turn))) for turn in turns]
    return max(readings, key=lambda reading: reading.score)


def _lines(boxes: list[_Box]) -> list[list[_Box]]:
    """Boxes grouped into lines by vertical overlap, top to bottom, each line left to right."""
    lines: list[list[_Box]] = []
    spans: list[tuple[float, float]] = []
    for box in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        for n in range(len(lines) - 1, max(-1, len(lines) - 4), -1):  # the last few lines suffice
            top, bottom = spans[n]
            overlap = min(bottom, box.y1) - max(top, box.y0)
            if overlap > 0.5 * min(bottom - top, box.height):
                lines[n].append(box)
                spans[n] = (min(top, box.y0), max(bottom, box.y1))
                break
        else:
            lines.append([box])
            spans.append((box.y0, box.y1))
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _layout(boxes: list[_Box]) -> str:
    """Lines joined by line breaks, paragraphs (a gap of more than PARAGRAPH_GAP line heights) by a
    blank line."""
    lines = _lines(boxes)
    if not lines:
        return ""
    height = median(box.height for box in boxes)
    out: list[str] = []
    bottom = None
    for line in lines:
        top = min(box.y0 for box in line)
        if bottom is not None:
            out.append("\n\n" if top - bottom > PARAGRAPH_GAP * height else "\n")
        out.append(" ".join(box.text for box in line))
        bottom = max(box.y1 for box in line)
    return "".join(out)


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
