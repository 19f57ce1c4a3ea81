"""The fake embedder of tests/fakes.py: deterministic, normalised, the real one's shapes, meaningful similarity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from fakes import FakeEmbedder

from rag.ingest.split import splitter_for
from rag.types import Document

QUESTION = "How many tonnes of plums did the Ostrava cooperative harvest?"
PARAPHRASE = "The Ostrava orchard cooperative harvested 412 tonnes of plums in 2025."
UNRELATED = "North Korean defectors are labelled economic migrants by the Chinese government."


def test_rows_are_unit_float32_in_the_real_embedders_shape():
    embedder = FakeEmbedder()
    vectors = embedder.encode([QUESTION, PARAPHRASE, "", "the of and"])
    assert vectors.shape == (4, embedder.dimension) and vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    empty = embedder.encode([])
    assert empty.shape == (0, embedder.dimension) and empty.dtype == np.float32
    assert embedder.name and embedder.fingerprint and embedder.max_tokens > 0


def test_similar_texts_score_higher_than_unrelated_ones():
    question, paraphrase, unrelated, same = FakeEmbedder().encode([QUESTION, PARAPHRASE, UNRELATED, QUESTION])
    assert abs(float(question @ same) - 1) < 1e-6
    assert float(question @ paraphrase) > 0.4, float(question @ paraphrase)
    assert abs(float(question @ unrelated)) < 0.2, float(question @ unrelated)  # hash collisions only: ~0.13
    assert float(question @ paraphrase) > float(question @ unrelated) + 0.3


def test_vectors_are_the_same_in_another_process():
    here = FakeEmbedder().encode([PARAPHRASE])[0]
    script = (
        "import sys; sys.path.insert(0, 'tests'); from fakes import FakeEmbedder; "
        f"print(FakeEmbedder().encode([{PARAPHRASE!r}])[0].tobytes().hex())"
    )
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert bytes.fromhex(run.stdout.strip()) == here.tobytes()


def test_the_splitter_counts_and_cuts_in_its_tokens():
    embedder = FakeEmbedder(max_tokens=32)
    assert embedder.count_tokens("Plums, 412 tonnes.") == 5
    text = " ".join(f"Sentence {i} says the orchard grew plums." for i in range(30))
    chunks = splitter_for(embedder, max_tokens=20, overlap=4).split(Document("orchard.txt", "Orchard", text, "0" * 64))
    assert len(chunks) > 1
    assert all(chunk.text == text[chunk.start : chunk.end] for chunk in chunks)
    assert all(embedder.count_tokens(chunk.text) <= 20 for chunk in chunks)
