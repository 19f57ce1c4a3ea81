"""Filters on every face: `rag ask --source/--folder/--type/--after/--before`, the /v1 field `rag_filter`, the MCP
tools' filter arguments and the page's "Only documents matching" box. Each narrows the answer to the documents
kept, abstains with the reason when none is, and refuses a bad filter in one line before anything is generated.

No model is loaded: a hashing embedder and a scripted generator (tests/fakes.py); the real command line on the
seed index is the slow test at the end.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from fakes import FakeEmbedder, ScriptedGenerator
from fastapi import FastAPI
from helpers import assert_one_line_error, run

from rag import cli
from rag.answering.answer import ABSTAIN_TEXT
from rag.api.gate import AnswerGate
from rag.api.mcp_tools import build_mcp
from rag.api.openai_chat import openai_router
from rag.collections import Collections
from rag.pipeline import RAG
from rag.retrieval.filters import NO_MATCH, DocumentFilter
from rag.web.app import _Handlers, build_app
from rag.web.render import is_abstention, plain_answer

QUESTION = "Do sea otters hold hands while they sleep?"
OTTERS = "Sea otters hold hands while they sleep so they do not drift apart."
FILES = {
    "notes/otters.txt": OTTERS,
    "notes/more-otters.txt": f"{OTTERS} They wrap themselves in kelp.",
    "reports/otters.md": "Otters in the bay sleep holding hands, the review found.",
}
FILTER_KEYS = {"sources", "folders", "types", "modified_after", "modified_before"}


@pytest.fixture
def rag(tmp_path: Path) -> RAG:
    for name, text in FILES.items():
        (tmp_path / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    model = ScriptedGenerator("Sea otters hold hands while they sleep.")
    pipeline = RAG(index_dir=tmp_path / "index").use(embedder=FakeEmbedder(), generator=model)
    pipeline.build([tmp_path / "docs"])
    return pipeline


def from_reports(sources: list[str]) -> bool:
    return bool(sources) and all(source.startswith("docs/reports/") for source in sources)


# --- the command line ---------------------------------------------------------------------------------------------


def test_ask_flags_make_the_filter_repeatable_where_lists():
    args = cli.build_parser().parse_args(
        ["ask", "Q", "--source", "a/**", "--source", "*.md", "--type", "pdf", "--folder", "x", "--after", "2025-01-01"]
    )
    assert cli.filter_of(args) == DocumentFilter.parse(
        sources=["a/**", "*.md"], folders="x", types="pdf", modified_after="2025-01-01"
    )
    assert cli.filter_of(cli.build_parser().parse_args(["ask", "Q"])) is None


def test_rag_ask_answers_from_the_kept_documents_and_abstains_when_none(rag: RAG, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_pipeline", lambda args: rag)
    assert cli.main(["ask", QUESTION, "--folder", "docs/reports", "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert from_reports([p["source"] for p in kept["passages"]])
    assert cli.main(["ask", QUESTION, "--type", "pdf", "--json"]) == 0  # not an error: the documents don't say
    none = json.loads(capsys.readouterr().out)
    assert none["abstained"] and none["abstain_reason"] == NO_MATCH and none["answer"] == ABSTAIN_TEXT
    assert cli.main(["ask", QUESTION, "--type", "pdf"]) == 0
    assert f"({NO_MATCH})" in capsys.readouterr().out


def test_rag_ask_refuses_a_bad_date_before_loading_anything(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_pipeline", lambda args: pytest.fail("the pipeline was made"))
    assert cli.main(["ask", QUESTION, "--after", "2025-13-01"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("rag: error: filter modified_after: bad date '2025-13-01'") and error.count("\n") == 1


# --- /v1/chat/completions ---------------------------------------------------------------------------------------


def post(rag: RAG, body: dict[str, Any]) -> httpx.Response:
    app = FastAPI()
    app.include_router(openai_router(Collections(rag), AnswerGate()))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post("/v1/chat/completions", json=body, timeout=60)

    return asyncio.run(call())


def chat(rag_filter: Any, stream: bool = False) -> dict[str, Any]:
    messages = [{"role": "user", "content": QUESTION}]
    return {"model": "default", "messages": messages, "stream": stream, "rag_filter": rag_filter}


def test_v1_rag_filter_narrows_the_answer_and_abstains_when_nothing_matches(rag: RAG):
    kept = post(rag, chat({"folders": ["docs/reports"], "types": "md"}))
    assert kept.status_code == 200, kept.text
    assert from_reports([p["source"] for p in kept.json()["rag"]["passages"]])
    none = post(rag, chat({"sources": ["*.pdf"]}))
    assert none.status_code == 200, none.text
    assert none.json()["choices"][0]["message"]["content"] == ABSTAIN_TEXT
    assert none.json()["rag"]["abstained"] and none.json()["rag"]["abstain_reason"] == NO_MATCH
    streamed = post(rag, chat({"modified_before": "1990-01-01"}, stream=True))
    events = [line[6:] for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[-2])["rag"]["abstain_reason"] == NO_MATCH


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ({"modified_after": "2025-13-01"}, "bad date"),
        ({"type": "pdf"}, "unknown filter key 'type'"),
        ({}, "the filter is empty"),
        ("*.pdf", "must be an object"),
        ({"types": [3]}, "a string or a list of strings"),
    ],
)
def test_v1_a_bad_rag_filter_is_a_400_in_one_line(rag: RAG, bad: Any, said: str):
    for stream in (False, True):
        reply = post(rag, chat(bad, stream=stream))
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error["param"] == "rag_filter" and error["type"] == "invalid_request_error"
        assert said in error["message"] and "\n" not in error["message"]
    assert rag.generator.streamed == 0  # type: ignore[attr-defined]


# --- MCP -----------------------------------------------------------------------------------------------------------


def call_tools(rag: RAG, *calls: tuple[str, dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """Each (tool, arguments) called in process; the tools' input schemas and the results, in order."""
    from mcp import Client

    async def session() -> tuple[dict[str, Any], list[Any]]:
        async with Client(build_mcp(Collections(rag), AnswerGate())) as client:
            schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
            return schemas, [await client.call_tool(name, arguments) for name, arguments in calls]

    return asyncio.run(session())


