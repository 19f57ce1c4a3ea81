"""Fit the abstention thresholds on training material: the checks a `rag eval --every-check` run recorded.

    rag eval ../shared/eval-data/squad-v2.0/tune-v2.0.json --split all --limit 240 --every-check \
        --judge none --report eval/results/squad2-tune
    rag eval eval/seed_gold.jsonl --every-check --judge none --report eval/results/seed
    python eval/fit_abstention.py eval/results/squad2-tune eval/results/seed [--write]

SQuAD 2.0's tune split is the training material (eval-data README): half its questions are unanswerable,
written to look answerable from their paragraph. Every answer of such a run carries every check of
rag/answering/checks.py with the value it read, so the decision under any thresholds is recomputed here without asking
the model again: an answer is shown when every check passes, the two with a threshold (retrieval,
answer_check) re-read at the candidate values. The search keeps the thresholds that abstain most on the
unanswerable questions of all the sets together while keeping, in each set, at least 97% (`--keep`) of the
right answers (answerable questions answered with an answer holding a gold answer: `contains`) that the
loosest thresholds give; ties go to the values nearest those in use. The seed gold set is the second set: a
development set of the shipped article (its mission question among it), not held-out data. Each check without
a threshold is also reported switched off (advisory), refitted, to show what it is worth. `--must-answer`
names questions the thresholds must leave answered with room to spare (default: the mission question,
seed-001, whose P(Yes) sits near the check's threshold, and which the product's first example asks).
`--write` stores the fitted values for the run's runtime in rag/data/thresholds.json, which the settings read;
`--apply` prints each report's figures under the stored thresholds (a held-out run made with others in place).
Writes eval/results/fit_abstention-RUNTIME.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rag.answering import checks
from rag.answering.question import parse
from rag.metrics import contains

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "eval" / "results"
THRESHOLDS_FILE = ROOT / "rag" / "data" / "thresholds.json"
FITTED = {"retrieval": "min_retrieval_score", "answer_check": "min_answer_check"}  # check -> its setting
GRID = {"retrieval": np.round(np.arange(0.0, 0.61, 0.01), 2), "answer_check": np.round(np.arange(0.0, 0.81, 0.01), 2)}
SWITCHABLE = ("question_facts", "informative", "kind")
KEEP = 0.97  # of each set's right answers the loosest thresholds give: on the seed (31), none may be lost
# A question that must be answered stays so with this much room: the answer check's P(Yes) differs by 0.016
# (median) between llama.cpp and transformers (eval/results/check_across_runtimes.md) and between CPUs
MARGIN = 0.03


def stated(r: dict) -> str:
    """What the row's answer states: its supported sentences."""
    return " ".join(s["text"] for s in r.get("sentences", []) if s["supported"])


def value(r: dict, name: str) -> float:
    """The value a row's check read (-1 where it did not run)."""
    check = next((c for c in r["checks"] if c["name"] == name), None)
    return -1.0 if check is None or check["value"] is None else check["value"]


