"""Write rag/data/calibration_set.json: the questions `rag calibrate` asks (rag/calibration/calibration_set.py).

    python eval/build_calibration_set.py [--per-kind 20]

From training material only (eval-data README): SQuAD 2.0's tune file and SQuAD 1.1's tune split (articles
1-10). Per SQuAD part, a seeded sample of `--per-kind` answerable and as many unanswerable questions; the
removed-gold part deletes half the split's paragraphs (seed 0). The seed gold set is taken whole: it holds
the mission question the balanced point must leave answered. Only ids and file hashes are written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

from rag.calibration.calibration_set import MANIFEST
from rag.evaluation.datasets import load_dataset
from rag.settings import PROJECT_ROOT, eval_data_dir

SEED = 0
SQUAD_PARTS = (
    {"name": "squad2-tune", "file": "squad-v2.0/tune-v2.0.json", "split": "all", "seed": SEED},
    {
        "name": "squad1-tune-removed-gold",
        "file": "squad-v1.1/dev-v1.1.json",
        "split": "tune",
        "seed": SEED,
        "remove_gold": 0.5,
    },
)
SEED_GOLD = "eval/seed_gold.jsonl"


def squad_part(part: dict, eval_data: Path, per_kind: int) -> dict:
    path = eval_data / part["file"]
    evalset = load_dataset(path, None, part["split"], part["seed"], part.get("remove_gold", 0.0))
    rng = random.Random(SEED)
    ids = []
    for answerable in (True, False):
        pool = [q.id for q in evalset.questions if q.answerable == answerable]
        ids += sorted(rng.sample(pool, per_kind))
    return {"kind": "squad", **part, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "ids": ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=20, help="answerable (and unanswerable) per SQuAD part")
    args = parser.parse_args()
    eval_data = eval_data_dir()
    seed = load_dataset(PROJECT_ROOT / SEED_GOLD)
    parts = [squad_part(part, eval_data, args.per_kind) for part in SQUAD_PARTS]
    parts.append({"kind": "seed", "name": "seed", "file": SEED_GOLD, "ids": [q.id for q in seed.questions]})
    manifest = {
        "about": "rag calibrate's questions (rag/calibration/calibration_set.py); written by "
        "eval/build_calibration_set.py. SQuAD: CC BY-SA 4.0, read from the public files named here.",
        "must_answer": ["seed-001"],
        "parts": parts,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"{MANIFEST}: " + ", ".join(f"{p['name']} {len(p['ids'])}" for p in parts))


if __name__ == "__main__":
    main()
