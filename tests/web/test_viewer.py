"""The cited place in the original file (rag/web/viewer.py), in process: a PDF page with the cited sentence's
boxes where its words are drawn, Office and text files with the sentence marked, and nothing served that is
not a document of the collection. No model is loaded (tests/fakes.py); the same through a real server and
Chromium is tests/web/test_viewer_browser.py."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import docx
import numpy as np
import openpyxl
import pptx
import pypdfium2 as pdfium
import pytest
from fakes import FakeEmbedder, ScriptedGenerator
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image

from rag.collections import Collections
from rag.pipeline import RAG
from rag.types import Chunk
from rag.web.pdf_page import find_span, page_png, page_view
from rag.web.render import open_link
from rag.web.viewer import cited_url, viewer_router

FACT = "The harbour bridge opened in 1932 and carries eight lanes of traffic."
FILLER = "Councils publish their minutes every month, and the archive keeps them for twenty years. "
SECRET = "ZANZIBAR-7731 is the vault code"


def write_pdf(path: Path, rotate: int = 0, fact: str = FACT) -> None:
    """Three pages; `fact` in the middle of page 2."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for n in (1, 2, 3):
        pdf.add_page()
        pdf.multi_cell(0, 8, FILLER * 3 + (fact + " " if n == 2 else "") + FILLER * 3)
    data = bytes(pdf.output())
    if rotate:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page.rotate(rotate))
        buffer = io.BytesIO()
        writer.write(buffer)
        data = buffer.getvalue()
    path.write_bytes(data)


def write_office(folder: Path) -> None:
    document = docx.Document()
    document.add_heading("Transport report", 1)
    document.add_paragraph(FILLER * 4)
    document.add_heading("Bridges", 2)
    document.add_paragraph(FACT)
    document.save(folder / "report.docx")
    deck = pptx.Presentation()
    for n in (1, 2, 3):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Part {n}"
        slide.placeholders[1].text = FACT if n == 3 else FILLER
    deck.save(folder / "deck.pptx")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Bridges"
    sheet.append(["Bridge", "Opened", "Lanes"])
    for n in range(30):
        sheet.append([f"Bridge {n}", 1900 + n, n % 8 + 1])
    book.save(folder / "bridges.xlsx")
    (folder / "notes.md").write_text(f"# Notes\n\n<script>alert(1)</script> {FILLER}\n\n## Bridges\n\n{FACT}\n")


@pytest.fixture
def served(tmp_path: Path) -> tuple[RAG, TestClient]:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "report.pdf")
    write_pdf(docs / "turned.pdf", rotate=90)
    write_office(docs)
    (tmp_path / "private.txt").write_text(SECRET, encoding="utf-8")  # beside the collection, not in it
    rag = RAG(index_dir=tmp_path / "index").use(embedder=FakeEmbedder(), generator=ScriptedGenerator("x"))
    rag.build([docs])
    app = FastAPI()
    app.include_router(viewer_router(Collections(rag)))
    return rag, TestClient(app)


def chunk_with(rag: RAG, source: str, words: str) -> Chunk:
    for entry_id in rag.index.manifest.documents[source].chunk_ids:
        chunk = rag.index.chunks[entry_id]
        if words in chunk.text:
            return chunk
    raise AssertionError(f"no chunk of {source} holds {words!r}")


def fact_url(rag: RAG, source: str, words: str = "The harbour bridge opened") -> str:
    """The viewer link a citation of the chunk holding FACT gets, with FACT (as indexed) marked."""
    chunk = chunk_with(rag, source, words)
    at = chunk.text.index(words)
    end = chunk.text.find(".", at) + 1
    return "/" + cited_url("", source, chunk.start, chunk.end, [(chunk.start + at, chunk.start + end)]).split("#")[0]


def boxes(page: str, kind: str) -> list[tuple[float, float, float, float]]:
    found = re.findall(rf'class="box {kind}"[^>]*left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%', page)
    return [tuple(float(v) / 100 for v in box) for box in found]


