"""Filtered retrieval at 1M chunks: `search` with no filter, one keeping ~1% and one keeping ~50% of the chunks.

    python bench/filter_latency.py [--chunks 1000000] [--queries 200] [--passes 2]

The index is synthetic, built once through rag's own Index (so at 1M chunks it is the IVF that `rag index`
would save) and cached under ~/.cache/rag/bench-filter/: 50,000 documents of 20 chunks, sources spread over
100 folders (`dept07/2021/doc1207.txt`), five file types and seven years of modification dates. Vectors are of
MiniLM's dimension (384): each document is a random place in a 16-dimensional space projected to 384, its
chunks near it, so meanings vary continuously as real text's do and the IVF's tuned nprobe is of the order a
real collection gets (SciFact at 1M: 64 of 1,024 lists; tightly clustered vectors would need 2, and make the
unfiltered search look cheaper than it is). Chunk texts draw words from the topic of their place (one of
1,000) and from a common vocabulary. Queries are random places with four words of their topic.

Filters, as a user would type them: `--source 'dept07/**'` (one folder of a hundred: ~1%) and
`--after <the middle date>` (~50%). Each query is timed through rag.retrieval.retrieve.search (dense + BM25 +
fusion + collapse, top 5, default settings), the three cases interleaved in the same run. Also: the first,
uncached computation of each filter's chunk ids from the manifest, and the dense recall@10 of the filtered
search against exact search among the kept chunks. Prints the CPU and a table, writes
bench/results/filter_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("results") / "filter_latency.json"
CACHE = Path.home() / ".cache" / "rag" / "bench-filter"
DIMENSION = 384
PER_DOCUMENT = 20
TOPICS = 1000
LATENT = 16  # documents spread over a 16-dimensional space: an IVF needs as much probing as for real text
FOLDERS = 100
TYPES = ["pdf", "docx", "txt", "md", "html"]
FIRST_DAY, LAST_DAY = date(2019, 1, 1), date(2025, 12, 31)
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gu", "be", "fi", "ho", "ja"]


def cpu() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in os.popen("lscpu").read().splitlines() if "Model name" in line), "?"
    )
    flags = Path("/proc/cpuinfo").read_text()
    return f"{model}, {os.cpu_count()} cores, avx512_bf16 {'yes' if 'avx512_bf16' in flags else 'no'}"


def words(count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct made-up words of three to four syllables."""
    made: set[str] = set()
    while len(made) < count:
        made.add("".join(rng.choice(SYLLABLES, size=rng.integers(3, 5))))
    return np.array(sorted(made))


def topic_text(topic_words: np.ndarray, common: np.ndarray, rng: np.random.Generator, n_topic: int, n_common: int):
    picked = [*rng.choice(topic_words, n_topic), *common[np.minimum(rng.zipf(1.3, n_common), len(common)) - 1]]
    return " ".join(picked)


def source_of(doc: int, day: date) -> str:
    return f"dept{doc % FOLDERS:02d}/{day.year}/doc{doc}.{TYPES[(doc // FOLDERS) % len(TYPES)]}"


