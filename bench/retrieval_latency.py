"""Retrieval latency, warm: question text in, ranked passages out, on the SciFact index (5,183 abstracts).

    python bench/retrieval_latency.py [--queries 300] [--with-mpnet]

Baseline measured in the same run: the bare embedder encode plus a bare FAISS search of the same
index (what dense retrieval cannot go below). Prints p50/p95 per method and the ratio to the baseline,
and writes bench/results/retrieval_latency.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import dataset_rag
from rag.metrics import percentile
from rag.models.weights import resolve_embedder
from rag.pipeline import RAG
from rag.settings import eval_data_dir

SCIFACT = eval_data_dir() / "scifact"
OUT = Path(__file__).with_name("results") / "retrieval_latency.json"
METHODS = {
    "dense": {"retrieval": "dense", "duplicate_threshold": 1.0},
    "keyword": {"retrieval": "keyword", "duplicate_threshold": 1.0},
    "hybrid": {"retrieval": "hybrid", "duplicate_threshold": 1.0},
    "default pipeline": {},
}


def timed(function, items: list[str]) -> list[float]:
    for item in items[:10]:  # warm caches and lazy paths
        function(item)
    times = []
    for item in items:
        started = time.perf_counter()
        function(item)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--with-mpnet", action="store_true", help="also the default pipeline on mpnet embeddings (built if absent)"
    )
    args = parser.parse_args()
    evalset = load_dataset(SCIFACT)
    target = dataset_rag(RAG(), evalset)
    index, embedder, k = target.index, target.embedder, target.settings.top_k
    questions = [q.question for q in evalset.questions][: args.queries]

    from sentence_transformers import SentenceTransformer

    bare_model = SentenceTransformer(resolve_embedder(embedder.name).location, device="cpu")

    def bare(question: str) -> None:
        vector = bare_model.encode([question], normalize_embeddings=True, convert_to_numpy=True)
        index.vectors.search(np.ascontiguousarray(vector, dtype=np.float32), k)

    results = {"baseline: bare encode + bare FAISS search": timed(bare, questions)}
    for name, overrides in METHODS.items():
        results[name] = timed(target.variant(**overrides).retrieve, questions)
    if args.with_mpnet:
        results["default pipeline, mpnet embedder"] = timed(
            dataset_rag(RAG(embedder="mpnet"), evalset).retrieve, questions
        )

    base = percentile(results["baseline: bare encode + bare FAISS search"], 50)
    summary = {}
    print(f"{len(questions)} queries, {len(index)} chunks, top {k}")
    print(f"{'method':<45} {'p50 ms':>8} {'p95 ms':>8} {'p50 ratio':>10}")
    for name, times in results.items():
        p50, p95 = percentile(times, 50), percentile(times, 95)
        summary[name] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "ratio_to_baseline": round(p50 / base, 2)}
        print(f"{name:<45} {p50:8.1f} {p95:8.1f} {p50 / base:10.2f}")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"queries": len(questions), "chunks": len(index), "top_k": k, **summary}, indent=1))


if __name__ == "__main__":
    main()
