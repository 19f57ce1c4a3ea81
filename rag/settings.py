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

from rag.cpu import native_bfloat16

# the named checks of rag/checks.py, in the order they run
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


class Settings(BaseSettings):
    """Everything a user may want to change, with defaults that work offline on a 2-core CPU."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        extra="forbid",
    )

    # where things live
    # a named index (rag collections lists them; each is one model id of the OpenAI-compatible API)
    collection: str = DEFAULT_COLLECTION
    collections_dir: Path = DEFAULT_COLLECTIONS
    # the index folder; None: the collection's (index/ for "default", else collections_dir/NAME/index)
    index_dir: Path | None = None
    corpus: list[Path] = Field(default_factory=lambda: [DEFAULT_CORPUS])
    cache_dir: Path = Field(default_factory=default_cache_dir)
    # public evaluation data (SciFact, SQuAD): read by eval/, bench/ and the tests that need it (RAG_EVAL_DATA)
    eval_data: Path = DEFAULT_EVAL_DATA

    # models: a short name (see rag.models), a Hugging Face id, a local folder or a .gguf path
    embedder: str = "minilm"
    generator: str = "qwen-1.5b"
    # auto: transformers in bfloat16 (with prompt lookup) where the CPU has native bfloat16 (AVX512-BF16, AMX):
    # there, seed question first token 0.99 s against llama.cpp's ~2x slower prompt reading; elsewhere llama.cpp,
    # because emulated bfloat16 is ~8x slower than llama.cpp (first token 30 s against 3.8 s on an AVX2-only CPU)
    # and float32 ~1.5x (bench/generator_paths.py, docs/measurements.md). The GGUF is dequantised for transformers
    # once (~1 min) and kept under cache_dir. With llama.cpp the app peaks at 2.5 GB, not 3.8. Resolved when settings
    # are made.
    runtime: Literal["auto", "llama.cpp", "transformers"] = "auto"
    # transformers runtime only; auto: bfloat16 where the CPU computes it natively, else float32
    dtype: Literal["auto", "bfloat16", "float32"] = "auto"
    threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    # llama.cpp keeps past prompts in RAM so a repeated question skips prompt reading; bounded here
    prompt_cache_mb: int = Field(default=512, ge=0)
    # transformers runtime: prompt lookup decoding drafts this many tokens from the prompt's own n-grams
    # and the model checks them in one pass; answers quoting the evidence come ~1.7x faster, unchanged
    # (greedy either way). 0: off. bench/generator_paths.py
    prompt_lookup_tokens: int = Field(default=10, ge=0)

    # a bigger file is skipped with its reason
    max_file_mb: float = Field(default=50.0, gt=0)

    # splitting, in the embedder's own tokens
    chunk_tokens: int = Field(default=64, ge=16)
    chunk_overlap: int = Field(default=16, ge=0)
    # embed and keyword-index each chunk after its document's title (shown text is the chunk alone)
    title_in_chunks: bool = True

    # retrieval: dense (embeddings), keyword (BM25) or hybrid (both, fused)
    retrieval: Literal["dense", "keyword", "hybrid"] = "hybrid"
    # chosen on training material by eval/tune_retrieval.py (eval/results/tune_retrieval.md)
    fusion: Literal["rrf", "convex"] = "convex"
    rrf_k: int = Field(default=60, ge=1)  # rrf fusion only
    dense_weight: float = Field(default=0.5, ge=0.0, le=1.0)  # convex fusion only
    candidates: int = Field(default=50, ge=1)  # from each retriever, before fusion
    # second stage: a sentence-transformers CrossEncoder (folder or hub id) re-scoring the fused head
    reranker: str = ""
    rerank_candidates: int = Field(default=20, ge=1)
    # two passages this similar (cosine) say the same thing: only the better ranked is kept (1.0: off)
    duplicate_threshold: float = Field(default=0.80, gt=0.0, le=1.0)

    # answering
    # a question asked after others is rewritten into a standalone one (by the generator) before retrieval
    rewrite_followups: bool = True
    top_k: int = Field(default=5, ge=1)
    # the model reads only the passage sentences closest to the question, this many words in all (0: all)
    evidence_words: int = Field(default=120, ge=0)  # bench/evidence_ttft.py, seed gold: docs/measurements.md
    # a passage sentence that reads as an instruction to the assistant is not shown to the model
    withhold_instructions: bool = True
    max_new_tokens: int = Field(default=160, ge=1)
    context_tokens: int = Field(default=2048, ge=256)
    # Abstention thresholds (rag/checks.py), fitted on training material by eval/fit_abstention.py from the checks
    # a `rag eval --every-check` run recorded, for each runtime (rag/data/thresholds.json); None: those.
    # Below this cosine similarity between the question and the closest passage or sentence shown to the
    # model, the documents are taken not to answer;
    min_retrieval_score: float | None = None
    # a sentence whose best support is below this is unsupported (and left out of the answer);
    min_support: float | None = None
    # asked after a draft whether the context states the answer to the question, the model's P(Yes) below this
    # abstains (0: not asked; it reuses the answer's prompt cache, ~0.2 s)
    min_answer_check: float | None = Field(default=None, ge=0.0, le=1.0)
    # checks (rag/checks.py) named here are run and recorded but do not decide: to see what one is worth
    advisory_checks: list[str] = Field(default_factory=list)
    # run every check even after one failed, recording what each read (eval/fit_abstention.py fits on these)
    every_check: bool = False
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
