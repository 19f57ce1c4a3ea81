"""Errors in OpenAI's shape on every /v1 route: {"error": {"message", "type", "param", "code"}}, the body OpenAI
clients read (the `openai` SDK raises NotFoundError and the like with its message; FastAPI's {"detail": ...}
reaches them as no message at all). A /v1 route answers its APIError, and an unexpected failure as a 500 (logged);
a /v1 path that does not exist answers 404 here and a wrong method 405, rather than the chat page mounted at /
taking the path."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match

from rag.api.guard import BodyTooLarge

log = logging.getLogger(__name__)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class APIError(Exception):
    """An error answered in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.kind, self.headers = status, param, code, kind, headers

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


class OpenAIRoute(APIRoute):
    """A route that answers its APIError in OpenAI's shape, and an unexpected failure as OpenAI's 500: logged, the
    client told no more, the connection kept (a failure left to the server would end it)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except APIError as error:
                return error.response()
            except BodyTooLarge:
                raise  # the Guard's to answer: 413, before the body is read
            except Exception:  # noqa: BLE001 - any failure: logged here, answered in the shape clients read
                log.exception("%s %s failed", request.method, request.url.path)
                return APIError(500, "the server failed to answer", kind="server_error").response()

        return answered


def answer_unknown_routes(router: APIRouter) -> None:
    """Add, after the router's routes, one that answers every other path under its prefix: 405 naming the
    allowed methods where the path is a route's, else 404 naming the routes."""
    known = [route for route in router.routes if isinstance(route, APIRoute)]
    listed = ", ".join(sorted({route.path for route in known}))

    @router.api_route("", methods=METHODS, include_in_schema=False)
    @router.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def unknown(request: Request) -> JSONResponse:
        allowed = sorted(
            {m for route in known if route.matches(request.scope)[0] == Match.PARTIAL for m in route.methods or ()}
        )
        said = f"{request.method} {request.url.path}"
        if allowed:
            message = f"{said}: method not allowed (allowed: {', '.join(allowed)})"
            return APIError(405, message, code="method_not_allowed", headers={"allow": ", ".join(allowed)}).response()
        return APIError(404, f"Invalid URL ({said}): the API has {listed}", code="unknown_url").response()
