"""Retrieval on the test material, each stage side by side with the published figures.

    python eval/retrieval_table.py [--squad-limit N] [--without-mpnet]

SciFact test (300 claims, 5,183 abstracts) and SQuAD v1.1 dev paragraphs (all 2,067 as the corpus,
questions from articles 11-48). Writes eval/results/retrieval_table.md. Nothing here is tuned:
settings were chosen by eval/tune_retrieval.py on training material. Every row but "default without
titles" embeds each chunk after its document's title (`title_in_chunks`, the default). Each row's
metrics are kept in eval/results/retrieval_table.json, keyed by its full settings, the data and the
code of rag/: a rerun computes only the rows whose inputs changed.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import subprocess
import time
from pathlib import Path

from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import retrieval_metrics
from rag.pipeline import RAG
from rag.settings import eval_data_dir

DATA = eval_data_dir()
OUT = Path(__file__).with_name("results") / "retrieval_table.md"
# Each row's metrics, keyed by everything that decides them: a rerun recomputes only what changed.
CACHE = OUT.with_suffix(".json")

CONFIGS = {
    "BM25 alone (bm25s)": {"retrieval": "keyword", "duplicate_threshold": 1.0},
    "dense MiniLM": {"retrieval": "dense", "duplicate_threshold": 1.0},
    "dense mpnet": {"retrieval": "dense", "embedder": "mpnet", "duplicate_threshold": 1.0},
    "hybrid with mpnet in place of MiniLM": {"embedder": "mpnet"},
    "default without titles in chunks": {"title_in_chunks": False},
    "hybrid (convex 0.5), no collapse": {
        "retrieval": "hybrid",
        "fusion": "convex",
        "dense_weight": 0.5,
        "duplicate_threshold": 1.0,
    },
    "default pipeline": {},
}
PUBLISHED = [
    ("BM25, Anserini flat (published)", {"SciFact": (0.679, None, None, 0.925)}),
    ("all-MiniLM-L6-v2 (published, MTEB)", {"SciFact": (0.645, None, 0.783, 0.925)}),
    ("bge-small-en-v1.5 (published, MTEB)", {"SciFact": (0.713, 0.682, 0.836, None)}),
    ("plain BM25, no stemming (eval-data README)", {"SQuAD": (0.863, None, 0.945, None)}),
]
COLUMNS = ("ndcg@10", "mrr@10", "recall@10", "recall@100")


@functools.cache
def code_version() -> str:
    """The git tree of rag/ (with a mark when it has uncommitted changes)."""
    root = Path(__file__).resolve().parents[1]
    tree = subprocess.run(["git", "rev-parse", "HEAD:rag"], cwd=root, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "rag"], cwd=root, capture_output=True, text=True).stdout
    return tree + ("+dirty" if dirty.strip() else "")


def row_key(rag: RAG, overrides: dict, evalset) -> str:  # noqa: ANN001 - an EvalSet
    settings = rag.variant(**overrides).settings.flat(mode="json")
    parts = [settings, evalset.sha256, [q.id for q in evalset.questions], code_version()]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad-limit", type=int, default=0, help="seeded sample of test questions (0: all)")
    parser.add_argument(
        "--without-mpnet",
        action="store_true",
        help="skip the mpnet rows (embedding SciFact with mpnet takes ~36 min on 2 cores)",
    )
    args = parser.parse_args()
    rag = RAG()
    sets = {
        "SciFact": load_dataset(DATA / "scifact"),
        "SQuAD": load_dataset(DATA / "squad-v1.1" / "dev-v1.1.json", args.squad_limit or None, split="test"),
    }
    header = "| retriever | " + " | ".join(f"{name} {c}" for name in sets for c in (*COLUMNS, "recall@5")) + " |"
    lines = [header, "|---|" + "---|" * (len(COLUMNS) + 1) * len(sets)]
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    for label, overrides in CONFIGS.items():
        if args.without_mpnet and overrides.get("embedder") == "mpnet":
            continue
        cells = []
        for name, evalset in sets.items():
            key = row_key(rag, overrides, evalset)
            if key not in cache:
                started = time.perf_counter()
                cache[key] = retrieval_metrics(rag, evalset, **overrides)["retrieval"]
                CACHE.write_text(json.dumps(cache, indent=1))
                print(
                    f"{label} on {name} ({len(evalset.questions)} q): {cache[key]} "
                    f"({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
            cells += [f"{cache[key][c]:.3f}" for c in (*COLUMNS, "recall@5")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label, figures in PUBLISHED:
        cells = []
        for name in sets:
            values = figures.get(name, (None,) * len(COLUMNS))
            cells += ["–" if v is None else f"{v:.3f}" for v in values] + ["–"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    OUT.parent.mkdir(exist_ok=True)
    command = "python eval/retrieval_table.py" + (f" --squad-limit {args.squad_limit}" if args.squad_limit else "")
    command += " --without-mpnet" if args.without_mpnet else ""
    OUT.write_text(
        f"# Retrieval on test material\n\n`{command}`: SciFact test (300 claims, 5,183 abstracts) "
        "and SQuAD v1.1 dev paragraphs (all 2,067 as the corpus; "
        f"{len(sets['SQuAD'].questions)} questions of articles 11-48).\n\n{table}\n"
    )


if __name__ == "__main__":
    main()
