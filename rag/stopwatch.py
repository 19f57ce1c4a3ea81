"""One clock per answer, owned by the pipeline: each step's time, the first token's and the first checked
sentence's, in milliseconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# Always reported, 0.0 where a step did not run (an abstention before the model was asked)
# first_checked: the first sentence shown, checked (rag/answering/answer.py)
STEPS = ("retrieve", "evidence", "generate", "first_token", "first_checked", "verify")


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.ms: dict[str, float] = dict.fromkeys(STEPS, 0.0)

    def _since(self, start: float) -> float:
        return round((time.perf_counter() - start) * 1000, 1)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the block as step `name`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self._since(start)

    def mark(self, name: str) -> None:
        """Record the time since the question arrived (the first token)."""
        self.ms[name] = self._since(self.started)

    def timings(self) -> dict[str, float]:
        """Every step's time, and the total so far."""
        return {**self.ms, "total": self._since(self.started)}
