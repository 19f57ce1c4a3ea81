"""The persisted index: a folder you can `ls` and understand.

    manifest.json          what is in it: embedder and fingerprint, splitting, documents, file names,
                           the vector index's type and parameters (rag.vector_store: flat or IVF by size)
    vectors.<gen>.faiss    the embeddings (FAISS, inner product over normalised vectors)
    chunks.<gen>.jsonl     one chunk per line: text, source, offsets, page
    chunks.<gen>.offsets.npy  each line's chunk id and byte offset (chunks are read when needed)
    bm25.<gen>/            keyword index of the same chunks (bm25s arrays and vocabulary)

A save writes new generation files beside the old ones (flushed to disk), then replaces manifest.json
atomically, then deletes the old generation: a crash at any point leaves the old or the new complete
state. A reader opens a large index memory-mapped and reads chunks on demand, so opening costs
milliseconds at any size; a writer reads it whole before changing it. Writers take `.lock` (one at
a time, across processes); readers take no lock: a reader that read the manifest just before a
writer deleted its generation reads the new manifest and tries again.
Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from filelock import FileLock, Timeout

from rag.errors import IndexMissingError, RagError
from rag.store import vector_store
from rag.store.chunk_store import SavedChunks, read_all_chunks, write_chunks
from rag.store.keyword import KeywordIndex
from rag.types import Chunk, Passage

FORMAT = 1
MANIFEST = "manifest.json"
LOCK = ".lock"
OPEN_ATTEMPTS = 5


class IndexBusyError(RagError):
    """Another process is writing this index."""


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Hold the index's writer lock: one writer per folder across processes (and within one). filelock takes an OS
    lock (flock on Unix, LockFileEx on Windows) that the OS drops if the holder dies; where there is none it falls
    back to a marker file holding the owner's process id, which the next writer breaks once that process is gone."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK, blocking=False)  # a fresh instance per call: a second writer here is refused too
    try:
        lock.acquire()
    except Timeout:
        message = f"index at {folder} is being updated by another process; try again when it finishes"
        raise IndexBusyError(message) from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class DocumentEntry:
    sha256: str
    title: str
    chunk_ids: list[int]
    size: int = 0
    mtime_ns: int = 0
    revision: int = 1  # of the reader that read it (rag.ingest.formats.REVISIONS): an older one's is read again


@dataclass
class Manifest:
    embedder: dict[str, Any]
    splitting: dict[str, Any]
    roots: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # removed by hand: not re-added from their folder
    documents: dict[str, DocumentEntry] = field(default_factory=dict)
    # files under the roots that are not indexed: source -> {"reason": LoadError.reason, "error": one line}
    not_indexed: dict[str, dict[str, str]] = field(default_factory=dict)
    vector_index: dict[str, Any] = field(default_factory=lambda: dict(vector_store.FLAT))
    next_id: int = 0
    generation: int = 0
    updated: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "embedder": self.embedder,
            "splitting": self.splitting,
            "roots": self.roots,
            "excluded": self.excluded,
            "generation": self.generation,
            "next_id": self.next_id,
            "updated": self.updated,
            "vector_index": self.vector_index,
            "files": {
                "vectors": f"vectors.{self.generation}.faiss",
                "chunks": f"chunks.{self.generation}.jsonl",
                "offsets": f"chunks.{self.generation}.offsets.npy",
                "keywords": f"bm25.{self.generation}",
            },
            "documents": {src: vars(entry) for src, entry in sorted(self.documents.items())},
            "not_indexed": dict(sorted(self.not_indexed.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown index format {data.get('format')!r}")
        return cls(
            embedder=data["embedder"],
            splitting=data["splitting"],
            roots=list(data.get("roots", [])),
            excluded=list(data.get("excluded", [])),
            documents={src: DocumentEntry(**entry) for src, entry in data["documents"].items()},
            not_indexed={src: dict(why) for src, why in (data.get("not_indexed") or {}).items()},
            vector_index=dict(data.get("vector_index") or vector_store.FLAT),
            next_id=int(data["next_id"]),
            generation=int(data["generation"]),
            updated=float(data.get("updated", 0.0)),
        )


class Index:
    """Chunks and their vectors, searchable, with a manifest of the documents they came from."""

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        vectors: faiss.Index,
        chunks: Mapping[int, Chunk],
        keywords: KeywordIndex | None = None,
        read_only: bool = False,
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.vectors = vectors
        self.chunks = chunks
        self._keywords = keywords  # None: out of date, rebuilt on next use
        self._read_only = read_only  # memory-mapped vectors or chunks read on demand: read whole before a change

    @property
    def keywords(self) -> KeywordIndex:
        if self._keywords is None:
            self._keywords = KeywordIndex.build(self.chunks, bool(self.manifest.splitting.get("title_in_chunks")))
        return self._keywords

    # --- lifecycle -------------------------------------------------------------------------

    @classmethod
    def create(cls, folder: Path, embedder: dict[str, Any], splitting: dict[str, Any]) -> Index:
        manifest = Manifest(embedder=embedder, splitting=splitting)
        return cls(folder, manifest, vector_store.flat(int(embedder["dimension"])), {})

    @classmethod
    def open(cls, folder: Path) -> Index:
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise IndexMissingError(f"no index at {folder} (build one with: rag index PATH --index {folder})")
        for _ in range(OPEN_ATTEMPTS - 1):
            generation = saved_generation(folder)
            try:
                return cls._open(folder)
            except RagError:
                if saved_generation(folder) == generation:
                    raise  # really damaged, not a writer switching generations under us
        return cls._open(folder)

    @classmethod
    def _open(cls, folder: Path) -> Index:
        manifest_path = folder / MANIFEST
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
            manifest = Manifest.from_json(data)
            files = data["files"]
            vectors_path = folder / files["vectors"]
            mapped = vector_store.is_large(vectors_path)
            vectors = vector_store.read(vectors_path, manifest.vector_index, mapped)
            chunks: Mapping[int, Chunk]
            if "offsets" in files and vector_store.is_large(folder / files["chunks"]):
                chunks = SavedChunks(folder / files["chunks"], folder / files["offsets"])
            else:  # small, or saved before offsets tables existed
                chunks = read_all_chunks(folder / files["chunks"])
            keywords_folder = folder / data["files"].get("keywords", "-")
            # an index saved before keyword search existed gets it built in memory
            keywords = KeywordIndex.load(keywords_folder) if keywords_folder.is_dir() else None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise RagError(f"index at {folder} is damaged ({reason}); rebuild it with: rag index --rebuild") from None
        if vectors.ntotal != len(chunks):
            raise RagError(
                f"index at {folder} is damaged (vectors and chunks disagree); rebuild it with: rag index --rebuild"
            )
        return cls(folder, manifest, vectors, chunks, keywords, read_only=mapped or isinstance(chunks, SavedChunks))

    def _make_writable(self) -> None:
        """Read a memory-mapped or on-demand index whole, once, before it is changed or saved."""
        if not self._read_only:
            return
        files = self.manifest.to_json()["files"]
        self.vectors = vector_store.read(self.folder / files["vectors"], self.manifest.vector_index, mapped=False)
        self.chunks = read_all_chunks(self.folder / files["chunks"])
        self._read_only = False

    def save(self) -> None:
        self._make_writable()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.vectors, self.manifest.vector_index = vector_store.fit_to_size(self.vectors, self.manifest.vector_index)
        self.manifest.generation = max(self.manifest.generation, self._latest_generation()) + 1
        self.manifest.updated = time.time()
        data = self.manifest.to_json()
        faiss.write_index(self.vectors, str(self.folder / data["files"]["vectors"]))
        write_chunks(self.chunks, self.folder / data["files"]["chunks"], self.folder / data["files"]["offsets"])
        self.keywords.save(self.folder / data["files"]["keywords"])
        # on disk before the manifest points at them, so a power cut cannot leave it pointing at holes
        written = [self.folder / data["files"][name] for name in ("vectors", "chunks", "offsets")]
        _fsync([*written, *sorted((self.folder / data["files"]["keywords"]).iterdir())])
        _write_atomically(self.folder / MANIFEST, json.dumps(data, indent=1, ensure_ascii=False))
        self.remove_stale_files()

    def remove_stale_files(self) -> None:
        """Delete every generation but the saved one: the previous one, or one left by a rebuild or a
        writer that was killed, with the temporary files such a writer left (`.manifest.json.<pid>.tmp`:
        killed before its rename). Call it holding the writer lock: only a writer holding it writes them."""
        current = set(self.manifest.to_json()["files"].values())
        for path in self.folder.glob("*.tmp"):
            path.unlink(missing_ok=True)
        for path in self.folder.glob("*.*"):
            if path.name.split(".")[0] in {"vectors", "chunks", "bm25"} and path.name not in current:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    def _latest_generation(self) -> int:
        numbers = [
            int(p.name.split(".")[1]) for p in self.folder.glob("vectors.*.faiss") if p.name.split(".")[1].isdigit()
        ]
        return max(numbers, default=0)

    # --- contents ----------------------------------------------------------------------------

    def add(self, source: str, entry: DocumentEntry, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add one document's chunks; ids are assigned here so they never collide."""
        self._make_writable()
        if source in self.manifest.documents:
            self.remove(source)
        ids = np.arange(self.manifest.next_id, self.manifest.next_id + len(chunks), dtype=np.int64)
        self.manifest.next_id += len(chunks)
        for chunk_id, chunk in zip(ids.tolist(), chunks, strict=True):
            chunk.id = chunk_id
            chunk.source = source
            self.chunks[chunk_id] = chunk
        if len(chunks):
            self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._keywords = None
        entry.chunk_ids = ids.tolist()
        self.manifest.documents[source] = entry

    def remove(self, source: str) -> bool:
        self._make_writable()
        entry = self.manifest.documents.pop(source, None)
        if entry is None:
            return False
        if entry.chunk_ids:
            self.vectors.remove_ids(np.array(entry.chunk_ids, dtype=np.int64))
        for chunk_id in entry.chunk_ids:
            self.chunks.pop(chunk_id, None)
        self._keywords = None
        return True

    def vectors_of(self, source: str) -> np.ndarray:
        ids = self.manifest.documents[source].chunk_ids
        return np.vstack([self.vectors.reconstruct(i) for i in ids]) if ids else np.zeros((0, self.vectors.d))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Passage]:
        """The k chunks nearest the query vector; `allowed`: sorted chunk ids, the only ones searched."""
        if self.vectors.ntotal == 0:
            return []
        scores, ids = vector_store.search(self.vectors, query, k, allowed)
        return [Passage(self.chunks[int(i)], float(s)) for s, i in zip(scores, ids, strict=True) if i >= 0]

    def __len__(self) -> int:
        return len(self.chunks)


def saved_generation(folder: Path) -> object:
    """The generation the manifest on disk points at now (None if unreadable)."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("generation")
    except (OSError, ValueError, AttributeError):
        return None


def _fsync(paths: list[Path]) -> None:
    for path in paths:
        folder = path.is_dir()
        if folder and os.name == "nt":
            continue  # Windows opens no folder as a file; NTFS journals the rename itself
        descriptor = os.open(path, os.O_RDONLY if folder else os.O_RDWR)  # Windows flushes only a file open to write
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    _fsync([path.parent])  # the rename itself, durable
