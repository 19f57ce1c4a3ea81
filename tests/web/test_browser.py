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
from playwright.sync_api import expect

SCREENSHOTS = Path(os.environ["RAG_SCREENSHOTS"]) if os.environ.get("RAG_SCREENSHOTS") else None
SEED_QUESTION = "Why does China treat defectors as economic migrants?"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ANSWER_SECONDS = 300  # a 2-core CI machine answering while others share it
RENDER_MS = 60_000  # for the page to show what the queue already answered, on a loaded machine
CHIP = 'a[href^="#cite-"]'
WRITING_NOTE = "✍️ writing, each sentence checked before it is shown…"  # rag.web.render.WRITING


@pytest.fixture(scope="module")
def app_url(app_index: Path) -> Iterator[str]:
    with running_app(app_index) as url:
        yield url


# Every queue event the page joins (POST queue/join answers its event_id) and every one the queue reports
# completed (a process_completed message on the queue/data stream): the tests wait on these, not on a clock
QUEUE_WATCH = """(() => {
  const joined = new Set(), completed = new Set();
  const loads = () => window.gradio_config.dependencies.filter((d) => d.targets.some((t) => t[1] === "load")).length;
  window.__queue = { joined, completed, loads,
                     settled: (events) => joined.size >= events && [...joined].every((id) => completed.has(id)) };
  const original = window.fetch;
  window.fetch = async function (input, init) {
    const url = typeof input === "string" ? input : input.url;
    const response = await original.apply(this, arguments);
    if (url.includes("/queue/join")) {
      response.clone().json().then((body) => body.event_id && joined.add(body.event_id), () => {});
    } else if (url.includes("/queue/data") && response.body) {
      const reader = response.clone().body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          const lines = (buffer + value).split("\\n");
          buffer = lines.pop();
          for (const line of lines) {
            if (!line.startsWith("data:")) continue;
            try {
              const message = JSON.parse(line.slice(5));
              if (message.msg === "process_completed" && message.event_id) completed.add(message.event_id);
            } catch (error) {}
          }
        }
      })().catch(() => {});
    }
    return response;
  };
})();"""
# Records each text the `asked`-th answer shows (on every change of the chat), so streaming can be checked
STREAM_WATCH = """asked => {
  if (window.__watch) window.__watch.disconnect();
  window.__seen = [];
  window.__watch = new MutationObserver(() => {
    const bots = document.querySelectorAll('[data-testid="bot"]');
    const text = bots.length >= asked ? bots[asked - 1].innerText : "";
    if (text && window.__seen[window.__seen.length - 1] !== text) window.__seen.push(text);
  });
  window.__watch.observe(document.querySelector("#chat"), { childList: true, subtree: true, characterData: true });
}"""


def is_join(request: Any) -> bool:
    return request.method == "POST" and "/queue/join" in request.url


class Page:
    """One browser tab on the app, with what the page did that it must not do."""

    def __init__(self, browser: Any, url: str, viewport: dict[str, int], login: tuple[str, str] | None = None) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.context.add_init_script(QUEUE_WATCH)
        self.tab = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.sent: list[Any] = []  # the inputs the last question went out with (question, chat, ..., knobs)
        self.tab.on("pageerror", lambda error: self.errors.append(str(error)))
        self.tab.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.tab.goto(url)
        if login:  # a server with credentials: its login page first, then the page
            self.tab.fill("#username", login[0])
            self.tab.fill("#password", login[1])
            with self.tab.expect_navigation():
                self.tab.click("button[type=submit]")
        # every load event (documents, status, controls) has completed: nothing they set can overwrite a control
        self.settle(self.tab.evaluate("window.__queue.loads()"))
        expect(self.tab.locator("#status")).to_contain_text("Collection")

    def events(self) -> int:
        """How many queue events the page has joined so far."""
        return self.tab.evaluate("window.__queue.joined.size")

    def settle(self, events: int) -> None:
        """Wait until the page has joined `events` queue events in all and the queue completed every one."""
        self.tab.wait_for_function(
            "n => window.__queue.settled(n)", arg=events, timeout=ANSWER_SECONDS * 1000, polling=100
        )

    def ask(self, question: str) -> list[str]:
        """Send a question; return the answer's texts as they were seen while it streamed (the last is final)."""
        asked = self.tab.locator('[data-testid="user"]').count() + 1
        before = self.events()
        self.tab.evaluate(STREAM_WATCH, asked)
        self.tab.locator("#question textarea").fill(question)
        with self.tab.expect_request(is_join) as sent:
            self.tab.locator("#question textarea").press("Enter")
        self.sent = sent.value.post_data_json["data"]
        return self.wait_for_answer(asked, before + 1)

    def wait_for_answer(self, asked: int, events: int) -> list[str]:
        """Wait for the checked answer to the `asked`-th question, once the page's `events`-th queue event is done."""
        self.settle(events)
        answer = self.tab.locator('[data-testid="bot"]').nth(asked - 1)
        # chips and abstentions come with the checked answer
        expect(answer.locator(f"{CHIP}, .abstain").first).to_be_attached(timeout=RENDER_MS)
        return [*self.tab.evaluate("window.__seen || []"), answer.inner_text()]

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
    # verified streaming: a note while the model writes, then each sentence once checked, never the raw draft
    shown = [text.replace(WRITING_NOTE, "").strip() for text in seen]
    assert any(shown[:-1]), f"no checked sentence was shown before the answer was complete: {seen}"
    assert all(shown[-1].startswith(text) for text in shown), f"what was shown was not only added to: {seen}"
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
    expect(passage, "the chip opens its passage").to_have_js_property("open", True)
    expect(passage).to_have_class(re.compile(r"\bfocused\b"))
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
    expect(understood, "the rewritten follow-up is shown").to_be_visible()
    rewritten = understood.inner_text()
    assert "When was it signed?" not in rewritten and re.search(r"agreement|Beijing|China", rewritten), rewritten
    page.tab.locator(f'#chat a[href="#{first_target}"]').click()  # its passages are folded under "Earlier" now
    earlier = page.tab.locator(f"#{first_target}")
    expect(earlier).to_be_visible()
    expect(earlier).to_have_class(re.compile(r"\bfocused\b"))
    page.shot("desktop-follow-up")

    before = page.events()
    with page.tab.expect_request(is_join) as asked:  # asks the last question again, in place
        page.tab.get_by_role("button", name="Retry").last.click()
    assert "When was it signed?" in str(asked.value.post_data_json["data"]), "retry did not ask again"
    page.wait_for_answer(2, before + 1)
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
    # the page's load events have completed (Page waits for them), so nothing puts the default back afterwards;
    # what counts is the value the question goes out with, read from its queue request
    page.tab.get_by_role("button", name=re.compile("^Settings")).first.click()
    label = "Abstain when the closest passage or sentence scores below"
    strictness = page.tab.get_by_label(f"number input for {label}")
    slider = page.tab.get_by_label(f"range slider for {label}")
    expect(slider).to_be_editable()
    slider.fill("0.6")  # sets the value and fires the input event the slider listens to
    expect(strictness).to_have_value("0.6")
    page.ask(SEED_QUESTION)  # its closest sentence scores ~0.55: too low for this strictness
    assert 0.6 in page.sent, f"the question went out without the strictness set: {page.sent}"
    assert page.last_answer().locator(".abstain").count() == 1
    status = page.tab.locator("#status").inner_text()
    assert re.search(r"1 documents, \d+ chunks", status) and "minilm" in status and "qwen" in status


