"""A citation opens its place in the original file: the real server (`python app.py`, real models, a login),
a real Chromium. The chat's "Open in …" link opens a new tab on the cited PDF page with the sentence boxed and
scrolled into view; Word, PowerPoint and Excel files open on their text with the sentence marked; nothing of
the viewer answers without the login.

Set RAG_SCREENSHOTS=docs/screenshots to refresh the screenshots the README shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import running_app
from playwright.sync_api import expect
from test_browser import DESKTOP, SCREENSHOTS, Page
from test_viewer import FACT, write_office, write_pdf

from rag.pipeline import RAG
from rag.web.viewer import cited_url

pytestmark = pytest.mark.slow
READER = ("reader", "reader-pass")
TUNNEL = "The tunnel under the river was finished in 1987 by the Kessler company."  # in the PDF alone
QUESTION = "Which company finished the tunnel under the river?"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection of a PDF (TUNNEL on page 2 of 3) and Office files, indexed with the real embedder."""
    root = tmp_path_factory.mktemp("viewer")
    docs = root / "docs"
    docs.mkdir()
    write_pdf(docs / "report.pdf", fact=TUNNEL)
    write_office(docs)
    RAG(index_dir=root / "index", corpus=[docs]).build()
    return root / "index"


@pytest.fixture(scope="module")
def server(library: Path) -> Iterator[str]:
    with running_app(library, "--auth", "editor:editor-pass", "--reader", ":".join(READER)) as url:
        yield url.rstrip("/")


def shot(tab: Any, name: str) -> None:
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def in_view(tab: Any, selector: str) -> bool:
    """Whether the element is inside the visible part of the window (the page scrolled to it)."""
    script = (
        "n => { const r = n.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight; }"
    )
    return tab.locator(selector).evaluate(script)


def test_the_chat_citation_opens_the_pdf_page_with_the_sentence_boxed(server: str, browser: Any):
    page = Page(browser, server + "/", DESKTOP, login=READER)
    page.ask(QUESTION)
    links = page.tab.locator("#sources a.open")
    expect(links.first).to_be_attached()
    link = page.tab.locator("#sources a.open", has_text="report.pdf").first
    assert "page 2" in link.text_content(), link.text_content()
    link.evaluate("node => node.closest('details').open = true")  # opened, as its chip would open it
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    viewer.wait_for_load_state()
    expect(viewer.locator("nav")).to_contain_text("page 2 of 3")
    target = "#mark-1" if viewer.locator("#mark-1").count() else "#passage"  # an abstention's closest passage
    expect(viewer.locator(target)).to_be_visible()
    viewer.wait_for_function("() => document.querySelector('.page img').complete")
    assert viewer.locator(".page img").evaluate("img => img.naturalWidth") > 0, "the page image did not load"
    assert in_view(viewer, target), "the viewer did not scroll to the cited sentence"
    shot(viewer, "viewer-pdf")
    viewer.locator("header a[download]").wait_for()
    with viewer.expect_download() as download:
        viewer.locator("header a[download]").click()
    assert download.value.suggested_filename == "report.pdf"
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    page.close()


@pytest.mark.parametrize(("source", "where"), [("report.docx", "section: Bridges"), ("deck.pptx", "slide 3")])
def test_office_files_open_on_the_sentence_marked(server: str, browser: Any, library: Path, source: str, where: str):
    rag = RAG(index_dir=library, read_only=True)
    name = next(s for s in rag.index.manifest.documents if s.endswith(source))
    chunk = next(
        c for i in rag.index.manifest.documents[name].chunk_ids if FACT[:20] in (c := rag.index.chunks[i]).text
    )
    at = chunk.start + chunk.text.index(FACT[:20])
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    tab = context.new_page()
    tab.goto(server + "/")
    tab.fill("#username", READER[0])
    tab.fill("#password", READER[1])
    with tab.expect_navigation():
        tab.click("button[type=submit]")
    tab.goto(f"{server}/{cited_url('default', name, chunk.start, chunk.end, [(at, at + len(FACT))])}")
    mark = tab.locator("#mark-1")
    expect(mark).to_have_text(FACT)
    assert in_view(tab, "#mark-1")
    section = tab.locator("section", has=mark)
    expect(section.locator(".where")).to_have_text(where)
    shot(tab, f"viewer-{source.split('.')[1]}")
    context.close()


def test_the_viewer_answers_nothing_without_the_login(server: str, library: Path):
    source = next(iter(RAG(index_dir=library, read_only=True).index.manifest.documents))
    for route in ("cited", "cited/original", "cited/page"):
        got = httpx.get(f"{server}/{route}", params={"source": source, "page": 1}, timeout=30)
        assert got.status_code in (401, 303), (route, got.status_code)
        assert b"%PDF" not in got.content and FACT not in got.text
    allowed = httpx.get(f"{server}/cited/original", params={"source": source}, auth=READER, timeout=30)
    assert allowed.status_code == 200 and allowed.headers["content-disposition"].startswith("attachment")
