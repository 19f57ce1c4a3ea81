"""`rag index PATH --ray [ADDRESS]`: load, split and embed files on Ray workers, write one index.

The single-process decisions are reused as they are (rag.store.sync): the driver lists the files
(`candidates`), a Ray Data actor pool of embedders runs `examine` (stat, load, hash, split) on each and
embeds what is new or changed, and the driver puts the results back in file order (`record`,
`add_pending`, `finish`), so the chunks, their ids and content hashes come out as `rag index` gives
them, BM25 is rebuilt over the whole index and the save is the same atomic swap (Index.save).
Workers write nothing: a worker killed mid-run has its batch retried on a restarted actor (up to
`retries` times); past that the run fails and the saved index is left as it was.

Files must be readable at the same path on every node (a shared file system), and every node must
have `rag` and the same embedder installed: a worker whose embedder differs refuses to run.
"""

from __future__ import annotations

import pickle
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError
from rag.ingest.load import ReadOptions
from rag.store.index import DocumentEntry, Index
from rag.store.sync import Examined, add_pending, candidates, embed_new, examine, finish, known_contents, record
from rag.types import IndexReport

BATCH_FILES = 16  # files per task: large enough to batch the embedder, small enough to spread and retry cheaply
RETRIES = 3


class EmbedWorker:
    """One actor of the pool: its own embedder and splitter, loaded once, then batches of files."""

    def __init__(
        self,
        embedder: dict[str, Any],
        splitting: dict[str, Any],
        cache_dir: str | None,
        known: set[str],
        options: ReadOptions,
        threads: int,
    ) -> None:
        import torch

        from rag.ingest.split import splitter_for
        from rag.models.embed import Embedder

        torch.set_num_threads(threads)  # its CPU share, not every core of the node
        self.embedder = Embedder(embedder["name"], cache_dir=Path(cache_dir) if cache_dir else None)
        if self.embedder.fingerprint != embedder["fingerprint"]:
            raise RagError(
                f"embedder '{embedder['name']}' on this node differs from the index's "
                f"({self.embedder.fingerprint} != {embedder['fingerprint']})"
            )
        self.splitter = splitter_for(
            self.embedder, splitting["chunk_tokens"], splitting["chunk_overlap"], splitting["title_in_chunks"]
        )
        self.known = known  # content hashes already in the index: their vectors are reused, not embedded
        self.options = options

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outcomes: list[Examined] = []
        columns = ("path", "source", "sha256", "size", "mtime_ns", "revision")
        for path, source, sha, size, mtime_ns, revision in zip(*(batch[c] for c in columns), strict=True):
            entry = DocumentEntry(str(sha), "", [], int(size), int(mtime_ns), int(revision)) if sha else None
            outcomes.append(examine(Path(str(path)), str(source), entry, self.splitter, self.options))
        # embed exactly what sync() would (embed_new): new content, not a copy of something already indexed
        pending = [o.pending for o in outcomes if o.pending]
        vectors = iter(embed_new(pending, self.known, self.embedder, self.splitter))
        payloads = [
            pickle.dumps((o, next(vectors) if o.pending else None), protocol=pickle.HIGHEST_PROTOCOL) for o in outcomes
        ]
        return {"position": np.asarray(batch["position"], dtype=np.int64), "payload": np.array(payloads, dtype=object)}


@dataclass(frozen=True)
class Pool:
    """The Ray actor pool that does the per-file work. `workers`: actors (default: as many as the cluster's
    CPUs hold); `batch_files`: files per task; `retries`: restarts of a killed actor, and retries of its batch,
    before the run fails; `worker`: the actor class (a subclass in tests)."""

    workers: int | None = None
    cpus_per_worker: float = 1.0
    batch_files: int = BATCH_FILES
    retries: int = RETRIES
    worker: type = EmbedWorker


