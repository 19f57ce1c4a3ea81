"""Accounts at the one gate (rag/api/guard.py): first in process around an app that echoes who the gate says
asked, then against a real server (`python app.py`), where each person's conversations are theirs alone on
every route (the page's events, /conversations), a reader cannot change documents, and a person's API key
opens /v1 and /mcp."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import running_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from test_security import gradio_call, indexed_sources, mcp_initialize

from rag.api.access import Credentials, Role
from rag.api.guard import Guard
from rag.people.accounts import Accounts
from rag.people.conversations import Conversations, Turn
from rag.settings import ServerSettings

ALICE = ("alice", "alice's password")  # an admin
BOB = ("bob", "bob's password")  # a reader
ALICES_QUESTION = "What did alice ask about the Ostrava plums?"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def make_accounts(folder: Path) -> tuple[Accounts, str]:
    """alice (admin) and bob (reader), and bob's API key."""
    accounts = Accounts.at(folder)
    accounts.add(*ALICE, Role.ADMIN)
    accounts.add(*BOB, Role.READER)
    return accounts, accounts.new_key("bob")


# --- in process: the gate's rules -------------------------------------------------------------------------------


async def _who(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.headers.get("x-rag-user"), "role": request.headers.get("x-rag-role")})


@pytest.fixture
def gated(tmp_path: Path) -> tuple[TestClient, Accounts, str]:
    accounts, key = make_accounts(tmp_path)
    echo = Starlette(routes=[Route("/{path:path}", _who, methods=["GET", "POST"])])
    guard = Guard(echo, Credentials(accounts=tmp_path), bind="127.0.0.1", limits=ServerSettings())
    return TestClient(guard, base_url="http://127.0.0.1:7860"), accounts, key


def test_the_gate_passes_on_who_logged_in_by_password_key_or_cookie(gated: tuple[TestClient, Accounts, str]):
    client, _, key = gated
    forged = {"x-rag-user": "alice", "x-rag-role": "admin"}  # a client's own are dropped
    assert client.get("/v1/models", headers={**basic(*BOB), **forged}).json() == {"user": "bob", "role": "reader"}
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).json()["user"] == "bob"
    assert client.get("/v1/models", headers=basic(*ALICE)).json() == {"user": "alice", "role": "admin"}
    for refused in (
        basic("alice", "wrong password"),
        basic("carol", "alice's password"),
        {"Authorization": "Bearer rag-x"},
    ):
        assert client.get("/v1/models", headers=refused).status_code == 401
    assert client.get("/v1/models", headers=forged).status_code == 401

    login = client.post(
        "/login", data={"username": ALICE[0], "password": ALICE[1], "next": "/"}, follow_redirects=False
    )
    assert login.status_code == 303 and "rag-session=" in login.headers["set-cookie"]
    assert client.get("/config").json() == {"user": "alice", "role": "admin"}  # the cookie, kept by the client
    assert "any user name" not in client.get("/login").text, "accounts: the form asks for a user"


