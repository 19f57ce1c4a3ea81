"""The one gate in front of every route of `rag serve`: page, Gradio API, /v1, /mcp and files alike.

A plain ASGI middleware (streamed answers pass through untouched) that, in order:
1. answers only to known host names (DNS rebinding: a hostile page's name resolving to this server);
2. refuses a cross-site browser's state-changing request (its Origin is not this server);
3. requires a JSON body on /v1 and /mcp (a cross-site form can send text/plain without a preflight);
4. bounds the request body (uploads have their own, larger bound);
5. knows who asks (an API key as a Bearer token, a user and password as HTTP Basic or the page's login
   cookie; the flags' credentials or an account's, rag/people/accounts.py), refusing an address that failed
   too many logins;
6. lets a reader read but not change documents; passes who asked on as `x-rag-user` / `x-rag-role`.
The login page (/login, /logout) is served here too: it is part of the gate, not of the app.
"""

from __future__ import annotations

import base64
import binascii
import html
import ipaddress
import json
import math
import re
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.access import LOCAL, Credentials, Identity, LoginThrottle, Sessions
from rag.settings import ServerSettings

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")
COOKIE = "rag-session"
UPLOAD = "/gradio_api/upload"  # Gradio's file upload: bytes written to the server's disk
# what changes documents or writes to disk: readers are refused here (the page's handlers check the role
# again, for the queue, whose body names the event by number); call, call/v2, run and api all name events
CHANGES = re.compile(r"/gradio_api/(upload|process_recording|(call/v2|call|run|api)/(upload|remove))(/|$)")
CLOSED = ("/monitoring", "/gradio_api/monitoring")  # Gradio's event statistics: nobody's business
JSON_ONLY = ("/v1", "/mcp")
TRUSTED_HEADERS = (b"x-rag-user", b"x-rag-role")  # set here only: a client's own are dropped
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class BodyTooLarge(Exception):
    pass


def host_names(bind: str, allowed: list[str]) -> frozenset[str]:
    """The names a request's Host may carry: loopback names, the bound address, the configured ones."""
    names = {*LOOPBACK, *(name.lower().strip("[]") for name in allowed)}
    if bind not in WILDCARD:
        names.add(bind.lower().strip("[]"))
    return frozenset(names)


