"""Search at scale: our index against bare FAISS of the same type, at 10k, 100k and 1M chunks.

    python bench/search_scale.py [--sizes 10000 100000 1000000] [--passes 3]

The vectors are SciFact's 38.5k MiniLM chunk vectors (the cached evaluation index) and, past them,
synthetic ones: a real vector moved by noise as large as itself, with that chunk's text. The queries
are SciFact's 300 test claims, embedded. Each index is built once (rag.index: the type chosen by size,
recorded in the manifest) and cached under ~/.cache/rag/bench-scale/. Each measurement runs in a
fresh process, so open time and memory are those of a process that opens the index and searches it:

    ours   Index.open (large files memory-mapped, chunks read on demand), then Index.search(vector, 10):
           ids *and* chunk texts out. Also the full hybrid search (dense + BM25 + fusion + collapse).
    bare   faiss.read_index of the same file (read whole), then index.search(vector, 10): ids out.

Recall@10 is against exact search over the same vectors. Prints a table, writes
bench/results/search_scale.json. Medians and ratios, measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rag.settings import eval_data_dir

OUT = Path(__file__).with_name("results") / "search_scale.json"
SCIFACT = eval_data_dir() / "scifact"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- building (once per size) ----------------------------------------------------------------------


def base_collection(cache: Path) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """SciFact's chunk vectors and texts, and its test claims with their vectors."""
    from rag.evaluation.datasets import load_dataset
    from rag.evaluation.runner import dataset_rag
    from rag.pipeline import RAG
    from rag.store import vector_store

    evalset = load_dataset(SCIFACT)
    target = dataset_rag(RAG(), evalset)
    ids, vectors = vector_store.stored(target.index.vectors)
    order = np.argsort(ids)
    texts = [target.index.chunks[int(i)].text for i in ids[order]]
    questions = [q.question for q in evalset.questions]
    query_file = cache / "queries.npy"
    if not query_file.is_file():
        np.save(query_file, target.embedder.encode(questions))
    return vectors[order], texts, np.load(query_file), questions


