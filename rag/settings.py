"""One typed settings object in groups (paths, models, ingest, search, answering, checks, server).

Precedence: CLI flags > environment > rag.toml > defaults. Each setting has a flat name, which is how the CLI,
`RAG(top_k=3)`, `settings.top_k` and `RAG_TOP_K` name it, and a place in its group: `settings.answering.top_k`,
`RAG_ANSWERING__TOP_K`, `[answering] top_k = 3` in rag.toml (where a flat `top_k = 3` works too)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.ingest.extracted import ReadOptions
from rag.models.calibration import CONSERVATIVE, MIN_SUPPORT, describe, load_fit, model_identity
from rag.models.cpu import native_bfloat16

Strictness = Literal["lenient", "balanced", "strict"]  # the operating points (rag/calibration/fit.py)
STRICTNESS: tuple[str, ...] = get_args(Strictness)
# the named checks of rag/answering/checks.py, in the order they run
# in the order they run: those that read no draft before the model writes (rag/answering/answer.py)
CHECKS = ("retrieval", "question_facts", "answer_check", "answered", "supported", "informative", "kind")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PROJECT_ROOT / "corpus"
DEFAULT_INDEX = PROJECT_ROOT / "index"  # the index of the collection named "default"
DEFAULT_COLLECTIONS = PROJECT_ROOT / "collections"  # every other one: NAME/index (and NAME/uploads) here
DEFAULT_COLLECTION = "default"
DEFAULT_DATA = PROJECT_ROOT / "data"  # accounts and kept conversations (rag/people)
DEFAULT_EVAL_DATA = PROJECT_ROOT.parent / "shared" / "eval-data"
COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a folder name and an API model id


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag"


def eval_data_dir() -> Path:
    """Where the evaluation data is, as the settings say (file, environment), without the rest resolved."""
    return Settings().paths.eval_data


def collection_folder(name: str, collections_dir: Path = DEFAULT_COLLECTIONS) -> Path:
    """Where a collection's index lives. Its uploads are kept beside it, as uploads/ is beside index/."""
    return DEFAULT_INDEX if name == DEFAULT_COLLECTION else collections_dir / name / "index"


def _setting(default: Any, description: str, factory: Any = None, shown: str | None = None, **limits: Any) -> Any:
    """A settings field with its description (and how its default reads, where it is computed)."""
    extra = {"shown": shown} if shown else None
    if factory is not None:
        return Field(default_factory=factory, description=description, json_schema_extra=extra, **limits)
    return Field(default=default, description=description, json_schema_extra=extra, **limits)


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathSettings(_Group):
    """The indexes, the corpus, caches, evaluation data, and accounts and kept conversations."""

    collection: str = _setting(
        DEFAULT_COLLECTION,
        "A named index: `default` is index/, any other "
        "NAME collections_dir/NAME/index (`rag collections` lists them; each is one model id of "
        "the OpenAI-compatible API).",
    )
    collections_dir: Path = _setting(
        DEFAULT_COLLECTIONS, "Where the collections other than `default` live.", shown="collections/"
    )
    index_dir: Path | None = _setting(None, "The index folder; unset: the collection's.")
    data_dir: Path = _setting(
        DEFAULT_DATA,
        "Accounts (`rag users`) and the chat page's kept conversations, in one SQLite file here (rag.sqlite3).",
        shown="data/",
    )
    corpus: list[Path] = _setting(
        None,
        "What `rag index` with no PATH indexes, and what the default index is rebuilt from when missing.",
        factory=lambda: [DEFAULT_CORPUS],
        shown="[corpus/]",
    )
    cache_dir: Path = _setting(
        None,
        "Joined model files, converted models and evaluation indexes.",
        factory=default_cache_dir,
        shown="$XDG_CACHE_HOME/rag or ~/.cache/rag",
    )
    eval_data: Path = _setting(
        DEFAULT_EVAL_DATA,
        "Public evaluation data (SciFact, SQuAD), read by eval/, bench/ and the tests that need it.",
        shown="../shared/eval-data",
    )


