"""A model server as the generator (rag/models/server.py), against a real llama.cpp server started here on
loopback (python -m rag.models.llama_server, the shipped SmolLM2 GGUF), and against small stand-in servers for
what a real one cannot be made to do on demand (return no logprobs, hang)."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FREEDONIA, ScriptedGenerator
from helpers import assert_one_line_error, drained, run

from rag.errors import RagError
from rag.models.generate import NoTokenProbabilities
from rag.models.server import PROBE, ServerGenerator

MESSAGES = [
    {"role": "system", "content": "Answer only from the context."},
    {"role": "user", "content": f"Context:\n[1] {FREEDONIA}\n\nQuestion: What is the capital of Freedonia?"},
]
CHECK = [*MESSAGES[:-1], {"role": "user", "content": MESSAGES[-1]["content"] + "\n\nReply Yes or No."}]
# llama.cpp's threads meet at spinning barriers: on 2 cores shared with other work, 2 threads ran 20-80 times slower
# than 1 (SmolLM2: 88 s against 1.1 s for 44 tokens, load 3.5); the server and the in-process engine get the same
THREADS = 1


def start_llama_server(*args: str, model: str = "smollm2") -> tuple[subprocess.Popen, str]:
    """python -m rag.models.llama_server in its own process; (process, API base) once it listens."""
    command = [sys.executable, "-m", "rag.models.llama_server", "--model", model, "--threads", str(THREADS), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline() if process.stdout else ""  # blocks until it listens, or it dies
    if not line.startswith("listening on "):
        process.kill()
        pytest.fail(f"the llama.cpp server did not start: {line!r}")
    return process, line.split()[-1]


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    process, url = start_llama_server()
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.slow
def test_the_server_answers_as_the_same_gguf_does_in_process(llama_server: str, tmp_path: Path):
    from rag.models.generate import load_generator

    served = ServerGenerator(llama_server, "smollm2")
    local = load_generator(
        "smollm2", "llama.cpp", threads=THREADS, dtype="float32", context_tokens=2048, cache_dir=tmp_path
    )
    assert served.logprobs
    local.yes_probability(PROBE)  # the server's start-up probe: llama.cpp's numbers depend on what it read before
    assert drained(served.stream(MESSAGES, 24)) == drained(local.stream(MESSAGES, 24))  # text and token counts
    assert abs(served.yes_probability(CHECK) - local.yes_probability(CHECK)) <= 0.02


@pytest.mark.slow
def test_a_pipeline_answers_through_the_server_with_its_answer_check(llama_server: str, seed_index: Path, seed_rag):
    from rag import RAG

    # a threshold it passes: the answer check runs before the model writes, and a failed one writes nothing
    answer = RAG(index_dir=seed_index, generator_url=llama_server, generator="smollm2", min_answer_check=0.001).ask(
        "Which agreement does Beijing honor?"
    )
    check = next(c for c in answer.checks if c.name == "answer_check")
    assert check.not_run == "" and check.value is not None and 0.0 <= check.value <= 1.0
    assert check.passed and answer.timings_ms["first_token"] > 0, "the draft was written through the server"


@pytest.mark.slow
def test_qwen_answers_the_mission_question_through_its_server_as_in_process(seed_index: Path, seed_rag):
    """The shipped Qwen2.5 1.5B GGUF, served and in process, with the same history (the server's start-up probe
    first, as bench/server_generator.py gives both): the same answer and the same P(Yes) within 0.02."""
    process, url = start_llama_server(model="qwen-1.5b")
    try:
        # thresholds given, so that both decide alike (a server's model has no fit); every check recorded
        local = seed_rag.variant(
            generator="qwen-1.5b",
            runtime="llama.cpp",
            threads=THREADS,
            min_retrieval_score=0.3,
            min_answer_check=0.01,
            min_support=0.41,
            every_check=True,
        )
        served = local.variant(generator_url=url)
        assert isinstance(served.generator, ServerGenerator) and served.generator.logprobs  # the probe, sent now
        local.generator.yes_probability(PROBE)
        question = "Why does China treat defectors as economic migrants?"
        ours, theirs = local.ask(question), served.ask(question)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not ours.abstained, ours.abstain_reason  # two abstentions would agree on nothing the model wrote
    assert "food and financial struggles" in ours.answer, ours.answer  # the article's reason (MODELS.md)
    assert theirs.answer == ours.answer
    assert ours.answer_check is not None and theirs.answer_check is not None
    assert abs(theirs.answer_check - ours.answer_check) <= 0.02, (ours.answer_check, theirs.answer_check)


@pytest.mark.slow
def test_a_wrong_model_name_or_a_closed_port_is_one_clear_error(llama_server: str):
    with pytest.raises(RagError, match=r"has no model 'qwen-9b' \(it serves: smollm2\)"):
        ServerGenerator(llama_server, "qwen-9b")
    with pytest.raises(RagError, match="cannot reach the model server at http://127.0.0.1:9/v1"):
        ServerGenerator("http://127.0.0.1:9/v1", "smollm2")


@pytest.mark.slow
def test_a_server_that_wants_a_key_refuses_a_missing_one_and_takes_the_right_one(monkeypatch: pytest.MonkeyPatch):
    process, url = start_llama_server("--api-key", "s3cret")
    try:
        monkeypatch.delenv("RAG_GENERATOR_API_KEY", raising=False)
        with pytest.raises(RagError, match="refused the API key"):
            ServerGenerator(url, "smollm2")
        monkeypatch.setenv("RAG_GENERATOR_API_KEY", "s3cret")
        assert ServerGenerator(url, "smollm2").logprobs
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_rag_ask_with_an_unreachable_server_is_a_one_line_error():
    result = run("ask", "--generator-url", "http://127.0.0.1:9/v1", "Which agreement does Beijing honor?")
    assert_one_line_error(result, "cannot reach the model server")


# --- stand-in servers -------------------------------------------------------------------------------


class _StandIn(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible server that streams a fixed reply and returns no logprobs (or hangs: `delay`)."""

    reply = "The capital of Freedonia is Mirabel. [1]"
    delay = 0.0

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: bytes, kind: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the client gave up waiting (the timeout test)
            pass

    def do_GET(self) -> None:
        self._send(json.dumps({"object": "list", "data": [{"id": "stand-in", "object": "model"}]}).encode())

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(self.delay)
        if request.get("stream"):
            first, *rest = self.reply.split(" ")
            events = [
                {"choices": [{"index": 0, "delta": {"content": piece}}]} for piece in [first, *(" " + w for w in rest)]
            ]
            body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            self._send(body.encode(), "text/event-stream")
        else:
            message = {"role": "assistant", "content": "Yes"}
            self._send(json.dumps({"choices": [{"index": 0, "message": message, "logprobs": None}]}).encode())


