"""GET /health: whether the server is up, for a monitor or a load balancer: {"status": "ok", "version": ...}.

It loads nothing and names no document or collection. Like every route it sits behind the Guard
(rag/api/guard.py): where a credential is configured, the monitor sends it (an API key as a Bearer token).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from rag import __version__


def health_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/health", methods=["GET", "HEAD"], include_in_schema=False)
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__}, headers={"cache-control": "no-store"})

    return router
