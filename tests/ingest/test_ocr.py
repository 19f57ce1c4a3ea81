"""OCR of scans: PDF pages without a text layer and image files, read by the real engine (RapidOCR) from
small pages that fpdf2 writes with known sentences and pypdfium2 renders."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from PIL import Image

from rag.ingest.extracted import ReadOptions
from rag.ingest.load import LoadError, load_file

PAGES = [
    ["Seven orange kites drifted over the quiet harbour.", "Engineers measured the bridge before winter."],
    ["The library opens at nine every morning.", "Fresh bread arrives from the village bakery."],
]
DPI = 150
OFF = ReadOptions(ocr=False)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def overlap(expected: list[str], text: str) -> float:
    """The share of the expected words that were read."""
    want = words(" ".join(expected))
    return len(want & words(text)) / len(want)


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> list[Image.Image]:
    """Each page of PAGES written as a small PDF page, rendered to an image as a scanner would."""
    pdf = FPDF(format=(150, 50))
    pdf.set_font("Helvetica", size=12)
    for lines in PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 8, "\n".join(lines))
    path = tmp_path_factory.mktemp("ocr") / "written.pdf"
    pdf.output(str(path))
    document = pdfium.PdfDocument(path)
    images = [page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L") for page in document]
    document.close()
    return images


def test_png(tmp_path: Path, scans: list[Image.Image]) -> None:
    path = tmp_path / "scan.png"
    scans[0].save(path)
    doc = load_file(path)
    assert overlap(PAGES[0], doc.text) >= 0.9, doc.text
    assert doc.locations == [(0, "image")]


def test_multipage_tiff_gives_a_page_per_frame(tmp_path: Path, scans: list[Image.Image]) -> None:
    path = tmp_path / "scan.tiff"
    scans[0].save(path, save_all=True, append_images=scans[1:], compression="tiff_lzw")
    doc = load_file(path)
    assert [label for _, label in doc.locations] == ["page 1", "page 2"]
    second = doc.locations[1][0]
    assert overlap(PAGES[0], doc.text[:second]) >= 0.9 and overlap(PAGES[1], doc.text[second:]) >= 0.9, doc.text
    assert doc.page_starts == [0, second]


def test_image_only_pdf(tmp_path: Path, scans: list[Image.Image]) -> None:
    path = tmp_path / "scanned.pdf"
    scans[0].save(path, save_all=True, append_images=scans[1:], resolution=DPI)
    doc = load_file(path, ReadOptions(progress=True))  # a bar on stderr: two pages to read
    assert [label for _, label in doc.locations] == ["page 1", "page 2"]
    assert overlap(PAGES[1], doc.text[doc.page_starts[1] :]) >= 0.9, doc.text


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_page_scanned_turned(tmp_path: Path, scans: list[Image.Image], degrees: int) -> None:
    path = tmp_path / "turned.png"
    scans[0].rotate(degrees, expand=True).save(path)
    text = load_file(path).text
    assert overlap(PAGES[0], text) >= 0.9, text
    assert text.lower().index("seven") < text.lower().index("engineers")  # lines in reading order


def test_pdf_mixing_text_and_scanned_pages_keeps_both_in_order(tmp_path: Path, scans: list[Image.Image]) -> None:
    image = tmp_path / "page.png"
    scans[1].save(image)
    pdf = FPDF(format=(150, 50))
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "A typed page about the annual rowing regatta.")
    pdf.add_page()
    pdf.image(str(image), x=0, y=0, w=150, h=50)
    path = tmp_path / "mixed.pdf"
    pdf.output(str(path))
    doc = load_file(path)
    assert doc.text.startswith("A typed page about the annual rowing regatta.")
    assert [label for _, label in doc.locations] == ["page 1", "page 2"]
    assert overlap(PAGES[1], doc.text[doc.page_starts[1] :]) >= 0.9, doc.text
    # with OCR off the scanned page is left out, the typed one kept
    assert load_file(path, OFF).text.strip() == "A typed page about the annual rowing regatta."


def test_ocr_off_refuses_images(tmp_path: Path, scans: list[Image.Image]) -> None:
    path = tmp_path / "scan.png"
    scans[0].save(path)
    with pytest.raises(LoadError, match="OCR is off") as refused:
        load_file(path, OFF)
    assert refused.value.reason == "no text"


def test_blank_image_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.jpg"
    Image.new("L", (300, 200), 255).save(path)
    with pytest.raises(LoadError, match="no text found by OCR") as refused:
        load_file(path)
    assert refused.value.reason == "no text"


def test_corrupt_png(tmp_path: Path, scans: list[Image.Image]) -> None:
    path = tmp_path / "broken.png"
    scans[0].save(path)
    path.write_bytes(path.read_bytes()[:200])  # cut short
    with pytest.raises(LoadError, match="corrupt image") as refused:
        load_file(path)
    assert refused.value.reason == "corrupt"
    path.write_bytes(b"not an image at all")
    with pytest.raises(LoadError, match="corrupt image"):
        load_file(path)


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000), 1).save(path)  # a few kB that would decode to 144 megapixels
    with pytest.raises(LoadError, match="image too large") as refused:
        load_file(path)
    assert refused.value.reason == "too large"


def test_layout_joins_boxes_into_lines_and_paragraphs() -> None:
    from rag.ingest.ocr import _Box, _layout

    boxes = [  # as the detector gives them: out of order, one line in two boxes at slightly different heights
        _Box("second line", 0.9, 10, 40, 300, 60),
        _Box("after a gap", 0.9, 10, 100, 200, 120),
        _Box("first line,", 0.9, 10, 10, 150, 30),
        _Box("its end", 0.9, 160, 12, 260, 31),
    ]
    # the lines of a paragraph run on (rag/ingest/reflow.py): a printed line's end is not a sentence's
    assert _layout(boxes) == "first line, its end second line\n\nafter a gap"


def test_layout_reads_two_columns_one_after_the_other() -> None:
    from rag.ingest.ocr import _Box, _layout

    title = [_Box("A title across both columns", 0.9, 100, 10, 900, 40)]
    left = [_Box(f"left column line {n}", 0.9, 10, 60 + 30 * n, 480, 80 + 30 * n) for n in range(4)]
    right = [_Box(f"right column line {n}", 0.9, 520, 60 + 30 * n, 990, 80 + 30 * n) for n in range(4)]
    text = _layout(right + left + title)
    paragraphs = ["A title across both columns", " ".join(b.text for b in left), " ".join(b.text for b in right)]
    assert text.split("\n\n") == paragraphs
