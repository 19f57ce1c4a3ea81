"""The one pipeline object that the Python API, the CLI and the web app all use.

load → split → embed/index (rag.ingest) → retrieve → answer (rag.answer) → cite/verify (rag.cite)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rag.answering.answer import answer_stream
from rag.answering.followup import Turn, standalone_question
from rag.errors import EmptyQuestionError, IndexMissingError, RagError
from rag.ingest.split import Splitter, splitter_for
from rag.models.embed import Embedder
from rag.models.generate import Generator, load_generator
from rag.retrieval.rerank import load_reranker
from rag.retrieval.retrieve import Rescorer, search
from rag.settings import DEFAULT_INDEX, Settings, collection_folder
from rag.store.index import Index, IndexBusyError, saved_generation, writer_lock
from rag.store.sync import source_name, source_path, sync
from rag.types import Answer, IndexReport, Passage

# What brings an index up to date with files: (index, roots, progress, max_bytes) -> report. The default is
# rag.store.sync.sync in this process; rag.scale.ray_ingest gives one that does the per-file work on Ray.
Syncer = Callable[[Index, list[Path], bool, int], IndexReport]


class RAG:
    """Cited answers from your documents. Models load lazily, on first use.

    `read_only`: answer from the index as saved, never bringing it up to date nor changing it (replicas that
    share one index: rag serve --ray). `overrides`: settings by their flat names (`top_k=3`)."""

    def __init__(self, settings: Settings | None = None, *, read_only: bool = False, **overrides: Any) -> None:
        self.settings = (settings or Settings()).with_overrides(**overrides)
        self.read_only = read_only
        self._embedder: Embedder | None = None
        self._generator: Generator | None = None
        self._index: Index | None = None
        self._reranker: Rescorer | None = None
        self._write_lock = threading.Lock()

    # Settings each loaded part depends on: a variant that changes none of them shares the part.
    _EMBEDDER_FIELDS = {"embedder"}
    _INDEX_FIELDS = {"index_dir", "corpus", "embedder", "chunk_tokens", "chunk_overlap", "title_in_chunks"}
    _GENERATOR_FIELDS = {"generator", "runtime", "dtype", "threads", "context_tokens", "cache_dir", "prompt_cache_mb",
                         "prompt_lookup_tokens"}  # fmt: skip

    def variant(self, **overrides: Any) -> RAG:
        """The same pipeline with some settings changed, sharing the parts already loaded that they leave alone.

        Lets an evaluation or a benchmark compare settings without loading models or the index again.
        """
        other = RAG(self.settings.with_overrides(**overrides), read_only=self.read_only)
        changed = {name for name, value in overrides.items() if value is not None}
        if not changed & self._EMBEDDER_FIELDS:
            other._embedder = self._embedder
        if not changed & self._INDEX_FIELDS:
            other._index = self._index
        if not changed & self._GENERATOR_FIELDS:
            other._generator = self._generator
        if "reranker" not in changed:
            other._reranker = self._reranker
        return other

    def use(self, embedder: Embedder | None = None, generator: Generator | None = None) -> RAG:
        """Use these loaded models instead of loading the configured ones (a benchmark, a test, a replica given
        its generator); returns self."""
        self._embedder = embedder or self._embedder
        self._generator = generator or self._generator
        return self

    # --- parts, loaded on first use -----------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(self.settings.embedder, cache_dir=self.settings.cache_dir)
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            s = self.settings
            self._generator = load_generator(
                s.generator, s.runtime, s.threads, s.dtype, s.context_tokens, s.cache_dir, s.prompt_cache_mb,
                s.prompt_lookup_tokens,
            )  # fmt: skip
        return self._generator

    @property
    def index(self) -> Index:
        """The saved index, brought up to date if its corpus, embedder or splitting changed."""
        if self._index is None:
            folder = self.settings.index_dir
            if not (folder / "manifest.json").exists():
                if folder.resolve() != DEFAULT_INDEX.resolve():
                    raise IndexMissingError(self._missing())
                self.build()  # the shipped corpus's index is rebuilt when missing
            else:
                self._index = Index.open(folder)
                if not self.read_only:
                    self._refresh()
        assert self._index is not None
        return self._index

    def _missing(self) -> str:
        s = self.settings
        if s.index_dir == collection_folder(s.collection, s.collections_dir):
            return f"no collection '{s.collection}' (build it with: rag index PATH --collection {s.collection})"
        return f"no index at {s.index_dir} (build one with: rag index PATH --index {s.index_dir})"

    def _embedder_info(self) -> dict[str, Any]:
        e = self.embedder
        return {"name": e.name, "fingerprint": e.fingerprint, "dimension": e.dimension, "max_tokens": e.max_tokens}

    def _splitting(self) -> dict[str, Any]:
        s = self.settings
        return {"chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap, "title_in_chunks": s.title_in_chunks}

    def _refresh(self) -> None:
        """Bring a just-opened index up to date with its folders (skipped while another process writes)."""
        index = self._index
        assert index is not None
        roots = [source_path(root, index.folder.parent) for root in index.manifest.roots]
        if not self._matches(index):
            if not roots:  # an index of documents given in memory (rag eval): nothing to rebuild it from
                raise RagError(f"index at {index.folder} was built with other embedder or splitting settings; "
                               "rebuild it")  # fmt: skip
            self.build(roots, rebuild=True)
        elif roots:
            try:
                with self._write_lock, writer_lock(index.folder):
                    self._update(self._writable(False, opened=index), [root for root in roots if root.exists()])
            except IndexBusyError:
                pass  # another process is updating it: answer from what is saved now

    def _matches(self, index: Index) -> bool:
        return index.manifest.embedder == self._embedder_info() and index.manifest.splitting == self._splitting()

    def _writable(self, rebuild: bool, opened: Index | None = None) -> Index:
        """The index to change, as saved now. Never the one answers in flight are using: they keep
        theirs until the new one is saved and swapped in. `opened`: one just opened and not yet in
        use, reused if nobody saved since."""
        folder = self.settings.index_dir
        if not rebuild and (folder / "manifest.json").exists():
            if opened is not None and opened.manifest.generation == saved_generation(folder):
                return opened
            index = Index.open(folder)
            if self._matches(index):
                return index
        return Index.create(folder, self._embedder_info(), self._splitting())

    def _update(self, index: Index, roots: list[Path], progress: bool = False, syncer: Syncer | None = None
                ) -> IndexReport:  # fmt: skip
        """Sync, save only if something changed, and swap the result in."""
        before = index.manifest.to_json()
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        if syncer is None:
            report = sync(index, self.embedder, self._splitter(), roots, progress=progress, max_bytes=max_bytes)
        else:
            report = syncer(index, roots, progress, max_bytes)
        if index.manifest.to_json() != before or saved_generation(index.folder) != index.manifest.generation:
            index.save()
        else:
            index.remove_stale_files()
        self._index = index
        return report

    def _splitter(self) -> Splitter:
        s = self.settings
        return splitter_for(self.embedder, s.chunk_tokens, s.chunk_overlap, s.title_in_chunks)

    # --- documents -------------------------------------------------------------------------------

    def build(self, paths: list[Path] | None = None, rebuild: bool = False, progress: bool = False,
              syncer: Syncer | None = None) -> IndexReport:  # fmt: skip
        """Index files and folders (default: the configured corpus) into the index folder. `syncer`: what does
        the work (see Syncer); the lock, the copy the work is done on and the atomic swap are the same."""
        self.refuse_if_read_only()
        roots = [Path(p) for p in (paths or self.settings.corpus)]
        with self._write_lock, writer_lock(self.settings.index_dir):
            return self._update(self._writable(rebuild), roots, progress, syncer)

    def refuse_if_read_only(self) -> None:
        """A one-line error where this pipeline may not change its index (before anything is written)."""
        if self.read_only:
            raise RagError("this index is served read-only here (rag serve --ray): change it with rag index")

    add = build

    def remove(self, source: str) -> bool:
        """Remove one document by its source name (as shown in citations) or path."""
        self.refuse_if_read_only()
        _ = self.index
        with self._write_lock, writer_lock(self.settings.index_dir):
            index = self._writable(False)
            name = source if source in index.manifest.documents else None
            if name is None:
                candidate = source_name(Path(source), index.folder.parent)
                name = candidate if candidate in index.manifest.documents else None
            if name is None:
                return False
            index.remove(name)
            index.manifest.roots = [r for r in index.manifest.roots if r != name]
            index.manifest.excluded = sorted({*index.manifest.excluded, name})
            index.save()
            self._index = index
            return True

    def documents(self) -> dict[str, int]:
        """Indexed documents and their chunk counts."""
        return {src: len(entry.chunk_ids) for src, entry in self.index.manifest.documents.items()}

    # --- questions ---------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Open the index and load both models now rather than on the first question."""
        _ = self.index, self.generator

    @property
    def reranker(self) -> Rescorer | None:
        """The configured second-stage scorer, loaded on first use (None when not configured)."""
        if self._reranker is None and self.settings.reranker:
            self._reranker = load_reranker(self.settings.reranker)
        return self._reranker

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        query = self.embedder.encode([question])[0]
        return search(self.index, query, question, k or self.settings.top_k, self.settings, self.reranker)

    def standalone(self, question: str, history: list[Turn] | None) -> str:
        """A follow-up rewritten into a standalone question from the conversation (see rag.followup)."""
        if not history or not self.settings.rewrite_followups:
            return question
        return standalone_question(question, history, self.generator)

    def stream(self, question: str, history: list[Turn] | None = None) -> Iterator[str | Answer]:
        """Yield answer text as it is generated, then the final, checked Answer.
        `history`: earlier (question, answer) pairs of the conversation, oldest first."""
        question = question.strip()
        if not question:
            raise EmptyQuestionError("the question is empty")
        self.warm_up()  # timings are per question, not per model load
        started = time.perf_counter()
        query = self.standalone(question, history)
        rewrite_ms = (time.perf_counter() - started) * 1000
        retrieve_started = time.perf_counter()
        passages = self.retrieve(query)
        retrieve_ms = (time.perf_counter() - retrieve_started) * 1000
        for item in answer_stream(query, passages, self.generator, self.embedder, self.settings, started, retrieve_ms):
            if isinstance(item, Answer):
                item.question = question
                item.rewritten_question = query if query != question else ""
                if history:
                    item.timings_ms["rewrite"] = round(rewrite_ms, 1)
            yield item

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                return item
        raise RuntimeError("the answer stream ended without an answer")
