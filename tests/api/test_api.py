"""The OpenAI-compatible API and the MCP server, driven by the real clients (`openai`, `mcp`) against a
started `rag serve` (and `rag mcp` over stdio), with the real models."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import running_app

pytestmark = pytest.mark.slow
KEY = "test-key-0123"
SEED_QUESTION = "Why does China treat defectors as economic migrants?"


@pytest.fixture(scope="module")
def collections_dir(seed_rag, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second collection, "orchard", beside the seed index served as "default"."""
    root = tmp_path_factory.mktemp("collections")
    docs = root / "orchard-docs"
    docs.mkdir()
    (docs / "harvest.txt").write_text("The Ostrava orchard cooperative harvested 412 tonnes of plums in 2025.")
    seed_rag.variant(collection="orchard", index_dir=root / "orchard" / "index").build([docs])
    return root


@pytest.fixture(scope="module")
def server(app_index: Path, collections_dir: Path) -> Iterator[str]:
    with running_app(app_index, "--api-key", KEY, env={"RAG_COLLECTIONS_DIR": str(collections_dir)}) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}v1", api_key=KEY, max_retries=0, timeout=600)


@pytest.fixture(scope="module")
def seed_answer(client: openai.OpenAI) -> Any:
    return client.chat.completions.create(model="default", messages=[{"role": "user", "content": SEED_QUESTION}])


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_one_model_per_collection(client: openai.OpenAI):
    models = client.models.list()
    assert [m.id for m in models.data] == ["default", "orchard"]
    assert client.models.retrieve("orchard").id == "orchard"


def test_the_answer_is_the_checked_one_with_its_citations_in_the_extra_field(seed_answer: Any):
    content = seed_answer.choices[0].message.content
    rag = seed_answer.model_extra["rag"]
    assert seed_answer.object == "chat.completion" and seed_answer.choices[0].finish_reason == "stop"
    assert rag["abstained"] is False and "economic migrants" in content
    cited = {c["n"] for c in rag["citations"]}
    assert markers(content) and markers(content) <= cited  # every [n] shown is a citation given
    assert any("economic migrants" in c["text"] for c in rag["citations"])
    assert rag["timings_ms"]["first_token"] > 0 and [c["name"] for c in rag["checks"]][0] == "retrieval"
    usage = seed_answer.usage  # the draft's prompt and what the model wrote, as it counted them
    assert usage.prompt_tokens > 100 and 0 < usage.completion_tokens <= 160
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_max_tokens_cuts_the_draft_and_says_so(client: openai.OpenAI):
    reply = client.chat.completions.create(
        model="default", max_tokens=4, messages=[{"role": "user", "content": SEED_QUESTION}]
    )
    assert reply.usage.completion_tokens == 4
    # a cut draft that passed its checks is "length"; one that did not is the documents don't say, "stop"
    cut = "stop" if reply.model_extra["rag"]["abstained"] else "length"
    assert reply.choices[0].finish_reason == cut


