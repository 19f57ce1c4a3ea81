"""The chat page in a real browser: Debian's Chromium, driven by Playwright, against `python app.py`.

Set RAG_SCREENSHOTS=docs/screenshots to refresh the screenshots the README shows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import running_app

SCREENSHOTS = Path(os.environ["RAG_SCREENSHOTS"]) if os.environ.get("RAG_SCREENSHOTS") else None
SEED_QUESTION = "Why does China treat defectors as economic migrants?"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ANSWER_SECONDS = 300  # a 2-core CI machine answering while others share it
CHIP = 'a[href^="#cite-"]'


@pytest.fixture(scope="module")
def app_url(app_index: Path) -> Iterator[str]:
    with running_app(app_index) as url:
        yield url


class Page:
    """One browser tab on the app, with what the page did that it must not do."""

    def __init__(self, browser: Any, url: str, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.tab = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.tab.on("pageerror", lambda error: self.errors.append(str(error)))
        self.tab.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.tab.goto(url)
        self.tab.wait_for_selector("#question textarea")
        # the page's load events (documents, status, controls) have answered: nothing set later is overwritten
        self.tab.wait_for_selector("#status:has-text('Collection')")

    def ask(self, question: str) -> list[str]:
        """Send a question; return the answer's texts as they were seen while it streamed (the last is final)."""
        asked = self.tab.locator('[data-testid="user"]').count() + 1
        self.tab.locator("#question textarea").fill(question)
        self.tab.locator("#question textarea").press("Enter")
        return self.wait_for_answer(asked)

    def wait_for_answer(self, asked: int) -> list[str]:
        """Wait for the checked answer to the `asked`-th question of the chat."""
        users, bots = self.tab.locator('[data-testid="user"]'), self.tab.locator('[data-testid="bot"]')
        seen: list[str] = []
        for _ in range(ANSWER_SECONDS * 10):
            if users.count() >= asked and bots.count() >= asked:
                answer = bots.nth(asked - 1)
                text = answer.inner_text()
                if text and (not seen or seen[-1] != text):
                    seen.append(text)
                if answer.locator(f"{CHIP}, .abstain").count():  # chips and abstentions come with the checked answer
                    return seen
            self.tab.wait_for_timeout(100)
        pytest.fail(f"no checked answer within {ANSWER_SECONDS} s; seen: {seen[-3:]}")

    def last_answer(self) -> Any:
        return self.tab.locator('[data-testid="bot"]').last

    def shot(self, name: str) -> None:
        if SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        assert not self.errors, f"the page raised: {self.errors}"
        self.context.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Page]:
    tab = Page(browser, app_url, DESKTOP)
    yield tab
    tab.close()


def test_seed_answer_streams_and_its_citation_opens_the_highlighted_passage(page: Page):
    seen = page.ask(SEED_QUESTION)
    assert len({len(text) for text in seen[:-1]}) >= 2, f"the answer did not stream token by token: {seen}"
    answer = page.last_answer()
    chips = answer.locator(CHIP)
    assert chips.count() >= 1, "a checked answer carries citation chips"
    assert page.tab.get_by_role("button", name="Copy message").count(), "no copy button"
    assert page.tab.get_by_role("button", name="Retry").count(), "no retry button"
    page.shot("desktop-answer")

    target = chips.first.get_attribute("href")[1:]
    passage = page.tab.locator(f"#{target}")
    assert passage.evaluate("node => node.open") is False, "passages start folded"
    chips.first.click()
    assert passage.evaluate("node => node.open") is True, "the chip opens its passage"
    assert "focused" in (passage.get_attribute("class") or "")
    mark = passage.locator("mark").first
    assert mark.is_visible() and mark.inner_text().strip(), "the supporting sentence is highlighted"
    summary = passage.locator("summary").inner_text()
    assert "north-korean-defectors-border-law.txt" in summary and "characters" in summary
    assert "economic migrants" in passage.inner_text()
    page.shot("desktop-citation")


