"""Fakes shared by the tests: a scripted generator standing in for the model, and a one-passage answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from rag.answering.answer import answer_stream
from rag.models.generate import Messages
from rag.settings import Settings
from rag.types import Answer, Chunk, Passage

FREEDONIA = "The capital of Freedonia is Mirabel. It lies on the river Ost."


class ScriptedGenerator:
    """Writes a fixed reply word by word (as a model streams) and gives a fixed P(Yes); records what it was
    asked: `prompts` (each streamed prompt) and `asked` (each yes/no prompt)."""

    label = "scripted"

    def __init__(self, reply: str, p_yes: float = 1.0) -> None:
        self.reply, self.p_yes = reply, p_yes
        self.prompts: list[Messages] = []
        self.asked: list[Messages] = []

    @property
    def streamed(self) -> int:
        return len(self.prompts)

    def stream(self, messages: Messages, max_new_tokens: int) -> Iterator[str]:
        self.prompts.append(messages)
        first, *rest = self.reply.split(" ")
        yield from [first, *(" " + word for word in rest)]

    def yes_probability(self, messages: Messages) -> float:
        self.asked.append(messages)
        return self.p_yes


def freedonia_answer(model: ScriptedGenerator, embedder: Any, question: str = "What is the capital of Freedonia?",
                     title: str = "Freedonia", **settings: Any) -> Answer:  # fmt: skip
    """The checked answer `model` gives to `question` over one passage, FREEDONIA."""
    passages = [Passage(Chunk(0, "freedonia.txt", title, FREEDONIA, 0, len(FREEDONIA)), 0.8)]
    items = list(answer_stream(question, passages, model, embedder, Settings(**settings), time.perf_counter(), 1.0))
    assert isinstance(items[-1], Answer)
    return items[-1]