def test_streaming_sends_the_draft_then_the_same_checked_answer_then_done(
    client: openai.OpenAI, server: str, seed_answer: Any
):
    drafts, content, extra, finish, usage = [], [], None, None, None
    stream = client.chat.completions.create(
        model="default",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": SEED_QUESTION}],
    )
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if not chunk.choices:  # the last chunk: the usage alone
            usage = chunk.usage
            continue
        delta = chunk.choices[0].delta
        if (delta.model_extra or {}).get("reasoning_content"):
            drafts.append(delta.model_extra["reasoning_content"])
        if delta.content:
            assert not finish
            content.append(delta.content)
        if chunk.choices[0].finish_reason:
            finish, extra = chunk.choices[0].finish_reason, chunk.model_extra["rag"]
    assert finish == "stop" and extra["abstained"] is False
    assert len(drafts) > 1  # the draft arrived in pieces, as generated
    assert "".join(content) == seed_answer.choices[0].message.content  # greedy: the same checked answer
    assert usage == seed_answer.usage  # and the same tokens counted
    # the wire format ends with [DONE]
    body = {"model": "default", "stream": True, "messages": [{"role": "user", "content": SEED_QUESTION}]}
    with httpx.stream(
        "POST", f"{server}v1/chat/completions", json=body, timeout=600, headers={"Authorization": f"Bearer {KEY}"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_another_collection_answers_from_its_own_documents(client: openai.OpenAI):
    reply = client.chat.completions.create(
        model="orchard", messages=[{"role": "user", "content": "How many tonnes of plums did the cooperative harvest?"}]
    )
    assert "412" in reply.choices[0].message.content
    assert [c["source"] for c in reply.model_extra["rag"]["citations"]][0].endswith("harvest.txt")


def test_earlier_turns_are_the_follow_up_history(client: openai.OpenAI):
    reply = client.chat.completions.create(
        model="default",
        messages=[
            {"role": "system", "content": "You are helpful."},  # not read: the answer path has its own
            {"role": "user", "content": "Which agreement does Beijing honor?"},
            {"role": "assistant", "content": "A 1986 bilateral agreement with Pyongyang [1]."},
            {"role": "user", "content": [{"type": "text", "text": "What did it outlaw?"}]},
        ],
    )
    rewritten = reply.model_extra["rag"]["rewritten_question"]
    assert "agreement" in rewritten and "outlaw" in rewritten  # "it" resolved from the earlier turn


def test_a_wrong_or_missing_key_is_refused(server: str):
    wrong = openai.OpenAI(base_url=f"{server}v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.models.list()
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"
    with pytest.raises(urllib.error.HTTPError) as bare:
        urllib.request.urlopen(f"{server}mcp", timeout=10)
    assert bare.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as page:  # the key guards the page too: one gate for every route
        urllib.request.urlopen(server, timeout=10)
    assert page.value.code == 401
    keyed = urllib.request.Request(server, headers={"Authorization": f"Bearer {KEY}"})
    assert urllib.request.urlopen(keyed, timeout=10).status == 200


def test_a_wrong_model_an_empty_message_and_a_bad_body_get_openai_errors(client: openai.OpenAI, server: str):
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert unknown.value.code == "model_not_found" and "default, orchard" in unknown.value.message
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.chat.completions.create(model="default", messages=[{"role": "user", "content": "   "}])
    with pytest.raises(openai.BadRequestError, match="last message"):
        client.chat.completions.create(model="default", messages=[{"role": "assistant", "content": "Hi."}])
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="default", messages=[])
    response = httpx.post(
        f"{server}v1/chat/completions",
        content=b"{not json",
        timeout=10,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def call_mcp(target: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Open an MCP client session on `target`, use every tool and resource, and return what came back."""
    from mcp import Client

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        if headers:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            transport = streamable_http_client(target, http_client=httpx2.AsyncClient(headers=headers, timeout=600))
            target_or_transport: Any = transport
        else:
            target_or_transport = target
        async with Client(target_or_transport, read_timeout_seconds=600) as mcp:
            tools = (await mcp.list_tools()).tools
            seen["tools"] = sorted(tool.name for tool in tools)
            seen["read_only"] = [tool.annotations.read_only_hint for tool in tools if tool.annotations]
            plums = {"query": "plums harvest", "collection": "orchard"}
            seen["search"] = await mcp.call_tool("search_documents", plums)
            seen["ask"] = await mcp.call_tool("ask_documents", {"question": SEED_QUESTION})
            seen["unknown"] = await mcp.call_tool("ask_documents", {"question": "hi", "collection": "nothere"})
            seen["resources"] = sorted(str(r.uri) for r in (await mcp.list_resources()).resources)
            seen["documents"] = json.loads((await mcp.read_resource("rag://documents")).contents[0].text)
        return seen

    return asyncio.run(session())


def check_mcp(seen: dict[str, Any]) -> None:
    assert seen["tools"] == ["ask_documents", "search_documents"]
    assert seen["read_only"] == [True, True]  # clients need not ask for approval on every call
    found = seen["search"].structured_content["passages"]
    assert not seen["search"].is_error and found[0]["source"].endswith("harvest.txt") and "412" in found[0]["text"]
    asked = seen["ask"].structured_content
    assert not seen["ask"].is_error and asked["abstained"] is False and asked["citations"]
    assert markers(asked["answer"]) and markers(asked["answer"]) <= {c["n"] for c in asked["citations"]}
    assert seen["unknown"].is_error and "no collection 'nothere'" in seen["unknown"].content[0].text
    assert "rag://documents" in seen["resources"] and "rag://collections" in seen["resources"]
    assert seen["documents"] and all(d["chunks"] > 0 for d in seen["documents"])


def test_mcp_over_stdio(app_index: Path, collections_dir: Path):
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "rag", "mcp", "--index", str(app_index)],
        env={"RAG_COLLECTIONS_DIR": str(collections_dir)},
    )
    check_mcp(call_mcp(params))


def test_mcp_over_http_under_rag_serve(server: str):
    check_mcp(call_mcp(f"{server}mcp", headers={"Authorization": f"Bearer {KEY}"}))
