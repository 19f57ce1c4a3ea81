"""Follow-up questions ("Why?", "What does the law say about that?") rewritten into one standalone
question from the conversation, before retrieval: the retriever sees no conversation, so "that"
must become what it refers to."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.models.generate import Generator

Turn = tuple[str, str]  # (question, answer) of an earlier exchange

REWRITE_SYSTEM = (
    "Rewrite the user's follow-up question as one standalone question that can be understood without "
    "the conversation: replace words like it, that, they, this and there with what they refer to, and "
    "keep what the user asks. Do not answer it. Reply with the question only.\n\n"
    "Example. Conversation: User: Who wrote Hamlet? Assistant: Shakespeare wrote it around 1600. "
    "Follow-up question: When was he born? Standalone question: When was Shakespeare born?"
)
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
ANSWER_WORDS = 60  # of each earlier answer shown to the rewriter: enough to name what "it" is
TURNS = 3  # earlier exchanges shown


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


def rewrite_messages(question: str, history: list[Turn]) -> list[dict[str, str]]:
    lines = []
    for asked, answered in history[-TURNS:]:
        words = _MARKERS.sub("", answered).split()
        lines += [f"User: {asked.strip()}", f"Assistant: {' '.join(words[:ANSWER_WORDS])}"]
    conversation = "\n".join(lines)
    return [
        {"role": "system", "content": REWRITE_SYSTEM},
        {"role": "user", "content": f"Conversation:\n{conversation}\n\nFollow-up question: {question.strip()}\n\n"
                                    "Standalone question:"},
    ]  # fmt: skip


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