def table(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per row: each check's value (threshold checks) or verdict (the others), and the outcome figures."""

    def passed(r: dict, name: str) -> bool:
        check = next((c for c in r["checks"] if c["name"] == name), None)
        return True if check is None else check["passed"]

    out = {name: np.array([value(r, name) for r in rows]) for name in FITTED}
    names = dict.fromkeys(c["name"] for r in rows for c in r["checks"] if c["name"] not in FITTED)
    out |= {f"passed:{name}": np.array([passed(r, name) for r in rows]) for name in names}
    if "informative" in names:  # a function of the recorded text: read again with today's code
        out["passed:informative"] = np.array([checks.informative(parse(r["question"]), stated(r)).passed for r in rows])
    out["answerable"] = np.array([r["answerable"] for r in rows])
    # whether the answer the checks would let through holds a gold answer: its supported sentences, also where
    # the run abstained (its shown text is then "The documents don't say.", whatever looser thresholds would show)
    out["contains"] = np.array([bool(contains(stated(r), r.get("gold_answers", []))) for r in rows])
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
    figures = {
        "contains": (shown & t["contains"])[a].mean(),
        "answered": shown[a].mean(),
        "abstained": (~shown)[u].mean(),
    }
    figures["balanced"] = (figures["contains"] + figures["abstained"]) / 2
    return {k: round(float(v), 4) for k, v in figures.items()}


def search(
    tables: list[dict[str, np.ndarray]],
    current: dict[str, float],
    off: tuple[str, ...] = (),
    keep: float = KEEP,
    must: list[dict[str, float]] = (),
) -> dict[str, float]:
    """The thresholds abstaining most on the unanswerable questions of all the tables together among those that
    keep, in each table, at least `keep` of the right answers the loosest thresholds give (a right answer lost
    costs the reader more than a wrong one abstained on gains), and leave each of `must` (the values a question
    that must be answered read, less a margin) answered; among equals, the nearest the current ones."""
    loosest = {"retrieval": -1.0, "answer_check": 0.0}
    floors = [keep * outcome(t, loosest, off)["contains"] - 1e-9 for t in tables]
    unanswerable = [int((~t["answerable"]).sum()) for t in tables]
    best: tuple | None = None
    for r in GRID["retrieval"]:
        for c in GRID["answer_check"]:
            if any(m["retrieval"] < r or m["answer_check"] < c for m in must):
                continue
            figures = [outcome(t, {"retrieval": r, "answer_check": c}, off) for t in tables]
            if any(f["contains"] < floor for f, floor in zip(figures, floors, strict=True)):
                continue
            abstained = sum(f["abstained"] * n for f, n in zip(figures, unanswerable, strict=True)) / sum(unanswerable)
            key = (abstained, -abs(r - current["retrieval"]) - abs(c - current["answer_check"]))
            if best is None or key > best[0]:
                best = (key, {"retrieval": float(r), "answer_check": float(c)})
    assert best is not None
    return best[1]


def load(report: Path) -> tuple[list[dict], dict]:
    """A report's rows with their checks, and its config (today's settings for a run stopped early)."""
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "checks" in r]
    if not any(c["name"] == "answer_check" for r in rows for c in r["checks"]):
        raise SystemExit(f"{report}: not a run with every check recorded (rag eval --every-check)")
    if (report / "config.json").is_file():
        return rows, json.loads((report / "config.json").read_text())
    from rag.settings import Settings

    return rows, {
        "settings": Settings().flat(mode="json"),
        "git_commit": "unknown (run stopped early)",
        "dataset": {"path": str(report / "results.jsonl")},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "reports",
        type=Path,
        nargs="+",
        help="`rag eval --every-check` report folders on training or development material",
    )
    parser.add_argument("--write", action="store_true", help="store the fitted thresholds in rag/data/thresholds.json")
    parser.add_argument("--keep", type=float, default=KEEP, help="share of each set's right answers to keep (0.97)")
    parser.add_argument(
        "--must-answer",
        default="seed-001",
        metavar="ID[,ID]",
        help="questions the thresholds must leave answered (default seed-001, the mission question)",
    )
    parser.add_argument("--margin", type=float, default=MARGIN, help="by this much (0.03)")
    parser.add_argument(
        "--also-for",
        default="",
        metavar="RUNTIME",
        help="with --write, store the same values for this runtime too (not fitted on it)",
    )
    parser.add_argument(
        "--apply",
        action="store_true",
        help="print each report's figures under the stored thresholds instead of fitting",
    )
    args = parser.parse_args()
    loaded = [load(report) for report in args.reports]
    if args.apply:  # exactly what the stored thresholds decide: every check was recorded
        stored = json.loads(THRESHOLDS_FILE.read_text())
        for report, (rows, config) in zip(args.reports, loaded, strict=True):
            fitted = {name: stored[config["settings"]["runtime"]][setting] for name, setting in FITTED.items()}
            print(json.dumps({"report": str(report), **fitted, **outcome(table(rows), fitted)}))
        return
    settings = loaded[0][1]["settings"]
    current = {name: settings[setting] for name, setting in FITTED.items()}
    tables = [table(rows) for rows, _ in loaded]
    wanted = set(filter(None, args.must_answer.split(",")))
    must = [
        {name: value(r, name) - args.margin for name in FITTED} for rows, _ in loaded for r in rows if r["id"] in wanted
    ]
    if len(must) != len(wanted):
        raise SystemExit(f"--must-answer: not all of {sorted(wanted)} are in the reports")
    fitted = search(tables, current, keep=args.keep, must=must)
    lines = []
    for report, t in zip(args.reports, tables, strict=True):
        lines += [
            {"set": report.name, "checks": "in use", **current, **outcome(t, current)},
            {"set": report.name, "checks": "all, fitted", **fitted, **outcome(t, fitted)},
        ]
    for name in SWITCHABLE:
        thresholds = search(tables, current, off=(name,), keep=args.keep, must=must)
        for report, t in zip(args.reports, tables, strict=True):
            lines.append(
                {
                    "set": report.name,
                    "checks": f"without {name}, fitted",
                    **thresholds,
                    **outcome(t, thresholds, off=(name,)),
                }
            )
    sets = [
        {
            "report": str(report),
            "data": config["dataset"]["path"],
            "commit": config["git_commit"],
            "questions": len(rows),
            "answerable": int(sum(r["answerable"] for r in rows)),
        }
        for report, (rows, config) in zip(args.reports, loaded, strict=True)
    ]
    result = {
        "runtime": settings["runtime"],
        "generator": settings["generator"],
        "sets": sets,
        "keep": args.keep,
        "fitted": {FITTED[k]: v for k, v in fitted.items()},
        "table": lines,
    }
    OUT.mkdir(exist_ok=True)
    name = f"fit_abstention-{settings['runtime']}"
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    head = "| set | checks | retrieval | answer_check | contains | answered | abstained (unanswerable) |\n"
    body = "".join(
        f"| {r['set']} | {r['checks']} | {r['retrieval']} | {r['answer_check']} | {r['contains']} "
        f"| {r['answered']} | {r['abstained']} |\n"
        for r in lines
    )
    described = "; ".join(
        f"`{s['data']}` ({s['questions']} questions, {s['answerable']} answerable, commit {s['commit']})" for s in sets
    )
    (OUT / f"{name}.md").write_text(
        f"# Abstention thresholds fitted on training material\n\n`python eval/fit_abstention.py "
        f"{' '.join(map(str, args.reports))} --keep {args.keep} --must-answer {args.must_answer} "
        f"--margin {args.margin}`: {described}; generator {settings['generator']} on "
        f"{settings['runtime']}.\n\n{head}|---|---|---|---|---|---|---|\n{body}"
    )
    if args.write:
        stored = json.loads(THRESHOLDS_FILE.read_text()) if THRESHOLDS_FILE.is_file() else {}
        stored[settings["runtime"]] = {
            **stored.get(settings["runtime"], {}),
            **result["fitted"],
            "fitted_on": ", ".join(s["report"] for s in sets),
        }
        for runtime in filter(None, args.also_for.split(",")):
            stored[runtime] = {
                **stored.get(runtime, {}),
                **result["fitted"],
                "fitted_on": f"{settings['runtime']}'s "
                f"fit, not refitted on {runtime} ({', '.join(s['report'] for s in sets)})",
            }
        THRESHOLDS_FILE.write_text(json.dumps(stored, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "table"}, indent=1))


if __name__ == "__main__":
    main()
