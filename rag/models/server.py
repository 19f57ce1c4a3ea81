"""A model server as the generator: any OpenAI-compatible `/v1/chat/completions` endpoint (Ollama, llama.cpp's
llama-server, vLLM, LM Studio), streamed. The answer check reads P(Yes) from the server's `logprobs` /
`top_logprobs`; a server that returns none makes that check "not run" (said once at start), never a silent pass.
The requests are the ones the in-process llama.cpp path sends, so the same GGUF answers the same through either."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from rag.errors import RagError
from rag.models.generate import Messages, NoTokenProbabilities, Usage, chat_request, usage_of, yes_share_of

API_KEY_VARIABLE = "RAG_GENERATOR_API_KEY"
PROBE: Messages = [
    {"role": "user", "content": "Reply Yes or No: is 2 more than 1?"}
]  # asked once, at start  # a secret: from the environment only, never a flag or rag.toml


class ServerGenerator:
    """The Generator protocol over HTTP. `url`: the API's base (…/v1); `model`: the name the server knows it by."""

    def __init__(self, url: str, model: str, timeout_s: float = 120.0, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.label = f"{model} at {self.url}"
        key = os.environ.get(API_KEY_VARIABLE, "") if api_key is None else api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(timeout_s, connect=10.0))
        self.served = self._served_models()
        if self.served and model not in self.served:
            served = ", ".join(self.served)
            raise RagError(f"the model server at {self.url} has no model {model!r} (it serves: {served})")
        self.logprobs = self._returns_logprobs()
        if not self.logprobs:  # said once, where the model is loaded: every face (serve, ask, eval) starts here
            print(
                f"rag: the model server at {self.url} returns no token probabilities: the answer check "
                "will not run (each answer records it as not run)",
                file=sys.stderr,
            )

    # --- the Generator protocol -----------------------------------------------------------------------

    def stream(self, messages: Messages, max_new_tokens: int) -> Iterator[str]:
        request = self._request(messages, max_new_tokens, stream=True)
        counted: Usage | None = None  # in the last chunk, where the server counts (stream_options.include_usage)
        with self._errors(), self._client.stream("POST", "/chat/completions", json=request) as reply:
            self._raise_for(reply)
            for line in reply.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                counted = usage_of(chunk) or counted
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
        return counted

    def yes_probability(self, messages: Messages) -> float:
        """P(Yes) against P(No) of the first reply token, from the server's top_logprobs."""
        top = self._first_token_logprobs(messages) if self.logprobs else []
        if not top:
            raise NoTokenProbabilities(f"the model server at {self.url} returns no token probabilities (logprobs)")
        return yes_share_of(top)

    # --- HTTP -------------------------------------------------------------------------------------------

    def _request(self, messages: Messages, max_tokens: int, stream: bool, yes_no: bool = False) -> dict[str, Any]:
        return {"model": self.model, **chat_request(messages, max_tokens, stream, yes_no)}

    def _first_token_logprobs(self, messages: Messages) -> list[dict[str, Any]]:
        request = self._request(messages, 1, stream=False, yes_no=True)
        with self._errors():
            reply = self._client.post("/chat/completions", json=request)
        self._raise_for(reply)
        choice = (reply.json().get("choices") or [{}])[0]
        content = (choice.get("logprobs") or {}).get("content") or [{}]
        return content[0].get("top_logprobs") or []

    def _returns_logprobs(self) -> bool:
        return bool(self._first_token_logprobs(PROBE))

    def _served_models(self) -> list[str]:
        """The model names the server lists (OpenAI's `data`, Ollama's `models`); [] when it lists none."""
        with self._errors():
            reply = self._client.get("/models")
        if reply.status_code == 404:
            return []
        self._raise_for(reply)
        body = reply.json()
        listed = body.get("data") or body.get("models") or []
        return [m.get("id") or m.get("name") or m.get("model") for m in listed if isinstance(m, dict)]

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Connection failures and timeouts as one-line errors naming the server."""
        try:
            yield
        except httpx.TimeoutException:
            raise RagError(f"the model server at {self.url} did not answer in time") from None
        except httpx.HTTPError as error:
            raise RagError(f"cannot reach the model server at {self.url}: {error}") from None

    def _raise_for(self, reply: httpx.Response) -> None:
        if reply.status_code < 400:
            return
        if reply.status_code in (401, 403):
            raise RagError(f"the model server at {self.url} refused the API key (set {API_KEY_VARIABLE})")
        if not reply.is_stream_consumed:
            reply.read()  # a streamed reply's body, for the message
        raise RagError(f"the model server at {self.url} answered {reply.status_code}: {reply.text[:200]}")