def test_follow_up_is_rewritten_and_earlier_chips_still_open_their_passages(page: Page):
    page.ask("Which agreement does Beijing honor?")
    first_target = page.last_answer().locator(CHIP).first.get_attribute("href")[1:]
    page.ask("When was it signed?")
    understood = page.tab.locator("#sources .rewritten")
    assert understood.is_visible(), "the rewritten follow-up is shown"
    rewritten = understood.inner_text()
    assert "When was it signed?" not in rewritten and re.search(r"agreement|Beijing|China", rewritten), rewritten
    page.tab.locator(f'#chat a[href="#{first_target}"]').click()  # its passages are folded under "Earlier" now
    earlier = page.tab.locator(f"#{first_target}")
    assert earlier.is_visible() and "focused" in (earlier.get_attribute("class") or "")
    page.shot("desktop-follow-up")

    page.tab.get_by_role("button", name="Retry").last.click()  # asks the last question again, in place
    bots = page.tab.locator('[data-testid="bot"]')
    for _ in range(ANSWER_SECONDS * 10):  # the checked answer goes while the new one streams
        if bots.count() < 2 or not bots.nth(1).locator(CHIP).count():
            break
        page.tab.wait_for_timeout(100)
    else:
        pytest.fail("retry did not ask again")
    page.wait_for_answer(2)
    assert page.tab.locator('[data-testid="user"]').count() == 2, "a retry replaces the answer, it adds no question"


def test_abstention_looks_different_and_shows_the_closest_passages(page: Page):
    page.ask("What is the population of Pyongyang?")
    abstain = page.last_answer().locator(".abstain")
    assert abstain.count() == 1, "an abstention is marked as one"
    assert abstain.evaluate("node => getComputedStyle(node).borderLeftStyle") == "solid"
    assert page.last_answer().locator(CHIP).count() == 0
    assert "No answer in the documents" in page.tab.locator("#sources").inner_text()
    assert page.tab.locator("#sources .passage.closest").count() >= 1, "the closest passages are shown to check"


def test_strictness_setting_is_applied(page: Page):
    page.tab.get_by_role("button", name=re.compile("^Settings")).first.click()
    label = "number input for Abstain when the closest passage or sentence scores below"
    strictness = page.tab.get_by_label(label)
    # set on the slider itself, and again until it holds for half a second: in some runs (after other test files)
    # the value was put back to the default 0.44 after it was set, and the question went out with that
    block = strictness.locator("xpath=ancestor::div[contains(@class, 'wrap')][1]")
    slider = block.locator('[data-testid="range-input"]')
    held = 0
    for _ in range(200):
        if slider.input_value() == "0.6" and strictness.input_value() == "0.6":
            held += 1
            if held >= 5:
                break
        else:
            held = 0
            slider.fill("0.6")
        page.tab.wait_for_timeout(100)
    assert slider.input_value() == "0.6" and strictness.input_value() == "0.6", "the slider did not take 0.6"
    page.ask(SEED_QUESTION)  # its closest sentence scores ~0.55: too low for this strictness
    assert page.last_answer().locator(".abstain").count() == 1
    status = page.tab.locator("#status").inner_text()
    assert re.search(r"1 documents, \d+ chunks", status) and "minilm" in status and "qwen" in status


def _upload(page: Page, paths: list[Path]) -> dict[str, list[str]]:
    """Add files through the Documents panel; each file's row of the results table."""
    page.tab.get_by_role("button", name=re.compile("^Documents")).first.click()
    page.tab.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])
    page.tab.locator("#add-documents").click()
    results = page.tab.locator("#upload-results")
    rows: dict[str, list[str]] = {}
    for _ in range(ANSWER_SECONDS * 10):
        cells = results.locator("[role=gridcell]").evaluate_all(
            "nodes => nodes.map(n => [+n.dataset.row, +n.dataset.col, n.innerText.trim()])"
        )
        table: dict[int, list[str]] = {}
        for row, _, text in sorted(cells):
            table.setdefault(row, []).append(text)
        rows = {cells[0]: cells[1:] for cells in table.values()}
        if all(p.name in rows for p in paths):
            return rows
        page.tab.wait_for_timeout(200)
    pytest.fail(f"no upload result for every file within {ANSWER_SECONDS} s: {rows}")


def test_uploaded_docx_and_pdf_are_answered_with_their_source(page: Page, tmp_path: Path):
    import docx
    from fpdf import FPDF

    memo = docx.Document()
    memo.add_paragraph("The Ostrava orchard cooperative harvested 412 tonnes of plums in 2025.")
    memo.save(str(tmp_path / "harvest.docx"))
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "The Brno glassworks fired its new furnace at 1450 degrees Celsius for the first time.")
    pdf.output(str(tmp_path / "furnace.pdf"))

    rows = _upload(page, [tmp_path / "harvest.docx", tmp_path / "furnace.pdf"])
    assert rows["harvest.docx"][0] == "added" and rows["furnace.pdf"][0] == "added", rows
    listing = page.tab.locator("#documents").inner_text()
    assert "harvest.docx" in listing and "furnace.pdf" in listing
    page.shot("desktop-documents")

    page.ask("How many tonnes of plums did the Ostrava cooperative harvest?")
    assert "412" in page.last_answer().inner_text()
    assert "harvest.docx" in page.tab.locator("#sources").inner_text()
    page.ask("At what temperature did the Brno glassworks fire its furnace?")
    assert "1450" in page.last_answer().inner_text().replace(",", "")
    sources = page.tab.locator("#sources").inner_text()
    assert "furnace.pdf" in sources and "page 1" in sources


