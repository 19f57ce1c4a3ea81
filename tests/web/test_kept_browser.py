"""Kept conversations in a real browser (Chromium, Playwright) against `python app.py`: a conversation asked is in
the sidebar after a reload and after a restart of the server, reopens with its citations, is continued with its
kept turns, searched, renamed, exported and deleted. Set RAG_SCREENSHOTS=docs/screenshots for the README's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import running_app
from playwright.sync_api import expect
from test_browser import CHIP, DESKTOP, PHONE, RENDER_MS, Page

QUESTION = "Which agreement does Beijing honor?"
FOLLOW_UP = "When was it signed?"


def listed(page: Page) -> Any:
    """The sidebar's conversations (a radio choice each)."""
    return page.tab.locator("#conversations label")


def reopen(page: Page, title: str) -> None:
    """Pick a conversation in the sidebar; wait for it to be shown, its collection picked and shown."""
    before = page.events()
    listed(page).filter(has_text=title).click()
    page.settle(before + 3)  # open, then the collection it asked, then that collection's documents and status


def test_a_conversation_survives_a_reload_and_a_restart_and_is_continued_from_its_kept_turns(
    browser: Any, app_index: Path, tmp_path: Path
):
    env = {"RAG_DATA_DIR": str(tmp_path / "data")}
    with running_app(app_index, env=env) as url:
        page = Page(browser, url, DESKTOP)
        expect(page.tab.locator("#sidebar")).to_have_class(re.compile(r"\bopen\b"))  # a wide window: open
        expect(listed(page)).to_have_count(0)
        page.ask(QUESTION)
        expect(listed(page)).to_have_text([QUESTION])
        expect(page.tab.locator("#conversation-title input, #conversation-title textarea")).to_have_value(QUESTION)

        page.tab.reload()
        page.settle(page.tab.evaluate("window.__queue.loads()"))
        expect(page.tab.locator('[data-testid="user"]')).to_have_count(0)  # a new chat, and the kept one listed
        reopen(page, QUESTION)
        expect(page.tab.locator('[data-testid="user"]')).to_have_text([QUESTION])
        chips = page.last_answer().locator(CHIP)
        expect(chips.first).to_be_attached(timeout=RENDER_MS)
        target = chips.first.get_attribute("href")[1:]
        chips.first.click()
        expect(page.tab.locator(f"#{target}"), "a reopened answer's chip opens its passage").to_have_js_property(
            "open", True
        )

        page.ask(FOLLOW_UP)  # read against the kept turn: this tab's chat was filled from the database
        rewritten = page.tab.locator("#sources .rewritten").first.inner_text()
        assert FOLLOW_UP not in rewritten and re.search(r"agreement|Beijing|China", rewritten), rewritten
        page.shot("desktop-conversations")

        with page.tab.expect_download() as markdown:
            page.tab.locator("#export-chat a", has_text="Markdown").click()
        exported = Path(markdown.value.path()).read_text(encoding="utf-8")
        assert exported.startswith(f"# {QUESTION}") and f"## {FOLLOW_UP}" in exported and "[1]" in exported
        with page.tab.expect_download() as as_json:
            page.tab.locator("#export-chat a", has_text="JSON").click()
        turns = json.loads(Path(as_json.value.path()).read_text(encoding="utf-8"))["turns"]
        assert [t["question"] for t in turns] == [QUESTION, FOLLOW_UP] and turns[0]["answer"]["citations"]
        page.close()

    with running_app(app_index, env=env) as url:  # the server restarted on the same data folder
        page = Page(browser, url, DESKTOP)
        expect(listed(page)).to_have_text([QUESTION])
        reopen(page, QUESTION)
        expect(page.tab.locator('[data-testid="user"]')).to_have_text([QUESTION, FOLLOW_UP])

        page.tab.locator("#search-chats input, #search-chats textarea").fill("no such words")
        expect(listed(page)).to_have_count(0)
        page.tab.locator("#search-chats input, #search-chats textarea").fill("BEIJING")
        expect(listed(page)).to_have_text([QUESTION])

        page.tab.locator("#conversation-title input, #conversation-title textarea").fill("The 1986 agreement")
        page.tab.locator("#rename-chat").click()
        expect(listed(page)).to_have_text(["The 1986 agreement"])
        page.tab.locator("#search-chats input, #search-chats textarea").fill("")
        page.tab.locator("#delete-chat").click()
        expect(listed(page)).to_have_count(0)
        expect(page.tab.locator('[data-testid="user"]')).to_have_count(0)
        page.close()

        phone = Page(browser, url, PHONE)
        expect(phone.tab.locator("#sidebar"), "on a phone the sidebar would cover the page").not_to_have_class(
            re.compile(r"\bopen\b")
        )
        phone.close()
