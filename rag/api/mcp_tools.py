"""The MCP server: tools `search_documents` and `ask_documents`, and each collection's documents as a resource.

Both tools only read (annotated readOnlyHint, so clients need not ask for approval on every call), and their
names say what they search: a client with several servers' tools would otherwise hold two `search`es.

Served over stdio by `rag mcp` (for desktop assistants and editors that start it themselves) and over
streamable HTTP at /mcp by `rag serve`. Both answer from the same Collections as the other faces.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from rag.answering.followup import Turn
from rag.api.gate import AnswerGate, Busy
from rag.api.openai_chat import earlier_turns
from rag.collections import Collections
from rag.errors import RagError
from rag.pipeline import RAG
from rag.retrieval.filters import DocumentFilter, FilterError

INSTRUCTIONS = (
    "Answers questions from the user's indexed documents, offline. `ask_documents` gives a checked answer whose "
    "every sentence cites a passage [n], or says the documents don't say; pass the conversation so far as `history` "
    "for a follow-up. `search_documents` gives the closest passages with their sources. Pass `collection` to pick "
    "an index other than the default (resource rag://collections). "
    "Both take optional filters that narrow them to some documents: `sources` (globs of source names, "
    "'reports/**/*.pdf'), `folders`, `types` ('pdf'), `modified_after` and `modified_before` (YYYY-MM-DD)."
)
FILTERS = (
    " Optional filters, all of which must hold: `sources` (globs of source names as listed, `**` across folders), "
    "`folders` (sources under one of them), `types` (file suffixes such as pdf), `modified_after` (on or after) and "
    "`modified_before` (dates, YYYY-MM-DD)."
)
# both only read the local documents: no approval needed, nothing outside reached
SEARCH = ToolAnnotations(title="Search the documents", read_only_hint=True, open_world_hint=False)
ASK = ToolAnnotations(title="Ask the documents", read_only_hint=True, open_world_hint=False)


class Exchange(BaseModel):
    """An earlier turn of the conversation: a question and the answer it got."""

    question: str
    answer: str


class ChatMessage(BaseModel):
    """An earlier message of the conversation, as chat clients keep them."""

    role: Literal["user", "assistant"]
    content: str


History = list[Exchange | ChatMessage]


def history_turns(history: History | None) -> list[Turn]:
    """The (question, answer) turns of `history`, read as /v1 reads earlier messages."""
    said: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, Exchange):
            said += [("user", item.question), ("assistant", item.answer)]
        else:
            said.append((item.role, item.content))
    return earlier_turns((role, text.strip()) for role, text in said)


def build_mcp(collections: Collections, gate: AnswerGate | None = None) -> MCPServer:
    gate = gate or AnswerGate()
    server = MCPServer(name="rag", instructions=INSTRUCTIONS, log_level="WARNING")
    logging.getLogger("mcp").setLevel(logging.WARNING)  # its per-session INFO lines mean nothing to a user
    _add_search(server, collections, gate)
    _add_ask(server, collections, gate)
    _add_resources(server, collections, gate)
    return server


def _pipeline(collections: Collections, collection: str | None) -> RAG:
    """The asked collection's pipeline; an unknown name is the tool caller's error, not the server's."""
    try:
        return collections.get(collection)
    except RagError as error:
        raise ToolError(str(error)) from None


def _filter(
    sources: list[str] | None,
    folders: list[str] | None,
    types: list[str] | None,
    modified_after: str | None,
    modified_before: str | None,
) -> DocumentFilter | None:
    """The tool's filter arguments as a DocumentFilter (None when none is given); a bad one is the caller's error."""
    given = (sources, folders, types, modified_after, modified_before)
    if all(value is None for value in given):
        return None
    try:
        return DocumentFilter.parse(*given)
    except FilterError as error:
        raise ToolError(str(error)) from None


