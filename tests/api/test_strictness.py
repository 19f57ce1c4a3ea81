"""The strictness picked per question, in the Python API, the OpenAI-compatible API and MCP: each face answers
at the one asked (its fitted thresholds, not the server's), says which, and refuses an unknown one in a line.

No model is loaded: a hashing embedder and a scripted generator (tests/fakes.py) over a one-passage index.
The scripted model's P(Yes) sits between the answer check's lenient and strict thresholds, so the same
question is answered at one and abstained at the other.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FREEDONIA, FakeEmbedder, ScriptedGenerator
from fastapi import FastAPI

from rag.api.gate import AnswerGate
from rag.api.mcp_tools import build_mcp
from rag.api.openai_chat import openai_router
from rag.collections import Collections
from rag.errors import RagError
from rag.pipeline import RAG, STRICTNESS, UnknownStrictnessError
from rag.types import Answer

QUESTION = "What is the capital of Freedonia?"
REPLY = "The capital of Freedonia is Mirabel."


@pytest.fixture
def rag(tmp_path: Path) -> RAG:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "freedonia.txt").write_text(FREEDONIA, encoding="utf-8")
    pipeline = RAG(index_dir=tmp_path / "index").use(embedder=FakeEmbedder(), generator=ScriptedGenerator(REPLY))
    pipeline.build([tmp_path / "docs"])
    lenient, strict = (pipeline.settings.with_overrides(strictness=s).checks for s in ("lenient", "strict"))
    assert lenient.min_answer_check < strict.min_answer_check, "the model's fit: strict asks a higher P(Yes)"
    # P(Yes) between the two: lenient answers, strict abstains
    pipeline.generator.p_yes = (lenient.min_answer_check + strict.min_answer_check) / 2  # type: ignore[attr-defined]
    return pipeline


def check_threshold(checks: list[Any], name: str = "answer_check") -> float:
    """The threshold a named check was compared with, from an Answer's checks or their JSON."""
    found = [c for c in checks if (c["name"] if isinstance(c, dict) else c.name) == name]
    assert found, f"no {name} check in {checks}"
    return found[0]["threshold"] if isinstance(found[0], dict) else found[0].threshold


def expected(rag: RAG, strictness: str) -> float:
    return rag.settings.with_overrides(strictness=strictness).checks.min_answer_check  # type: ignore[return-value]


# --- Python API ------------------------------------------------------------------------------------------------


def test_ask_answers_at_the_strictness_asked_and_none_keeps_the_pipelines(rag: RAG):
    lenient, strict = rag.ask(QUESTION, strictness="lenient"), rag.ask(QUESTION, strictness="strict")
    assert check_threshold(lenient.checks) == expected(rag, "lenient")
    assert check_threshold(strict.checks) == expected(rag, "strict") > check_threshold(lenient.checks)
    assert not lenient.abstained and "Mirabel" in lenient.answer
    assert strict.abstained and "did not confirm" in strict.abstain_reason
    default = rag.ask(QUESTION)
    assert rag.settings.checks.strictness == "balanced"  # asking at another left the pipeline as it was
    assert check_threshold(default.checks) == rag.settings.checks.min_answer_check == expected(rag, "balanced")
    assert rag.at_strictness(None) is rag and rag.at_strictness("balanced") is rag


def test_stream_takes_the_strictness_too_and_the_variant_shares_the_loaded_parts(rag: RAG):
    items = list(rag.stream(QUESTION, strictness="strict"))
    assert isinstance(items[-1], Answer) and items[-1].abstained
    assert check_threshold(items[-1].checks) == expected(rag, "strict")
    strict = rag.at_strictness("strict")
    assert strict.settings.checks.strictness == "strict"
    assert (strict.embedder, strict.generator, strict.library) == (rag.embedder, rag.generator, rag.library)


def test_thresholds_set_explicitly_stay_whatever_the_strictness(rag: RAG):
    fixed = rag.variant(min_answer_check=0.05)
    assert check_threshold(fixed.ask(QUESTION, strictness="strict").checks) == 0.05


@pytest.mark.parametrize("bad", ["bogus", "Strict", "", 3])
def test_an_unknown_strictness_is_a_one_line_error_naming_the_choices(rag: RAG, bad: Any):
    for call in (lambda: rag.ask(QUESTION, strictness=bad), lambda: rag.stream(QUESTION, strictness=bad)):
        with pytest.raises(UnknownStrictnessError) as raised:  # stream: at the call, before the first item
            call()
        message = str(raised.value)
        assert "\n" not in message and all(choice in message for choice in STRICTNESS), message
        assert isinstance(raised.value, RagError) and isinstance(raised.value, ValueError)


