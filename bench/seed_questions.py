"""The questions the answer benchmarks time, shared so they time the same thing."""

from __future__ import annotations

SEED = "Why does China treat defectors as economic migrants?"
# Asked before each timed answer so the generator holds another prompt, as for a new question in
# real use. It must be answered (an abstention generates nothing and leaves the seed prompt cached,
# which would make prompt reading look free): `displace` checks that.
OTHER = "Which agreement does Beijing honor?"


def displace(rag) -> None:  # noqa: ANN001 - a rag.RAG
    if rag.ask(OTHER).abstained:
        raise SystemExit(f"the displacing question was not answered, so nothing displaced the seed prompt: {OTHER}")