class ModelSettings(_Group):
    """Which models, and how they run."""

    embedder: str = _setting("minilm", "`minilm`, `mpnet`, a local folder or a Hugging Face id.")
    generator: str = _setting(
        "qwen-1.5b", "`qwen-1.5b`, `qwen-0.5b`, `smollm2`, a `.gguf` file, a local folder or a Hugging Face id."
    )
    generator_url: str = _setting(
        "",
        "An OpenAI-compatible model server to answer with instead of a local model: its API base, e.g. "
        "`http://localhost:11434/v1` (Ollama), `http://localhost:8080/v1` (llama-server), vLLM, LM Studio; "
        "`generator` then names the model it serves. Its API key, if any: the environment variable "
        "RAG_GENERATOR_API_KEY.",
    )
    generator_timeout_s: float = _setting(120.0, "How long to wait for the model server's reply.", gt=0)
    runtime: Literal["auto", "llama.cpp", "transformers"] = _setting(
        "auto",
        "`auto`: transformers in bfloat16 (with prompt lookup) where the CPU has native bfloat16 "
        "(AVX512-BF16, AMX), where its first token is about 2x sooner; llama.cpp elsewhere, as emulated bfloat16 is "
        "about 8x slower and float32 1.5x. Resolved when the settings are made.",
    )
    dtype: Literal["auto", "bfloat16", "float32"] = _setting(
        "auto", "transformers only; `auto`: bfloat16 where the CPU computes it natively, else float32."
    )
    threads: int = _setting(
        None, "CPU threads for the generator.", factory=lambda: max(1, os.cpu_count() or 1), shown="the CPU count"
    )
    prompt_cache_mb: int = _setting(
        512, "llama.cpp keeps past prompts in RAM, up to this much, so a repeated question skips prompt reading.", ge=0
    )
    prompt_lookup_tokens: int = _setting(
        10,
        "transformers: tokens drafted from the prompt's own n-grams "
        "and checked in one pass (answers quoting the evidence ~1.7x faster, "
        "unchanged); 0: off.",
        ge=0,
    )
    context_tokens: int = _setting(2048, "The generator's context window.", ge=256)


class IngestSettings(_Group):
    """How files are read and split."""

    max_file_mb: float = _setting(50.0, "A bigger file is skipped with its reason.", gt=0)
    ocr: bool = _setting(
        True, "Read images, and PDF pages without a text layer (scans), by OCR (RapidOCR, PP-OCRv4, on the CPU)."
    )
    chunk_tokens: int = _setting(64, "Chunk size, in the embedder's own tokens.", ge=16)
    chunk_overlap: int = _setting(16, "Tokens shared by neighbouring chunks.", ge=0)
    title_in_chunks: bool = _setting(
        True, "Embed and keyword-index each chunk after its document's title (the text shown is the chunk alone)."
    )

    def read_options(self, progress: bool = False) -> ReadOptions:
        """How rag.ingest reads files under these settings."""
        return ReadOptions(int(self.max_file_mb * 1024 * 1024), self.ocr, progress)


class SearchSettings(_Group):
    """How passages are found."""

    retrieval: Literal["dense", "keyword", "hybrid"] = _setting(
        "hybrid", "dense (embeddings), keyword (BM25) or hybrid (both, fused)."
    )
    fusion: Literal["rrf", "convex"] = _setting(
        "convex", "How hybrid fuses the two rankings (chosen on training material by eval/tune_retrieval.py)."
    )
    rrf_k: int = _setting(60, "rrf fusion only: its k.", ge=1)
    dense_weight: float = _setting(0.5, "convex fusion only: the dense score's weight.", ge=0.0, le=1.0)
    candidates: int = _setting(50, "Candidates from each retriever, before fusion.", ge=1)
    reranker: str = _setting(
        "",
        "A sentence-transformers CrossEncoder (folder or id) re-scoring the "
        "fused head; empty: none (none ships offline).",
    )
    rerank_candidates: int = _setting(20, "How many of the fused head the reranker re-scores.", ge=1)
    duplicate_threshold: float = _setting(
        0.80,
        "Two passages this similar (cosine) say the same thing: only the better ranked is kept (1.0: off).",
        gt=0.0,
        le=1.0,
    )


class AnsweringSettings(_Group):
    """What the model is shown and may write."""

    rewrite_followups: bool = _setting(
        True, "A question asked after others is rewritten into a standalone one by the generator before retrieval."
    )
    top_k: int = _setting(5, "Passages given to the model.", ge=1)
    evidence_words: int = _setting(
        120,
        "The model reads only the passage sentences closest to the "
        "question, this many words in all (0: whole passages).",
        ge=0,
    )
    complete_answers: bool = _setting(
        True,
        "A why / how / list question is answered with every reason or item the evidence gives, each in its own "
        "cited sentence, from more passages (complete_top_k) and more evidence (complete_evidence_words).",
    )
    complete_top_k: int = _setting(8, "Passages given to the model for a why / how / list question.", ge=1)
    complete_evidence_words: int = _setting(
        200, "Evidence words for a why / how / list question (its reasons are often in different passages).", ge=0
    )
    withhold_instructions: bool = _setting(
        True, "A passage sentence that reads as an instruction to the assistant is not shown to the model."
    )
    max_new_tokens: int = _setting(160, "The longest draft the model may write.", ge=1)
    check_while_writing: bool = _setting(
        True,
        "Each sentence of the draft is checked as soon as it is written, and shown once it passes (streaming "
        "faces); off: the answer is checked once, when the model is done.",
    )

    def passages(self, complete: bool) -> int:
        """Passages to answer from: more for a question asking for every reason or item (`complete`)."""
        return self.complete_top_k if complete and self.complete_answers else self.top_k

    def evidence_budget(self, complete: bool) -> int:
        """Evidence words the model reads (see `passages`)."""
        return self.complete_evidence_words if complete and self.complete_answers else self.evidence_words


