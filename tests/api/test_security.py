"""`rag serve` tried as an attacker would: against a real server (`python app.py`) and a real Chromium.

Each test reproduces one way in that the server once left open (issue 35) and asserts it is shut:
files of the machine read through an upload, routes outside the credential, a reader changing documents,
DNS rebinding and cross-site posts, markup in answers fetched by the browser, unbounded bodies, queues and
login attempts.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port, running_app
from fakes import FREEDONIA, ScriptedGenerator
from playwright.sync_api import expect

KEY = "sk-test-key"
EDITOR = ("editor", "editor-pass")
READER = ("reader", "reader-pass")
SECRET = "ZANZIBAR-7731 is the vault code"
LIMITS = {"RAG_MAX_WAITING": "1", "RAG_MAX_REQUEST_KB": "64", "RAG_LOGIN_ATTEMPTS": "5", "RAG_LOGIN_WINDOW_S": "10"}
PROXIED = "rag.example.org"  # the name a reverse proxy in front of it forwards
QUESTION = {"model": "default", "messages": [{"role": "user", "content": "Which agreement does Beijing honor?"}]}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(app_index: Path) -> Iterator[str]:
    """A server with every kind of credential and small limits, on loopback."""
    flags = ["--api-key", KEY, "--auth", ":".join(EDITOR), "--reader", ":".join(READER), "--allowed-host", PROXIED]
    with running_app(app_index, *flags, env=LIMITS) as url:
        yield url.rstrip("/")


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file of the machine, outside every collection, that nobody uploaded."""
    path = tmp_path_factory.mktemp("private") / "secret-notes.txt"
    path.write_text(f"Private notes. {SECRET}.\n", encoding="utf-8")
    return path


def indexed_sources(index: Path) -> list[str]:
    return list(json.loads((index / "manifest.json").read_text(encoding="utf-8"))["documents"])


def gradio_call(url: str, api_name: str, data: list[Any], headers: dict[str, str]) -> tuple[int, str]:
    """Call a named Gradio endpoint over its plain HTTP API; returns (status of the call, its event stream)."""
    posted = httpx.post(f"{url}/gradio_api/call/{api_name}", json={"data": data}, headers=headers, timeout=30)
    if posted.status_code != 200:
        return posted.status_code, posted.text
    event = posted.json()["event_id"]
    result = httpx.get(f"{url}/gradio_api/call/{api_name}/{event}", headers=headers, timeout=300)
    return result.status_code, result.text


def mcp_initialize(url: str, headers: dict[str, str]) -> httpx.Response:
    """The first request an MCP client sends."""
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    return httpx.post(
        f"{url}/mcp", headers={**headers, "Accept": "application/json, text/event-stream"}, json=hello, timeout=30
    )


# 1. Any file of the server could be read by naming it in an upload
def test_a_file_that_was_not_uploaded_cannot_be_added(server: str, app_index: Path, secret_file: Path):
    named = {"path": str(secret_file), "orig_name": "notes.txt", "meta": {"_type": "gradio.FileData"}}
    status, events = gradio_call(server, "upload", [[named], "default"], basic(*EDITOR))  # even an editor
    assert status == 200 and "event: error" in events and "event: complete" not in events, events
    assert not any("secret-notes" in source for source in indexed_sources(app_index))
    assert not (app_index.parent / "uploads" / "secret-notes.txt").exists()
    asked = {**QUESTION, "messages": [{"role": "user", "content": "What is the vault code?"}]}
    found = httpx.post(f"{server}/v1/chat/completions", headers=BEARER, json=asked, timeout=300)
    assert found.status_code == 200 and "ZANZIBAR" not in found.text


def test_a_gradio_file_route_serves_no_file_of_the_machine(server: str, secret_file: Path):
    for path in (str(secret_file), "/etc/passwd", str(Path(__file__).resolve())):
        response = httpx.get(f"{server}/gradio_api/file={path}", headers=basic(*EDITOR), timeout=10)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "ZANZIBAR" not in response.text and "root:" not in response.text


# 2. Each credential covered half the server
ROUTES = [
    ("GET", "/", None),
    ("GET", "/config", None),
    ("GET", "/gradio_api/info", None),
    ("POST", "/gradio_api/call/remove", {"data": ["north-korean-defectors-border-law.txt", "default"]}),
    ("POST", "/gradio_api/call/ask", {"data": ["Which agreement does Beijing honor?"]}),
    ("POST", "/gradio_api/queue/join", {"data": [], "fn_index": 0, "session_hash": "x"}),
    ("GET", "/gradio_api/file=/etc/passwd", None),
    ("GET", "/v1/models", None),
    ("POST", "/v1/chat/completions", QUESTION),
    ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
]


