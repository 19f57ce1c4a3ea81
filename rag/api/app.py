"""`rag serve`: one process, one port, three faces over the same collections and loaded models:
the chat page at /, the OpenAI-compatible API at /v1, the MCP server (streamable HTTP) at /mcp."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

import gradio as gr
import uvicorn
from fastapi import FastAPI
from mcp.server.transport_security import TransportSecuritySettings

from rag.api.access import Credentials
from rag.api.conversations import conversations_router
from rag.api.gate import AnswerGate
from rag.api.guard import LOOPBACK, Guard
from rag.api.health import health_router
from rag.api.mcp_tools import build_mcp
from rag.api.openai_chat import openai_router
from rag.collections import Collections
from rag.errors import RagError
from rag.people.conversations import Conversations
from rag.pipeline import RAG
from rag.web.app import build_app
from rag.web.render import CLICK_SCRIPT, CSS
from rag.web.viewer import viewer_router


def build_server(
    rag: RAG,
    host: str = "127.0.0.1",
    credentials: Credentials = Credentials(),
    concurrency: int = 1,
    max_queue: int = 100,
) -> FastAPI:
    """The page, /v1 and /mcp behind one Guard (rag/api/guard.py): whatever credential is configured covers
    every route. Without any, only loopback may be served (refuse_open_bind)."""
    refuse_open_bind(host, credentials)
    limits = rag.settings.server
    collections = Collections(rag)
    gate = AnswerGate(concurrency, max_waiting=limits.max_waiting)  # one gate: answers in the order asked
    mcp = build_mcp(collections, gate)
    # its own app gives the /mcp route and the session manager; the Guard checks hosts and origins for every
    # route, with the names the owner allowed (the SDK's own check knows only loopback's, and would refuse them)
    unchecked = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    mcp_routes = mcp.streamable_http_app(streamable_http_path="/mcp", transport_security=unchecked).routes

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    app = FastAPI(title="rag", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.gate = gate  # how many answers run and wait (benches, tests)
    app.include_router(openai_router(collections, gate))
    app.include_router(health_router())
    app.router.routes.extend(mcp_routes)
    app.include_router(viewer_router(collections))  # a citation's place in its original file
    kept = Conversations.at(rag.settings.paths.data_dir)  # each user's conversations: the page's sidebar, exports
    app.include_router(conversations_router(kept))
    page = build_app(collections, gate, roles=True, conversations=kept).queue(
        default_concurrency_limit=concurrency, max_size=max_queue
    )
    # mounted last: the page takes every path the API and MCP routes above do not
    gr.mount_gradio_app(
        app,
        page,
        path="/",
        css=CSS,
        head=CLICK_SCRIPT,
        show_error=True,
        max_file_size=int(rag.settings.ingest.max_file_mb * 1024 * 1024),
    )
    # Gradio checks that a file given to an event lies in its upload folder only once the Blocks has
    # "launched", which mounting never says: without this, any readable file of the machine could be named
    page.has_launched = True
    app.add_middleware(Guard, credentials=credentials, bind=host, limits=limits)
    return app


def refuse_open_bind(host: str, credentials: Credentials) -> None:
    """Beyond loopback, everything sits behind a credential: serving without one is refused."""
    if host not in LOOPBACK and not credentials.configured:
        raise RagError(
            f"serving on {host} needs a credential (an account made with rag users add, --auth USER:PASSWORD, "
            "--reader USER:PASSWORD or --api-key KEY): without one, anyone reaching it reads and changes the documents"
        )


def announce(host: str, port: int, served_by: str = "") -> None:
    """Where each face is (`served_by`: how, when not this process alone)."""
    shown = f"[{host}]" if ":" in host else host
    print(
        f"rag: {served_by}chat page http://{shown}:{port}/ · OpenAI-compatible API http://{shown}:{port}/v1 · "
        f"MCP http://{shown}:{port}/mcp",
        file=sys.stderr,
        flush=True,
    )


def serve(
    rag: RAG,
    host: str = "127.0.0.1",
    port: int = 7860,
    credentials: Credentials = Credentials(),
    concurrency: int = 1,
    max_queue: int = 100,
    watch: bool = False,
) -> None:
    """Serve the page, the API and MCP. Answers are generated `concurrency` at a time (a 2-core CPU's are
    fastest one by one), in the order asked from any face (AnswerGate); the page also keeps a bounded queue.
    Index updates run beside them and swap the new index in when saved; `watch`: also when files change in
    the default collection's folders."""
    refuse_open_bind(host, credentials)
    rag.warm_up()  # fail early, before the server starts; keep the models warm for the first user
    if watch:
        rag.watch()
    app = build_server(rag, host, credentials, concurrency, max_queue)
    announce(host, port)
    # open streams (a browser tab's, an SSE client's) get 5 s to finish when stopped, not forever
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
