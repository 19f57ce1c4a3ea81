"""Answers generated a few at a time, first come first served, whichever face asked.

The generator already runs one call at a time, but an answer is several calls (draft, answer check, a
follow-up's rewrite): without a gate, sixteen clients' calls interleave and every one of them waits for
nearly all the others. With it, answers finish in the order asked.

The API and MCP are bounded: past `max_waiting` answers waiting, one more is refused (Busy: HTTP 429) rather
than queued, and their waiting threads come from the gate's own pool, so queued API calls never take the
worker threads the page and the rest of the server run on.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class Busy(Exception):
    """Too many answers are waiting: try again later."""


class Abandoned(Exception):
    """The caller left before its answer's turn: it was not generated."""


class AnswerGate:
    def __init__(self, slots: int = 1, max_waiting: int | None = None) -> None:
        if slots < 1:
            raise ValueError("at least one answer at a time")
        self.slots, self.max_waiting = slots, max_waiting
        self._changed = threading.Condition()
        self._issued = 0  # tickets handed out, in arrival order
        self._done = 0  # answers finished (or abandoned)
        self._threads: anyio.CapacityLimiter | None = None  # made in the event loop, on first use
        self.abandoned = 0  # answers skipped because their caller left before their turn

    @property
    def pending(self) -> int:
        """Answers running or waiting now."""
        with self._changed:
            return self._issued - self._done

    def admit(self, bounded: bool = True) -> int:
        """A place in line; Busy when `bounded` and `max_waiting` answers already wait."""
        with self._changed:
            waiting = self._issued - self._done - self.slots
            if bounded and self.max_waiting is not None and waiting >= self.max_waiting:
                raise Busy(f"{waiting} answers are waiting: try again later")
            self._issued += 1
            return self._issued - 1

    def wait(self, ticket: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: ticket < self._done + self.slots)

    def leave(self) -> None:
        with self._changed:
            self._done += 1
            self._changed.notify_all()

    @contextmanager
    def held(self, ticket: int) -> Iterator[None]:
        """Wait for `ticket`'s turn, then hold one of the slots until the block ends (or fails)."""
        try:
            self.wait(ticket)
            yield
        finally:
            self.leave()

    def turn(self) -> AbstractContextManager[None]:
        """This caller's turn (never refused: the page has its own bounded queue), held for the block."""
        return self.held(self.admit(bounded=False))

    def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in this caller's turn (a whole answer: `gate.run(rag.ask, question)`)."""
        with self.turn():
            return work(*args)

    async def in_thread(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in one of the gate's own threads (as many as may wait, so it never waits for one)."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(self.slots + (self.max_waiting or 64))
        return await anyio.to_thread.run_sync(work, *args, limiter=self._threads)

    async def run_async(
        self, work: Callable[..., T], *args: object, left: Callable[[], Awaitable[bool]] | None = None
    ) -> T:
        """`work(*args)` in its turn, from async code (the API, MCP); Busy when too many wait. `left`: whether
        the caller has gone (a client that hung up): then its answer is not generated when its turn comes,
        so a client cannot fill the line and leave the work behind (Abandoned)."""
        ticket, started, generating, gone = self.admit(), threading.Event(), threading.Event(), threading.Event()

        def whole() -> tuple[bool, Any]:
            """(True, the answer) or (False, what went wrong): a task group would wrap a raised exception."""
            started.set()
            try:
                with self.held(ticket):
                    with self._changed:
                        if gone.is_set():
                            return False, Abandoned()
                        generating.set()
                    return True, work(*args)
            except Exception as error:  # noqa: BLE001 - raised again below, unwrapped
                return False, error

        async def watch(left: Callable[[], Awaitable[bool]]) -> None:
            with suppress(Exception):  # a failing check of the client is no reason to drop the answer
                while not generating.is_set() and not await left():
                    await anyio.sleep(0.25)
                with self._changed:
                    if not generating.is_set():
                        gone.set()
                        self.abandoned += 1

        try:
            async with anyio.create_task_group() as group:
                if left is not None:
                    group.start_soon(watch, left)
                try:
                    done, value = await self.in_thread(whole)
                finally:
                    group.cancel_scope.cancel()
        finally:
            if not started.is_set():  # cancelled before its thread ran: give the place back
                self.leave()
        if not done:
            raise value
        return value