def test_an_unknown_strictness_is_refused_before_anything_loads(tmp_path: Path):
    fresh = RAG(index_dir=tmp_path / "index")  # loading a real model here would fail the test (conftest)
    with pytest.raises(UnknownStrictnessError, match="lenient, balanced, strict"):
        fresh.at_strictness("paranoid")
    assert fresh._embedder is None and fresh._generator is None


# --- the OpenAI-compatible API -----------------------------------------------------------------------------------


def post(rag: RAG, body: dict[str, Any]) -> httpx.Response:
    """POST /v1/chat/completions to the router over `rag`, in process."""
    app = FastAPI()
    app.include_router(openai_router(Collections(rag), AnswerGate()))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post("/v1/chat/completions", json=body, timeout=60)

    return asyncio.run(call())


def chat(strictness: Any = None, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "default", "messages": [{"role": "user", "content": QUESTION}], "stream": stream}
    return body if strictness is None else {**body, "strictness": strictness}


def test_v1_answers_at_the_strictness_of_the_request_and_says_which(rag: RAG):
    replies = {s: post(rag, chat(s)) for s in ("lenient", "strict")}
    assert all(reply.status_code == 200 for reply in replies.values())
    lenient, strict = (replies[s].json()["rag"] for s in ("lenient", "strict"))
    assert (lenient["strictness"], strict["strictness"]) == ("lenient", "strict")
    assert check_threshold(strict["checks"]) == expected(rag, "strict") > check_threshold(lenient["checks"])
    assert not lenient["abstained"] and strict["abstained"]
    assert "Mirabel" in replies["lenient"].json()["choices"][0]["message"]["content"]
    plain = post(rag, chat()).json()["rag"]  # no field: the server's setting
    assert plain["strictness"] == "balanced" and check_threshold(plain["checks"]) == expected(rag, "balanced")


def test_v1_streaming_answers_at_the_strictness_of_the_request(rag: RAG):
    reply = post(rag, chat("strict", stream=True))
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    last = json.loads(events[-2])
    assert last["choices"][0]["finish_reason"] == "stop" and last["rag"]["strictness"] == "strict"
    assert last["rag"]["abstained"] and check_threshold(last["rag"]["checks"]) == expected(rag, "strict")


@pytest.mark.parametrize("bad", ["bogus", 2, ["strict"]])
def test_v1_an_unknown_strictness_is_a_400_naming_the_choices(rag: RAG, bad: Any):
    for stream in (False, True):
        reply = post(rag, chat(bad, stream=stream))
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] == "strictness"
        assert all(choice in error["message"] for choice in STRICTNESS) and "\n" not in error["message"]
    assert rag.generator.streamed == 0  # type: ignore[attr-defined]  # refused before anything was generated


# --- MCP ---------------------------------------------------------------------------------------------------------


def call_ask(rag: RAG, *arguments: dict[str, Any]) -> list[Any]:
    """The `ask_documents` tool called in process with each set of arguments; the tool results, in order."""
    from mcp import Client

    async def session() -> list[Any]:
        async with Client(build_mcp(Collections(rag), AnswerGate())) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert "strictness" in tools["ask_documents"].input_schema["properties"]
            assert "strictness" in (tools["ask_documents"].description or "")
            return [await client.call_tool("ask_documents", {"question": QUESTION, **args}) for args in arguments]

    return asyncio.run(session())


def test_mcp_ask_answers_at_the_strictness_asked_and_refuses_an_unknown_one(rag: RAG):
    lenient, strict, plain, bad = call_ask(
        rag, {"strictness": "lenient"}, {"strictness": "strict"}, {}, {"strictness": "x"}
    )
    for result in (lenient, strict, plain):
        assert not result.is_error, result.content
    lenient, strict, plain = (r.structured_content for r in (lenient, strict, plain))
    assert (lenient["strictness"], strict["strictness"], plain["strictness"]) == ("lenient", "strict", "balanced")
    assert check_threshold(strict["checks"]) == expected(rag, "strict") > check_threshold(lenient["checks"])
    assert not lenient["abstained"] and strict["abstained"]
    assert bad.is_error and "unknown strictness 'x'" in bad.content[0].text
    assert all(choice in bad.content[0].text for choice in STRICTNESS)
