"""OpenAI's and MCP's conventions, driven by the real `openai` and `mcp` clients against the real server stack
(rag.api.app.build_server under uvicorn, behind its Guard and an API key): token `usage` in the reply and in the
stream's last chunk, `max_tokens` honoured, sampling refused unless greedy, OpenAI-shaped errors on every /v1
path, /health, and MCP tools that say they only read and take a conversation's history.

No model is loaded: a hashing embedder and a scripted generator that counts tokens as a model reports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from fakes import FREEDONIA, FakeEmbedder, ScriptedGenerator
from test_security import serve_in_thread

from rag import __version__
from rag.api.access import Credentials
from rag.api.app import build_server
from rag.models.generate import Messages, Usage
from rag.pipeline import RAG

KEY = "conventions-key"
QUESTION = "What is the capital of Freedonia?"
REPLY = "The capital of Freedonia is Mirabel."
EARLIER = [
    {"role": "user", "content": "Which country is this about?"},
    {"role": "assistant", "content": "It is about Freedonia [1]."},
]


class CountingGenerator(ScriptedGenerator):
    """A scripted model that reports its tokens as a model does: one per word of the prompt, one per word written
    (at most `max_new_tokens`); records each limit it was given. `fail`: the next stream raises, as a bug would."""

    def __init__(self) -> None:
        super().__init__(REPLY)
        self.limits: list[int] = []
        self.counted: list[Usage] = []
        self.fail = False

    def stream(self, messages: Messages, max_new_tokens: int) -> Iterator[str]:
        self.prompts.append(messages)
        self.limits.append(max_new_tokens)
        if self.fail:
            self.fail = False
            raise ZeroDivisionError("a bug in the model")
        words = self.reply.split(" ")[:max_new_tokens]
        yield from [words[0], *(" " + word for word in words[1:])]
        self.counted.append(Usage(sum(len(m["content"].split()) for m in messages), len(words)))
        return self.counted[-1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, CountingGenerator]]:
    root = tmp_path_factory.mktemp("conventions")
    (root / "docs").mkdir()
    (root / "docs" / "freedonia.txt").write_text(FREEDONIA, encoding="utf-8")
    model = CountingGenerator()
    rag = RAG(index_dir=root / "index").use(embedder=FakeEmbedder(), generator=model)
    rag.build([root / "docs"])
    url, server = serve_in_thread(build_server(rag, credentials=Credentials(api_keys=(KEY,))))
    yield url, model
    server.should_exit = True


@pytest.fixture
def model(served: tuple[str, CountingGenerator]) -> CountingGenerator:
    served[1].prompts.clear(), served[1].limits.clear(), served[1].counted.clear()
    return served[1]


@pytest.fixture(scope="module")
def client(served: tuple[str, CountingGenerator]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served[0]}/v1", api_key=KEY, max_retries=0, timeout=60)


def ask(client: openai.OpenAI, *earlier: dict[str, str], **options: Any) -> Any:
    messages = [*earlier, {"role": "user", "content": QUESTION}]
    return client.chat.completions.create(model="default", messages=messages, **options)  # type: ignore[arg-type]


def expected_usage(model: CountingGenerator) -> dict[str, int]:
    prompt = sum(counted.prompt_tokens for counted in model.counted)
    completion = sum(counted.completion_tokens for counted in model.counted)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# --- usage ---------------------------------------------------------------------------------------------------------


def test_the_reply_carries_the_tokens_the_model_counted(client: openai.OpenAI, model: CountingGenerator):
    reply = ask(client)
    assert not reply.model_extra["rag"]["abstained"] and reply.choices[0].finish_reason == "stop"
    assert len(model.counted) == 1  # the draft; the answer check is a judgement, not a generation
    assert reply.usage is not None and reply.usage.model_dump(exclude_none=True) == expected_usage(model)
    assert reply.usage.completion_tokens == len(REPLY.split()) and reply.usage.prompt_tokens > 10


def test_a_follow_ups_rewrite_is_counted_with_the_draft(client: openai.OpenAI, model: CountingGenerator):
    reply = ask(client, *EARLIER)
    assert len(model.counted) == 2  # the rewrite into a standalone question, then the draft
    assert reply.usage.model_dump(exclude_none=True) == expected_usage(model)


def test_a_stream_ends_with_the_usage_when_asked_and_only_then(client: openai.OpenAI, model: CountingGenerator):
    chunks = list(ask(client, stream=True, stream_options={"include_usage": True}))
    *answer, last = chunks
    assert last.choices == [] and last.usage.model_dump(exclude_none=True) == expected_usage(model)
    assert all(chunk.usage is None for chunk in answer) and answer[-1].choices[0].finish_reason == "stop"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in answer) == ask(client).choices[0].message.content
    plain = list(ask(client, stream=True))
    assert all(chunk.choices and chunk.usage is None for chunk in plain)


# --- max_tokens and sampling ---------------------------------------------------------------------------------------


def test_max_tokens_caps_the_draft(client: openai.OpenAI, model: CountingGenerator):
    cut = ask(client, max_tokens=3)
    assert model.limits == [3] and cut.usage.completion_tokens == 3
    # a draft cut short is "length" where it is the answer given, "stop" where it was checked and dropped
    assert cut.choices[0].finish_reason == ("stop" if cut.model_extra["rag"]["abstained"] else "length")
    ask(client, max_completion_tokens=5)
    ask(client, max_tokens=10_000)  # more than the server allows: the server's limit holds
    assert model.limits == [3, 5, RAG().settings.answering.max_new_tokens]
    with pytest.raises(openai.BadRequestError) as zero:
        ask(client, max_tokens=0)
    assert zero.value.param == "max_tokens"


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ({"temperature": 0.7}, "temperature=0.7 is not supported: send 0 or leave it out"),
        ({"top_p": 0.5}, "top_p=0.5 is not supported"),
        ({"n": 2}, "one answer per request"),
        ({"stop": ["\n"]}, "stop sequences are not supported"),
        ({"logprobs": True}, "log-probabilities are not returned"),
    ],
)
def test_sampling_is_refused_before_anything_is_generated(
    client: openai.OpenAI, model: CountingGenerator, option: dict[str, Any], said: str
):
    with pytest.raises(openai.BadRequestError, match=said) as refused:
        ask(client, **option)
    assert refused.value.param == next(iter(option)) and refused.value.code == "unsupported_value"
    assert model.prompts == []


def test_greedy_values_are_taken(client: openai.OpenAI, model: CountingGenerator):
    reply = ask(client, temperature=0, top_p=1, n=1, seed=7, presence_penalty=0, stop=[], user="ann")
    assert reply.choices[0].message.content and len(model.prompts) == 1


# --- errors, /health -----------------------------------------------------------------------------------------------


def test_unknown_v1_paths_and_methods_get_openai_errors(client: openai.OpenAI, served: tuple[str, Any]):
    with pytest.raises(openai.NotFoundError, match=r"Invalid URL \(GET /v1/embeddings\)") as unknown:
        client.get("/embeddings", cast_to=object)
    assert unknown.value.code == "unknown_url" and "/v1/chat/completions" in unknown.value.message
    with pytest.raises(openai.APIStatusError) as wrong:
        client.get("/chat/completions", cast_to=object)
    assert wrong.value.status_code == 405 and wrong.value.response.headers["allow"] == "POST"
    assert wrong.value.code == "method_not_allowed"
    bare = httpx.get(f"{served[0]}/v1", headers={"Authorization": f"Bearer {KEY}"})
    assert bare.status_code == 404 and bare.json()["error"]["type"] == "invalid_request_error"
    page = httpx.get(f"{served[0]}/", headers={"Authorization": f"Bearer {KEY}"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")  # the page's own


def test_a_failure_inside_the_server_is_an_openai_500(client: openai.OpenAI, model: CountingGenerator):
    model.fail = True
    with pytest.raises(openai.InternalServerError) as failed:
        ask(client)
    assert failed.value.body["type"] == "server_error" and "ZeroDivision" not in failed.value.message
    assert ask(client).choices[0].message.content  # and the server goes on answering


def test_health_says_ok_behind_the_key(served: tuple[str, Any]):
    url, _ = served
    healthy = httpx.get(f"{url}/health", headers={"Authorization": f"Bearer {KEY}"})
    assert healthy.status_code == 200 and healthy.json() == {"status": "ok", "version": __version__}
    assert httpx.head(f"{url}/health", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    refused = httpx.get(f"{url}/health")
    assert refused.status_code == 401 and "status" not in refused.json() and __version__ not in refused.text


# --- MCP -----------------------------------------------------------------------------------------------------------


def call_mcp(url: str, *calls: tuple[str, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The tools /mcp lists and the results of `calls`, through the real client over streamable HTTP."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def session() -> tuple[list[Any], list[Any]]:
        keyed = httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
        async with Client(streamable_http_client(f"{url}/mcp", http_client=keyed)) as mcp:
            tools = (await mcp.list_tools()).tools
            return tools, [await mcp.call_tool(name, arguments) for name, arguments in calls]

    return asyncio.run(session())


def test_mcp_tools_are_named_for_documents_and_read_only(served: tuple[str, Any]):
    tools, (found,) = call_mcp(served[0], ("search_documents", {"query": "capital of Freedonia"}))
    assert sorted(tool.name for tool in tools) == ["ask_documents", "search_documents"]
    for tool in tools:
        assert tool.annotations.read_only_hint is True and tool.annotations.open_world_hint is False
        assert tool.annotations.title
    assert not found.is_error and "Mirabel" in found.structured_content["passages"][0]["text"]


def test_mcp_ask_takes_the_conversation_as_pairs_or_messages(served: tuple[str, Any], model: CountingGenerator):
    pairs = [{"question": "Which country is this about?", "answer": "It is about Freedonia [1]."}]
    _, results = call_mcp(
        served[0],
        ("ask_documents", {"question": QUESTION, "history": pairs}),
        ("ask_documents", {"question": QUESTION, "history": EARLIER}),
        ("ask_documents", {"question": QUESTION}),
        ("ask_documents", {"question": QUESTION, "history": [{"role": "user"}]}),
    )
    as_pairs, as_messages, alone, bad = results
    rewrites = [prompt for prompt in model.prompts if "Which country is this about?" in str(prompt)]
    assert len(rewrites) == 2 and len(model.prompts) == 5  # two rewrites (one per history) and three drafts
    for asked in (as_pairs, as_messages):
        assert not asked.is_error and asked.structured_content["rewritten_question"] == REPLY  # the model's rewrite
    assert alone.structured_content["rewritten_question"] == "" and not alone.structured_content["abstained"]
    assert bad.is_error and "history" in bad.content[0].text


def test_a_stream_sends_each_sentence_as_content_once_it_is_checked(client: openai.OpenAI, model: CountingGenerator):
    model.reply = "The capital of Freedonia is Mirabel. It lies on the river Ost."
    try:
        whole = ask(client).choices[0].message.content
        pieces = [c.choices[0].delta.content for c in ask(client, stream=True) if c.choices]
    finally:
        model.reply = REPLY
    sent = [piece for piece in pieces if piece]
    assert len(sent) == 2, sent  # one sentence, then the next: not the whole answer at the end
    assert sent[0] == "The capital of Freedonia is Mirabel. [1]"
    assert "".join(sent) == whole


def test_a_stream_says_so_when_the_whole_answer_withdraws_what_was_sent(
    client: openai.OpenAI, model: CountingGenerator
):
    model.reply = "The capital of Freedonia is Mirabel. I don't know anything else about it."
    try:
        sent = "".join(c.choices[0].delta.content or "" for c in ask(client, stream=True) if c.choices)
    finally:
        model.reply = REPLY
    assert sent.startswith("The capital of Freedonia is Mirabel. [1]")
    assert "[Withdrawn (the model found no answer in the passages)" in sent
    assert sent.endswith("The documents don't say.")