def ray_sync(
    index: Index,
    roots: list[Path],
    pool: Pool = Pool(),
    cache_dir: Path | None = None,
    options: ReadOptions = ReadOptions(),  # noqa: B008 - frozen
    progress: bool = False,
) -> IndexReport:
    """sync() with the per-file work on a Ray actor pool (Ray must be connected)."""
    started = time.perf_counter()
    report = IndexReport(documents=0, chunks=0)
    found, seen, refused = candidates(index, roots, report)
    known = known_contents(index)
    rows = _rows(index, found)
    outcomes: list[Examined | None] = [None] * len(rows)
    vectors: list[np.ndarray | None] = [None] * len(rows)  # per file, embed_new's (None: nothing new)
    if rows:
        dataset = _embedded(index, rows, pool, known, cache_dir, options, progress)
        _collect(dataset, outcomes, vectors)
    missing = [found[i][1] for i, outcome in enumerate(outcomes) if outcome is None]
    if missing:  # never save a partial result as if it were whole
        raise RagError(f"distributed indexing lost {len(missing)} files (first: {missing[0]}); index unchanged")
    done: list[Examined] = [outcome for outcome in outcomes if outcome is not None]
    pending = record(index, refused + done, report)
    add_pending(index, pending, [v for v, o in zip(vectors, done, strict=True) if o.pending], known, report)
    return finish(index, roots, seen, report, started)


def _rows(index: Index, found: list[tuple[Path, str]]) -> list[dict[str, Any]]:
    """One row per file, in file order, with what the index already holds of it (to tell what changed)."""
    rows = []
    for position, (path, source) in enumerate(found):
        entry = index.manifest.documents.get(source)
        rows.append(
            {
                "position": position,
                "path": str(path),
                "source": source,
                "sha256": entry.sha256 if entry else "",
                "size": entry.size if entry else 0,
                "mtime_ns": entry.mtime_ns if entry else 0,
                "revision": entry.revision if entry else 1,
            }
        )
    return rows


def _embedded(
    index: Index,
    rows: list[dict[str, Any]],
    pool: Pool,
    known: dict[str, str],
    cache_dir: Path | None,
    options: ReadOptions,
    progress: bool,
) -> Any:
    """The rows as a Ray dataset mapped over the actor pool: each batch examined, and its new content embedded."""
    import ray

    workers = pool.workers
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1) // pool.cpus_per_worker))
    workers = max(1, min(workers, -(-len(rows) // pool.batch_files)))  # no idle actors loading a model for nothing
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = progress
    dataset = ray.data.from_items(rows, override_num_blocks=max(1, -(-len(rows) // pool.batch_files)))
    with warnings.catch_warnings():
        # max_restarts and max_task_retries have no named parameter yet in Ray 2.60 (only ray_remote_args)
        warnings.simplefilter("ignore", DeprecationWarning)
        return dataset.map_batches(
            pool.worker,
            fn_constructor_kwargs={
                "embedder": index.manifest.embedder,
                "splitting": index.manifest.splitting,
                "cache_dir": str(cache_dir) if cache_dir else None,
                "known": set(known),
                "options": options,
                "threads": max(1, int(pool.cpus_per_worker)),
            },
            batch_size=pool.batch_files,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=pool.cpus_per_worker,
            # a killed actor is restarted and its batch retried, a bounded number of times (Ray's default
            # is forever, which would hide a file that crashes its worker every time)
            max_restarts=pool.retries,
            max_task_retries=pool.retries,
        )


def _collect(dataset: Any, outcomes: list[Examined | None], vectors: list[np.ndarray | None]) -> None:
    """Run the dataset and put each file's outcome and vectors back at its position; a failure of Ray or of
    a worker fails the run with its last line (the saved index is untouched)."""
    import ray

    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for position, payload in zip(batch["position"], batch["payload"], strict=True):
                outcomes[int(position)], vectors[int(position)] = pickle.loads(payload)
    except (ray.exceptions.RayError, RagError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise RagError(f"distributed indexing failed, the saved index is unchanged ({reason[:300]})") from None


def build(
    rag: Any,
    paths: list[Path] | None = None,
    rebuild: bool = False,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    progress: bool = False,
    **options: Any,
) -> IndexReport:
    """RAG.build on Ray: the same lock, the same copy-then-swap of the index, the per-file work on the cluster.
    `rag`: a rag.RAG; `address`: a cluster's ("auto", "HEAD:6379"), or None for a local Ray."""
    from rag.scale import connect

    connect(address)

    pool = Pool(workers, cpus_per_worker, **options)

    def on_ray(index: Index, roots: list[Path], progress: bool, options: ReadOptions) -> IndexReport:
        return ray_sync(index, roots, pool, rag.settings.paths.cache_dir, options, progress)

    return rag.build(paths, rebuild=rebuild, progress=progress, syncer=on_ray)
