"""Fakes shared by the tests: a scripted generator standing in for the model, and a one-passage answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag.answering.answer import answer
from rag.models.generate import Messages
from rag.settings import Settings
from rag.stopwatch import Stopwatch
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


def freedonia_answer(
    model: ScriptedGenerator,
    embedder: Any,
    question: str = "What is the capital of Freedonia?",
    title: str = "Freedonia",
    **settings: Any,
) -> Answer:
    """The checked answer `model` gives to `question` over one passage, FREEDONIA."""
    passages = [Passage(Chunk(0, "freedonia.txt", title, FREEDONIA, 0, len(FREEDONIA)), 0.8)]
    items = list(answer(question, question, passages, embedder, model, Settings(**settings), Stopwatch()))
    assert isinstance(items[-1], Answer)
    return items[-1]


# A deterministic stand-in for rag.models.embed.Embedder (after Haystack's mock text embedder): no model, no
# torch, the same vectors in every process. Words are lowercased and stemmed (PyStemmer), stop words dropped;
# each stem and each of its character trigrams is hashed (crc32, never Python's salted hash()) to a signed slot
# of DIMENSION, and the row is L2-normalised. Equal texts score cosine 1, texts sharing content words (or their
# stems: "harvested"/"harvest") score high, texts sharing none score near 0.
import re  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402
import Stemmer  # noqa: E402

FAKE_STOP_WORDS = frozenset(
    "a an and are as at be been but by did do does for from had has have how i if in into is it its of on or "
    "so than that the their then there these they this to was were what when where which who why will with "
    "you".split()
)


class FakeTokenizer:
    """Called as the splitter calls a Hugging Face tokenizer: one id per word or punctuation mark, with its
    character offsets (`return_offsets_mapping`); special tokens are never added."""

    pattern = re.compile(r"\w+|[^\w\s]")

    def __call__(
        self, text: str, add_special_tokens: bool = True, return_offsets_mapping: bool = False, **_: Any
    ) -> dict[str, list[Any]]:
        found = list(self.pattern.finditer(text))
        encoded: dict[str, list[Any]] = {"input_ids": [zlib.crc32(m.group().lower().encode()) % 30_000 for m in found]}
        if return_offsets_mapping:
            encoded["offset_mapping"] = [m.span() for m in found]
        return encoded


class FakeEmbedder:
    """What the pipeline uses of an Embedder: `encode(texts)` (L2-normalised float32 rows), `name`,
    `fingerprint`, `dimension`, `max_tokens`, `batch_size`, `tokenizer` and `count_tokens` (for splitter_for)."""

    DIMENSION = 512
    TRIGRAM_WEIGHT = 0.25  # a stem counts 1; each of its trigrams a quarter, so shared stems decide

    def __init__(self, dimension: int = DIMENSION, max_tokens: int = 256) -> None:
        self.name = "fake"
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.batch_size = 32
        self.fingerprint = f"fake-hashed-stems-trigrams-v1:{dimension}"
        self.tokenizer = FakeTokenizer()
        self.encoded: list[str] = []  # every text encoded, in order (for tests that count embeddings)
        self._stemmer = Stemmer.Stemmer("english")

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def features(self, text: str) -> list[tuple[str, float]]:
        """(feature, weight): each content word's stem, and its character trigrams."""
        words = [w for w in re.findall(r"\w+", text.lower()) if w not in FAKE_STOP_WORDS]
        found: list[tuple[str, float]] = []
        for stem in self._stemmer.stemWords(words):
            found.append(("w:" + stem, 1.0))
            padded = f"<{stem}>"
            found += [("t:" + padded[i : i + 3], self.TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
        return found or [("empty", 1.0)]  # a text without content words still gets a unit vector

    def vector(self, text: str) -> np.ndarray:
        row = np.zeros(self.dimension, dtype=np.float64)
        for feature, weight in self.features(text):
            digest = zlib.crc32(feature.encode("utf-8"))
            row[digest % self.dimension] += weight if (digest >> 16) & 1 else -weight
        norm = np.linalg.norm(row)
        return row / norm if norm else np.eye(self.dimension)[0]

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.encoded.extend(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.stack([self.vector(t) for t in texts]), dtype=np.float32)
