"""One settings object: defaults, overridden by a TOML file, then the environment, then explicit values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import Settings


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\ngenerator = "qwen-0.5b"\nchunk_tokens = 100\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    monkeypatch.setenv("RAG_TOP_K", "3")
    settings = Settings()
    assert settings.generator == "qwen-0.5b"  # file over default
    assert settings.top_k == 3  # environment over file
    assert settings.with_overrides(top_k=9, generator=None).top_k == 9  # explicit over environment; None keeps
    assert Settings().chunk_tokens == 100


def test_invalid_values_are_rejected():
    with pytest.raises(ValidationError):
        Settings(top_k=0)
    with pytest.raises(ValidationError):
        Settings(runtime="vllm")
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)


@pytest.mark.parametrize(
    ("native", "runtime", "dtype"), [(True, "transformers", "bfloat16"), (False, "llama.cpp", "float32")]
)
def test_auto_runtime_follows_the_cpu(monkeypatch: pytest.MonkeyPatch, native: bool, runtime: str, dtype: str):
    monkeypatch.setattr("rag.settings.native_bfloat16", lambda: native)
    settings = Settings()
    assert (settings.runtime, settings.dtype) == (runtime, dtype)  # resolved: reports name what ran
    chosen = Settings(runtime="transformers", dtype="float32")
    assert (chosen.runtime, chosen.dtype) == ("transformers", "float32")  # a choice is kept as made


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path):
    from rag.models.cpu import BFLOAT16_FLAGS, cpu_flags

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(info) & BFLOAT16_FLAGS == {"avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    ("flags", "level"),
    [("fpu avx2 avx512f avx512_bf16", "AVX512-BF16"), ("fpu avx2 avx512f", "AVX-512, no BF16"),
     ("fpu avx2", "AVX2 only"), ("fpu sse4_2", "no AVX2")],
)  # fmt: skip
def test_reports_name_the_cpu_and_its_vector_level(tmp_path: Path, flags: str, level: str):
    from rag.models.cpu import describe

    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: {flags}\n")
    assert describe(info).startswith("Some Xeon, ")
    assert describe(info).endswith(f" cores, {level}")
    assert describe(tmp_path / "missing").startswith("unknown CPU, ")


def test_unset_thresholds_are_those_fitted_for_the_runtime():
    from rag.settings import FITTED_THRESHOLDS

    for runtime, fitted in FITTED_THRESHOLDS.items():
        settings = Settings(runtime=runtime)
        assert {name: getattr(settings, name) for name in fitted} == fitted
    llama = Settings(runtime="llama.cpp", min_support=0.5)
    switched = llama.with_overrides(runtime="transformers")
    assert switched.min_answer_check == FITTED_THRESHOLDS["transformers"]["min_answer_check"]  # chosen again
    assert switched.min_support == 0.5  # a value given is kept


def test_every_setting_has_a_group_and_a_description_and_the_reference_is_current():
    from rag.settings import GROUP_OF, GROUPS
    from rag.settings_reference import REFERENCE, reference

    assert set(Settings.model_fields) == set(GROUPS)  # the top level is the groups, nothing loose
    for group, model in GROUPS.items():
        assert Settings.model_fields[group].description, f"group {group} has no title"
        for name, field in model.model_fields.items():
            assert field.description, f"{name} has no description"
            assert GROUP_OF[name] == group
    assert len(GROUP_OF) == sum(len(model.model_fields) for model in GROUPS.values())  # no flat name twice
    assert REFERENCE.read_text(encoding="utf-8") == reference(), "run: python -m rag.settings_reference"


def test_grouped_and_flat_names_reach_the_same_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\n[ingest]\nchunk_tokens = 100\n[search]\nretrieval = "keyword"\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    settings = Settings()
    assert (settings.top_k, settings.answering.top_k) == (7, 7)  # a flat name in the file lands in its group
    assert (settings.chunk_tokens, settings.retrieval) == (100, "keyword")  # a group table, read flat
    monkeypatch.setenv("RAG_ANSWERING__TOP_K", "4")
    assert Settings().top_k == 4  # the grouped environment name over the file
    monkeypatch.setenv("RAG_TOP_K", "3")
    assert Settings().top_k == 4  # and over the flat one
    monkeypatch.setenv("RAG_ADVISORY_CHECKS", '["kind"]')
    assert Settings().checks.advisory_checks == ["kind"]  # a flat environment list is parsed as JSON, as before
    assert Settings(top_k=2).answering.top_k == 2  # init arguments by flat name
    settings.top_k = 6  # the flat name writes through
    assert settings.answering.top_k == 6
    assert settings.flat()["top_k"] == 6 and "answering" not in settings.flat()  # reports keep the flat record
    with pytest.raises(ValidationError):
        Settings(answering={"no_such_setting": 1})


def test_every_setting_can_be_given_to_rag_by_its_flat_name():
    """No parameter of RAG() shadows a setting (a `generator=` parameter once took `generator="smollm2"`)."""
    from rag import RAG
    from rag.settings import GROUP_OF

    defaults = Settings()
    for name in GROUP_OF:
        value = getattr(defaults, name)
        assert getattr(RAG(**{name: value}).settings, name) == value, name
    assert RAG(generator="smollm2", read_only=True).settings.generator == "smollm2"
