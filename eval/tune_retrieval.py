"""Choose the retrieval settings on training material only: SciFact claims_train and SQuAD articles 1-10.

    python eval/tune_retrieval.py [--squad-limit 500]

Prints nDCG@10 / R@5 / R@100 for each candidate setting and writes eval/results/tune_retrieval.md.
The defaults in rag/settings.py are the best row here (test sets are only reported, never tuned on).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rag.evaluation.claims import training_queries
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import retrieval_metrics
from rag.pipeline import RAG
from rag.settings import eval_data_dir

DATA = eval_data_dir()
OUT = Path(__file__).with_name("results") / "tune_retrieval.md"


def candidates() -> list[dict]:
    rows = [{"retrieval": "dense"}, {"retrieval": "keyword"}]
    # the same three without the document title in front of each chunk (the default before it was measured)
    rows += [{**row, "title_in_chunks": False} for row in (*rows, {"retrieval": "hybrid", "fusion": "convex"})]
    for k, depth in ((60, 50), (60, 100), (20, 50)):
        rows.append({"retrieval": "hybrid", "fusion": "rrf", "rrf_k": k, "candidates": depth})
    for weight in (0.3, 0.4, 0.5, 0.6, 0.7):
        rows.append({"retrieval": "hybrid", "fusion": "convex", "dense_weight": weight, "candidates": 50})
    return [{**row, "duplicate_threshold": 1.0} for row in rows] + [{}]  # {}: the defaults, collapse on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad-limit", type=int, default=500, help="seeded sample of tune questions (0: all)")
    args = parser.parse_args()
    rag = RAG()
    sets = {
        "SciFact train": training_queries(DATA / "scifact"),
        "SQuAD tune": load_dataset(DATA / "squad-v1.1" / "dev-v1.1.json", args.squad_limit or None, split="tune"),
    }
    lines = [
        "| setting | " + " | ".join(f"{name} nDCG@10 | {name} R@5 | {name} R@100" for name in sets) + " |",
        "|---|" + "---|" * 3 * len(sets),
    ]
    for overrides in candidates():
        names = ("retrieval", "fusion", "rrf_k", "dense_weight", "candidates", "duplicate_threshold", "title_in_chunks")
        defaults = "defaults: " + ", ".join(f"{name}={getattr(rag.settings, name)}" for name in names)
        label = ", ".join(f"{k}={v}" for k, v in overrides.items()) or defaults
        cells = []
        for evalset in sets.values():
            started = time.perf_counter()
            r = retrieval_metrics(rag, evalset, **overrides)["retrieval"]
            cells += [f"{r['ndcg@10']:.4f}", f"{r['recall@5']:.4f}", f"{r['recall@100']:.4f}"]
            print(f"{label} on {evalset.name}: {r} ({time.perf_counter() - started:.0f} s)", flush=True)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    OUT.parent.mkdir(exist_ok=True)
    sample = f"a seeded sample of {args.squad_limit}" if args.squad_limit else "all"
    OUT.write_text(
        f"# Retrieval tuning on training material\n\n`python eval/tune_retrieval.py` (SQuAD: {sample} "
        f"questions of articles 1-10; SciFact: all 809 training claims)\n\n{table}\n"
    )


if __name__ == "__main__":
    main()
