"""The answer gate: a few at a time, in the order asked."""

from __future__ import annotations

import threading
import time

import pytest

from rag.api.gate import AnswerGate


@pytest.mark.parametrize("slots", [1, 2])
def test_answers_run_at_most_slots_at_once_and_start_in_arrival_order(slots: int):
    gate, started, running, most = AnswerGate(slots), [], [0], [0]
    lock = threading.Lock()

    def answer(n: int) -> None:
        with gate.turn():
            with lock:
                started.append(n)
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.02)
            with lock:
                running[0] -= 1

    threads = []
    for n in range(8):
        threads.append(threading.Thread(target=answer, args=(n,)))
        threads[-1].start()
        time.sleep(0.005)  # arrive in order 0..7
    for thread in threads:
        thread.join(timeout=10)
    assert most[0] == slots
    if slots == 1:
        assert started == sorted(started)
    else:  # two let in at once may start in either order, never more than one place out of turn
        assert all(abs(position - n) <= 1 for position, n in enumerate(started))


def test_a_failing_answer_frees_its_slot():
    gate = AnswerGate(1)
    with pytest.raises(RuntimeError), gate.turn():
        raise RuntimeError("the model failed")
    done = threading.Event()
    threading.Thread(target=lambda: (gate.turn().__enter__(), done.set())).start()
    assert done.wait(2), "the next caller was never let in"