def test_every_route_refuses_a_caller_without_the_credential(server: str, app_index: Path):
    before = indexed_sources(app_index)
    wrong = {"Authorization": "Bearer not-the-key"}
    for method, path, body in ROUTES:
        for headers in ({}, {"Cookie": "rag-session=forged.0000"}):
            response = httpx.request(method, f"{server}{path}", json=body, headers=headers, timeout=10)
            assert response.status_code == 401, (method, path, headers, response.status_code, response.text[:200])
    refused = httpx.get(f"{server}/v1/models", headers=wrong, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    browsing = httpx.get(f"{server}/", headers={"Accept": "text/html"}, timeout=10)
    assert browsing.status_code == 303 and browsing.headers["location"].startswith("/login")
    assert indexed_sources(app_index) == before  # the anonymous remove above removed nothing


def test_each_credential_opens_every_route_it_may_read(server: str):
    for headers in (BEARER, basic(*EDITOR), basic(*READER)):
        for path in ("/", "/config", "/gradio_api/info", "/v1/models"):
            response = httpx.get(f"{server}{path}", headers=headers, timeout=30)
            assert response.status_code == 200, (headers, path, response.status_code)
        mcp = mcp_initialize(server, headers)
        assert mcp.status_code == 200 and "serverInfo" in mcp.text, (headers, mcp.status_code, mcp.text[:200])


def test_a_reader_may_ask_but_not_change_the_documents(server: str, app_index: Path, tmp_path: Path):
    before = indexed_sources(app_index)
    source = before[0]
    status, events = gradio_call(server, "remove", [source, "default"], basic(*READER))
    assert status == 403, (status, events)
    upload = httpx.post(
        f"{server}/gradio_api/upload",
        headers=basic(*READER),
        timeout=30,
        files={"files": ("plums.txt", b"Plums are purple.", "text/plain")},
    )
    assert upload.status_code == 403
    # through the page's own queue (which the gate cannot read), the page's handler refuses a reader too
    from gradio_client import Client

    reader = Client(server + "/", auth=READER, verbose=False)
    with pytest.raises(Exception, match="reader may not change"):
        reader.predict(source, "default", api_name="/remove")
    assert indexed_sources(app_index) == before
    # an editor may: add a file through the real upload route, then remove it
    path = tmp_path / "plums.txt"
    path.write_text("The Ostrava cooperative harvested 412 tonnes of plums in 2024.", encoding="utf-8")
    from gradio_client import handle_file

    editor = Client(server + "/", auth=EDITOR, verbose=False)
    rows = editor.predict([handle_file(str(path))], "default", api_name="/upload")[0]["data"]
    assert rows[0][:2] == ["plums.txt", "added"], rows
    assert any(s.endswith("plums.txt") for s in indexed_sources(app_index))
    editor.predict(
        next(s for s in indexed_sources(app_index) if s.endswith("plums.txt")), "default", api_name="/remove"
    )
    assert indexed_sources(app_index) == before


# 3. DNS rebinding, cross-site posts
def test_unknown_hosts_cross_site_posts_and_non_json_bodies_are_refused(server: str):
    for path in ("/", "/login", "/v1/models", "/mcp", "/config"):
        response = httpx.get(f"{server}{path}", headers={**BEARER, "Host": "attacker.example:7860"}, timeout=10)
        assert response.status_code == 421, (path, response.status_code)
    # the name the owner allowed (a reverse proxy's) reaches every route, MCP's included
    assert httpx.get(f"{server}/v1/models", headers={**BEARER, "Host": PROXIED}, timeout=10).status_code == 200
    mcp = mcp_initialize(server, {**BEARER, "Host": PROXIED})
    assert mcp.status_code == 200, mcp.text[:200]
    # a cross-site form posts text/plain (no preflight): never parsed as a question
    plain = httpx.post(
        f"{server}/v1/chat/completions",
        content=json.dumps(QUESTION),
        headers={**BEARER, "Content-Type": "text/plain"},
        timeout=10,
    )
    assert plain.status_code == 415
    crossed = httpx.post(
        f"{server}/v1/chat/completions",
        json=QUESTION,
        timeout=10,
        headers={**BEARER, "Origin": "http://attacker.example"},
    )
    assert crossed.status_code == 403
    status, _ = gradio_call(server, "remove", ["x", "default"], {**basic(*EDITOR), "Origin": "http://attacker.example"})
    assert status == 403


# 5. Limits
def test_a_large_body_is_refused_before_it_is_read(server: str):
    big = {**QUESTION, "messages": [{"role": "user", "content": "x" * 200_000}]}
    declared = httpx.post(f"{server}/v1/chat/completions", json=big, headers=BEARER, timeout=30)
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield json.dumps(big).encode()

    streamed = httpx.post(
        f"{server}/v1/chat/completions",
        content=chunks(),
        timeout=30,
        headers={**BEARER, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_answers_past_the_queue_are_refused_and_the_page_stays_responsive(server: str):
    """max_waiting is 1: of eight questions at once, one runs, one waits, the rest get 429 at once"""

    def ask(_: int) -> int:
        return httpx.post(f"{server}/v1/chat/completions", json=QUESTION, headers=BEARER, timeout=600).status_code

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(ask, n) for n in range(8)]
        # while answers are generated, the page's routes answer
        assert httpx.get(f"{server}/config", headers=BEARER, timeout=60).status_code == 200
        statuses = [f.result(timeout=600) for f in futures]
    # all eight leave within milliseconds and an answer takes seconds; >= 3 leaves room for a loaded machine
    assert statuses.count(429) >= 3 and statuses.count(200) >= 1, statuses
    assert set(statuses) <= {200, 429}


class HeldGenerator(ScriptedGenerator):
    """A model that does not answer until the test lets it: answers pile up behind the first."""

    def __init__(self) -> None:
        super().__init__(FREEDONIA)
        self.release = threading.Event()

    def stream(self, messages: Any, max_new_tokens: int) -> Iterator[str]:
        self.release.wait(timeout=300)
        yield from super().stream(messages, max_new_tokens)


def serve_in_thread(app: Any) -> tuple[str, Any]:
    """The real server stack under uvicorn in this process; returns its URL and the server (to stop it)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def test_waiting_api_answers_do_not_take_the_threads_the_rest_of_the_server_runs_on(tmp_path: Path, embedder: Any):
    """Starlette runs blocking work on 40 shared threads: 45 answers waiting there once left the page and the
    other routes none (the page's events run on the same threads)."""
    from rag.api.app import build_server
    from rag.pipeline import RAG

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "freedonia.txt").write_text(FREEDONIA, encoding="utf-8")
    model = HeldGenerator()
    rag = RAG(index_dir=tmp_path / "index", max_waiting=64).use(embedder=embedder, generator=model)
    rag.build([tmp_path / "docs"])
    app = build_server(rag)
    url, server = serve_in_thread(app)
    question = {"model": "default", "messages": [{"role": "user", "content": "What is the capital of Freedonia?"}]}
    with ThreadPoolExecutor(45) as pool:
        futures = [pool.submit(httpx.post, f"{url}/v1/chat/completions", json=question, timeout=300) for _ in range(45)]
        try:
            deadline = time.monotonic() + 120  # on a starved server they never all get in line
            while app.state.gate.pending < 45 and time.monotonic() < deadline:
                time.sleep(0.05)
            models = httpx.get(f"{url}/v1/models", timeout=60)  # a route that runs on the shared threads
            page = httpx.get(f"{url}/gradio_api/info", timeout=60)
            # three more callers hang up while in line: their answers are dropped, not generated for nobody
            for _ in range(3):
                with pytest.raises(httpx.TimeoutException):
                    httpx.post(f"{url}/v1/chat/completions", json=question, timeout=1)
            deadline = time.monotonic() + 120
            while app.state.gate.abandoned < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            model.release.set()
        statuses = [future.result().status_code for future in futures]
    server.should_exit = True
    assert models.status_code == 200 and page.status_code == 200
    assert statuses == [200] * 45
    assert app.state.gate.abandoned == 3 and model.streamed == 45  # the 45 answered, the 3 who left were not


# 6 (last: it locks this address out for a few seconds). Login attempts
def test_failed_logins_are_throttled_per_address(server: str):
    statuses = []
    for _ in range(6):
        statuses.append(
            httpx.post(f"{server}/login", data={"username": "editor", "password": "guess"}, timeout=10).status_code
        )
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}, statuses
    locked = httpx.post(f"{server}/login", data={"username": EDITOR[0], "password": EDITOR[1]}, timeout=10)
    assert locked.status_code == 429  # the right password too, until the window passes
    assert httpx.get(f"{server}/v1/models", headers={"Authorization": "Bearer guess"}, timeout=10).status_code == 429
    time.sleep(int(locked.headers["retry-after"]) + 0.5)  # the wait the server announced
    opened = httpx.post(f"{server}/login", data={"username": EDITOR[0], "password": EDITOR[1]}, timeout=10)
    assert opened.status_code == 200 and "rag-session" in opened.cookies


def test_serving_beyond_loopback_without_a_credential_is_refused(app_index: Path):
    run = subprocess.run(
        [sys.executable, "-m", "rag", "serve", "--host", "0.0.0.0", "--index", str(app_index)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: error:") and "credential" in lines[0], run.stderr


# The page in a real browser: login, roles, and markup in answers
def test_the_page_asks_for_a_login_and_shows_a_reader_no_document_controls(server: str, browser: Any):  # noqa: F811
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(server + "/")
    tab.wait_for_selector("form[action='/login']")
    tab.fill("#username", READER[0])
    tab.fill("#password", "wrong")
    tab.click("button[type=submit]")
    tab.wait_for_selector("p.error")
    tab.fill("#username", READER[0])
    tab.fill("#password", READER[1])
    tab.click("button[type=submit]")
    tab.wait_for_selector("#question textarea")
    tab.wait_for_selector("#status:has-text('Collection')")  # the page's load events have run
    # the controls load event hides the Documents panel from a reader: wait for that state (it is never undone),
    # not for a moment in which the panel happens to be closed
    expect(tab.get_by_text("Documents", exact=True).first).to_be_hidden()
    assert tab.locator("#upload").count() == 0 or not tab.locator("#upload").is_visible()
    assert tab.locator("#add-documents").count() == 0 or not tab.locator("#add-documents").is_visible()
    context.close()
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(server + "/")
    tab.fill("#username", EDITOR[0])
    tab.fill("#password", EDITOR[1])
    tab.click("button[type=submit]")
    tab.wait_for_selector("#question textarea")
    tab.get_by_text("Documents", exact=True).first.click()
    tab.wait_for_selector("#add-documents", state="visible")
    context.close()


class Pixel(BaseHTTPRequestHandler):
    """A tracking server: records every request a page makes to it."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        Pixel.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pixel_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def planted_server(tmp_path_factory: pytest.TempPathFactory, embedder: Any, pixel_server: str) -> Iterator[str]:
    """The real server stack (rag.api.app.build_server under uvicorn) over a document that plants a tracking
    image and a link, with a generator that repeats them (what a model copying its evidence would write)."""
    from rag.api.app import build_server
    from rag.pipeline import RAG

    planted = (
        f"The capital of Freedonia is Mirabel ![pixel]({pixel_server}/pixel.png) and its site is "
        f"[the city]({pixel_server}/link) or {pixel_server}/bare."
    )
    root = tmp_path_factory.mktemp("planted")
    (root / "docs").mkdir()
    (root / "docs" / "freedonia.md").write_text(planted + "\n", encoding="utf-8")
    rag = RAG(index_dir=root / "index").use(embedder=embedder, generator=ScriptedGenerator(planted, p_yes=0.99))
    rag.build([root / "docs"])
    url, server = serve_in_thread(build_server(rag))
    yield url
    server.should_exit = True


# 4. Markdown images and links in answers and drafts were live
def test_images_and_links_in_answers_are_shown_as_text_never_fetched(planted_server: str, browser: Any):  # noqa: F811
    Pixel.hits.clear()
    tab = browser.new_context().new_page()
    tab.goto(planted_server + "/")
    tab.locator("#question textarea").fill("What is the capital of Freedonia?")
    tab.locator("#question textarea").press("Enter")
    answer = tab.locator('[data-testid="bot"]').first
    answer.locator('a[href^="#cite-"], .abstain').first.wait_for(timeout=120_000)  # the checked answer is shown
    assert answer.locator('a[href^="#cite-"]').count(), answer.inner_text()  # it was answered, with its citation
    text = answer.inner_text()
    assert "![pixel](" in text and "[the city](" in text, text  # shown as the characters written
    assert answer.locator("img").count() == 0
    assert answer.locator('a:not([href^="#cite-"])').count() == 0  # no live link, bare URLs included
    tab.context.close()
    assert Pixel.hits == [], Pixel.hits