def stand_in(delay: float = 0.0) -> Iterator[str]:
    handler = type("Handler", (_StandIn,), {"delay": delay})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture
def no_logprobs_server() -> Iterator[str]:
    yield from stand_in()


def test_a_server_without_logprobs_streams_and_records_the_answer_check_as_not_run(
    no_logprobs_server: str, fake_embedder, capsys: pytest.CaptureFixture[str]
):
    from fakes import freedonia_answer

    served = ServerGenerator(no_logprobs_server, "stand-in")
    assert not served.logprobs
    assert "returns no token probabilities" in capsys.readouterr().err, "said once, at start"
    with pytest.raises(NoTokenProbabilities):
        served.yes_probability(CHECK)
    answer = freedonia_answer(served, fake_embedder, min_answer_check=0.3)  # type: ignore[arg-type]
    assert not answer.abstained and answer.answer.startswith("The capital of Freedonia is Mirabel.")
    check = next(c for c in answer.checks if c.name == "answer_check")
    assert check.passed and check.value is None and "no token probabilities" in check.not_run
    # the same answer, from a model that gives probabilities, records the check as run
    scripted = freedonia_answer(ScriptedGenerator(_StandIn.reply, 0.9), fake_embedder, min_answer_check=0.3)
    assert next(c for c in scripted.checks if c.name == "answer_check").not_run == ""


def test_a_server_that_does_not_answer_in_time_is_a_one_line_error():
    for url in stand_in(delay=3.0):
        with pytest.raises(RagError, match="did not answer in time"):
            ServerGenerator(url, "stand-in", timeout_s=0.5)


@pytest.mark.slow
def test_rag_eval_with_the_llm_judge_on_a_server_without_logprobs_is_a_one_line_error(no_logprobs_server: str):
    gold = Path(__file__).resolve().parents[2] / "eval" / "seed_gold.jsonl"
    result = run(
        "eval",
        str(gold),
        "--limit",
        "1",
        "--judge",
        "llm",
        "--generator-url",
        no_logprobs_server,
        "--generator",
        "stand-in",
    )
    assert_one_line_error(result, "--judge llm", "--judge score")
