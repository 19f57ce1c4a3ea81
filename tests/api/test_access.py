"""Who may do what (rag/api/access.py), the gate's host rule (rag/api/guard.py) and inert answer text
(rag/web/render.py), without a server: the attacks themselves run against a real one in test_security.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from rag.api.access import Credentials, Identity, LoginThrottle, Role, Sessions, parse_login
from rag.api.gate import AnswerGate, Busy
from rag.api.guard import host_names
from rag.errors import RagError
from rag.web.render import inert, plain_answer

CREDENTIALS = Credentials(editors=(("ed", "pw:with:colons"),), readers=(("rd", "r"),), api_keys=("k1",))


def test_each_credential_gives_its_role_and_nothing_else_does():
    assert CREDENTIALS.login("ed", "pw:with:colons") == Identity("ed", Role.EDITOR)
    assert CREDENTIALS.login("rd", "r") == Identity("rd", Role.READER)
    assert CREDENTIALS.login("anyone", "k1") == Identity("api-key-1", Role.READER)  # the key as a password
    assert CREDENTIALS.key("k1").role is Role.READER
    for user, password in (("ed", "r"), ("rd", "pw:with:colons"), ("ed", ""), ("", ""), ("ED", "pw:with:colons")):
        assert CREDENTIALS.login(user, password) is None
    assert CREDENTIALS.key("k2") is None and CREDENTIALS.key("") is None
    assert not Credentials().configured and CREDENTIALS.configured


def test_a_login_is_user_colon_password():
    assert parse_login("ed:pw:with:colons", "--auth") == ("ed", "pw:with:colons")
    for bad in ("ed", "ed:", ":pw", ""):
        with pytest.raises(RagError, match="--auth must be USER:PASSWORD"):
            parse_login(bad, "--auth")


def test_a_session_cookie_cannot_be_forged_altered_or_kept_past_its_time():
    sessions = Sessions(CREDENTIALS.session_key, lifetime_s=60)
    token = sessions.issue(Identity("rd", Role.READER), now=1000)
    assert sessions.read(token, now=1030) == Identity("rd", Role.READER)
    assert sessions.read(token, now=1061) is None  # expired
    body, signature = token.split(".")
    promoted = sessions.issue(Identity("rd", Role.EDITOR), now=1000).split(".")[0]
    assert sessions.read(f"{promoted}.{signature}", now=1030) is None  # a reader's signature on an editor's body
    other = Sessions(Credentials(editors=(("ed", "changed"),)).session_key, lifetime_s=60)
    assert other.read(token, now=1030) is None  # another rag serve (a restart) has another key: old sessions end
    for junk in ("", ".", "abc", f"{body}.", "!!!.xyz"):
        assert sessions.read(junk, now=1030) is None


def test_failed_logins_lock_an_address_out_for_the_window_only():
    throttle = LoginThrottle(attempts=3, window_s=10)
    for t in (0, 1, 2):
        assert throttle.blocked("a", now=t) == 0
        throttle.failed("a", now=t)
    assert throttle.blocked("a", now=3) == pytest.approx(7)  # until the first failure leaves the window
    assert throttle.blocked("b", now=3) == 0  # another address is not affected
    assert throttle.blocked("a", now=10.5) == 0
    throttle.failed("b", now=4)
    throttle.succeeded("b")
    assert throttle.blocked("b", now=4) == 0


def test_host_names_follow_the_bound_address():
    assert host_names("127.0.0.1", []) == {"127.0.0.1", "localhost", "::1"}
    assert "rag.example.org" in host_names("0.0.0.0", ["RAG.example.org"])
    assert "10.0.0.5" in host_names("10.0.0.5", []) and "[::1]" not in host_names("::", [])


def test_answers_past_the_waiting_bound_are_refused_but_the_page_is_not():
    gate = AnswerGate(slots=1, max_waiting=2)
    tickets = [gate.admit() for _ in range(3)]  # one answering, two waiting
    with pytest.raises(Busy):
        gate.admit()
    gate.admit(bounded=False)  # the page has its own bounded queue
    for _ in tickets:
        gate.leave()
    gate.admit()


MARKDOWN = MarkdownIt("commonmark")


@pytest.mark.parametrize(
    "text",
    [
        "See ![pixel](http://tracker.example/p.png) now.",
        "A [link](http://evil.example) and <http://auto.example> and <img src=x onerror=alert(1)>.",
        "[ref]: http://evil.example\n\n[ref]",
        "# Heading *bold* `code` <script>alert(1)</script> & 1. item",
    ],
)
def test_inert_text_renders_as_the_same_characters_with_no_markup(text: str):
    rendered = MARKDOWN.renderInline(inert(text))
    assert "<img" not in rendered and "<a " not in rendered and "<script" not in rendered
    assert "<em>" not in rendered and "<code>" not in rendered
    assert plain_answer(inert(text)) == text  # what the follow-up rewriter reads back is what was written


def test_only_files_in_gradio_s_upload_folder_count_as_uploaded(tmp_path):
    from gradio.utils import get_upload_folder

    from rag.web.uploads import uploaded_only

    inside = str(Path(get_upload_folder()) / "abc123" / "notes.txt")
    assert uploaded_only([inside]) == [inside]
    for outside in ("/etc/passwd", str(tmp_path / "notes.txt"), f"{get_upload_folder()}/../../etc/passwd"):
        with pytest.raises(RagError, match="was not uploaded"):
            uploaded_only([inside, outside])


def through_guard(
    bind: str,
    host: str,
    allowed: tuple[str, ...] = (),
    path: str = "/v1/models",
    headers: dict[str, str] | None = None,
    method: str = "GET",
) -> tuple[int, dict[str, str]]:
    """(status, headers the app saw) for one request through the Guard, in front of an app that answers 200."""
    import asyncio

    import httpx

    from rag.api.guard import Guard
    from rag.settings import ServerSettings

    seen: dict[str, str] = {}

    async def app(scope, receive, send):
        seen.update({k.decode(): v.decode() for k, v in scope["headers"]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = Guard(app, CREDENTIALS, bind, ServerSettings(allowed_hosts=list(allowed)))

    async def call() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url=f"http://{host}") as client:
            sent = headers if headers is not None else {"Authorization": "Bearer k1"}
            return (await client.request(method, path, headers=sent)).status_code

    return asyncio.run(call()), seen


def status_through_guard(bind: str, host: str, allowed: tuple[str, ...] = ()) -> int:
    return through_guard(bind, host, allowed)[0]


def test_the_guard_says_who_asked_and_a_client_cannot_say_it_for_itself():
    forged = {"Authorization": "Bearer k1", "X-Rag-Role": "editor", "X-Rag-User": "ed"}
    status, seen = through_guard("127.0.0.1", "127.0.0.1:7860", headers=forged)
    assert status == 200 and seen["x-rag-role"] == "reader" and seen["x-rag-user"] == "api-key-1"
    assert list(seen).count("x-rag-role") == 1
    reader, editor = basic_auth("rd", "r"), basic_auth("ed", "pw:with:colons")
    for path in ("/gradio_api/upload", "/gradio_api/call/remove", "/gradio_api/call/upload"):
        assert through_guard("127.0.0.1", "127.0.0.1", path=path, headers=reader, method="POST")[0] == 403
        status, seen = through_guard("127.0.0.1", "127.0.0.1", path=path, headers=editor, method="POST")
        assert status == 200 and seen["x-rag-role"] == "editor"


def basic_auth(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_bound_to_every_address_any_ip_is_this_server_but_a_name_must_be_allowed():
    assert status_through_guard("0.0.0.0", "10.1.2.3:7860") == 200
    assert status_through_guard("0.0.0.0", "[fd00::5]:7860") == 200
    assert status_through_guard("0.0.0.0", "attacker.example:7860") == 421  # a rebinding page's own name
    assert status_through_guard("0.0.0.0", "rag.example.org", allowed=("rag.example.org",)) == 200
    assert status_through_guard("127.0.0.1", "10.1.2.3:7860") == 421
    assert status_through_guard("127.0.0.1", "localhost:7860") == 200
    assert status_through_guard("127.0.0.1", "rag.example.org", allowed=("rag.example.org",)) == 200  # a proxy


def test_what_the_review_found_is_shut():
    """An open redirect through a tab, a malformed Host or cookie giving 500, changing routes under other
    names, Gradio's statistics, Gradio's CORS echo."""
    import asyncio

    import httpx

    from rag.api.guard import Guard, _local
    from rag.settings import ServerSettings

    assert _local("/\t/evil.example/x") == "/" and _local("/\n/evil.example") == "/" and _local("//evil") == "/"
    assert _local("/\\evil.example") == "/" and _local("/?__theme=dark") == "/?__theme=dark"
    assert Sessions(b"k" * 32, 60).read("abc.\xe9\xe9") is None
    assert through_guard("127.0.0.1", "127.0.0.1", headers={"Authorization": "Bearer k1", "Host": "[::1"})[0] == 421
    reader = basic_auth("rd", "r")
    for path in (
        "/gradio_api/run/remove",
        "/gradio_api/call/v2/remove",
        "/gradio_api/api/upload/",
        "/gradio_api/process_recording",
    ):
        assert through_guard("127.0.0.1", "127.0.0.1", path=path, headers=reader, method="POST")[0] == 403, path
    assert (
        through_guard("127.0.0.1", "127.0.0.1", path="/monitoring/summary", headers=basic_auth("ed", "pw:with:colons"))[
            0
        ]
        == 404
    )

    async def cors(scope, receive, send):
        headers = [(b"access-control-allow-origin", b"https://evil.example"), (b"x-kept", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = Guard(cors, CREDENTIALS, "127.0.0.1", ServerSettings())

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://127.0.0.1") as client:
            return await client.get("/config", headers={"Authorization": "Bearer k1", "Origin": "https://evil.example"})

    response = asyncio.run(get())
    assert "access-control-allow-origin" not in response.headers and response.headers["x-kept"] == "1"

    async def chunked_upload() -> int:  # an upload cut off by the limit once left a half-written file behind
        async def parts():
            yield b"--x\r\n"

        editor = basic_auth("ed", "pw:with:colons")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://127.0.0.1") as client:
            return (await client.post("/gradio_api/upload", content=parts(), headers=editor)).status_code

    assert asyncio.run(chunked_upload()) == 411


def test_an_answer_whose_caller_left_before_its_turn_is_not_generated():
    import asyncio
    import threading

    import anyio

    from rag.api.gate import Abandoned

    gate, release, generated = AnswerGate(1, max_waiting=4), threading.Event(), []

    async def stays() -> bool:
        return False

    async def left() -> bool:
        return True

    async def main() -> list[str]:
        seen = []

        async def first() -> None:
            seen.append(await gate.run_async(lambda: release.wait(30) and generated.append(1) or "first", left=stays))

        async def second() -> None:
            try:
                await gate.run_async(lambda: generated.append(2), left=left)
            except Abandoned:
                seen.append("abandoned")

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            while gate.pending < 1:
                await anyio.sleep(0.01)
            group.start_soon(second)
            while gate.abandoned < 1:  # the second caller's leaving was seen while it waited
                await anyio.sleep(0.01)
            release.set()
        return seen

    assert sorted(asyncio.run(main())) == ["abandoned", "first"]
    assert generated == [1] and gate.pending == 0
    with pytest.raises(ZeroDivisionError):  # what the work raises comes through as itself
        asyncio.run(gate.run_async(lambda: 1 / 0))
