"""Both generation runtimes stream text from a real local model (the small SmolLM2 keeps this quick)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.generate import LlamaCppGenerator, TransformersGenerator, load_generator

MESSAGES = [
    {"role": "system", "content": "Answer using only the context. Be brief."},
    {
        "role": "user",
        "content": "Context:\n[1] The capital of Freedonia is Mirabel.\n\nQuestion: What is the capital of Freedonia?",
    },
]


@pytest.mark.parametrize("runtime", ["llama.cpp", "transformers"])
def test_runtime_streams_an_answer(runtime: str, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    generator = load_generator("smollm2", runtime, threads=2, dtype="float32", context_tokens=1024, cache_dir=cache)
    expected = LlamaCppGenerator if runtime == "llama.cpp" else TransformersGenerator
    assert isinstance(generator, expected)
    pieces = list(generator.stream(MESSAGES, max_new_tokens=24))
    assert len(pieces) > 1, "text must arrive in pieces, not all at once"
    assert "Mirabel" in "".join(pieces)
    again = "".join(generator.stream(MESSAGES, max_new_tokens=24))
    assert again == "".join(pieces), "greedy decoding is reproducible"


def test_transformers_conversion_is_cached(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    load_generator("smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024, cache_dir=cache)
    folders = list((cache / "transformers").glob("*float32"))
    assert len(folders) == 1 and (folders[0] / "complete").is_file()
    assert (folders[0] / "model.safetensors").is_file()


def test_default_generator_is_qwen_on_llama_cpp(seed_rag):
    assert seed_rag.settings.generator == "qwen-1.5b" and seed_rag.settings.runtime == "llama.cpp"
    assert isinstance(seed_rag.generator, LlamaCppGenerator)


def test_not_a_gguf_for_llama_cpp(tmp_path: Path):
    from rag.errors import ModelNotFoundError
    from rag.models import ModelSource

    with pytest.raises(ModelNotFoundError, match="gguf"):
        LlamaCppGenerator(ModelSource("folder", str(tmp_path), "x"), threads=1, context_tokens=512)


def test_damaged_transformers_cache_is_rebuilt(tmp_path: Path):
    load_generator("smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024, cache_dir=tmp_path)
    (folder,) = list((tmp_path / "transformers").glob("*float32"))
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    generator = load_generator("smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024,
                               cache_dir=tmp_path)  # fmt: skip
    assert "Mirabel" in "".join(generator.stream(MESSAGES, max_new_tokens=24))
    assert (folder / "model.safetensors").stat().st_size > 1_000_000
