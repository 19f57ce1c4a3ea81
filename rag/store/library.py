"""The lifecycle of one index folder: open it, keep it up to date with its folders, change it, list it.

`Library(paths, ingest, embedder)` is what `rag.RAG` delegates its documents to:

- `library.index`: the saved index, opened on first use and brought up to date with the folders it was built
  from (new, changed and deleted files; everything, where the embedder or the splitting changed). The
  shipped corpus's index is rebuilt when missing; any other missing index is an IndexMissingError.
- `library.build(paths, rebuild, progress, syncer)` (also `add`): index files and folders, by default the
  configured corpus. `library.remove(source)`: drop one document. `library.documents()`: what is indexed.
- Every change is made on a writable copy of the index as saved now, under the writer lock (one writer per
  folder, across processes: rag.store.index.writer_lock) and this library's own lock (threads), saved
  atomically and then swapped in: answers in flight keep the index they started on.
- `read_only`: answer from the index as saved, never bringing it up to date nor changing it; a change is
  refused with a one-line error before anything is written (`refuse_if_read_only`).
- `embedder_info()`, `splitting()` and `splitter()`: what the manifest records of the embedder and the
  splitting, and the splitter made from them (an evaluation building its own index uses the same).
- `use(index)`: answer from an index opened elsewhere (a test, a benchmark).

It reads the `paths` and `ingest` settings groups; the embedder is given as a function, so that it loads only
when something must be embedded or checked against the manifest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.errors import IndexMissingError, RagError
from rag.ingest.load import ReadOptions
from rag.ingest.split import Splitter, splitter_for
from rag.models.embed import Embedder
from rag.settings import DEFAULT_INDEX, IngestSettings, PathSettings, collection_folder
from rag.store.index import Index, IndexBusyError, saved_generation, writer_lock
from rag.store.sync import source_name, source_path, sync
from rag.types import IndexReport

# What brings an index up to date with files: (index, roots, progress, read options) -> report. The default is
# rag.store.sync.sync in this process; rag.scale.ray_ingest gives one that does the per-file work on Ray.
Syncer = Callable[[Index, list[Path], bool, ReadOptions], IndexReport]


class Library:
    """One index folder (`paths.index_dir`) and the documents in it; see the module's docstring."""

    def __init__(
        self, paths: PathSettings, ingest: IngestSettings, embedder: Callable[[], Embedder], read_only: bool = False
    ) -> None:
        assert paths.index_dir is not None  # resolved by Settings
        self.paths, self.ingest, self.read_only = paths, ingest, read_only
        self.folder: Path = paths.index_dir
        self._embedder = embedder
        self._index: Index | None = None
        self._write_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        return self._embedder()

    @property
    def index(self) -> Index:
        """The saved index, brought up to date if its corpus, embedder or splitting changed."""
        if self._index is None:
            if not (self.folder / "manifest.json").exists():
                if self.folder.resolve() != DEFAULT_INDEX.resolve():
                    raise IndexMissingError(self._missing())
                self.build()  # the shipped corpus's index is rebuilt when missing
            else:
                self._index = Index.open(self.folder)
                if not self.read_only:
                    self._refresh()
        assert self._index is not None
        return self._index

    def use(self, index: Index) -> None:
        """Answer from this index, opened elsewhere, rather than opening the folder."""
        self._index = index

    def _missing(self) -> str:
        paths = self.paths
        if self.folder == collection_folder(paths.collection, paths.collections_dir):
            return f"no collection '{paths.collection}' (build it with: rag index PATH --collection {paths.collection})"
        return f"no index at {self.folder} (build one with: rag index PATH --index {self.folder})"

    # --- what the manifest records ------------------------------------------------------------------

    def embedder_info(self) -> dict[str, Any]:
        e = self.embedder
        return {"name": e.name, "fingerprint": e.fingerprint, "dimension": e.dimension, "max_tokens": e.max_tokens}

    def splitting(self) -> dict[str, Any]:
        s = self.ingest
        return {"chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap, "title_in_chunks": s.title_in_chunks}

    def splitter(self) -> Splitter:
        s = self.ingest
        return splitter_for(self.embedder, s.chunk_tokens, s.chunk_overlap, s.title_in_chunks)

    def matches(self, index: Index) -> bool:
        """Was this index built with this embedder and this splitting?"""
        return index.manifest.embedder == self.embedder_info() and index.manifest.splitting == self.splitting()

    # --- changes ------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Bring a just-opened index up to date with its folders (skipped while another process writes)."""
        index = self._index
        assert index is not None
        roots = self.roots()
        if not self.matches(index):
            if not roots:  # an index of documents given in memory (rag eval): nothing to rebuild it from
                raise RagError(
                    f"index at {index.folder} was built with other embedder or splitting settings; rebuild it"
                )
            self.build(roots, rebuild=True)
        elif roots:
            try:
                with self._write_lock, writer_lock(index.folder):
                    self._update(self._writable(False, opened=index), [root for root in roots if root.exists()])
            except IndexBusyError:
                pass  # another process is updating it: answer from what is saved now

    def _writable(self, rebuild: bool, opened: Index | None = None) -> Index:
        """The index to change, as saved now. Never the one answers in flight are using: they keep
        theirs until the new one is saved and swapped in. `opened`: one just opened and not yet in
        use, reused if nobody saved since."""
        if not rebuild and (self.folder / "manifest.json").exists():
            if opened is not None and opened.manifest.generation == saved_generation(self.folder):
                return opened
            index = Index.open(self.folder)
            if self.matches(index):
                return index
        return Index.create(self.folder, self.embedder_info(), self.splitting())

    def _update(
        self, index: Index, roots: list[Path], progress: bool = False, syncer: Syncer | None = None
    ) -> IndexReport:
        """Sync, save only if something changed, and swap the result in."""
        before = index.manifest.to_json()
        options = self.ingest.read_options(progress)
        if syncer is None:
            report = sync(index, self.embedder, self.splitter(), roots, progress=progress, options=options)
        else:
            report = syncer(index, roots, progress, options)
        if index.manifest.to_json() != before or saved_generation(index.folder) != index.manifest.generation:
            index.save()
        else:
            index.remove_stale_files()
        self._index = index
        return report

    def build(
        self,
        paths: list[Path] | None = None,
        rebuild: bool = False,
        progress: bool = False,
        syncer: Syncer | None = None,
    ) -> IndexReport:
        """Index files and folders (default: the configured corpus) into the index folder. `syncer`: what does
        the work (see Syncer); the lock, the copy the work is done on and the atomic swap are the same."""
        self.refuse_if_read_only()
        roots = [Path(p) for p in (paths or self.paths.corpus)]
        with self._write_lock, writer_lock(self.folder):
            return self._update(self._writable(rebuild), roots, progress, syncer)

    add = build

    def refuse_if_read_only(self) -> None:
        """A one-line error where this library may not change its index (before anything is written)."""
        if self.read_only:
            raise RagError("this index is served read-only here (rag serve --ray): change it with rag index")

    def remove(self, source: str) -> bool:
        """Remove one document by its source name (as shown in citations) or path."""
        self.refuse_if_read_only()
        _ = self.index
        with self._write_lock, writer_lock(self.folder):
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

    def roots(self) -> list[Path]:
        """The files and folders the index was built from (its manifest's roots), as paths."""
        index = self.index if self._index is None else self._index
        return [source_path(root, index.folder.parent) for root in index.manifest.roots]

    def not_indexed(self) -> dict[str, str]:
        """Files under the indexed folders that are not indexed, with why (one line each)."""
        return {src: why["error"] for src, why in self.index.manifest.not_indexed.items()}
