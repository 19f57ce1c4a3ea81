"""OpenAI-compatible chat completions over the collections: any OpenAI client becomes a front end.

One model id per collection. The reply's `content` is the checked answer with its [n] markers, never the
raw draft; everything else the pipeline knows (citations, abstention, checks, timings) is in the extra
field `rag`. The extra body field `strictness` (lenient, balanced or strict) picks the abstention thresholds
for one request; `rag.strictness` says which answered. The extra body field `rag_filter` (an object: sources,
folders, types, modified_after, modified_before; rag/retrieval/filters.py) answers from the documents it keeps.
Streaming sends each sentence of the answer as `content` once it has passed its checks (the unchecked draft
goes as `reasoning_content`: clients that show a model's reasoning show it live, others ignore it); where the
checks of the whole answer overrule what was sent, a notice saying so and the answer as given follow; then
`[DONE]`. `usage` counts the tokens the answer's generations read and wrote (rag/api/usage.py): in the reply,
and when streaming in a last chunk if `stream_options.include_usage`. `max_tokens` caps the draft; sampling
fields are refused unless greedy (rag/api/openai_options.py). Errors are OpenAI's JSON (rag/api/openai_errors.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.answering.answer import ABSTAIN_TEXT, added, after_checked
from rag.answering.followup import Turn, turns_of
from rag.api.gate import Abandoned, AnswerGate, Busy
from rag.api.openai_errors import APIError, OpenAIRoute, answer_unknown_routes
from rag.api.openai_options import length_cap, refuse_what_would_change_the_answer
from rag.api.usage import Meter
from rag.collections import CollectionInfo, Collections, UnknownCollectionError, describe
from rag.errors import RagError
from rag.pipeline import RAG, UnknownStrictnessError
from rag.retrieval.filters import DocumentFilter, FilterError
from rag.types import Answer, Checked

OWNER = "rag"


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False  # a last chunk, its choices empty, with the usage


class ChatRequest(BaseModel):
    """What is read of a chat completion request. Fields that would change how the answer is written are checked
    in rag/api/openai_options.py; those that would not (user, seed, metadata, ...) are accepted."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)  # OpenAI's newer name for max_tokens
    # an extra field: lenient | balanced | strict, None the server's; any value is let through here so that
    # RAG.at_strictness gives the one message every face gives, naming the choices
    strictness: Any = None
    # an extra field: which documents to answer from (DocumentFilter.from_dict), None all; read by `only`
    rag_filter: Any = None

    def only(self) -> DocumentFilter | None:
        """The request's filter; a bad one is the caller's error, said in one line."""
        try:
            return None if self.rag_filter is None else DocumentFilter.from_dict(self.rag_filter)
        except FilterError as error:
            raise APIError(400, str(error), param="rag_filter") from None


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text, whether given as a string or as content parts (only text parts are read)."""
    if isinstance(content, str):
        return content
    return " ".join(str(part.get("text", "")) for part in content or [] if part.get("type") == "text")


def conversation(messages: list[Message]) -> tuple[str, list[Turn]]:
    """The question (the last message, the user's) and the earlier (question, answer) turns as the follow-up
    history. System messages are not read: the answer path has its own instructions."""
    last = messages[-1]
    if last.role != "user":
        raise APIError(400, "the last message must be the user's question", param="messages")
    question = text_of(last.content).strip()
    if not question:
        raise APIError(400, "the question (the last user message) is empty", param="messages")
    return question, earlier_turns((m.role, text_of(m.content).strip()) for m in messages[:-1])


def earlier_turns(said: Iterable[tuple[str, str]]) -> list[Turn]:
    """The follow-up history of a conversation's (role, text) messages, oldest first, as /v1 and MCP read it:
    each question with the answer it got, abstentions left out (an answer's [n] markers are dropped by the
    rewriter, rewrite_messages)."""
    return turns_of(said, lambda text: not text.startswith(ABSTAIN_TEXT))


def extra(answer: Answer, strictness: str) -> dict[str, Any]:
    """Everything about the answer but its text: citations, abstention, checks, passages, timings, and the
    strictness it was checked at."""
    return {**{key: value for key, value in answer.to_dict().items() if key != "answer"}, "strictness": strictness}


def _sse(data: dict[str, Any] | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def _card(info: CollectionInfo) -> dict[str, Any]:
    """A collection as an OpenAI model object, with what it holds under `rag`."""
    return {
        "id": info.name,
        "object": "model",
        "created": int(info.updated or 0),
        "owned_by": OWNER,
        "rag": {"documents": info.documents, "chunks": info.chunks, "built": info.built},
    }


class ChatCompletions:
    def __init__(self, collections: Collections, gate: AnswerGate) -> None:
        self.collections, self.gate = collections, gate

    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [_card(info) for info in self.collections.describe()]}

    def model(self, name: str) -> dict[str, Any]:
        if name not in self.collections.names():
            raise self._unknown(name)
        return _card(describe(name, self.collections.index_dir(name)))

    def _unknown(self, name: str) -> APIError:
        known = ", ".join(self.collections.names())
        return APIError(
            404,
            f"The model '{name}' does not exist: the models are the collections ({known})",
            param="model",
            code="model_not_found",
        )

    def _pipeline(self, name: str) -> RAG:
        try:
            return self.collections.get(name)
        except UnknownCollectionError:
            raise self._unknown(name) from None

    async def _asker(self, chat: ChatRequest) -> tuple[RAG, Meter]:
        """The collection's pipeline at the asked strictness, its models and index loaded: a bad strictness is
        the caller's error (checked before anything loads), a missing index or model an HTTP error rather than
        a broken stream. It is this request's own (sharing the models and index): its draft capped at the asked
        `max_tokens`, its generations counted by the Meter it comes with."""
        rag = self._pipeline(chat.model)
        try:
            asker = await self.gate.in_thread(rag.at_strictness, chat.strictness)
            await self.gate.in_thread(asker.warm_up)
            return await self.gate.in_thread(metered, asker, length_cap(chat.max_tokens, chat.max_completion_tokens))
        except UnknownStrictnessError as error:
            raise APIError(400, str(error), param="strictness") from None
        except RagError as error:
            raise APIError(503, str(error), kind="server_error", code="collection_unavailable") from None

    async def create(self, request: Request) -> JSONResponse | StreamingResponse:
        chat = await read_request(request)
        question, turns = conversation(chat.messages)
        only = chat.only()
        rag, meter = await self._asker(chat)
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": chat.model}
        try:
            if chat.stream:
                ticket = self.gate.admit()  # refused now, as a 429, rather than after the stream has begun
                # OpenAI's convention: with include_usage, every chunk has `usage`, null but in the last
                counted = {"usage": None} if chat.stream_options and chat.stream_options.include_usage else {}
                head = {**head, "object": "chat.completion.chunk", **counted}
                chunks = self._chunks(rag, meter, (question, turns, only), head, ticket)
                headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
                return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)
            answer = await self.gate.run_async(rag.ask, question, turns, None, only, left=request.is_disconnected)
        except Abandoned:
            raise APIError(499, "the client closed the request before its turn") from None
        except Busy as busy:
            raise APIError(429, str(busy), kind="rate_limit_error", code="rate_limit_exceeded") from None
        except RagError as error:
            raise APIError(400, str(error)) from None
        message = {"role": "assistant", "content": answer.answer}
        choice = {"index": 0, "message": message, "finish_reason": finish_reason(answer, meter), "logprobs": None}
        return JSONResponse(
            {
                **head,
                "object": "chat.completion",
                "choices": [choice],
                "usage": meter.usage(),
                "rag": extra(answer, rag.settings.checks.strictness),
            }
        )

    async def _chunks(
        self,
        rag: RAG,
        meter: Meter,
        asked: tuple[str, list[Turn], DocumentFilter | None],
        head: dict[str, Any],
        ticket: int,
    ) -> AsyncIterator[str]:
        """The SSE stream of the answer to `asked` (question, earlier turns, filter), each chunk `head` and its
        choice: the pipeline blocks, so each step runs in one of the gate's threads; the turn is given back
        however the stream ends (a client that goes away included)."""
        question, turns, only = asked

        def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
            return _sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more})

        answer, items, shown = None, None, ""
        try:
            yield chunk({"role": "assistant", "content": ""})  # at once: the client knows it is heard, then waits
            await self.gate.in_thread(self.gate.wait, ticket)
            items = rag.stream(question, turns, filter=only)
            while (item := await self.gate.in_thread(next, items, None)) is not None:
                if isinstance(item, Answer):
                    answer = item
                elif isinstance(item, Checked):  # each sentence as `content` once it is checked
                    if more := added(shown, item):
                        yield chunk({"content": more})
                        shown += more
                elif item:
                    yield chunk({"reasoning_content": item})
        except RagError as error:
            yield _sse(APIError(400, str(error)).body())
            yield _sse("[DONE]")
            return
        finally:
            try:
                if items is not None:  # stops the generation at its next step (a client that left)
                    with anyio.CancelScope(shield=True):
                        await self.gate.in_thread(items.close)
            finally:
                self.gate.leave()
        assert answer is not None
        if rest := after_checked(answer, shown):
            yield chunk({"content": rest})
        yield chunk({}, finish_reason(answer, meter), rag=extra(answer, rag.settings.checks.strictness))
        if "usage" in head:
            yield _sse({**head, "choices": [], "usage": meter.usage()})
        yield _sse("[DONE]")


async def read_request(request: Request) -> ChatRequest:
    """The request's body as a ChatRequest; anything wrong with it, or asking what this server does not do, is a
    400 naming the field."""
    try:
        body = await request.json()
    except ValueError:
        raise APIError(400, "the request body is not valid JSON") from None
    try:
        chat = ChatRequest.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise APIError(400, f"{where}: {first['msg']}", param=where or None) from None
    refuse_what_would_change_the_answer(body)
    return chat


def metered(rag: RAG, max_tokens: int | None) -> tuple[RAG, Meter]:
    """`rag` for one request: its draft at most `max_tokens` long (or the server's limit, if lower), its
    generations counted by the Meter returned with it."""
    limit = rag.settings.answering.max_new_tokens
    meter = Meter(rag.generator)
    return rag.variant(max_new_tokens=min(max_tokens or limit, limit)).use(generator=meter), meter


def finish_reason(answer: Answer, meter: Meter) -> str:
    """The choice's finish: "length" where the answer given rests on a draft cut at its token limit, else "stop"."""
    return "length" if meter.cut and not answer.abstained else "stop"


def openai_router(collections: Collections, gate: AnswerGate | None = None) -> APIRouter:
    """/v1/models, /v1/models/{id} and /v1/chat/completions; any other /v1 path an OpenAI-shaped 404 or 405."""
    api = ChatCompletions(collections, gate or AnswerGate())
    router = APIRouter(prefix="/v1", route_class=OpenAIRoute)  # errors in OpenAI's shape

    @router.get("/models")
    def list_models() -> JSONResponse:
        return JSONResponse(api.models())

    @router.get("/models/{model_id}")
    def get_model(model_id: str) -> JSONResponse:
        return JSONResponse(api.model(model_id))

    @router.post("/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        return await api.create(request)

    answer_unknown_routes(router)  # last: every other /v1 path
    return router
