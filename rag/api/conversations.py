"""/conversations: the asker's own kept conversations over HTTP, for the page's export links and for scripts.

GET /conversations (?search=TEXT) lists them, newest first; GET /conversations/ID.md and /ID.json export one.
Who asks is the Guard's x-rag-user (a client's own header is dropped there); another user's conversation is
answered 404, as one that does not exist, so ids reveal nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from rag.api.access import LOCAL
from rag.people.conversations import Conversations
from rag.people.export import FORMATS, export, file_name

MEDIA = {"md": "text/markdown; charset=utf-8", "json": "application/json"}


def asker(request: Request) -> str:
    return request.headers.get("x-rag-user", LOCAL.name)


def conversations_router(kept: Conversations) -> APIRouter:
    router = APIRouter()

    @router.get("/conversations")
    def listing(request: Request, search: str = "") -> JSONResponse:
        return JSONResponse([summary.to_dict() for summary in kept.summaries(asker(request), search)])

    @router.get("/conversations/{name}")
    def exported(request: Request, name: str) -> Response:
        conversation_id, _, form = name.rpartition(".")
        conversation = kept.get(asker(request), conversation_id) if form in FORMATS else None
        if conversation is None:
            raise HTTPException(404, "no such conversation")
        disposition = f'attachment; filename="{file_name(conversation, form)}"'
        return Response(
            export(conversation, form), media_type=MEDIA[form], headers={"content-disposition": disposition}
        )

    return router
