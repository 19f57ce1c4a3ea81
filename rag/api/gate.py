"""Answers generated a few at a time, first come first served, whichever face asked.

The generator already runs one call at a time, but an answer is several calls (draft, answer check, a
follow-up's rewrite): without a gate, sixteen clients' calls interleave and every one of them waits for
nearly all the others. With it, answers finish in the order asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class AnswerGate:
    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("at least one answer at a time")
        self.slots = slots
        self._changed = threading.Condition()
        self._issued = 0  # tickets handed out, in arrival order
        self._done = 0  # answers finished (or abandoned)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this caller's turn, then hold one of the slots until the block ends."""
        with self._changed:
            ticket = self._issued
            self._issued += 1
            self._changed.wait_for(lambda: ticket < self._done + self.slots)
        try:
            yield
        finally:
            with self._changed:
                self._done += 1
                self._changed.notify_all()

    def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in this caller's turn (a whole answer: `gate.run(rag.ask, question)`)."""
        with self.turn():
            return work(*args)
