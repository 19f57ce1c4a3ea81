"""`rag serve`: one process, one port, three faces over the same collections and loaded models:
the chat page at /, the OpenAI-compatible API at /v1, the MCP server (streamable HTTP) at /mcp."""

from __future__ import annotations

import contextlib
import hmac
import json
import sys
from collections.abc import AsyncIterator

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.api.gate import AnswerGate
from rag.api.mcp_tools import build_mcp
from rag.api.openai_chat import openai_router
from rag.collections import Collections
from rag.pipeline import RAG
from rag.web.app import build_app
from rag.web.render import CLICK_SCRIPT, CSS

LOOPBACK = ("127.0.0.1", "localhost", "::1")
GUARDED = ("/v1", "/mcp")  # what --api-key protects; the chat page has --auth


class BearerKey:
    """Requests to the API and MCP paths must carry `Authorization: Bearer KEY` (a plain ASGI middleware,
    so streamed answers pass through untouched)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app, self.key = app, key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GUARDED):
            given = dict(scope["headers"]).get(b"authorization", b"")
            scheme, _, token = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.key):
                body = json.dumps({"error": {"message": "Incorrect API key provided (send it as a Bearer token).",
                                             "type": "invalid_request_error", "param": None,
                                             "code": "invalid_api_key"}}).encode()  # fmt: skip
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def build_server(
    rag: RAG,
    host: str = "127.0.0.1",
    auth: tuple[str, str] | None = None,
    api_key: str | None = None,
    concurrency: int = 1,
    max_queue: int = 100,
) -> FastAPI:
    collections, gate = Collections(rag), AnswerGate(concurrency)  # one gate: answers in the order asked
    mcp = build_mcp(collections, gate)
    # its own app gives the /mcp route (with DNS-rebinding protection on loopback) and the session manager
    mcp_routes = mcp.streamable_http_app(streamable_http_path="/mcp", host=host).routes

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    app = FastAPI(title="rag", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(openai_router(collections, gate))
    app.router.routes.extend(mcp_routes)
    page = build_app(collections, gate).queue(default_concurrency_limit=concurrency, max_size=max_queue)
    # mounted last: the page takes every path the API and MCP routes above do not
    gr.mount_gradio_app(app, page, path="/", css=CSS, head=CLICK_SCRIPT, show_error=True, auth=auth,
                        max_file_size=int(rag.settings.max_file_mb * 1024 * 1024))  # fmt: skip
    if api_key:
        app.add_middleware(BearerKey, key=api_key)
    return app


def warn_if_open(host: str, auth: tuple[str, str] | None, api_key: str | None) -> None:
    """Say so where the page or the API is reachable from other machines without a password or a key."""
    if host not in LOOPBACK:
        if auth is None:
            print(f"rag: warning: serving the chat page on {host} without --auth: anyone who can reach it can read "
                  "the documents", file=sys.stderr)  # fmt: skip
        if not api_key:
            print(f"rag: warning: serving the API and MCP on {host} without --api-key", file=sys.stderr)


def announce(host: str, port: int, served_by: str = "") -> None:
    """Where each face is (`served_by`: how, when not this process alone)."""
    shown = f"[{host}]" if ":" in host else host
    print(f"rag: {served_by}chat page http://{shown}:{port}/ · OpenAI-compatible API http://{shown}:{port}/v1 · "
          f"MCP http://{shown}:{port}/mcp", file=sys.stderr, flush=True)  # fmt: skip


def serve(
    rag: RAG,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    api_key: str | None = None,
    concurrency: int = 1,
    max_queue: int = 100,
) -> None:
    """Serve the page, the API and MCP. Answers are generated `concurrency` at a time (a 2-core CPU's are
    fastest one by one), in the order asked from any face (AnswerGate); the page also keeps a bounded queue.
    Index updates run beside them and swap the new index in when saved."""
    warn_if_open(host, auth, api_key)
    rag.warm_up()  # fail early, before the server starts; keep the models warm for the first user
    app = build_server(rag, host, auth, api_key, concurrency, max_queue)
    announce(host, port)
    # open streams (a browser tab's, an SSE client's) get 5 s to finish when stopped, not forever
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