def ink(png: bytes, box: tuple[float, float, float, float]) -> float:
    """How dark the rendered page is inside a box (0 white .. 1 black)."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float) / 255
    h, w = image.shape
    left, top, width, height = box
    inside = image[int(top * h) : int((top + height) * h) + 1, int(left * w) : int((left + width) * w) + 1]
    return float(1 - inside.mean())


@pytest.mark.parametrize("source", ["docs/report.pdf", "docs/turned.pdf"])
def test_a_pdf_citation_opens_its_page_with_the_sentence_boxed_over_its_words(served, source: str):
    rag, client = served
    shown = client.get(fact_url(rag, source))
    assert shown.status_code == 200, shown.text
    assert "page 2 of 3" in shown.text and 'id="mark-1"' in shown.text
    marks = boxes(shown.text, "mark")
    assert marks, "the sentence was not found on the page"
    png = client.get(f"/cited/page?collection=&source={source}&page=2")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    # the boxes sit on drawn text: darker inside them than the page as a whole, and clear of its margins
    page_ink = ink(png.content, (0, 0, 1, 1))
    for box in marks:
        assert ink(png.content, box) > 2 * page_ink
        assert 0 <= box[0] and box[0] + box[2] <= 1 and 0 <= box[1] and box[1] + box[3] <= 1
    if source == "docs/turned.pdf":  # turned a quarter: shown landscape, its lines running down the page
        image = Image.open(io.BytesIO(png.content))
        assert image.width > image.height and all(b[3] > b[2] for b in marks)


def test_the_page_links_go_to_the_other_pages_with_the_same_citation(served):
    rag, client = served
    shown = client.get(fact_url(rag, "docs/report.pdf")).text
    previous = re.search(r'href="([^"]*page=1)"', shown)
    assert previous and "mark=" in previous.group(1)
    other = client.get("/" + previous.group(1).replace("&amp;", "&")).text
    assert "page 1 of 3" in other and not boxes(other, "mark")  # the sentence is not on page 1


@pytest.mark.parametrize(
    ("source", "where"),
    [("docs/report.docx", "section: Bridges"), ("docs/deck.pptx", "slide 3"), ("docs/notes.md", "")],
)
def test_an_office_or_text_citation_shows_the_text_with_the_sentence_marked_where_it_is(
    served, source: str, where: str
):
    rag, client = served
    shown = client.get(fact_url(rag, source)).text
    marked = re.search(r'<mark id="mark-1">(.*?)</mark>', shown, re.S)
    assert marked and marked.group(1).startswith("The harbour bridge opened in 1932")
    if where:  # the part of the file it is in, in the margin of the section holding the mark
        section = shown[: marked.start()].rsplit("<section>", 1)[1]
        assert f'<div class="where">{where}</div>' in section
    assert "<script>" not in shown and "&lt;script&gt;" in shown or source != "docs/notes.md"


def test_a_sheet_citation_names_the_cells(served):
    rag, client = served
    chunk = chunk_with(rag, "docs/bridges.xlsx", "Bridge 17")
    at = chunk.text.index("Bridge: Bridge 17")
    url = "/" + cited_url("", chunk.source, chunk.start, chunk.end, [(chunk.start + at, chunk.start + at + 20)])
    shown = client.get(url.split("#")[0]).text
    section = shown[: shown.index('<mark id="mark-1">')].rsplit("<section>", 1)[1]
    assert '<div class="where">Bridges!A19:C19</div>' in section  # row 19: the header, then Bridge 0 in row 2


def test_the_chat_link_points_at_the_passage_and_its_sentence(served):
    rag, _ = served
    chunk = chunk_with(rag, "docs/report.pdf", "The harbour bridge")
    link = open_link("default", chunk, [(3, 10)])
    assert "Open in report.pdf, page 2" in link and 'target="_blank"' in link
    assert f"start={chunk.start}&amp;end={chunk.end}&amp;mark={chunk.start + 3}-{chunk.start + 10}#mark-1" in link


def test_the_original_is_a_download_never_a_page_of_the_server(served):
    rag, client = served
    (Path(rag.index.folder).parent / "docs" / "page.html").write_text(
        f"<script>fetch('/v1/models')</script><p>{FACT}</p>"
    )
    rag.build([Path(rag.index.folder).parent / "docs"])
    got = client.get("/cited/original?collection=&source=docs/page.html")
    assert got.status_code == 200 and got.content.startswith(b"<script>")
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["content-security-policy"] == "sandbox"
    view = client.get(fact_url(rag, "docs/report.docx"))
    assert "default-src 'none'" in view.headers["content-security-policy"]


@pytest.mark.parametrize(
    "source",
    ["../private.txt", "private.txt", "docs/../private.txt", "/etc/passwd", "docs", "docs/", "docs/missing.pdf", ""],
)
def test_nothing_outside_the_collection_is_served(served, source: str):
    rag, client = served
    private = Path(rag.index.folder).parent / "private.txt"
    for route in ("cited", "cited/original", "cited/page"):
        got = client.get(f"/{route}", params={"collection": "", "source": source, "page": 1})
        assert got.status_code == 404, (route, source, got.text)
        assert SECRET not in got.text and "root:" not in got.text
        assert got.text == "Not found: not a document of this collection"  # the same, whatever exists
    assert private.exists()


def test_a_link_put_in_place_of_an_indexed_file_is_not_followed(served):
    rag, client = served
    folder = Path(rag.index.folder).parent
    indexed = folder / "docs" / "notes.md"
    indexed.unlink()
    os.symlink(folder / "private.txt", indexed)
    got = client.get("/cited/original?collection=&source=docs/notes.md")
    assert got.status_code == 404 and SECRET not in got.text
    # the view still shows the passage as the index holds it, saying the file changed
    view = client.get(fact_url(rag, "docs/notes.md"))
    assert view.status_code == 200 and SECRET not in view.text and "changed or is gone" in view.text
    assert '<mark id="mark-1">The harbour bridge opened in 1932' in view.text


def test_a_file_changed_since_indexing_is_shown_as_indexed(served):
    rag, client = served
    path = Path(rag.index.folder).parent / "docs" / "notes.md"
    url = fact_url(rag, "docs/notes.md")
    path.write_text("Rewritten entirely: nothing about bridges now.\n")
    view = client.get(url).text
    assert "changed or is gone" in view and '<mark id="mark-1">The harbour bridge opened in 1932' in view


def test_an_unknown_collection_or_a_malformed_link_is_one_line(served):
    rag, client = served
    assert client.get("/cited?collection=nope&source=docs/notes.md").status_code == 404
    bad = client.get("/cited?collection=&source=docs/notes.md&start=abc")
    assert bad.status_code == 400 and bad.text == "Bad link: 'start' must be a whole number"
    assert client.get("/cited?collection=&source=docs/notes.md&start=%C2%B2").status_code == 400  # "²"
    assert client.get("/cited/page?collection=&source=docs/report.pdf&page=9").status_code == 404


def test_a_sentence_is_found_whatever_the_text_layer_did_to_its_spacing():
    page = "The har-\r\nbour bridge ﬁnally opened in\r\n1932 and carries eight lanes."
    span = find_span(page, "The harbour bridge finally opened in 1932 and carries eight lanes.")
    assert span == (0, len(page) - 2)  # up to the last letter; the final stop is not a letter
    assert find_span(page, "Nothing of the kind is written here at all.") is None
    # most of a sentence whose end ran onto the next page: the part on this one
    partial = find_span(page, "The harbour bridge finally opened in 1932 and carries eight lanes, and more.")
    assert partial is not None and page[partial[0] : partial[1] + 1].startswith("The har")


def test_a_page_renders_at_the_viewer_width(tmp_path: Path):
    write_pdf(tmp_path / "a.pdf")
    data = (tmp_path / "a.pdf").read_bytes()
    image = Image.open(io.BytesIO(page_png(data, 1)))
    assert image.width == 1100 and 1.3 < image.height / image.width < 1.5  # A4
    view = page_view(data, 2, [FACT])
    assert view.pages == 3 and view.has_text and view.marks[0]


@pytest.mark.slow  # reads the scan by OCR, when indexed and when viewed
def test_a_scanned_page_gets_its_sentence_boxed_where_ocr_read_it(tmp_path: Path):
    write_pdf(tmp_path / "typed.pdf")
    typed = pdfium.PdfDocument(tmp_path / "typed.pdf")
    scans = [page.render(scale=150 / 72, grayscale=True).to_pil() for page in typed]
    typed.close()
    docs = tmp_path / "docs"
    docs.mkdir()
    scans[0].save(docs / "scanned.pdf", save_all=True, append_images=scans[1:], resolution=150)  # no text layer
    rag = RAG(index_dir=tmp_path / "index").use(embedder=FakeEmbedder(), generator=ScriptedGenerator("x"))
    rag.build([docs])
    app = FastAPI()
    app.include_router(viewer_router(Collections(rag)))
    client = TestClient(app)
    shown = client.get(fact_url(rag, "docs/scanned.pdf"))
    assert shown.status_code == 200 and "page 2 of 3" in shown.text
    marks = boxes(shown.text, "mark")
    assert marks, "the sentence was not found among the page's OCR boxes"
    png = client.get("/cited/page?collection=&source=docs/scanned.pdf&page=2").content
    for box in marks:
        assert ink(png, box) > 2 * ink(png, (0, 0, 1, 1))