def embedded(latent: np.ndarray, space: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Unit vectors of points of the latent space: projected to DIMENSION, with a little noise of their own."""
    vectors = latent @ space["projection"]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    noise = rng.normal(size=vectors.shape).astype(np.float32)
    vectors += 0.3 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), dtype=np.float32)


def build(folder: Path, size: int) -> None:
    """The synthetic index (see the module's docstring), saved by rag's Index; vectors kept aside for the truth."""
    from rag.store.index import DocumentEntry, Index
    from rag.types import Chunk

    rng = np.random.default_rng(0)
    space = {
        "projection": rng.normal(size=(LATENT, DIMENSION)).astype(np.float32),
        "anchors": rng.normal(size=(LATENT, TOPICS)).astype(np.float32),  # a place's topic: the anchor it faces
        "topic_words": words(20 * TOPICS, rng).reshape(TOPICS, 20),
    }
    common = words(5000, rng)
    documents = size // PER_DOCUMENT
    places = rng.normal(size=(documents, LATENT)).astype(np.float32)
    topics = np.argmax(places @ space["anchors"], axis=1)
    days = rng.integers(0, (LAST_DAY - FIRST_DAY).days + 1, documents)
    index = Index.create(folder, {"name": "minilm", "dimension": DIMENSION, "fingerprint": "bench-filter"}, {})
    data = np.lib.format.open_memmap(folder.parent / f"{folder.name}-vectors.npy", "w+", np.float32, (size, DIMENSION))
    started = time.perf_counter()
    for doc in range(documents):
        chunk_places = places[doc] + 0.5 * rng.normal(size=(PER_DOCUMENT, LATENT)).astype(np.float32)
        vectors = embedded(chunk_places, space, rng)
        data[doc * PER_DOCUMENT : (doc + 1) * PER_DOCUMENT] = vectors
        texts = [topic_text(space["topic_words"][topics[doc]], common, rng, 8, 22) for _ in range(PER_DOCUMENT)]
        chunks = [Chunk(-1, "", "", text, 0, len(text)) for text in texts]
        day = date.fromordinal(FIRST_DAY.toordinal() + int(days[doc]))
        mtime_ns = int(datetime(day.year, day.month, day.day, 12).timestamp() * 1e9)
        entry = DocumentEntry(f"sha{doc}", "", [], size=1000, mtime_ns=mtime_ns)
        index.add(source_of(doc, day), entry, chunks, vectors)
        if doc % 5000 == 0:
            print(f"  added {doc:,} documents ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    data.flush()
    del data
    print("  saving (IVF training, BM25) …", file=sys.stderr, flush=True)
    index.save()
    meta = {"build_s": round(time.perf_counter() - started, 1), "vector_index": index.manifest.vector_index}
    np.savez(folder.parent / f"{folder.name}-space.npz", **space)
    (folder.parent / f"{folder.name}-build.json").write_text(json.dumps(meta))


def queries(folder: Path, count: int) -> tuple[np.ndarray, list[str]]:
    """Query vectors at random places of the latent space, each with four words of the topic there."""
    rng = np.random.default_rng(1)
    space = dict(np.load(folder.parent / f"{folder.name}-space.npz"))
    places = rng.normal(size=(count, LATENT)).astype(np.float32)
    topics = np.argmax(places @ space["anchors"], axis=1)
    texts = [" ".join(rng.choice(space["topic_words"][t], 4)) for t in topics]
    return embedded(places, space, rng), texts


def dense_recall(index, folder: Path, vectors: np.ndarray, allowed: np.ndarray | None) -> float:  # noqa: ANN001
    """Recall@10 of the (filtered) dense search against exact search among the kept chunks."""
    data = np.load(folder.parent / f"{folder.name}-vectors.npy", mmap_mode="r")
    kept = np.arange(len(data)) if allowed is None else allowed  # ids were assigned in data order from 0
    scores = np.hstack([vectors @ np.asarray(data[kept[s : s + 100_000]]).T for s in range(0, len(kept), 100_000)])
    hits = total = 0
    for q, query in enumerate(vectors):
        truth = set(kept[np.argsort(-scores[q])[:10]].tolist())
        found = {p.chunk.id for p in index.search(query, 10, allowed)}
        hits, total = hits + len(truth & found), total + 10
    return hits / total


def percentiles(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50)), float(np.percentile(times, 90))


def measure(folder: Path, count: int, passes: int) -> dict:
    from rag.retrieval.filters import DocumentFilter
    from rag.retrieval.retrieve import search
    from rag.settings import Settings
    from rag.store.index import Index

    index = Index.open(folder)
    middle = date.fromordinal((FIRST_DAY.toordinal() + LAST_DAY.toordinal()) // 2).isoformat()
    filters = {
        "none": None,
        "~1%: --source 'dept07/**'": DocumentFilter.parse(sources=["dept07/**"]),
        f"~50%: --after {middle}": DocumentFilter.parse(modified_after=middle),
    }
    first_ms, allowed = {}, {}
    for name, chosen in filters.items():
        started = time.perf_counter()
        allowed[name] = chosen.chunk_ids(index) if chosen else None
        first_ms[name] = (time.perf_counter() - started) * 1000
    vectors, texts = queries(folder, count)
    settings = Settings().search
    k = Settings().answering.top_k
    for q in range(10):  # warm: pages of the memory-mapped files, BM25's arrays
        for chosen in filters.values():
            search(index, vectors[q], texts[q], k, settings, allowed=chosen.chunk_ids(index) if chosen else None)
    times: dict[str, list[float]] = {name: [] for name in filters}
    for _ in range(passes):
        for q in range(count):
            for name, chosen in filters.items():  # interleaved: the machine's load falls on all three alike
                started = time.perf_counter()
                kept = chosen.chunk_ids(index) if chosen else None  # cached after the first: as a second question
                search(index, vectors[q], texts[q], k, settings, allowed=kept)
                times[name].append((time.perf_counter() - started) * 1000)
    base = percentiles(times["none"])
    rows = []
    for name in filters:
        p50, p90 = percentiles(times[name])
        kept = len(index) if allowed[name] is None else len(allowed[name])
        rows.append(
            {
                "filter": name,
                "kept_chunks": kept,
                "kept_share": round(kept / len(index), 4),
                "p50_ms": round(p50, 2),
                "p90_ms": round(p90, 2),
                "p50_ratio": round(p50 / base[0], 2),
                "p90_ratio": round(p90 / base[1], 2),
                "first_filter_ms": round(first_ms[name], 1),
                "dense_recall_at_10": round(dense_recall(index, folder, vectors[:50], allowed[name]), 3),
            }
        )
    return {"chunks": len(index), "vector_index": index.manifest.vector_index, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passes", type=int, default=2, help="times each query is timed per filter")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the built index is kept")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # the build, in its own process
    args = parser.parse_args()
    folder = args.cache / f"{args.chunks}"
    if args.build:
        build(args.build, args.chunks)
        return
    if not (folder.parent / f"{folder.name}-build.json").is_file():
        print(f"building {args.chunks:,} chunks into {folder} (once) …", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--chunks", str(args.chunks), "--build", str(folder)]
        subprocess.run(command, check=True)  # its memory is given back before measuring
    built = json.loads((folder.parent / f"{folder.name}-build.json").read_text())
    result = {
        "cpu": cpu(),
        "queries": args.queries,
        "passes": args.passes,
        **built,
        **measure(folder, args.queries, args.passes),
    }
    print(f"CPU: {result['cpu']}")
    v = result["vector_index"]
    kind = "flat (exact)" if v["type"] == "flat" else f"IVF{v['nlist']}, nprobe {v['nprobe']}"
    print(f"{result['chunks']:,} chunks, {kind}; {args.queries} queries x {args.passes} passes, top 5, hybrid")
    print(
        "| filter | chunks kept | p50 ms | p90 ms | p50 / none | p90 / none | first filter ms | dense recall@10 |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for r in result["rows"]:
        cells = [
            r["filter"],
            f"{r['kept_chunks']:,} ({r['kept_share']:.1%})",
            f"{r['p50_ms']:.1f}",
            f"{r['p90_ms']:.1f}",
            f"{r['p50_ratio']:.2f}",
            f"{r['p90_ratio']:.2f}",
            f"{r['first_filter_ms']:.0f}",
            f"{r['dense_recall_at_10']:.3f}",
        ]
        print("| " + " | ".join(cells) + " |")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
