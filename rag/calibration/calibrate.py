"""`rag calibrate`: ask the calibration set with every check recorded, fit the operating points, keep the fit.

The model is whatever the settings configure (in process or a model server); the fit is stored under the
model's fingerprint and read by the settings from then on (rag.models.calibration).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from rag.calibration.calibration_set import MANIFEST, calibration_parts
from rag.calibration.fit import FITTED, fit_record, value
from rag.errors import RagError
from rag.evaluation import report as reports
from rag.evaluation.datasets import EvalSet
from rag.evaluation.runner import dataset_rag, run
from rag.models.calibration import fingerprint, save_fit, user_folder
from rag.pipeline import RAG

NO_PROBABILITIES = (
    "calibration needs the model's token probabilities for the answer check, and none were read "
    "(a model server without logprobs): the checks that read them stay not run"
)


@dataclass
class Calibration:
    path: Path  # the fit file written
    fit: dict
    missing: list[str]  # parts of the set whose public data was not found
    seconds: float


def records_folder(rag: RAG) -> Path:
    """Where the answers a calibration recorded are kept, a report folder a part (eval/fit_abstention.py refits
    them): the user's calibration folder, under the model's fingerprint."""
    settings = rag.settings
    return user_folder(settings.paths.cache_dir) / "records" / fingerprint(settings.model_identity())


def ask_every_part(rag: RAG, sets: list[EvalSet], folder: Path, progress: bool) -> list[tuple[str, list[dict]]]:
    """Each part's questions asked with every check recorded, each answer written as it is done."""
    recording = rag.variant(every_check=True)
    # the model first: a server that is down or gives no token probabilities fails here, before the answers a
    # past calibration recorded are written over
    if getattr(recording.generator, "logprobs", True) is False:
        raise RagError(NO_PROBABILITIES)
    bar = tqdm(total=sum(len(s.questions) for s in sets), desc="calibrate", unit="q", disable=not progress)
    parts = []
    try:
        for evalset in sets:
            target = dataset_rag(recording, evalset, progress)
            results = reports.ResultsFile(folder / evalset.name)

            def record(row: dict, results: reports.ResultsFile = results) -> None:
                results.write(row)
                bar.update(1)

            try:
                outcome = run(target, evalset, None, False, on_result=record)
            finally:
                results.close()
            if outcome.interrupted:
                raise KeyboardInterrupt
            config = reports.run_config(target.settings, evalset, "none", False, None, 0)
            (folder / evalset.name / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
            parts.append((evalset.name, outcome.results))
    finally:
        bar.close()
    return parts


def calibrate(
    rag: RAG,
    folder: Path | None = None,
    progress: bool = False,
    warn: Callable[[str], None] = lambda line: None,
    manifest: Path = MANIFEST,
) -> Calibration:
    """Fit the configured model's operating points on the calibration set (`manifest`) and store them (default:
    the user's calibration folder); `warn` hears at once of each part whose public data is absent. Raises
    RagError where no question could be answered or the model gives no token probabilities to fit."""
    started = time.perf_counter()
    sets, missing = calibration_parts(rag.settings.paths.eval_data, manifest)
    for line in missing:
        warn(line)
    total = sum(len(s.questions) for s in sets)
    records = records_folder(rag)
    parts = ask_every_part(rag, sets, records, progress)
    failed = [r for _, rows in parts for r in rows if "error" in r]
    if len(failed) == total:
        raise RagError(f"calibration failed: every question failed ({failed[0]['error']})")
    read = [value(r, "answer_check") for _, rows in parts for r in rows if "checks" in r]
    if not any(v >= 0 for v in read):
        raise RagError(NO_PROBABILITIES)
    settings = rag.settings
    current = {check: getattr(settings.checks, setting) for check, setting in FITTED.items()}
    must = json.loads(manifest.read_text(encoding="utf-8"))["must_answer"]
    must = [i for i in must if any(r["id"] == i for _, rows in parts for r in rows)]
    fit = fit_record(parts, current, must)
    fit |= {
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "calibration_set": {name: len(rows) for name, rows in parts},
        "errors": len(failed),
        "missing": missing,
        "records": str(records),
    }
    path = save_fit(settings.model_identity(), fit, folder or user_folder(settings.paths.cache_dir))
    return Calibration(path, fit, missing, round(time.perf_counter() - started, 1))