def _hostname(host: str) -> str:
    """'Example.org:7860' -> 'example.org', '[::1]:7860' -> '::1'."""
    try:
        return (urlsplit(f"//{host}").hostname or "") if host else ""
    except ValueError:  # '[::1' and the like: no host at all
        return ""


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Guard:
    def __init__(self, app: ASGIApp, credentials: Credentials, bind: str, limits: ServerSettings) -> None:
        self.app, self.credentials, self.limits = app, credentials, limits
        self.hosts = host_names(bind, limits.allowed_hosts)
        # bound to every address: any IP literal is this server; a name must be one the owner listed
        self.any_ip = bind in WILDCARD
        self.sessions = Sessions(credentials.session_key, limits.session_hours * 3600)
        self.throttle = LoginThrottle(limits.login_attempts, limits.login_window_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path, method = scope["path"], scope.get("method", "GET")
        refusal = self._refusal(headers, path, method)
        if refusal:
            await _error(scope, send, *refusal)
            return
        if path.rstrip("/") in ("/login", "/logout") and scope["type"] == "http":
            await self._limited(scope, receive, send, self.limits.max_request_kb * 2**10, headers, self._login_page)
            return
        who = await self._identify(headers, _address(scope))
        if isinstance(who, tuple):
            await _error(scope, send, *who)
            return
        if who is None:
            await self._unauthenticated(scope, send, headers)
            return
        if not who.may_change_documents and CHANGES.match(path):
            await _error(scope, send, 403, "a reader may not change the documents")
            return
        kept = [(k, v) for k, v in scope["headers"] if k not in TRUSTED_HEADERS]
        scope = {**scope, "headers": [*kept, (b"x-rag-user", who.name.encode()), (b"x-rag-role", who.role.encode())]}
        if path == UPLOAD and method == "POST" and "content-length" not in headers:
            # Gradio writes an upload to disk as it arrives: one cut off by the limit would stay there, half-written
            await _error(scope, send, 411, "an upload must say its length (Content-Length)")
            return
        limit = self.limits.max_upload_mb * 2**20 if path == UPLOAD else self.limits.max_request_kb * 2**10
        await self._limited(scope, receive, send, int(limit), headers)

    def _refusal(self, headers: Headers, path: str, method: str) -> tuple[int, str] | None:
        """Why a request is refused whoever sends it: an unknown host, a cross-site write, a non-JSON body."""
        if path.startswith(CLOSED):
            return 404, "not found"
        host = _hostname(headers.get("host", ""))
        if host not in self.hosts and not (self.any_ip and _is_ip(host)):
            return 421, f"unknown host {host!r}: add it to the server's allowed hosts (--allowed-host)"
        origin = headers.get("origin")
        if (
            method in UNSAFE
            and origin is not None
            and urlsplit(origin).netloc.lower() != headers.get("host", "").lower()
        ):
            return 403, "cross-site request refused"
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if method == "POST" and path.startswith(JSON_ONLY) and content_type != "application/json":
            return 415, "the request body must be JSON (Content-Type: application/json)"
        return None

    async def _identify(self, headers: Headers, address: str) -> Identity | None | tuple[int, str, dict[str, str]]:
        """Who sent this; None: nobody said; (status, message, headers): a refusal."""
        if not self.credentials.configured:
            return LOCAL  # loopback only (serve refuses to bind wider without a credential)
        given = headers.get("authorization")
        if given is None:
            token = _cookie(headers, COOKIE)
            who = self.sessions.read(token) if token else None
            return self.credentials.current(who) if who else None  # a removed account's session ends now
        locked = self._locked_out(address)
        if locked:
            return locked
        scheme, _, value = given.partition(" ")
        who = None
        if scheme.lower() == "bearer":
            who = self.credentials.key(value.strip())
        elif scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
                # an account's password hash takes ~0.1 s to check: not on the event loop, which streams answers
                who = await run_in_threadpool(self.credentials.login, user, password)
            except (binascii.Error, UnicodeDecodeError):
                who = None
        if who is None:
            self.throttle.failed(address)
            return 401, "Incorrect API key or login provided.", {"www-authenticate": "Bearer"}
        return who

    async def _unauthenticated(self, scope: Scope, send: Send, headers: Headers) -> None:
        path = scope["path"]
        browsing = (
            scope["type"] == "http"
            and scope.get("method") == "GET"
            and "text/html" in headers.get("accept", "")
            and not path.startswith(("/v1", "/mcp", "/gradio_api"))
        )
        if browsing:
            target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
            await _redirect(send, f"/login?next={quote(target, safe='')}")
            return
        await _error(
            scope,
            send,
            401,
            "Incorrect API key or login provided (send the key as a Bearer token).",
            {"www-authenticate": "Bearer"},
        )

    async def _login_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET: the form. POST: check it; a browser is sent on to `next` with its cookie, a client (gradio_client
        posts username and password) gets JSON. /logout forgets the cookie."""
        request = Request(scope, receive)
        if scope["path"].rstrip("/") == "/logout":
            await _redirect(
                send, "/login", [("set-cookie", f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")]
            )
            return
        target = _local(request.query_params.get("next", "/"))
        if not self.credentials.configured:  # nobody to log in as: the page is open (on loopback only)
            await _redirect(send, target)
            return
        if request.method != "POST":
            await _page(send, 200, login_form(target, "", self.credentials))
            return
        address = _address(scope)
        locked = self._locked_out(address)
        if locked:
            await _error(scope, send, *locked)
            return
        form = await request.form()
        user, password = str(form.get("username", "")), str(form.get("password", ""))
        browser = "next" in form
        target = _local(str(form.get("next", target)))
        who = await run_in_threadpool(self.credentials.login, user, password)
        if who is None:
            self.throttle.failed(address)
            if browser:
                await _page(send, 401, login_form(target, "Wrong user or password.", self.credentials))
            else:
                await _error(scope, send, 401, "Incorrect credentials.")
            return
        self.throttle.succeeded(address)
        secure = "; Secure" if scope.get("scheme") == "https" else ""  # behind a TLS proxy that says so
        lifetime = int(self.limits.session_hours * 3600)
        cookie = f"{COOKIE}={self.sessions.issue(who)}; Path=/; HttpOnly; SameSite=Strict; Max-Age={lifetime}{secure}"
        if browser:
            await _redirect(send, target, [("set-cookie", cookie)])
        else:
            await _send(send, 200, b'{"success": true}', "application/json", [("set-cookie", cookie)])

    def _locked_out(self, address: str) -> tuple[int, str, dict[str, str]] | None:
        """The refusal for an address that failed too many logins of late (None: it may try)."""
        wait = self.throttle.blocked(address)
        return (429, "too many failed logins from this address: try again later", _retry(wait)) if wait else None

    async def _limited(
        self, scope: Scope, receive: Receive, send: Send, limit: int, headers: Headers, app: ASGIApp | None = None
    ) -> None:
        """The app (or the login page), reading at most `limit` bytes of body: a larger declared length is
        refused before it is read, a longer chunked body when it passes the limit."""
        too_large = f"the request body is larger than {limit // 1024:,} kB"
        if int(headers.get("content-length") or 0) > limit:
            await _error(scope, send, 413, too_large)
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # no route is meant for other sites' scripts: Gradio's CORS layer echoes any Origin it is sent
                kept = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]
                message = {**message, "headers": kept}
            await send(message)

        try:
            await (app or self.app)(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _error(scope, send, 413, too_large)


def _address(scope: Scope) -> str:
    """The client's address, the unit of login throttling."""
    return (scope.get("client") or ("?", 0))[0]


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _local(target: str) -> str:
    """Only a path on this server may follow a login (no open redirect to another site)."""
    # a browser drops tabs and line breaks from a URL before reading it ('/\t/evil' is '//evil'): none allowed
    plain = target.isprintable() and not any(c.isspace() or c == "\\" for c in target)
    return target if plain and target.startswith("/") and not target.startswith("//") else "/"


def _retry(wait: float) -> dict[str, str]:
    return {"retry-after": str(math.ceil(wait))}


async def _send(send: Send, status: int, body: bytes, content_type: str, headers: list[tuple[str, str]]) -> None:
    raw = [(b"content-type", content_type.encode()), *((k.encode(), v.encode()) for k, v in headers)]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _error(scope: Scope, send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """A refusal: an OpenAI-shaped error on /v1 (its clients read that), {"error": message} elsewhere."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body: dict[str, Any] = {"error": message}
    if scope["path"].startswith("/v1"):
        code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    await _send(send, status, json.dumps(body).encode(), "application/json", list((headers or {}).items()))


async def _redirect(send: Send, target: str, headers: list[tuple[str, str]] | None = None) -> None:
    await _send(send, 303, b"", "text/plain", [("location", target), *(headers or [])])


async def _page(send: Send, status: int, page: str) -> None:
    await _send(send, status, page.encode(), "text/html; charset=utf-8", [("cache-control", "no-store")])


def login_form(target: str, message: str, credentials: Credentials) -> str:
    """The login page: self-contained (no script, no asset to fetch before logging in)."""
    logins = credentials.editors or credentials.readers or credentials.has_accounts
    hint = "" if logins else " (any user name; the API key as password)"
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Log in · rag</title>
<style>body{{font-family:system-ui,sans-serif;max-width:22em;margin:10vh auto;padding:0 1em}}
label{{display:block;margin:.8em 0 .2em}}input{{width:100%;padding:.4em;box-sizing:border-box}}
button{{margin-top:1em;padding:.5em 1.2em}}.error{{color:#b91c1c}}
@media (prefers-color-scheme:dark){{body{{background:#111827;color:#e5e7eb}}}}</style></head><body>
<h1>Ask your documents</h1><p>Log in{html.escape(hint)}.</p>{note}
<form method="post" action="/login"><input type="hidden" name="next" value="{html.escape(target)}">
<label for="username">User</label><input id="username" name="username" autocomplete="username" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Log in</button></form></body></html>"""
