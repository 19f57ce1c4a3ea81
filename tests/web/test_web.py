"""The chat app: served on loopback, answering through its API; document text shown escaped."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import running_app

from rag.types import Answer, Chunk, Passage
from rag.web import sources_html


@pytest.fixture(scope="module")
def app_url(app_index: Path) -> Iterator[str]:
    with running_app(app_index) as url:
        yield url


def test_page_is_served_on_loopback(app_url: str):
    page = urllib.request.urlopen(app_url, timeout=10).read().decode()
    assert "gradio" in page.lower()


def test_api_answers_the_seed_question(app_url: str):
    from gradio_client import Client

    result = Client(app_url, verbose=False).predict(
        "Why does China treat defectors as economic migrants?", api_name="/ask"
    )
    assert result["abstained"] is False
    assert any("economic migrants" in c["text"] for c in result["citations"])


def test_document_text_is_escaped():
    text = 'Hello <script>alert(1)</script><img src=x onerror="alert(2)">'
    passage = Passage(Chunk(0, "evil.html", "evil", text, 0, len(text)), 0.9)
    answer = Answer("q", "The documents don't say.", True, [], [], [passage], {"first_token": 1, "total": 2}, "why")
    shown = sources_html(answer, 1)
    assert "<script>" not in shown and "<img" not in shown
    assert "&lt;script&gt;" in shown


def test_the_sources_panel_shows_which_check_decided():
    from rag.types import Check

    answer = Answer(
        "q",
        "The documents don't say.",
        True,
        [],
        [],
        [],
        {"first_token": 1, "total": 2},
        "asked whether the passages state the answer, the model did not confirm it (P(yes) 0.21)",
        checks=[Check("retrieval", True, 0.62, 0.44), Check("answer_check", False, 0.21, 0.33, "no")],
    )
    shown = sources_html(answer, 1)
    assert "Checks: retrieval 0.62 (≥ 0.44) ✓ · answer_check 0.21 (≥ 0.33) ✗" in shown


def test_upload_checks_type_and_size_then_answers_from_the_new_document(app_url: str, tmp_path: Path):
    import docx
    from gradio_client import Client, handle_file

    memo = docx.Document()
    memo.add_paragraph("The Ostrava orchard cooperative harvested 412 tonnes of plums in 2025.")
    memo.save(str(tmp_path / "harvest.docx"))
    (tmp_path / "tool.exe").write_bytes(b"MZ\x90\x00" * 100)
    (tmp_path / "empty.txt").write_text("")
    client = Client(app_url, verbose=False)
    files = [handle_file(str(tmp_path / name)) for name in ("harvest.docx", "tool.exe", "empty.txt")]
    results, listing, _ = client.predict(files, api_name="/upload")
    rows = {row[0]: row[1:] for row in results["data"]}
    assert rows["harvest.docx"][0] == "added"
    assert rows["tool.exe"][0] == "skipped" and "unsupported type" in rows["tool.exe"][1]
    assert rows["empty.txt"][0] == "skipped" and "empty" in rows["empty.txt"][1]
    assert any(row[0].endswith("harvest.docx") for row in listing["data"])
    again, _, _ = client.predict(files[:1], api_name="/upload")
    assert again["data"][0][1] == "unchanged"
    answer = client.predict("How many tonnes of plums did the Ostrava cooperative harvest?", api_name="/ask")
    assert answer["abstained"] is False and "412" in answer["answer"]
    assert any(c["source"].endswith("harvest.docx") for c in answer["citations"])


def test_login_is_required_when_auth_is_set(app_index: Path):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    with running_app(app_index, "--auth", "reader:s3cret") as url:
        with pytest.raises(AuthenticationError, match="credentials were not provided"):  # the config answers 401
            Client(url, verbose=False).predict("What is the law?", api_name="/ask")
        with pytest.raises(ValueError, match="Could not login"):  # the login answers 400 "Incorrect credentials"
            Client(url, auth=("reader", "wrong"), verbose=False)
        answer = Client(url, auth=("reader", "s3cret"), verbose=False).predict(
            "Which agreement does Beijing honor?", api_name="/ask"
        )
        assert answer["abstained"] is False


def test_a_list_answer_is_shown_as_a_list_each_item_with_its_chips():
    from rag.types import SentenceSupport
    from rag.web.render import answer_markdown

    items = [SentenceSupport("Torture.", [1], 0.9, True), SentenceSupport("Forced labour.", [1, 2], 0.9, True)]
    listed = Answer("q", "- Torture. [1]\n- Forced labour. [1][2]", False, [], items, [], {})
    assert answer_markdown(listed, 3).split("\n") == [
        "- Torture\\. [[1]](#cite-3-1)",
        "- Forced labour\\. [[1]](#cite-3-1)[[2]](#cite-3-2)",
    ]
    prose = Answer("q", "Torture. [1] Forced labour. [1][2]", False, [], items, [], {})
    assert "\n" not in answer_markdown(prose, 3)
