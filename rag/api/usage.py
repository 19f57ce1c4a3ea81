"""The tokens one answer cost, for /v1's `usage`: each generation the answer made (a follow-up's rewrite into a
standalone question, then the draft) as the model counted it (rag.models.generate.Usage): `prompt_tokens` the
prompts those generations read, `completion_tokens` what they wrote. The answer check is a yes/no judgement read
from one token's probabilities, not a generation: it is not counted."""

from __future__ import annotations

from collections.abc import Iterator

from rag.models.generate import Generator, Messages, Usage


class Meter:
    """One request's generator: the configured one, keeping the Usage of each generation made through it."""

    def __init__(self, generator: Generator) -> None:
        self.generator, self.label = generator, generator.label
        self.counted: list[Usage | None] = []
        self.cut = False  # whether the last generation stopped at its token limit

    def stream(self, messages: Messages, max_new_tokens: int) -> Iterator[str]:
        counted = yield from self.generator.stream(messages, max_new_tokens)
        self.counted.append(counted)
        self.cut = counted is not None and counted.completion_tokens >= max_new_tokens
        return counted

    def yes_probability(self, messages: Messages) -> float:
        return self.generator.yes_probability(messages)

    def usage(self) -> dict[str, int] | None:
        """OpenAI's `usage` of the generations so far (zeros before any); None where the model counted one not."""
        if any(counted is None for counted in self.counted):
            return None
        prompt = sum(counted.prompt_tokens for counted in self.counted if counted)
        completion = sum(counted.completion_tokens for counted in self.counted if counted)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
