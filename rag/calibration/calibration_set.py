"""The calibration set: which questions `rag calibrate` asks, named in rag/data/calibration_set.json.

Three parts, each a kind of question a model must be fitted for:
- `squad2-tune`: SQuAD 2.0's tune split, half of it unanswerable questions written to look answerable;
- `squad1-tune-removed-gold`: SQuAD 1.1 tune-split (articles 1-10) questions asked of those articles with half
  their paragraphs deleted: documents near the question but silent on it, the case users meet most;
- `seed`: the shipped article's gold set (eval/seed_gold.jsonl), its mission question among it.

The public data is not copied into the project (eval-data README): the manifest names the questions by their
SQuAD ids and the files by their sha256, and they are read from the evaluation data folder (`paths.eval_data`:
../shared/eval-data, or a copy of SQuAD laid out as there). The seed part is the project's own and always there.
eval/build_calibration_set.py writes the manifest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rag.evaluation.datasets import EvalSet, load_dataset
from rag.ingest.load import find_files, load_file
from rag.settings import DEFAULT_CORPUS, PROJECT_ROOT

MANIFEST = Path(__file__).resolve().parent.parent / "data" / "calibration_set.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _chosen(evalset: EvalSet, ids: list[str], name: str) -> EvalSet:
    by_id = {q.id: q for q in evalset.questions}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{evalset.path}: {len(missing)} calibration questions are not in it ({missing[0]} …)")
    evalset.name, evalset.questions = name, [by_id[i] for i in ids]
    return evalset


def _squad_part(part: dict, eval_data: Path) -> EvalSet | str:
    """A SQuAD part of the set, or why it is not there."""
    path = eval_data / part["file"]
    if not path.is_file():
        return f"{part['name']}: no {path}"
    if _sha256(path) != part["sha256"]:
        return f"{part['name']}: {path} is not the file the set was built from (sha256 differs)"
    evalset = load_dataset(path, None, part["split"], part["seed"], part.get("remove_gold", 0.0))
    return _chosen(evalset, part["ids"], part["name"])


def _seed_part(part: dict) -> EvalSet:
    """The seed gold questions with the shipped corpus as their corpus (not whatever index is configured)."""
    evalset = load_dataset(PROJECT_ROOT / part["file"])
    evalset.corpus = [load_file(path) for path in find_files([DEFAULT_CORPUS])]
    evalset.kind = "calibration-seed"
    return _chosen(evalset, part["ids"], part["name"])


def calibration_parts(eval_data: Path, manifest: Path = MANIFEST) -> tuple[list[EvalSet], list[str]]:
    """The parts of the set found, and a line for each part that is not (its public data absent)."""
    sets: list[EvalSet] = []
    missing: list[str] = []
    for part in json.loads(manifest.read_text(encoding="utf-8"))["parts"]:
        found = _seed_part(part) if part["kind"] == "seed" else _squad_part(part, eval_data)
        (missing.append if isinstance(found, str) else sets.append)(found)
    return sets, missing