def test_a_reader_account_may_not_upload_and_a_removed_account_is_logged_out(gated: tuple[TestClient, Accounts, str]):
    client, accounts, _ = gated
    upload = {"files": ("notes.txt", b"text", "text/plain")}
    assert client.post("/gradio_api/upload", headers=basic(*BOB), files=upload).status_code == 403
    assert client.post("/gradio_api/upload", headers=basic(*ALICE), files=upload).status_code == 200

    client.post("/login", data={"username": BOB[0], "password": BOB[1], "next": "/"}, follow_redirects=False)
    assert client.get("/config").json()["user"] == "bob"
    accounts.remove("bob")
    assert client.get("/config").status_code == 401, "the session of a removed account ends at once"
    assert client.get("/", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303


# --- against a real server ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A data folder with alice, bob, bob's key, and a conversation of alice's; (folder, key, its id)."""
    folder = tmp_path_factory.mktemp("people")
    _, key = make_accounts(folder)
    alices = Conversations.at(folder).add("alice", None, Turn(ALICES_QUESTION, "default", None, "kept for the test"))
    return folder, key, alices


@pytest.fixture(scope="module")
def server(app_index: Path, people: tuple[Path, str, str]) -> Iterator[str]:
    with running_app(app_index, env={"RAG_DATA_DIR": str(people[0])}) as url:
        yield url.rstrip("/")


def page_events(url: str, headers: dict[str, str], events: list[tuple[int, list[Any]]]) -> str:
    """Run page events (fn_index, data) one after another in one new session, as a tab would; every message
    the queue sent back."""
    session, said = uuid.uuid4().hex, []
    for fn_index, data in events:
        body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
        joined = httpx.post(f"{url}/gradio_api/queue/join", json=body, headers=headers, timeout=30)
        assert joined.status_code == 200, joined.text
        with httpx.stream(
            "GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}, headers=headers, timeout=60
        ) as stream:
            for line in stream.iter_lines():
                said.append(line)
                if '"process_completed"' in line:
                    break
    return "\n".join(said)


def event_of(url: str, headers: dict[str, str], elem_id: str, trigger: str) -> int:
    """The fn_index of the page's event that `trigger` on the component `elem_id` runs (first one)."""
    config = httpx.get(f"{url}/config", headers=headers, timeout=30).json()
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    return next(d["id"] for d in config["dependencies"] if [component, trigger] in d["targets"])


def test_a_person_reads_only_their_own_conversations_on_every_route(server: str, people: tuple[Path, str, str]):
    _, bobs_key, alices = people
    for name, headers in (
        ("alice", basic(*ALICE)),
        ("bob", basic(*BOB)),
        ("bob", {"Authorization": f"Bearer {bobs_key}"}),
    ):
        listed = httpx.get(f"{server}/conversations", headers=headers, timeout=30)
        assert listed.status_code == 200
        assert [c["id"] for c in listed.json()] == ([alices] if name == "alice" else []), name
        for form in ("md", "json"):
            exported = httpx.get(f"{server}/conversations/{alices}.{form}", headers=headers, timeout=30)
            assert exported.status_code == (200 if name == "alice" else 404), (name, form, exported.text[:200])
            assert (ALICES_QUESTION in exported.text) == (name == "alice")
    download = httpx.get(f"{server}/conversations/{alices}.json", headers=basic(*ALICE), timeout=30)
    assert json.loads(download.text)["turns"][0]["question"] == ALICES_QUESTION
    assert download.headers["content-disposition"].startswith("attachment; filename=")
    assert httpx.get(f"{server}/conversations", timeout=30).status_code == 401

    # the page's own event for picking a conversation, sent by bob with alice's id (the handler's own refusal
    # of another's id is tested in process: tests/web/test_kept_page.py)
    opened = event_of(server, basic(*BOB), "conversations", "input")
    said = page_events(server, basic(*BOB), [(opened, [alices])])
    assert '"process_completed"' in said and ALICES_QUESTION not in said, said[-500:]


def test_a_reader_account_cannot_change_documents_and_a_wrong_password_is_refused(server: str, app_index: Path):
    before = indexed_sources(app_index)
    status, _ = gradio_call(server, "remove", [before[0], "default"], basic(*BOB))
    assert status == 403
    upload = httpx.post(
        f"{server}/gradio_api/upload", headers=basic(*BOB), timeout=30, files={"files": ("a.txt", b"A.", "text/plain")}
    )
    assert upload.status_code == 403 and indexed_sources(app_index) == before
    assert httpx.get(f"{server}/v1/models", headers=basic("bob", "not bob's password"), timeout=30).status_code == 401
    assert httpx.get(f"{server}/", headers=basic(*ALICE), timeout=30).status_code == 200


def test_a_persons_api_key_opens_v1_and_mcp(server: str, people: tuple[Path, str, str]):
    key = {"Authorization": f"Bearer {people[1]}"}
    models = httpx.get(f"{server}/v1/models", headers=key, timeout=30)
    assert models.status_code == 200 and any(m["id"] == "default" for m in models.json()["data"])
    mcp = mcp_initialize(server, key)
    assert mcp.status_code == 200 and "serverInfo" in mcp.text