def _add_search(server: MCPServer, collections: Collections, gate: AnswerGate) -> None:
    @server.tool(
        name="search_documents",
        description="The passages of the documents closest to a query, best first, with their sources (none when "
        "the filters keep no document)." + FILTERS,
        annotations=SEARCH,
    )
    async def search_documents(
        query: str,
        collection: str | None = None,
        k: int = 5,
        sources: list[str] | None = None,
        folders: list[str] | None = None,
        types: list[str] | None = None,
        modified_after: str | None = None,
        modified_before: str | None = None,
    ) -> dict[str, Any]:
        if not query.strip():
            raise ToolError("the query is empty")
        if not 1 <= k <= 50:
            raise ToolError("k must be between 1 and 50")
        only = _filter(sources, folders, types, modified_after, modified_before)
        rag = _pipeline(collections, collection)
        try:
            passages = await gate.in_thread(rag.retrieve, query.strip(), k, only)
        except RagError as error:
            raise ToolError(str(error)) from None
        return {
            "collection": rag.settings.paths.collection,
            "passages": [p.to_dict(n) for n, p in enumerate(passages, start=1)],
        }


def _add_ask(server: MCPServer, collections: Collections, gate: AnswerGate) -> None:
    @server.tool(
        name="ask_documents",
        description="A short answer from the documents, each sentence citing its passage [n] (the "
        "citations list gives each n's source and text), or 'The documents don't say.' "
        "with the reason. `strictness` (optional): how cautious the answer is, 'lenient' (answers more, "
        "sometimes wrongly), 'balanced' or 'strict' (says the documents don't say unless it is sure); "
        "omitted: the server's setting. `history` (optional): the conversation so far, oldest first, as "
        "{question, answer} pairs or {role, content} messages; a follow-up ('what did it outlaw?') is then "
        "rewritten into a standalone question (the result's rewritten_question)." + FILTERS,
        annotations=ASK,
    )
    async def ask_documents(  # noqa: PLR0913 - the tool's arguments are its JSON schema
        question: str,
        collection: str | None = None,
        strictness: str | None = None,
        history: History | None = Field(None, description="the conversation so far, oldest first"),
        sources: list[str] | None = None,
        folders: list[str] | None = None,
        types: list[str] | None = None,
        modified_after: str | None = None,
        modified_before: str | None = None,
    ) -> dict[str, Any]:
        only = _filter(sources, folders, types, modified_after, modified_before)
        rag = _pipeline(collections, collection)
        try:
            # the thresholds are resolved, and the models loaded, off the event loop
            rag = await gate.in_thread(rag.at_strictness, strictness)
            answer = await gate.run_async(rag.ask, question, history_turns(history), None, only)
        except Busy as busy:
            raise ToolError(str(busy)) from None
        except RagError as error:
            raise ToolError(str(error)) from None
        return {
            "collection": rag.settings.paths.collection,
            "answer": answer.answer,
            "abstained": answer.abstained,
            "abstain_reason": answer.abstain_reason,
            "rewritten_question": answer.rewritten_question,
            "strictness": rag.settings.checks.strictness,
            "citations": [
                {"n": c.n, "source": c.source, "page": c.page, "location": c.location, "text": c.text}
                for c in answer.citations
            ],
            "checks": [
                {"name": c.name, "passed": c.passed, "value": c.value, "threshold": c.threshold} for c in answer.checks
            ],
            "timings_ms": answer.timings_ms,
        }


def _documents(collections: Collections, name: str | None) -> list[dict[str, Any]]:
    """A collection's documents and chunk counts; an unknown name is a resource error."""
    try:
        rag = collections.get(name)
        return [{"source": source, "chunks": chunks} for source, chunks in sorted(rag.documents().items())]
    except RagError as error:
        raise ResourceError(str(error)) from None


def _add_resources(server: MCPServer, collections: Collections, gate: AnswerGate) -> None:
    @server.resource(
        "rag://collections",
        name="collections",
        mime_type="application/json",
        description="The collections (indexes) that can be searched, with their sizes.",
    )
    async def list_collections() -> list[dict[str, Any]]:
        return [info.to_dict() for info in await gate.in_thread(collections.describe)]

    @server.resource(
        "rag://documents",
        name="documents",
        mime_type="application/json",
        description="The documents of the default collection and their chunk counts.",
    )
    async def default_documents() -> list[dict[str, Any]]:
        # opening an index blocks: not on the event loop
        return await gate.in_thread(_documents, collections, None)

    @server.resource(
        "rag://collections/{name}/documents",
        name="collection-documents",
        mime_type="application/json",
        description="The documents of one collection and their chunk counts.",
    )
    async def collection_documents(name: str) -> list[dict[str, Any]]:
        return await gate.in_thread(_documents, collections, name)
