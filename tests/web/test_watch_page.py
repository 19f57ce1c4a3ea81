"""`rag serve --watch` in a real browser: a file saved into the collection's folder shows up in the
Documents panel, with the status saying what the update did; a deleted one goes away. Waits are on
what the page shows."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import running_app
from playwright.sync_api import expect

RENDER_MS = 60_000  # the page refreshes every 2 s; the update itself embeds on a loaded machine


def test_a_file_saved_into_a_watched_folder_appears_and_a_deleted_one_goes(app_index: Path, browser):
    corpus = app_index.parent / "corpus"
    with running_app(app_index, "--watch") as url:
        tab = browser.new_page()
        tab.goto(url)
        expect(tab.locator("#status")).to_contain_text("watching its folders", timeout=RENDER_MS)
        tab.get_by_role("button", name=re.compile("^Documents")).first.click()
        listing = tab.locator("#documents")
        expect(listing).to_contain_text("north-korean-defectors", timeout=RENDER_MS)

        (corpus / "lighthouse.md").write_text(
            "# Hook Head\n\nThe Hook Head lighthouse in County Wexford has guided ships since the 13th century.\n"
        )
        expect(listing).to_contain_text("lighthouse.md", timeout=RENDER_MS)
        expect(tab.locator("#status")).to_contain_text("added 1", timeout=RENDER_MS)

        (corpus / "lighthouse.md").unlink()
        expect(listing).not_to_contain_text("lighthouse.md", timeout=RENDER_MS)
        expect(tab.locator("#status")).to_contain_text("removed 1", timeout=RENDER_MS)
        tab.close()