def test_picking_a_strictness_moves_the_thresholds_and_is_sent(page: Page):
    from rag.settings import Settings

    strict = Settings().with_overrides(strictness="strict").checks  # the app's settings: the defaults
    page.tab.get_by_role("button", name=re.compile("^Settings")).first.click()
    check = page.tab.get_by_label("number input for Abstain when P(yes) that the passages state the answer is below")
    before = page.events()
    page.tab.locator("#strictness").get_by_label("strict", exact=True).check()
    page.settle(before + 1)  # the pick's event set the sliders
    expect(check).to_have_value(f"{strict.min_answer_check:g}", timeout=RENDER_MS)
    page.ask(SEED_QUESTION)  # its closest sentence (~0.55) and P(yes) (~0.33) are below strict's thresholds
    assert "strict" in page.sent and strict.min_answer_check in page.sent, page.sent
    assert page.last_answer().locator(".abstain").count() == 1
    assert f"(≥ {strict.min_retrieval_score:.2f})" in page.tab.locator("#sources").inner_text()


def _upload(page: Page, paths: list[Path]) -> dict[str, list[str]]:
    """Add files through the Documents panel; each file's row of the results table."""
    page.tab.get_by_role("button", name=re.compile("^Documents")).first.click()
    page.tab.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])
    results = page.tab.locator("#upload-results")
    before = page.events()
    with page.tab.expect_request(is_join):  # the files are on the server: adding them is a queue event
        page.tab.locator("#add-documents").click()
    page.settle(before + 1)
    for path in paths:
        expect(results.locator("[role=gridcell]", has_text=path.name).first).to_be_attached(timeout=RENDER_MS)
    cells = results.locator("[role=gridcell]").evaluate_all(
        "nodes => nodes.map(n => [+n.dataset.row, +n.dataset.col, n.innerText.trim()])"
    )
    table: dict[int, list[str]] = {}
    for row, _, text in sorted(cells):
        table.setdefault(row, []).append(text)
    return {cells[0]: cells[1:] for cells in table.values()}


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
        before = phone.events()
        phone.tab.locator("#chat button.example").first.click()  # example questions on the empty chat
        phone.wait_for_answer(1, before + 2)  # the example is put in the question box, then asked
        assert phone.last_answer().locator(CHIP).count() >= 1
        assert phone.tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
        phone.last_answer().locator(CHIP).first.click()
        text = phone.tab.locator("#sources .passage.focused .text")
        expect(text).to_be_visible()
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
    menu.click()
    before = tab.events()
    with tab.tab.expect_request(is_join):  # switching is a queue event: the documents and status of the other
        tab.tab.get_by_role("option", name="orchard").click()
    tab.settle(before + 1)
    expect(tab.tab.locator("#status")).to_contain_text("orchard", timeout=RENDER_MS)
    tab.tab.get_by_role("button", name=re.compile("^Documents")).first.click()
    listing = tab.tab.locator("#documents")
    expect(listing).to_contain_text("harvest.txt", timeout=RENDER_MS)  # its own documents
    assert "north-korean" not in listing.inner_text()
    tab.ask("How many tonnes of plums did the cooperative harvest?")
    answer = tab.last_answer()
    assert "412" in answer.inner_text() and answer.locator(CHIP).count()
    assert "harvest.txt" in tab.tab.locator("#sources").inner_text()
    tab.close()
