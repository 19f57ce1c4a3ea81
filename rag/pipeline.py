"""The one pipeline object that the Python API, the CLI and the web app all use.

load → split → embed/index (rag.ingest) → retrieve → answer (rag.answer) → cite/verify (rag.cite)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rag.answering.answer import ABSTAIN_TEXT, answer, compose
from rag.answering.checks import CheckList
from rag.answering.followup import Turn, standalone_question
from rag.answering.question import parse
from rag.answering.verify import Verdict
from rag.errors import EmptyQuestionError, RagError
from rag.models.embed import Embedder
from rag.models.generate import Generator, generator_for
from rag.retrieval.filters import NO_MATCH, DocumentFilter
from rag.retrieval.rerank import load_reranker
from rag.retrieval.retrieve import Rescorer, search
from rag.settings import STRICTNESS, Settings
from rag.stopwatch import Stopwatch
from rag.store.index import Index
from rag.store.library import Library, Syncer
from rag.store.watch import FolderWatch
from rag.types import Answer, Check, IndexReport, Passage


class UnknownStrictnessError(RagError, ValueError):
    pass


class RAG:
    """Cited answers from your documents. Models load lazily, on first use; the index is a rag.store Library.

    `read_only`: answer from the index as saved, never bringing it up to date nor changing it (replicas that
    share one index: rag serve --ray). `overrides`: settings by their flat names (`top_k=3`)."""

    def __init__(self, settings: Settings | None = None, *, read_only: bool = False, **overrides: Any) -> None:
        self.settings = (settings or Settings()).with_overrides(**overrides)
        self.read_only = read_only
        self._embedder: Embedder | None = None
        self._generator: Generator | None = None
        self._reranker: Rescorer | None = None
        self._library: Library | None = None
        self.watcher: FolderWatch | None = None  # the running watch of this index's folders (watch())

    def _made_from(self) -> dict[str, Any]:
        """What each part is made from, by settings group (the loaders below read exactly these): a variant whose
        settings make a part from the same shares it. The models group configures two parts: its `embedder`
        names the embedder, the rest of it the generator."""
        s = self.settings
        embedder = (s.models.embedder, s.paths.cache_dir)
        return {
            "_embedder": embedder,
            "_generator": (s.models.model_copy(update={"embedder": None}), s.paths.cache_dir),
            "_reranker": s.search.reranker,
            "_library": (s.paths, s.ingest, embedder, self.read_only),
        }

    def variant(self, **overrides: Any) -> RAG:
        """The same pipeline with some settings changed, sharing the parts already loaded that they leave alone.

        Lets an evaluation or a benchmark compare settings without loading models or the index again.
        """
        other = RAG(self.settings.with_overrides(**overrides), read_only=self.read_only)
        _ = self.library  # made now (it opens nothing), so that a variant of the same folder shares it and its lock
        theirs = other._made_from()
        for part, made_from in self._made_from().items():
            if theirs[part] == made_from:
                setattr(other, part, getattr(self, part))
        return other

    def use(
        self, embedder: Embedder | None = None, generator: Generator | None = None, index: Index | None = None
    ) -> RAG:
        """Use these loaded models, or this opened index, instead of loading the configured ones (a benchmark, a
        test, a replica given its generator); returns self."""
        self._embedder = embedder or self._embedder
        self._generator = generator or self._generator
        if index is not None:
            self.library.use(index)
        return self

    # --- parts, loaded on first use -----------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(self.settings.models.embedder, cache_dir=self.settings.paths.cache_dir)
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = generator_for(self.settings.models, self.settings.paths.cache_dir)
        return self._generator

    @property
    def reranker(self) -> Rescorer | None:
        """The configured second-stage scorer, loaded on first use (None when not configured)."""
        if self._reranker is None and self.settings.search.reranker:
            self._reranker = load_reranker(self.settings.search.reranker)
        return self._reranker

    @property
    def library(self) -> Library:
        """The index folder and its documents (rag.store.library): what the methods below delegate to."""
        if self._library is None:
            s = self.settings
            self._library = Library(s.paths, s.ingest, lambda: self.embedder, read_only=self.read_only)
        return self._library

    # --- documents -------------------------------------------------------------------------------

    @property
    def index(self) -> Index:
        """The saved index, brought up to date if its corpus, embedder or splitting changed."""
        return self.library.index

    def build(
        self,
        paths: list[Path] | None = None,
        rebuild: bool = False,
        progress: bool = False,
        syncer: Syncer | None = None,
    ) -> IndexReport:
        """Index files and folders (default: the configured corpus) into the index folder (see Library.build)."""
        return self.library.build(paths, rebuild, progress, syncer)

    add = build

    def refuse_if_read_only(self) -> None:
        """A one-line error where this pipeline may not change its index (before anything is written)."""
        self.library.refuse_if_read_only()

    def remove(self, source: str) -> bool:
        """Remove one document by its source name (as shown in citations) or path."""
        return self.library.remove(source)

    def documents(self) -> dict[str, int]:
        """Indexed documents and their chunk counts."""
        return self.library.documents()

    def watch(
        self, paths: list[Path] | None = None, on_update: Callable[[IndexReport], None] | None = None
    ) -> FolderWatch:
        """Keep the index in step with `paths` (default: the folders it was built from) as files are added,
        changed, renamed and deleted, in a thread; returns the running watcher (its stop() ends it)."""
        roots = paths or self.library.roots() or [Path(p) for p in self.settings.paths.corpus]
        self.watcher = FolderWatch(self.library, roots, on_update=on_update).start()
        return self.watcher

    def not_indexed(self) -> dict[str, str]:
        """Files under the indexed folders that could not be indexed, and why."""
        return self.library.not_indexed()

    # --- questions ---------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Open the index and load both models now rather than on the first question."""
        _ = self.index, self.generator

    def retrieve(self, question: str, k: int | None = None, filter: DocumentFilter | None = None) -> list[Passage]:
        """The passages to answer from: `k`, or as many as the answering settings give this kind of question.
        `filter`: only from the documents it keeps (the best k of those; none when it keeps none)."""
        allowed = filter.chunk_ids(self.index) if filter is not None else None
        if allowed is not None and not len(allowed):
            return []
        query = self.embedder.encode([question])[0]
        k = k or self.settings.answering.passages(parse(question).complete)
        return search(self.index, query, question, k, self.settings.search, self.reranker, allowed)

    def standalone(self, question: str, history: list[Turn] | None) -> str:
        """A follow-up rewritten into a standalone question from the conversation (see rag.followup)."""
        if not history or not self.settings.answering.rewrite_followups:
            return question
        return standalone_question(question, history, self.generator)

    def at_strictness(self, strictness: str | None) -> RAG:
        """This pipeline answering at another strictness (None, or its own: itself), its thresholds those fitted
        for it (thresholds set explicitly stay as set). It shares this one's models and index, loaded here first
        so that they are loaded once."""
        if strictness is None or strictness == self.settings.checks.strictness:
            return self
        if strictness not in STRICTNESS:  # checked before anything loads
            raise UnknownStrictnessError(f"unknown strictness {strictness!r} (the choices: {', '.join(STRICTNESS)})")
        _ = self.embedder, self.generator, self.reranker
        try:
            return self.variant(strictness=strictness)
        except ValidationError as error:  # not the strictness (checked above): still one line, never a traceback
            first = error.errors()[0]
            raise RagError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None

    def stream(
        self,
        question: str,
        history: list[Turn] | None = None,
        strictness: str | None = None,
        filter: DocumentFilter | None = None,
    ) -> Iterator[str | Answer]:
        """Yield answer text as it is generated, then the final, checked Answer.
        `history`: earlier (question, answer) pairs of the conversation, oldest first. `strictness`: lenient,
        balanced or strict for this question alone (None: the configured one); an unknown one raises
        UnknownStrictnessError here, before the first item. `filter`: answer only from the documents it keeps;
        when it keeps none, the answer abstains, saying so."""
        return self.at_strictness(strictness)._stream(question, history, filter)

    def _stream(
        self, question: str, history: list[Turn] | None, filter: DocumentFilter | None
    ) -> Iterator[str | Answer]:
        question = question.strip()
        if not question:
            raise EmptyQuestionError("the question is empty")
        allowed = filter.chunk_ids(self.index) if filter is not None else None  # cached: retrieve reads it again
        if allowed is not None and not len(allowed):
            yield from _nothing_matches(question, self.settings, Stopwatch())  # no model needed to say so
            return
        self.warm_up()  # timings are per question, not per model load
        clock = Stopwatch()
        query = question
        if history:
            with clock.step("rewrite"):
                query = self.standalone(question, history)
        with clock.step("retrieve"):
            passages = self.retrieve(query, filter=filter)
        yield from answer(question, query, passages, self.embedder, self.generator, self.settings, clock)

    def ask(
        self,
        question: str,
        history: list[Turn] | None = None,
        strictness: str | None = None,
        filter: DocumentFilter | None = None,
    ) -> Answer:
        """The checked answer (see stream)."""
        for item in self.stream(question, history, strictness, filter):
            if isinstance(item, Answer):
                return item
        raise RuntimeError("the answer stream ended without an answer")


def _nothing_matches(question: str, settings: Settings, clock: Stopwatch) -> Iterator[str | Answer]:
    """The abstention when the filter keeps no document: not an error, as a question the documents do not
    answer is not one; its one check, `filter`, gives the reason."""
    checklist = CheckList(settings.checks)
    checklist.add(Check("filter", False, reason=NO_MATCH))
    yield ABSTAIN_TEXT
    yield compose(question, question, [], checklist, Verdict(), clock)
