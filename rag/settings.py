"""One typed settings object. Precedence: CLI flags > environment (RAG_*) > rag.toml > defaults."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.models.cpu import native_bfloat16

# the named checks of rag/answering/checks.py, in the order they run
CHECKS = ("retrieval", "answered", "supported", "informative", "kind", "question_facts", "answer_check")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PROJECT_ROOT / "corpus"
DEFAULT_INDEX = PROJECT_ROOT / "index"  # the index of the collection named "default"
DEFAULT_COLLECTIONS = PROJECT_ROOT / "collections"  # every other one: NAME/index (and NAME/uploads) here
DEFAULT_COLLECTION = "default"
DEFAULT_EVAL_DATA = PROJECT_ROOT.parent / "shared" / "eval-data"
COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a folder name and an API model id


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag"


# Per runtime, as the model's numbers differ slightly between them: written by eval/fit_abstention.py --write
THRESHOLDS_FILE = Path(__file__).resolve().parent / "data" / "thresholds.json"
FITTED_THRESHOLDS: dict[str, dict[str, float]] = {
    runtime: {name: value for name, value in fitted.items() if name.startswith("min_")}
    for runtime, fitted in json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8")).items()
}


def eval_data_dir() -> Path:
    """Where the evaluation data is, as the settings say (file, environment), without the rest resolved."""
    return Settings().eval_data


def collection_folder(name: str, collections_dir: Path = DEFAULT_COLLECTIONS) -> Path:
    """Where a collection's index lives. Its uploads are kept beside it, as uploads/ is beside index/."""
    return DEFAULT_INDEX if name == DEFAULT_COLLECTION else collections_dir / name / "index"


def _setting(default: Any, group: str, description: str, factory: Any = None, shown: str | None = None,
             **limits: Any) -> Any:
    """A settings field with its group and description (and how its default reads, where it is computed)."""
    extra: dict[str, Any] = {"group": group, **({"shown": shown} if shown else {})}
    if factory is not None:
        return Field(default_factory=factory, description=description, json_schema_extra=extra, **limits)
    return Field(default=default, description=description, json_schema_extra=extra, **limits)


