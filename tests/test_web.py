"""The chat app: served on loopback, answering through its API; document text shown escaped."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.types import Answer, Chunk, Passage
from rag.web import citations_html


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(seed_index: Path, seed_rag):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py", "--index", str(seed_index), "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("the app did not start within 180 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
    shown = citations_html(answer)
    assert "<script>" not in shown and "<img" not in shown
    assert "&lt;script&gt;" in shown