def build(folder: Path, size: int, base: np.ndarray, texts: list[str]) -> dict:
    from rag.store.index import DocumentEntry, Index
    from rag.types import Chunk

    rng = np.random.default_rng(size)
    picks = np.arange(size) % len(base)
    data = base[picks].copy()
    extra = np.arange(size) >= len(base)  # beyond the real collection: a real vector, moved
    noise = rng.normal(size=(int(extra.sum()), base.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    data[extra] += noise
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    started = time.perf_counter()
    index = Index.create(folder, {"name": "minilm", "dimension": base.shape[1], "fingerprint": "bench"}, {})
    per_document = 1000
    for start in range(0, size, per_document):
        rows = range(start, min(size, start + per_document))
        chunks = [Chunk(id=-1, source="", title="", text=texts[picks[i]], start=0, end=0, page=1) for i in rows]
        entry = DocumentEntry(f"sha{start}", "", [])
        index.add(f"doc{start // per_document}", entry, chunks, data[rows.start : rows.stop])
    index.save()
    seconds = time.perf_counter() - started
    np.save(folder / "bench-data.npy", data)  # for the exact answers below, not part of the index
    return {"build_s": round(seconds, 1), "vector_index": index.manifest.vector_index}


def exact_neighbours(folder: Path, queries: np.ndarray) -> np.ndarray:
    """Chunk ids of the true top 10 (ids were assigned in data order from 0)."""
    import faiss

    data = np.load(folder / "bench-data.npy", mmap_mode="r")
    exact = faiss.IndexFlatIP(data.shape[1])
    for start in range(0, len(data), 100_000):
        exact.add(np.ascontiguousarray(data[start : start + 100_000]))
    return exact.search(queries, 10)[1]


# --- measuring (a fresh process each) ----------------------------------------------------------------


def timed_queries(search, items: list, passes: int) -> tuple[list[float], list[list[int]]]:  # noqa: ANN001
    for item in items[:10]:
        search(item)  # warm
    times, found = [], []
    for _ in range(passes):
        found = []
        for item in items:
            started = time.perf_counter()
            found.append(search(item))
            times.append((time.perf_counter() - started) * 1000)
    return times, found


def worker(kind: str, folder: Path, passes: int) -> dict:
    queries = np.load(folder.parent / "queries.npy")
    questions = json.loads((folder.parent / "questions.json").read_text())
    truth = np.load(folder / "truth.npy")
    if kind == "bare":
        import faiss

        before = rss_mb()
        started = time.perf_counter()
        vectors = faiss.read_index(str(next(folder.glob("vectors.*.faiss"))))
        open_s = time.perf_counter() - started
        meta = json.loads((folder / "manifest.json").read_text())["vector_index"]
        if meta["type"] == "ivf":
            vectors.nprobe = meta["nprobe"]
        opened_mb = rss_mb() - before

        def search(query: np.ndarray) -> list[int]:
            return vectors.search(query.reshape(1, -1), 10)[1][0].tolist()

        extra = {}
    else:
        from rag.retrieval.retrieve import search as full_search
        from rag.settings import Settings
        from rag.store.index import Index

        before = rss_mb()
        started = time.perf_counter()
        index = Index.open(folder)
        open_s = time.perf_counter() - started
        opened_mb = rss_mb() - before

        def search(query: np.ndarray) -> list[int]:
            return [passage.chunk.id for passage in index.search(query, 10)]

        settings = Settings()

        def hybrid(i: int) -> list[int]:
            return [p.chunk.id for p in full_search(index, queries[i], questions[i], settings.top_k, settings)]

        hybrid_times, _ = timed_queries(hybrid, list(range(len(queries))), 1)
        extra = {"hybrid_p50_ms": round(statistics.median(hybrid_times), 2)}
    times, found = timed_queries(search, list(queries), passes)
    from rag.store.vector_store import recall_at

    return {
        "open_s": round(open_s, 4),
        "rss_after_open_mb": round(opened_mb, 1),
        "rss_after_search_mb": round(rss_mb() - before, 1),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
        "recall_at_10": round(recall_at(np.array(found), truth), 4),
        **extra,
    }


def run_worker(kind: str, folder: Path, passes: int) -> dict:
    command = [sys.executable, __file__, "--worker", kind, "--folder", str(folder), "--passes", str(passes)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{kind} worker failed on {folder}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--passes", type=int, default=3, help="times each query is timed")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "rag" / "bench-scale")
    parser.add_argument("--worker", choices=["ours", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.folder, args.passes)))
        return
    if not SCIFACT.is_dir():
        sys.exit(f"needs SciFact at {SCIFACT} (set eval_data / RAG_EVAL_DATA)")
    from rag.store import vector_store

    args.cache.mkdir(parents=True, exist_ok=True)
    base, texts, queries, questions = base_collection(args.cache)
    (args.cache / "questions.json").write_text(json.dumps(questions))
    rows = []
    for size in args.sizes:
        folder = args.cache / f"{size}-limit{vector_store.EXACT_LIMIT}"
        info_file = folder / "bench-build.json"
        if not info_file.is_file():
            print(f"building {size:,} chunks …", file=sys.stderr)
            info = build(folder, size, base, texts)
            np.save(folder / "truth.npy", exact_neighbours(folder, queries))
            info_file.write_text(json.dumps(info))
        info = json.loads(info_file.read_text())
        bare, ours = run_worker("bare", folder, args.passes), run_worker("ours", folder, args.passes)
        ratio = round(ours["p50_ms"] / bare["p50_ms"], 2)
        row = {"chunks": size, **info, "bare": bare, "ours": ours, "p50_ratio": ratio}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)

    print(
        "| chunks | index | bare p50 / p99 ms | ours p50 / p99 ms | p50 ratio | recall@10 | open s bare / ours "
        "| RSS MB bare / ours | hybrid p50 ms |\n|" + "---|" * 9
    )
    for r in rows:
        v, b, o = r["vector_index"], r["bare"], r["ours"]
        kind = "flat (exact)" if v["type"] == "flat" else f"IVF{v['nlist']}, nprobe {v['nprobe']}"
        cells = [
            f"{r['chunks']:,}",
            kind,
            f"{b['p50_ms']:.2f} / {b['p99_ms']:.2f}",
            f"{o['p50_ms']:.2f} / {o['p99_ms']:.2f}",
            f"{r['p50_ratio']:.2f}",
            f"{o['recall_at_10']:.3f}",
            f"{b['open_s']:.3f} / {o['open_s']:.3f}",
            f"{b['rss_after_search_mb']:.0f} / {o['rss_after_search_mb']:.0f}",
            f"{o['hybrid_p50_ms']:.1f}",
        ]
        print("| " + " | ".join(cells) + " |")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"queries": len(queries), "passes": args.passes, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
