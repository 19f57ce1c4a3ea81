"""What a chat completion request may ask of how its answer is written: honoured, or refused with a 400 that
names the field, never silently ignored.

The answer is decoded greedily and then checked against thresholds fitted on greedy drafts (rag/answering/verify.py,
rag/calibration): sampling would make answers unreproducible and the fitted thresholds wrong, several choices
would each need checking, and a stop sequence or a tool call would cut or replace the answer that is checked.
So these fields are taken only at the value that leaves the answer as it is made (or null). `max_tokens` and
`max_completion_tokens` are honoured: they cap the draft (rag/api/openai_chat.py).
"""

from __future__ import annotations

from typing import Any

from rag.api.openai_errors import APIError

GREEDY = "this server answers greedily, so that an answer can be checked and asked again alike"
NO_LOGPROBS = "token log-probabilities are not returned"
# field: (the values taken, why no other is)
TAKEN: dict[str, tuple[tuple[Any, ...], str]] = {
    "temperature": ((0,), f"send 0 or leave it out: {GREEDY}"),
    "top_p": ((1,), f"send 1 or leave it out: {GREEDY}"),
    "presence_penalty": ((0,), GREEDY),
    "frequency_penalty": ((0,), GREEDY),
    "logit_bias": (({},), GREEDY),
    "n": ((1,), "one answer per request"),
    "logprobs": ((False,), NO_LOGPROBS),
    "top_logprobs": ((0,), NO_LOGPROBS),
    "stop": (([],), "stop sequences are not supported: the whole answer is checked"),
    "tools": (([],), "tools are not supported: the reply is an answer from the documents"),
    "response_format": (({"type": "text"},), "only text replies"),
}


def refuse_what_would_change_the_answer(body: dict[str, Any]) -> None:
    """An APIError (400, naming the field) for the first field asking for what this server does not do."""
    for field, (taken, why) in TAKEN.items():
        value = body.get(field)
        if value is not None and not any(_same(value, ok) for ok in taken):
            shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:57]}..."
            raise APIError(400, f"{field}={shown} is not supported: {why}", param=field, code="unsupported_value")


def _same(value: Any, taken: Any) -> bool:
    """Equal, and a bool only where a bool is meant (True == 1 in Python: n=true is not n=1)."""
    return value == taken and isinstance(value, bool) == isinstance(taken, bool)


def length_cap(max_tokens: int | None, max_completion_tokens: int | None) -> int | None:
    """The draft's token limit the request asks for (the smaller where both are given); None: the server's."""
    given = [limit for limit in (max_tokens, max_completion_tokens) if limit is not None]
    return min(given) if given else None
