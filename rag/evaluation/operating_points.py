"""Where a run's answers fall on the risk-coverage plane: its own decisions and, for a run that recorded every
check, each strictness's thresholds applied to the same answers, with the curve the answer check's threshold
draws (rag.calibration.fit). What `rag eval` reports beside the metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.calibration.fit import STRICTNESS, curve, figures, outcome, recorded_every_check, table
from rag.settings import PROJECT_ROOT, Settings


def _as_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's own decisions: shown where it did not abstain, right where a shown answer holds a gold answer
    (answerable) or it abstained (unanswerable)."""
    rows = [r for r in results if "abstained" in r]
    answerable = [r for r in rows if r["answerable"]]
    shown = [r for r in rows if not r["abstained"]]
    right_shown = [r for r in shown if r["answerable"] and r.get("contains")]
    counted = {
        "questions": len(rows),
        "answerable": len(answerable),
        "shown": len(shown),
        "right_shown": len(right_shown),
        "abstained_unanswerable": sum(r["abstained"] for r in rows if not r["answerable"]),
    }
    answered = round(sum(not r["abstained"] for r in answerable) / len(answerable), 4) if answerable else None
    return {**figures(counted), "answered": answered}


def _named(path: Path) -> str:
    """A fit file as a report names it: within the project, relative to it (reports are committed)."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def risk_coverage(results: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """The run's point ("as run"), and where every check was recorded, each strictness's point and the curve."""
    if not any("abstained" in r for r in results):
        return {}
    out: dict[str, Any] = {"points": {"as run": _as_run(results)}}
    if not recorded_every_check(results):
        return out
    t = table(results)
    for strictness in STRICTNESS:
        checks = settings.with_overrides(strictness=strictness).checks
        thresholds = {"retrieval": checks.min_retrieval_score, "answer_check": checks.min_answer_check}
        out["points"][strictness] = {
            "min_retrieval_score": thresholds["retrieval"],
            "min_answer_check": thresholds["answer_check"],
            **outcome(t, thresholds),
        }
    out["curve"] = curve(t, settings.checks.min_retrieval_score)
    out["calibration"] = _named(settings.calibration) if settings.calibration else "none (conservative thresholds)"
    return out
