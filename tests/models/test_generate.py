"""Both generation runtimes stream text from a real local model (the small SmolLM2 keeps this quick)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import drained

from rag.models.generate import LlamaCppGenerator, TransformersGenerator, load_generator

pytestmark = pytest.mark.slow  # loads the real generators

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


def test_both_runtimes_report_the_tokens_they_read_and_wrote(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    counted = {}
    for runtime in ("llama.cpp", "transformers"):
        generator = load_generator("smollm2", runtime, threads=2, dtype="float32", context_tokens=1024, cache_dir=cache)
        counted[runtime] = drained(generator.stream(MESSAGES, 24)), drained(generator.stream(MESSAGES, 3))
    assert counted["llama.cpp"] == counted["transformers"]  # the same model counts alike, however it runs
    (text, whole), (_, cut) = counted["transformers"]
    assert isinstance(generator, TransformersGenerator)
    assert whole is not None and whole.prompt_tokens == generator.prompt_ids(MESSAGES).shape[1]
    written = len(generator.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert whole.completion_tokens == written + 1  # and the end-of-turn token it stopped on
    assert cut == (whole.prompt_tokens, 3)  # stopped at max_new_tokens


def test_prompt_lookup_streams_the_same_greedy_answer(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    plain = load_generator("smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024, cache_dir=cache)
    lookup = load_generator(
        "smollm2",
        "transformers",
        threads=2,
        dtype="float32",
        context_tokens=1024,
        cache_dir=cache,
        prompt_lookup_tokens=10,
    )
    pieces = list(lookup.stream(MESSAGES, max_new_tokens=24))
    assert len(pieces) > 1 and "Mirabel" in "".join(pieces)
    assert "".join(pieces) == "".join(plain.stream(MESSAGES, max_new_tokens=24))


def test_transformers_conversion_is_cached(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    load_generator("smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024, cache_dir=cache)
    folders = list((cache / "transformers").glob("*float32"))
    assert len(folders) == 1 and (folders[0] / "complete").is_file()
    assert (folders[0] / "model.safetensors").is_file()


def test_default_generator_is_qwen_on_the_runtime_this_cpu_runs_fastest(seed_rag):
    from rag.models.cpu import native_bfloat16

    s = seed_rag.settings
    expected = ("transformers", "bfloat16") if native_bfloat16() else ("llama.cpp", "float32")
    assert (s.generator, s.runtime, s.dtype) == ("qwen-1.5b", *expected)
    assert s.prompt_lookup_tokens > 0
    kind = TransformersGenerator if native_bfloat16() else LlamaCppGenerator
    assert isinstance(seed_rag.generator, kind)


def test_not_a_gguf_for_llama_cpp(tmp_path: Path):
    from rag.errors import ModelNotFoundError
    from rag.models.weights import ModelSource

    with pytest.raises(ModelNotFoundError, match="gguf"):
        LlamaCppGenerator(ModelSource("folder", str(tmp_path), "x"), threads=1, context_tokens=512)


def test_damaged_transformers_cache_is_rebuilt(tmp_path: Path):
    load_generator("smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024, cache_dir=tmp_path)
    (folder,) = list((tmp_path / "transformers").glob("*float32"))
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    generator = load_generator(
        "smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024, cache_dir=tmp_path
    )
    assert "Mirabel" in "".join(generator.stream(MESSAGES, max_new_tokens=24))
    assert (folder / "model.safetensors").stat().st_size > 1_000_000


@pytest.mark.parametrize("runtime", ["llama.cpp", "transformers"])
def test_yes_probability_from_both_runtimes(runtime: str, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    generator = load_generator("smollm2", runtime, threads=2, dtype="float32", context_tokens=1024, cache_dir=cache)
    question = [{"role": "user", "content": "Is Paris in France? Answer Yes or No."}]
    p = generator.yes_probability(question)
    # deterministic; transformers reads the repeat from its cached prompt, equal up to float rounding
    assert 0.0 <= p <= 1.0 and p == pytest.approx(generator.yes_probability(question), abs=1e-5)


def test_bfloat16_reads_its_best_logits_in_float32(tmp_path_factory: pytest.TempPathFactory):
    """The float32 re-reading of the top logits (tests/models/test_exact_logits.py) is on where the model runs in
    bfloat16, and off in float32, where nothing is rounded."""
    from rag.models.generate import exact_top_logits

    cache = tmp_path_factory.getbasetemp() / "model-cache"
    hooks = {}
    for dtype in ("bfloat16", "float32"):
        generator = load_generator(
            "smollm2", "transformers", threads=2, dtype=dtype, context_tokens=1024, cache_dir=cache
        )
        assert isinstance(generator, TransformersGenerator)
        hooks[dtype] = list(generator.model.get_output_embeddings()._forward_hooks.values())
        assert "Mirabel" in "".join(generator.stream(MESSAGES, max_new_tokens=24))
    assert hooks == {"bfloat16": [exact_top_logits], "float32": []}


def test_yes_share():
    from rag.models.generate import yes_share

    assert yes_share({"Yes": 0.6, " yes": 0.1, "No": 0.1, "Maybe": 0.2}) == pytest.approx(0.875)
    assert yes_share({"Maybe": 1.0}) == 0.5


def test_llm_judge_tells_support_from_contradiction(seed_rag):
    """The default generator as a support judge, on pairs a reader decides at a glance."""
    from rag.evaluation.judge import LLMJudge

    judge = LLMJudge(seed_rag.generator)
    passage = "China honors a 1986 agreement with North Korea to return defectors who cross the border."
    p_support, p_contradict, p_unrelated = judge.probabilities(
        [
            ("China returns defectors to North Korea under a 1986 agreement.", passage),
            ("China grants refugee status to all North Korean defectors.", passage),
            ("The Eiffel Tower is in Paris.", passage),
        ]
    )
    assert p_support > judge.threshold > max(p_contradict, p_unrelated)


def test_transformers_reuses_the_prompt_it_just_read(tmp_path_factory: pytest.TempPathFactory):
    """A judgement that extends the conversation just answered reads only the new tokens, and gives
    the same P(Yes) as reading it all afresh."""
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    generator = load_generator(
        "smollm2",
        "transformers",
        threads=2,
        dtype="float32",
        context_tokens=1024,
        cache_dir=cache,
        prompt_lookup_tokens=10,
    )
    assert isinstance(generator, TransformersGenerator)
    "".join(generator.stream(MESSAGES, max_new_tokens=24))
    extra = "\n\nIs Mirabel the capital? Yes or No."
    question = [MESSAGES[0], {"role": "user", "content": MESSAGES[1]["content"] + extra}]
    ids, answered = generator.prompt_ids(question)[0].tolist(), generator.prompt_ids(MESSAGES)[0].tolist()
    shared = next((i for i, (a, b) in enumerate(zip(generator._cached_ids, ids, strict=False)) if a != b), len(ids))
    assert shared >= len(answered) - 6, "all of the answer prompt but its last few tokens is cached"
    cached = generator.yes_probability(question)
    generator._keep(None, [])  # forget the cache: read everything
    assert generator.yes_probability(question) == pytest.approx(cached, abs=1e-4)


def test_a_stream_left_early_leaves_a_consistent_cache(tmp_path_factory: pytest.TempPathFactory):
    """A reader who leaves mid-answer (a closed page) stops generation; what is cached still matches its tokens."""
    cache = tmp_path_factory.getbasetemp() / "model-cache"
    generator = load_generator(
        "smollm2", "transformers", threads=2, dtype="float32", context_tokens=1024, cache_dir=cache
    )
    assert isinstance(generator, TransformersGenerator)
    pieces = generator.stream(MESSAGES, max_new_tokens=24)
    next(pieces)
    pieces.close()  # the reader leaves: generation is cancelled and joined
    assert generator._cache is not None and len(generator._cached_ids) == generator._cache.get_seq_length()
    question = [MESSAGES[0], {"role": "user", "content": MESSAGES[1]["content"] + "\n\nIs it Mirabel? Yes or No."}]
    cached = generator.yes_probability(question)
    generator._keep(None, [])
    assert generator.yes_probability(question) == pytest.approx(cached, abs=1e-4)