def test_document_with_script_payloads_is_shown_as_text_and_runs_nothing(page: Page, tmp_path: Path):
    payload = (
        "The Zlin observatory found two strings in its telescope log: "
        "<script>window.__pwned = 'script'; alert('script')</script> and "
        "<img src=x onerror=\"window.__pwned = 'img'; alert('img')\">. The log was kept on 9 May."
    )
    (tmp_path / "observatory-log.txt").write_text(payload)
    rows = _upload(page, [tmp_path / "observatory-log.txt"])
    assert rows["observatory-log.txt"][0] == "added", rows
    page.ask("What strings did the Zlin observatory find in its telescope log?")
    page.tab.locator("#sources details.passage").first.locator("summary").click()
    sources = page.tab.locator("#sources")
    assert "<script>" in sources.inner_text() or "onerror" in sources.inner_text(), "the payload is shown as text"
    assert page.tab.evaluate("window.__pwned") is None, "a payload ran"
    assert not page.dialogs, f"a payload opened a dialog: {page.dialogs}"
    assert sources.locator("script, img").count() == 0
    assert page.tab.locator('[data-testid="bot"] img, [data-testid="bot"] script').count() == 0


def test_phone_width_dark_theme_example_question(browser: Any, app_url: str):
    phone = Page(browser, app_url + "?__theme=dark", PHONE)
    try:
        background = phone.tab.evaluate(
            "getComputedStyle(document.querySelector('.gradio-container') || document.body).backgroundColor"
        )
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 3 * 100, f"the dark theme is not dark: {background}"
        phone.tab.locator("#chat button.example").first.click()  # example questions on the empty chat
        phone.wait_for_answer(1)
        assert phone.last_answer().locator(CHIP).count() >= 1
        assert phone.tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
        phone.last_answer().locator(CHIP).first.click()
        text = phone.tab.locator("#sources .passage.focused .text")
        style = text.evaluate("node => [getComputedStyle(node).overflowY, getComputedStyle(node).maxHeight]")
        assert style[0] == "auto" and style[1].endswith("px"), f"long passages must scroll, not stretch: {style}"
        phone.shot("phone-dark")
    finally:
        phone.close()


@pytest.fixture(scope="module")
def two_collections_url(seed_rag, app_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over the seed index ("default") with a second collection, "orchard", beside it."""
    root = tmp_path_factory.mktemp("collections")
    (root / "docs").mkdir()
    (root / "docs" / "harvest.txt").write_text("The Ostrava orchard cooperative harvested 412 tonnes of plums in 2025.")
    seed_rag.variant(collection="orchard", index_dir=root / "orchard" / "index").build([root / "docs"])
    with running_app(app_index, env={"RAG_COLLECTIONS_DIR": str(root)}) as url:
        yield url


def test_the_collection_menu_switches_what_is_asked_and_listed(browser: Any, two_collections_url: str):
    tab = Page(browser, two_collections_url, DESKTOP)
    menu = tab.tab.locator("#collection input")
    assert menu.input_value() == "default"
    tab.tab.wait_for_selector("#status :text('Collection')")
    menu.click()
    tab.tab.get_by_role("option", name="orchard").click()
    tab.tab.wait_for_selector("#status :text('orchard')", timeout=60_000)
    tab.tab.get_by_role("button", name=re.compile("^Documents")).first.click()
    listing = tab.tab.locator("#documents")
    for _ in range(600):
        if "harvest.txt" in listing.inner_text():
            break
        tab.tab.wait_for_timeout(100)
    assert "harvest.txt" in listing.inner_text() and "north-korean" not in listing.inner_text()  # its own documents
    tab.ask("How many tonnes of plums did the cooperative harvest?")
    answer = tab.last_answer()
    assert "412" in answer.inner_text() and answer.locator(CHIP).count()
    assert "harvest.txt" in tab.tab.locator("#sources").inner_text()
    tab.close()
