"""Fit the abstention thresholds on training material: the checks a `rag eval --every-check` run recorded.

    rag eval ../shared/eval-data/squad-v2.0/tune-v2.0.json --split all --limit 240 --every-check \
        --judge none --report eval/results/squad2-tune
    python eval/fit_abstention.py eval/results/squad2-tune [--write]

SQuAD 2.0's tune split is the training material (eval-data README): half its questions are unanswerable,
written to look answerable from their paragraph. Every answer of such a run carries every check of
rag/checks.py with the value it read, so the decision under any thresholds is recomputed here without asking
the model again: an answer is shown when every check passes, the two with a threshold (retrieval,
answer_check) re-read at the candidate values. The search keeps the thresholds that abstain most on the
unanswerable questions while keeping at least 95% (`--keep`) of the right answers (answerable questions
answered with an answer holding a gold answer: `contains`) that the loosest thresholds give; ties go to the
values nearest those in use. Each check without a threshold is also reported switched off (advisory),
refitted, to show what it is worth.
`--write` stores the fitted values for the run's runtime in rag/data/thresholds.json, which the settings read.
Writes eval/results/fit_abstention-RUNTIME.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "eval" / "results"
THRESHOLDS_FILE = ROOT / "rag" / "data" / "thresholds.json"
FITTED = {"retrieval": "min_retrieval_score", "answer_check": "min_answer_check"}  # check -> its setting
GRID = {"retrieval": np.round(np.arange(0.0, 0.61, 0.01), 2), "answer_check": np.round(np.arange(0.0, 0.81, 0.01), 2)}
SWITCHABLE = ("question_facts", "informative", "kind")
KEEP = 0.95  # of the right answers the loosest thresholds give


def table(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per row: each check's value (threshold checks) or verdict (the others), and the outcome figures."""
    def value(r: dict, name: str) -> float:
        check = next((c for c in r["checks"] if c["name"] == name), None)
        return -1.0 if check is None or check["value"] is None else check["value"]

    def passed(r: dict, name: str) -> bool:
        check = next((c for c in r["checks"] if c["name"] == name), None)
        return True if check is None else check["passed"]

    out = {name: np.array([value(r, name) for r in rows]) for name in FITTED}
    names = dict.fromkeys(c["name"] for r in rows for c in r["checks"] if c["name"] not in FITTED)
    out |= {f"passed:{name}": np.array([passed(r, name) for r in rows]) for name in names}
    out["answerable"] = np.array([r["answerable"] for r in rows])
    out["contains"] = np.array([bool(r.get("contains", 0.0)) for r in rows])
    return out


def outcome(t: dict[str, np.ndarray], thresholds: dict[str, float], off: tuple[str, ...] = ()) -> dict[str, float]:
    """Shares under these thresholds with the checks in `off` not deciding."""
    shown = np.ones(len(t["answerable"]), dtype=bool)
    for key, verdicts in t.items():
        if key.startswith("passed:") and key[7:] not in off:
            shown &= verdicts
    for name, threshold in thresholds.items():
        shown &= t[name] >= threshold
    a, u = t["answerable"], ~t["answerable"]
    figures = {"contains": (shown & t["contains"])[a].mean(), "answered": shown[a].mean(),
               "abstained": (~shown)[u].mean()}
    figures["balanced"] = (figures["contains"] + figures["abstained"]) / 2
    return {k: round(float(v), 4) for k, v in figures.items()}


def search(t: dict[str, np.ndarray], current: dict[str, float], off: tuple[str, ...] = (),
           keep: float = KEEP) -> dict[str, float]:  # fmt: skip
    """The thresholds abstaining most on the unanswerable questions among those that keep at least `keep` of
    the right answers the loosest thresholds give (a right answer lost costs the reader more than a wrong
    one abstained on gains); among equals, the nearest the current ones."""
    floor = keep * outcome(t, {"retrieval": -1.0, "answer_check": 0.0}, off)["contains"] - 1e-9
    best: tuple | None = None
    for r in GRID["retrieval"]:
        for c in GRID["answer_check"]:
            figures = outcome(t, {"retrieval": r, "answer_check": c}, off)
            if figures["contains"] < floor:
                continue
            key = (figures["abstained"], -abs(r - current["retrieval"]) - abs(c - current["answer_check"]))
            if best is None or key > best[0]:
                best = (key, {"retrieval": float(r), "answer_check": float(c)})
    assert best is not None
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("report", type=Path, help="a `rag eval --every-check` report folder on training material")
    parser.add_argument("--write", action="store_true", help="store the fitted thresholds in rag/data/thresholds.json")
    parser.add_argument("--keep", type=float, default=KEEP, help="share of the right answers to keep (0.95)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.report / "results.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "checks" in r]
    if not any(c["name"] == "answer_check" for r in rows for c in r["checks"]):
        raise SystemExit(f"{args.report}: not a run with every check recorded (rag eval --every-check)")
    if (args.report / "config.json").is_file():
        config = json.loads((args.report / "config.json").read_text())
    else:  # a run stopped before it wrote its report: the settings are today's defaults
        from rag.settings import Settings

        config = {"settings": Settings().model_dump(mode="json"), "git_commit": "unknown (run stopped early)",
                  "dataset": {"path": str(args.report / "results.jsonl")}}  # fmt: skip
    settings = config["settings"]
    current = {name: settings[setting] for name, setting in FITTED.items()}
    t = table(rows)
    fitted = search(t, current, keep=args.keep)
    lines = [{"checks": "in use", **current, **outcome(t, current)}, {"checks": "all, fitted", **fitted,
             **outcome(t, fitted)}]  # fmt: skip
    for name in SWITCHABLE:
        thresholds = search(t, current, off=(name,), keep=args.keep)
        lines.append({"checks": f"without {name}, fitted", **thresholds, **outcome(t, thresholds, off=(name,))})
    result = {"data": config["dataset"], "runtime": settings["runtime"], "questions": len(rows),
              "answerable": int(t["answerable"].sum()), "fitted": {FITTED[k]: v for k, v in fitted.items()},
              "table": lines}  # fmt: skip
    OUT.mkdir(exist_ok=True)
    name = f"fit_abstention-{settings['runtime']}"
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    head = "| checks | retrieval | answer_check | contains | answered | abstained (unanswerable) | balanced |\n"
    body = "".join(f"| {r['checks']} | {r['retrieval']} | {r['answer_check']} | {r['contains']} | {r['answered']} "
                   f"| {r['abstained']} | {r['balanced']} |\n" for r in lines)  # fmt: skip
    (OUT / f"{name}.md").write_text(
        f"# Abstention thresholds fitted on training material\n\n`python eval/fit_abstention.py {args.report}` on "
        f"`{config['dataset']['path']}`, {len(rows)} questions ({result['answerable']} answerable), generator "
        f"{settings['generator']} on {settings['runtime']}, commit {config['git_commit']}.\n\n"
        f"{head}|---|---|---|---|---|---|---|\n{body}"
    )
    if args.write:
        stored = json.loads(THRESHOLDS_FILE.read_text()) if THRESHOLDS_FILE.is_file() else {}
        stored[settings["runtime"]] = {**stored.get(settings["runtime"], {}), **result["fitted"],
                                       "fitted_on": f"{config['dataset']['path']} ({len(rows)} questions)"}  # fmt: skip
        THRESHOLDS_FILE.write_text(json.dumps(stored, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items()}, indent=1))


if __name__ == "__main__":
    main()
