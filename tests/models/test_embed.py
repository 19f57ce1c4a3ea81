"""Our embedder computes what SentenceTransformer.encode computes, without importing sentence-transformers."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.models.embed import Embedder, TransformerEncoder, _pooling_of
from rag.models.weights import resolve_embedder

TEXTS = [
    "Why does China treat defectors as economic migrants?",
    "  leading and trailing spaces are stripped  ",
    "Beijing honors a 1986 bilateral agreement with Pyongyang. " * 40,  # past the 256-token limit: truncated
    "Ünïcödé, emoji 🚀 and numbers 1,450 kg",
    "short",
    "",
]


@pytest.mark.slow
def test_vectors_match_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    embedder = Embedder("minilm")
    assert isinstance(embedder._model, TransformerEncoder)  # the fast path, not the fallback
    reference = SentenceTransformer(resolve_embedder("minilm").location, device="cpu")
    ours = embedder.encode(TEXTS)
    theirs = reference.encode(TEXTS, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert embedder.max_tokens == reference.max_seq_length == 256
    assert embedder.count_tokens("Land Borders Law") == len(reference.tokenizer.tokenize("Land Borders Law"))


@pytest.mark.slow
def test_answering_does_not_import_sentence_transformers():
    code = (
        "import sys; from rag.models.embed import Embedder; Embedder('minilm').encode(['a question']); "
        "print('sentence_transformers' in sys.modules, 'sklearn' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_other_shapes_fall_back_to_sentence_transformers(tmp_path: Path):
    folder = Path(resolve_embedder("minilm").location)
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    assert _pooling_of(copy) == "mean"
    modules = json.loads((copy / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (copy / "modules.json").write_text(json.dumps(modules))
    assert _pooling_of(copy) is None  # a Dense layer we do not run ourselves