class CheckSettings(_Group):
    """The named checks of rag/answering/checks.py. Unset thresholds are those `rag calibrate` fitted for the
    model at the chosen strictness (rag/calibration; docs/checks.md)."""

    strictness: Strictness = _setting(
        "balanced",
        "How cautious answers are: `lenient` keeps every right answer the calibration set gives, `balanced` 97% "
        "of them, `strict` shows answers of which at least 90% are right (on the calibration set; `rag "
        "calibrate` fits each for the model).",
    )

    min_retrieval_score: float | None = _setting(
        None,
        "Below this cosine similarity between the question and the closest passage or sentence "
        "shown to the model, the documents are taken not to answer. Unset: the fitted value for the runtime.",
        shown="fitted",
    )
    min_support: float | None = _setting(
        None,
        "A sentence whose best support is below this is unsupported and left out of the answer. "
        "Unset: the fitted value.",
        shown="fitted",
    )
    min_answer_check: float | None = _setting(
        None,
        "Asked after a draft whether the context states the answer to the question, the model's "
        "P(Yes) below this abstains (0: not asked; about 0.2 s). Unset: the fitted value.",
        ge=0.0,
        le=1.0,
        shown="fitted",
    )
    advisory_checks: list[str] = _setting(
        None,
        "Checks named here are run and recorded but do not decide: to see what one is worth.",
        factory=list,
        shown="[]",
    )
    every_check: bool = _setting(
        False, "Run every check even after one failed, recording what each read (eval/fit_abstention.py fits on these)."
    )
    keep_attribution: bool = _setting(
        True,
        "An answer sentence that states as fact what its source only reports or hedges (allegedly, X says, "
        "likely) is shown with the source's words for it (rag/answering/attribution.py).",
    )


class ServerSettings(_Group):
    """What `rag serve` accepts from the network (credentials are flags: `--auth`, `--reader`, `--api-key`)."""

    allowed_hosts: list[str] = _setting(
        None,
        "Host names the server answers to, besides the loopback names and "
        "the address it binds (DNS-rebinding protection); empty on 0.0.0.0: any.",
        factory=list,
        shown="[]",
    )
    max_request_kb: int = _setting(1024, "A larger request body is refused (413), uploads aside.", ge=1)
    max_upload_mb: float = _setting(
        200.0, "A larger upload request (all its files) is refused (413); each file is also held to max_file_mb.", gt=0
    )
    max_waiting: int = _setting(
        32, "API and MCP answers waiting for their turn; one more is refused (429) rather than queued.", ge=1
    )
    login_attempts: int = _setting(
        5,
        "Failed logins (password or key) from one address within login_window_s "
        "before that address is refused (429) until the window passes.",
        ge=1,
    )
    login_window_s: float = _setting(300.0, "The window of login_attempts, in seconds.", gt=0)
    session_hours: float = _setting(12.0, "How long a login on the page lasts.", gt=0)


# group name -> its model, in the order of docs/settings.md; measurements behind the defaults: docs/measurements.md
GROUPS: dict[str, type[_Group]] = {
    "paths": PathSettings,
    "models": ModelSettings,
    "ingest": IngestSettings,
    "search": SearchSettings,
    "answering": AnsweringSettings,
    "checks": CheckSettings,
    "server": ServerSettings,
}
GROUP_OF = {name: group for group, model in GROUPS.items() for name in model.model_fields}  # flat name -> group


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat names moved into their groups; group tables and unknown names (rejected later) kept as they are."""
    nested: dict[str, Any] = {}
    for key, value in values.items():
        group = GROUP_OF.get(key)
        if group is None:
            nested[key] = {**nested.get(key, {}), **value} if key in GROUPS and isinstance(value, Mapping) else value
        else:
            nested.setdefault(group, {})
            nested[group] = {**nested[group], key: value} if isinstance(nested[group], Mapping) else nested[group]
    return nested


class _Nested(PydanticBaseSettingsSource):
    """A source whose flat names are moved into their groups (rag.toml, init arguments, RAG_TOP_K)."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self.source = source

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the wrapped source whole

    def __call__(self) -> dict[str, Any]:
        return nest(self.source())


# Every setting under its flat name, for reading RAG_TOP_K with pydantic-settings' own parsing (JSON lists)
_FlatNames = create_model(
    "_FlatNames",
    __base__=BaseSettings,
    **{name: (field.annotation, None) for model in GROUPS.values() for name, field in model.model_fields.items()},
)  # type: ignore[call-overload]


