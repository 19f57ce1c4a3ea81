"""Follow-up questions ("Why?", "What does the law say about that?") rewritten into one standalone
question from the conversation, before retrieval: the retriever sees no conversation, so "that"
must become what it refers to."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.answering.prompt import Turn, rewrite_messages
from rag.models.generate import Generator


def turns_of(messages: Iterable[tuple[str, str]], is_answer: Callable[[str], bool]) -> list[Turn]:
    """The (question, answer) turns of a chat's (role, text) messages, as every face reads its history: each
    user message with the assistant's reply after it; a question without a real answer is left out (an
    abstention names nothing that a follow-up's "it" could mean)."""
    turns: list[Turn] = []
    asked: str | None = None
    for role, text in messages:
        if role == "user":
            asked = text
        elif role == "assistant" and asked and text and is_answer(text):
            turns.append((asked, text))
            asked = None
    return turns


def standalone_question(question: str, history: list[Turn], generator: Generator, max_new_tokens: int = 48) -> str:
    """The follow-up as a standalone question; the question itself when there is no history or the
    model's reply is not a usable question."""
    if not history:
        return question
    reply = "".join(generator.stream(rewrite_messages(question, history), max_new_tokens))
    line = next((part.strip() for part in reply.splitlines() if part.strip()), "")
    line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.IGNORECASE).strip().strip('"“”')
    usable = 3 <= len(line) <= 4 * len(question) + 200 and not line.lower().startswith(("i don't", "sorry"))
    return line if usable else question
