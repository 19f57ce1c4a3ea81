"""Operating points fitted from recorded checks: the thresholds each strictness uses, and the risk-coverage curve.

A `rag eval --every-check` run (or `rag calibrate`, which makes one on the calibration set) records, for every
answer, each check of rag/answering/checks.py with the value it read. The decision under any thresholds is
then recomputed without asking the model again: an answer is shown when every check passes, the two with a
threshold (retrieval, answer_check) re-read at the candidate values.

"Right" means what a reader wants: an answerable question answered with a gold answer in what is stated
(`contains`), an unanswerable one abstained on. Precision is right among the answers shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering import checks
from rag.answering.question import parse
from rag.metrics import contains
from rag.settings import STRICTNESS

FITTED = {"retrieval": "min_retrieval_score", "answer_check": "min_answer_check"}  # check -> its setting
GRID = {
    "retrieval": np.round(np.arange(0.0, 0.61, 0.01), 2),
    "answer_check": np.round(np.arange(0.0, 0.991, 0.01), 2),
}
LOOSEST = {"retrieval": -1.0, "answer_check": 0.0}
# What each operating point promises on the calibration set (docs/checks.md says the same):
KEEP_LENIENT = 1.0  # lenient: every right answer the loosest thresholds give is kept
KEEP_BALANCED = 0.97  # balanced: at least 97% of them in each part, and the must-answer questions answered
# strict: of the answers shown at least 90% right, answering as many right as that allows, and never fewer than half
# the right answers (a strict point answering three questions in a hundred serves nobody); where the model cannot
# reach 90% so, the most precise point that keeps half, and the fit says the target was not reached
STRICT_PRECISION = 0.90
STRICT_KEEP = 0.5
# A question that must be answered stays so with this much room: P(Yes) differs by about 0.02 between runtimes,
# CPUs and what the model's caches hold (eval/results/check_across_runtimes.md, bench/server_generator.py)
MARGIN = 0.03


@dataclass(frozen=True)
class Table:
    """Per recorded answer: each threshold check's value, each other check's verdict, and the outcome."""

    values: dict[str, np.ndarray]  # retrieval, answer_check (-1 where not run)
    verdicts: dict[str, np.ndarray]  # the checks without a threshold: passed or not
    answerable: np.ndarray
    contains: np.ndarray  # whether what the checks would let through holds a gold answer

    def __len__(self) -> int:
        return len(self.answerable)


def stated(row: dict) -> str:
    """What a recorded answer states: its supported sentences (also where the run abstained)."""
    return " ".join(s["text"] for s in row.get("sentences", []) if s["supported"])


def value(row: dict, name: str) -> float:
    """The value a recorded check read (-1 where it did not run)."""
    check = next((c for c in row["checks"] if c["name"] == name), None)
    return -1.0 if check is None or check["value"] is None else check["value"]


def recorded_every_check(rows: Sequence[dict]) -> bool:
    """Whether the rows carry the answer check's value everywhere it could run (an --every-check run)."""
    answered = [r for r in rows if "checks" in r]
    return bool(answered) and all(any(c["name"] == "answer_check" for c in r["checks"]) for r in answered)


def table(rows: Sequence[dict]) -> Table:
    """The decision table of recorded answers (rows without checks, failed questions, are left out)."""
    rows = [r for r in rows if "checks" in r]

    def passed(r: dict, name: str) -> bool:
        check = next((c for c in r["checks"] if c["name"] == name), None)
        return True if check is None else check["passed"]

    names = dict.fromkeys(c["name"] for r in rows for c in r["checks"] if c["name"] not in FITTED)
    verdicts = {name: np.array([passed(r, name) for r in rows], dtype=bool) for name in names}
    if "informative" in names:  # a function of the recorded text: read again with today's code
        verdicts["informative"] = np.array(
            [checks.informative(parse(r["question"]), stated(r)).passed for r in rows], dtype=bool
        )
    return Table(
        values={name: np.array([value(r, name) for r in rows]) for name in FITTED},
        verdicts=verdicts,
        answerable=np.array([r["answerable"] for r in rows], dtype=bool),
        contains=np.array([bool(contains(stated(r), r.get("gold_answers", []))) for r in rows], dtype=bool),
    )