class Settings(BaseSettings):
    """Everything a user may want to change, with defaults that work offline on a 2-core CPU."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        extra="forbid",
    )

    # Every field: a group (for the reference in docs/settings.md, made by `python -m rag.settings_reference`)
    # and a description. Measurements behind the defaults: docs/measurements.md.

    # where things live
    collection: str = _setting(DEFAULT_COLLECTION, "paths", "A named index: `default` is index/, any other "
                               "NAME collections_dir/NAME/index (`rag collections` lists them; each is one model id of "
                               "the OpenAI-compatible API).")  # fmt: skip
    collections_dir: Path = _setting(DEFAULT_COLLECTIONS, "paths", "Where the collections other than `default` live.",
                                     shown="collections/")  # fmt: skip
    index_dir: Path | None = _setting(None, "paths", "The index folder; unset: the collection's.")
    corpus: list[Path] = _setting(None, "paths", "What `rag index` with no PATH indexes, and what the default "
                                  "index is rebuilt from when missing.", factory=lambda: [DEFAULT_CORPUS],
                                  shown="[corpus/]")  # fmt: skip
    cache_dir: Path = _setting(None, "paths", "Joined model files, converted models and evaluation indexes.",
                               factory=default_cache_dir, shown="$XDG_CACHE_HOME/rag or ~/.cache/rag")  # fmt: skip
    eval_data: Path = _setting(DEFAULT_EVAL_DATA, "paths", "Public evaluation data (SciFact, SQuAD), read by eval/, "
                               "bench/ and the tests that need it.", shown="../shared/eval-data")  # fmt: skip

    # models
    embedder: str = _setting("minilm", "models", "`minilm`, `mpnet`, a local folder or a Hugging Face id.")
    generator: str = _setting("qwen-1.5b", "models", "`qwen-1.5b`, `qwen-0.5b`, `smollm2`, a `.gguf` file, a local "
                              "folder or a Hugging Face id.")  # fmt: skip
    runtime: Literal["auto", "llama.cpp", "transformers"] = _setting(
        "auto", "models", "`auto`: transformers in bfloat16 (with prompt lookup) where the CPU has native bfloat16 "
        "(AVX512-BF16, AMX), where its first token is about 2x sooner; llama.cpp elsewhere, as emulated bfloat16 is "
        "about 8x slower and float32 1.5x. Resolved when the settings are made.")  # fmt: skip
    dtype: Literal["auto", "bfloat16", "float32"] = _setting(
        "auto", "models", "transformers only; `auto`: bfloat16 where the CPU computes it natively, else float32.")
    threads: int = _setting(None, "models", "CPU threads for the generator.",
                            factory=lambda: max(1, os.cpu_count() or 1), shown="the CPU count")  # fmt: skip
    prompt_cache_mb: int = _setting(512, "models", "llama.cpp keeps past prompts in RAM, up to this much, so a "
                                    "repeated question skips prompt reading.", ge=0)  # fmt: skip
    prompt_lookup_tokens: int = _setting(10, "models", "transformers: tokens drafted from the prompt's own n-grams "
                                         "and checked in one pass (answers quoting the evidence ~1.7x faster, "
                                         "unchanged); 0: off.", ge=0)  # fmt: skip
    context_tokens: int = _setting(2048, "models", "The generator's context window.", ge=256)

    # files and splitting
    max_file_mb: float = _setting(50.0, "ingest", "A bigger file is skipped with its reason.", gt=0)
    chunk_tokens: int = _setting(64, "ingest", "Chunk size, in the embedder's own tokens.", ge=16)
    chunk_overlap: int = _setting(16, "ingest", "Tokens shared by neighbouring chunks.", ge=0)
    title_in_chunks: bool = _setting(True, "ingest", "Embed and keyword-index each chunk after its document's title "
                                     "(the text shown is the chunk alone).")  # fmt: skip

    # retrieval
    retrieval: Literal["dense", "keyword", "hybrid"] = _setting(
        "hybrid", "retrieval", "dense (embeddings), keyword (BM25) or hybrid (both, fused).")
    fusion: Literal["rrf", "convex"] = _setting("convex", "retrieval", "How hybrid fuses the two rankings (chosen "
                                                "on training material by eval/tune_retrieval.py).")  # fmt: skip
    rrf_k: int = _setting(60, "retrieval", "rrf fusion only: its k.", ge=1)
    dense_weight: float = _setting(0.5, "retrieval", "convex fusion only: the dense score's weight.", ge=0.0, le=1.0)
    candidates: int = _setting(50, "retrieval", "Candidates from each retriever, before fusion.", ge=1)
    reranker: str = _setting("", "retrieval", "A sentence-transformers CrossEncoder (folder or id) re-scoring the "
                             "fused head; empty: none (none ships offline).")  # fmt: skip
    rerank_candidates: int = _setting(20, "retrieval", "How many of the fused head the reranker re-scores.", ge=1)
    duplicate_threshold: float = _setting(0.80, "retrieval", "Two passages this similar (cosine) say the same "
                                          "thing: only the better ranked is kept (1.0: off).",
                                          gt=0.0, le=1.0)  # fmt: skip

    # answering
    rewrite_followups: bool = _setting(True, "answering", "A question asked after others is rewritten into a "
                                       "standalone one by the generator before retrieval.")  # fmt: skip
    top_k: int = _setting(5, "answering", "Passages given to the model.", ge=1)
    evidence_words: int = _setting(120, "answering", "The model reads only the passage sentences closest to the "
                                   "question, this many words in all (0: whole passages).", ge=0)  # fmt: skip
    withhold_instructions: bool = _setting(True, "answering", "A passage sentence that reads as an instruction to "
                                           "the assistant is not shown to the model.")  # fmt: skip
    max_new_tokens: int = _setting(160, "answering", "The longest draft the model may write.", ge=1)

    # the checks (rag/answering/checks.py); thresholds fitted per runtime by eval/fit_abstention.py into
    # rag/data/thresholds.json
    min_retrieval_score: float | None = _setting(
        None, "checks", "Below this cosine similarity between the question and the closest passage or sentence "
        "shown to the model, the documents are taken not to answer. Unset: the fitted value for the runtime.",
        shown="fitted")  # fmt: skip
    min_support: float | None = _setting(
        None, "checks", "A sentence whose best support is below this is unsupported and left out of the answer. "
        "Unset: the fitted value.", shown="fitted")  # fmt: skip
    min_answer_check: float | None = _setting(
        None, "checks", "Asked after a draft whether the context states the answer to the question, the model's "
        "P(Yes) below this abstains (0: not asked; about 0.2 s). Unset: the fitted value.", ge=0.0, le=1.0,
        shown="fitted")  # fmt: skip
    advisory_checks: list[str] = _setting(None, "checks", "Checks named here are run and recorded but do not "
                                          "decide: to see what one is worth.", factory=list, shown="[]")  # fmt: skip
    every_check: bool = _setting(False, "checks", "Run every check even after one failed, recording what each read "
                                 "(eval/fit_abstention.py fits on these).")  # fmt: skip
    _resolved: set[str] = PrivateAttr(default_factory=set)  # fields chosen here rather than given

    @model_validator(mode="after")
    def _resolve_auto(self) -> Settings:
        """'auto' runtime and dtype become what suits this CPU, and unset thresholds those fitted for that
        runtime, so that reports name what ran."""
        if not COLLECTION_NAME.fullmatch(self.collection):
            raise ValueError(f"collection names are letters, digits, '_', '.' and '-' (at most 64), not "
                             f"{self.collection!r}")  # fmt: skip
        if self.index_dir is None:
            self.index_dir = collection_folder(self.collection, self.collections_dir)
            self._resolved.add("index_dir")
        native = native_bfloat16()
        if self.runtime == "auto":
            self.runtime = "transformers" if native else "llama.cpp"
            self._resolved.add("runtime")
        if self.dtype == "auto":
            self.dtype = "bfloat16" if native else "float32"
            self._resolved.add("dtype")
        for name, value in FITTED_THRESHOLDS[self.runtime].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
                self._resolved.add(name)
        unknown = set(self.advisory_checks) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown check {sorted(unknown)[0]!r} (the checks: {', '.join(CHECKS)})")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # read at call time, so `rag --config FILE` (which sets RAG_CONFIG) takes effect
        toml_file = os.environ.get("RAG_CONFIG", "rag.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced (None means: keep), validated like the rest. What was chosen
        for this CPU or runtime is chosen again (another runtime brings its own fitted thresholds)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        if not changes:
            return self
        return self.model_validate({**self.model_dump(exclude=self._resolved), **changes})