class Settings(BaseSettings):
    """Everything a user may want to change, with defaults that work offline on a 2-core CPU."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__", extra="forbid")

    paths: PathSettings = Field(default_factory=PathSettings, description="Where things live")
    models: ModelSettings = Field(default_factory=ModelSettings, description="Models and runtime")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Files and splitting")
    search: SearchSettings = Field(default_factory=SearchSettings, description="Retrieval")
    answering: AnsweringSettings = Field(default_factory=AnsweringSettings, description="Answering")
    checks: CheckSettings = Field(default_factory=CheckSettings, description="The checks (abstention)")
    server: ServerSettings = Field(default_factory=ServerSettings, description="The server (rag serve)")
    _resolved: set[str] = PrivateAttr(default_factory=set)  # fields chosen here rather than given
    _fit: Path | None = PrivateAttr(default=None)  # the calibration the thresholds were read from

    @model_validator(mode="after")
    def _resolve_auto(self) -> Settings:
        """'auto' runtime and dtype become what suits this CPU, and unset thresholds those fitted for that
        runtime, so that reports name what ran."""
        paths, models, checks = self.paths, self.models, self.checks
        if not COLLECTION_NAME.fullmatch(paths.collection):
            raise ValueError(
                f"collection names are letters, digits, '_', '.' and '-' (at most 64), not {paths.collection!r}"
            )
        if paths.index_dir is None:
            paths.index_dir = collection_folder(paths.collection, paths.collections_dir)
            self._resolved.add("index_dir")
        native = native_bfloat16()
        if models.runtime == "auto":
            models.runtime = "transformers" if native else "llama.cpp"
            self._resolved.add("runtime")
        if models.dtype == "auto":
            models.dtype = "bfloat16" if native else "float32"
            self._resolved.add("dtype")
        self._resolve_thresholds()
        unknown = set(checks.advisory_checks) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown check {sorted(unknown)[0]!r} (the checks: {', '.join(CHECKS)})")
        return self

    def model_identity(self) -> dict[str, Any]:
        """What the calibration is keyed by (rag.models.calibration)."""
        m = self.models
        return model_identity(m.generator, m.generator_url, m.runtime, m.dtype, m.embedder)

    def _resolve_thresholds(self) -> None:
        """Unset thresholds become those of the model's fit at this strictness, or conservative ones."""
        checks = self.checks
        fit = load_fit(self.model_identity(), self.paths.cache_dir)
        self._fit = fit.path if fit else None
        thresholds = (
            fit.thresholds(checks.strictness)
            if fit
            else {**CONSERVATIVE[checks.strictness], "min_support": MIN_SUPPORT}
        )
        for name, value in thresholds.items():
            if getattr(checks, name) is None:
                setattr(checks, name, value)
                self._resolved.add(name)

    @property
    def calibration(self) -> Path | None:
        """The fit the thresholds were read from; None where the model has none (conservative thresholds)."""
        return self._fit

    def uncalibrated_warning(self) -> str | None:
        """One line for a user whose unset thresholds are conservative guesses, as the model was never fitted."""
        guessed = {"min_retrieval_score", "min_answer_check"} & self._resolved
        if self._fit is not None or not guessed:
            return None
        identity = self.model_identity()
        return (
            f"no calibration for {describe(identity)}: conservative thresholds "
            f"(run `rag calibrate` to fit them for this model)"
        )

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
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        flat_env = EnvSettingsSource(_FlatNames, env_prefix="RAG_")  # RAG_TOP_K beside RAG_ANSWERING__TOP_K
        return (_Nested(init_settings), env_settings, _Nested(flat_env), _Nested(toml))

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced (None means: keep), validated like the rest. What was chosen
        for this CPU or runtime is chosen again (another runtime brings its own fitted thresholds)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        if not changes:
            return self
        kept = {name: value for name, value in self.flat().items() if name not in self._resolved}
        return self.model_validate(nest({**kept, **changes}))

    def flat(self, mode: str = "python") -> dict[str, Any]:
        """Every setting under its flat name (what reports record, as before the groups)."""
        return {name: value for group in GROUPS for name, value in getattr(self, group).model_dump(mode=mode).items()}


def _flat_property(group: str, name: str) -> property:
    def get(self: Settings) -> Any:
        return getattr(getattr(self, group), name)

    def set_(self: Settings, value: Any) -> None:
        setattr(getattr(self, group), name, value)

    return property(get, set_, doc=GROUPS[group].model_fields[name].description)


# settings.top_k reads and writes settings.answering.top_k: the flat names stay the Python API
for _name, _group in GROUP_OF.items():
    setattr(Settings, _name, _flat_property(_group, _name))