def shown(t: Table, thresholds: dict[str, float], off: tuple[str, ...] = ()) -> np.ndarray:
    """Which answers are shown under these thresholds, the checks in `off` not deciding."""
    out = np.ones(len(t), dtype=bool)
    for name, verdicts in t.verdicts.items():
        if name not in off:
            out &= verdicts
    for name, threshold in thresholds.items():
        out &= t.values[name] >= threshold
    return out


def counts(t: Table, thresholds: dict[str, float], off: tuple[str, ...] = ()) -> dict[str, int]:
    """How many answers are shown, shown and right, and right in all (an abstention on an unanswerable one)."""
    s = shown(t, thresholds, off)
    a = t.answerable
    right_shown = int((s & a & t.contains).sum())
    return {
        "questions": len(t),
        "answerable": int(a.sum()),
        "shown": int(s.sum()),
        "right_shown": right_shown,  # answerable questions answered right (only those can be)
        "abstained_unanswerable": int((~s & ~a).sum()),
    }


def figures(c: dict[str, int]) -> dict[str, float | None]:
    """Shares from counts: right answers among the answerable, answered, abstained on the unanswerable, right
    among the answers shown (precision) and the share of questions shown (coverage)."""
    unanswerable = c["questions"] - c["answerable"]

    def share(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    return {
        "contains": share(c["right_shown"], c["answerable"]),
        "abstained": share(c["abstained_unanswerable"], unanswerable),
        "precision": share(c["right_shown"], c["shown"]),
        "coverage": share(c["shown"], c["questions"]),
        "right": share(c["right_shown"] + c["abstained_unanswerable"], c["questions"]),
    }


def outcome(t: Table, thresholds: dict[str, float], off: tuple[str, ...] = ()) -> dict[str, float | None]:
    """Shares under these thresholds, plus `answered` (the answerable questions shown an answer)."""
    s = shown(t, thresholds, off)
    answered = round(float(s[t.answerable].mean()), 4) if t.answerable.any() else None
    return {**figures(counts(t, thresholds, off)), "answered": answered}


def pooled(tables: Sequence[Table], thresholds: dict[str, float]) -> dict[str, int]:
    """Counts over every table together."""
    each = [counts(t, thresholds) for t in tables]
    return {key: sum(c[key] for c in each) for key in each[0]}


def _candidates(must: Sequence[dict[str, float]]):  # noqa: ANN202 - a generator of threshold dicts
    """Every grid point that leaves each of `must` (the values a must-answer question read, less MARGIN) shown."""
    for r in GRID["retrieval"]:
        for c in GRID["answer_check"]:
            if all(m["retrieval"] >= r and m["answer_check"] >= c for m in must):
                yield {"retrieval": float(r), "answer_check": float(c)}


def _nearest(thresholds: dict[str, float], current: dict[str, float]) -> float:
    return -sum(abs(thresholds[k] - current[k]) for k in FITTED)


def keeping(
    tables: Sequence[Table], keep: float, current: dict[str, float], must: Sequence[dict[str, float]] = ()
) -> dict[str, float]:
    """The thresholds abstaining most on the unanswerable questions of all the tables together among those that
    keep, in each table, at least `keep` of the right answers the loosest thresholds give (a right answer lost
    costs the reader more than a wrong one abstained on gains); among equals, the nearest `current`."""
    floors = [keep * counts(t, LOOSEST)["right_shown"] - 1e-9 for t in tables]
    best: tuple | None = None
    for thresholds in _candidates(must):
        each = [counts(t, thresholds) for t in tables]
        if any(c["right_shown"] < floor for c, floor in zip(each, floors, strict=True)):
            continue
        key = (sum(c["abstained_unanswerable"] for c in each), _nearest(thresholds, current))
        if best is None or key > best[0]:
            best = (key, thresholds)
    return best[1] if best else dict(LOOSEST)


def precise(
    tables: Sequence[Table], precision: float, keep: float, current: dict[str, float]
) -> tuple[dict[str, float], bool]:
    """Among the thresholds keeping at least `keep` of the right answers the loosest give (all tables together):
    those whose shown answers are at least `precision` right, the one answering the most right; where none is,
    the most precise. Whether `precision` was reached."""
    floor = keep * pooled(tables, LOOSEST)["right_shown"] - 1e-9
    best: tuple | None = None
    for thresholds in _candidates(()):
        c = pooled(tables, thresholds)
        if not c["shown"] or c["right_shown"] < floor:
            continue
        reached = c["right_shown"] >= precision * c["shown"] - 1e-9
        rank = (
            (c["right_shown"], c["right_shown"] / c["shown"])
            if reached
            else (c["right_shown"] / c["shown"], c["right_shown"])
        )
        key = (reached, *rank, _nearest(thresholds, current))
        if best is None or key > best[0]:
            best = (key, thresholds)
    if best is None:
        return dict(LOOSEST), False
    return best[1], best[0][0]


def operating_points(
    tables: Sequence[Table], current: dict[str, float], must: Sequence[dict[str, float]] = ()
) -> dict[str, dict]:
    """The three operating points (thresholds by setting name, with their figures on the tables together)."""
    fitted = {
        "lenient": (keeping(tables, KEEP_LENIENT, current, must), True),
        "balanced": (keeping(tables, KEEP_BALANCED, current, must), True),
        "strict": precise(tables, STRICT_PRECISION, STRICT_KEEP, current),
    }
    return {
        name: {
            **{FITTED[k]: v for k, v in thresholds.items()},
            "target_reached": reached,
            "figures": figures(pooled(tables, thresholds)),
        }
        for name, (thresholds, reached) in fitted.items()
    }


def curve(t: Table, retrieval: float, steps: int = 101) -> list[dict[str, float]]:
    """The risk-coverage curve: the answer check's threshold swept from 0 to 1 with the others as they are;
    per step, the share of questions shown an answer and the share right among them."""
    out = []
    for threshold in np.linspace(0.0, 1.0, steps):
        c = counts(t, {"retrieval": retrieval, "answer_check": float(threshold)})
        if c["shown"]:
            out.append(
                {
                    "min_answer_check": round(float(threshold), 3),
                    "coverage": round(c["shown"] / c["questions"], 4),
                    "precision": round(c["right_shown"] / c["shown"], 4),
                }
            )
    return out


def fit_record(
    parts: Sequence[tuple[str, Sequence[dict]]], current: dict[str, float], must_answer: Sequence[str] = ()
) -> dict:
    """The operating points fitted on recorded parts (name, rows), with each point's figures per part: what a
    fit file holds. `must_answer`: ids of questions the lenient and balanced points leave answered by MARGIN."""
    tables = [table(rows) for _, rows in parts]
    wanted = set(must_answer)
    must = [
        {name: value(r, name) - MARGIN for name in FITTED}
        for _, rows in parts
        for r in rows
        if r["id"] in wanted and "checks" in r
    ]
    if len(must) != len(wanted):
        raise ValueError(f"the must-answer questions {sorted(wanted)} are not all among the recorded answers")
    points = operating_points(tables, current, must)
    by_part = {
        name: {
            strictness: outcome(t, {k: points[strictness][setting] for k, setting in FITTED.items()})
            for strictness in STRICTNESS
        }
        | {"questions": len(t), "answerable": int(t.answerable.sum())}
        for (name, _), t in zip(parts, tables, strict=True)
    }
    return {
        "points": points,
        "parts": by_part,
        "must_answer": sorted(wanted),
        "targets": {
            "lenient": f"keeps {KEEP_LENIENT:.0%} of the right answers the loosest thresholds give, in each part",
            "balanced": f"keeps {KEEP_BALANCED:.0%} of them in each part; the must-answer questions answered",
            "strict": f"at least {STRICT_PRECISION:.0%} of the answers shown are right, answering as many right as "
            f"that allows and at least {STRICT_KEEP:.0%} of the right answers (all parts together); where that "
            "cannot be reached, the most precise thresholds keeping that many",
        },
    }