def test_mcp_search_and_ask_take_the_filter_arguments(rag: RAG):
    schemas, (found, nothing, answered, abstained, bad) = call_tools(
        rag,
        ("search_documents", {"query": QUESTION, "folders": ["docs/reports"]}),
        ("search_documents", {"query": QUESTION, "types": ["pdf"]}),
        ("ask_documents", {"question": QUESTION, "sources": ["docs/reports/**"]}),
        ("ask_documents", {"question": QUESTION, "modified_after": "2100-01-01"}),
        ("ask_documents", {"question": QUESTION, "modified_before": "soon"}),
    )
    assert all(FILTER_KEYS <= set(schemas[tool]["properties"]) for tool in ("search_documents", "ask_documents"))
    assert not found.is_error and from_reports([p["source"] for p in found.structured_content["passages"]])
    assert not nothing.is_error and nothing.structured_content["passages"] == []
    assert not answered.is_error and from_reports([c["source"] for c in answered.structured_content["citations"]])
    assert abstained.structured_content["abstained"] and abstained.structured_content["abstain_reason"] == NO_MATCH
    assert bad.is_error and "bad date 'soon'" in bad.content[0].text


# --- the chat page -------------------------------------------------------------------------------------------------


def ask_page(rag: RAG, only: str) -> tuple[str, str]:
    """What the chat and the sources panel show last for the question asked with the page's default knobs and
    `only` in the "Only documents matching" box."""
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=False)
    knobs = (5, *handlers.cautious(None), "balanced", only)
    shown = list(handlers.respond(QUESTION, [], {}, None, None, "default", *knobs))  # a new conversation
    history, panel = shown[-1][0], next((out[1] for out in reversed(shown) if isinstance(out[1], str)), "")
    return history[-1]["content"], panel


def test_the_page_answers_from_the_documents_matching_its_glob(rag: RAG):
    _, everything = ask_page(rag, "")
    assert "docs/notes/" in everything
    _, reports = ask_page(rag, "docs/reports/**")
    assert "docs/reports/otters.md" in reports and "docs/notes/" not in reports
    chat, none = ask_page(rag, "*.pdf")
    assert is_abstention(chat) and NO_MATCH in none
    chat, _ = ask_page(rag, "[z-a]")
    assert plain_answer(chat).startswith("⚠️") and "bad glob" in plain_answer(chat)


def test_the_settings_panel_has_the_glob_box_and_sends_it_with_each_question(rag: RAG):
    app = build_app(Collections(rag))
    boxes = [block for block in app.blocks.values() if getattr(block, "elem_id", None) == "only-documents"]
    assert len(boxes) == 1 and isinstance(boxes[0], gr.Textbox) and boxes[0].label == "Only documents matching"
    asking = [fn for fn in app.fns.values() if fn.name in ("respond", "retry")]
    assert len(asking) >= 2 and all(fn.inputs[-1] is boxes[0] for fn in asking)
    assert {"ask", "upload", "remove"} <= {fn.api_name for fn in app.fns.values()}  # the endpoints kept


# --- the real command line (slow) -------------------------------------------------------------------------------


def test_the_rag_command_filters_the_seed_index(seed_index: Path, seed_rag):  # seed_rag: the index built
    none = run("ask", "Which agreement does Beijing honor?", "--index", str(seed_index), "--type", "pdf", "--json")
    assert none.returncode == 0, none.stderr
    assert json.loads(none.stdout)["abstain_reason"] == NO_MATCH
    kept = run("ask", "Which agreement does Beijing honor?", "--index", str(seed_index), "--folder", "corpus", "--json")
    assert kept.returncode == 0, kept.stderr
    answer = json.loads(kept.stdout)
    assert "1986" in answer["answer"] and all(c["source"].startswith("corpus/") for c in answer["citations"])
    assert_one_line_error(run("ask", "anything?", "--index", str(seed_index), "--before", "yesterday"), "bad date")
