"""Fit the operating points (lenient, balanced, strict) on `rag eval --every-check` reports of training material,
with rag.calibration.fit, the same fit `rag calibrate` makes on its calibration set.

    rag eval ../shared/eval-data/squad-v2.0/tune-v2.0.json --split all --limit 240 --every-check \
        --judge none --report eval/results/squad2-tune
    rag eval eval/seed_gold.jsonl --every-check --judge none --report eval/results/seed
    python eval/fit_abstention.py eval/results/squad2-tune eval/results/seed [--write]

Each report is a part of the fit (the balanced point keeps 97% of each part's right answers). `--must-answer`
names questions the lenient and balanced points must leave answered with room to spare (default: the mission
question, seed-001). `--write` stores the fit for the reports' model among the shipped fits
(rag/data/calibration/), which the settings read; `--apply` prints each report's figures under the fit the
settings find for the report's model, at each strictness (a held-out run). Writes
eval/results/fit_abstention-RUNTIME.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.calibration.fit import FITTED, GRID, STRICTNESS, fit_record, outcome, table, value  # noqa: F401 - for eval/experiments
from rag.models.calibration import SHIPPED, model_identity, save_fit
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "eval" / "results"


def load(report: Path) -> tuple[list[dict], dict]:
    """A report's rows with their checks, and its config (today's settings for a run stopped early)."""
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "checks" in r]
    if not any(c["name"] == "answer_check" for r in rows for c in r["checks"]):
        raise SystemExit(f"{report}: not a run with every check recorded (rag eval --every-check)")
    if (report / "config.json").is_file():
        return rows, json.loads((report / "config.json").read_text())
    return rows, {
        "settings": Settings().flat(mode="json"),
        "git_commit": "unknown (run stopped early)",
        "dataset": {"path": str(report / "results.jsonl")},
    }


def identity_of(settings: dict) -> dict:
    """The model a report was made with, as the calibration store keys it."""
    return model_identity(
        settings["generator"],
        settings.get("generator_url", ""),
        settings["runtime"],
        settings["dtype"],
        settings["embedder"],
    )


def settings_of(settings: dict, strictness: str) -> Settings:
    """Today's settings for a report's model at a strictness (the thresholds its fit gives)."""
    keys = ("generator", "generator_url", "runtime", "dtype", "embedder")
    return Settings(**{k: settings[k] for k in keys if k in settings}, strictness=strictness)


def apply(reports: list[Path], loaded: list[tuple[list[dict], dict]]) -> None:
    for report, (rows, config) in zip(reports, loaded, strict=True):
        for strictness in STRICTNESS:
            checks = settings_of(config["settings"], strictness).checks
            thresholds = {check: getattr(checks, setting) for check, setting in FITTED.items()}
            figures = outcome(table(rows), thresholds)
            print(json.dumps({"report": str(report), "strictness": strictness, **thresholds, **figures}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reports", type=Path, nargs="+", help="`rag eval --every-check` report folders")
    parser.add_argument("--write", action="store_true", help="store the fit among the shipped fits")
    parser.add_argument(
        "--must-answer",
        default="seed-001",
        metavar="ID[,ID]",
        help="questions lenient and balanced must leave answered (default seed-001, the mission question)",
    )
    parser.add_argument("--apply", action="store_true", help="print each report's figures under the stored fit")
    args = parser.parse_args()
    loaded = [load(report) for report in args.reports]
    if args.apply:
        apply(args.reports, loaded)
        return
    settings = loaded[0][1]["settings"]
    current = {check: settings[setting] for check, setting in FITTED.items()}
    parts = [(report.name, rows) for report, (rows, _) in zip(args.reports, loaded, strict=True)]
    fit = fit_record(parts, current, list(filter(None, args.must_answer.split(","))))
    fit["fitted_on"] = [
        {"report": str(r), "data": c["dataset"]["path"], "commit": c["git_commit"], "questions": len(rows)}
        for r, (rows, c) in zip(args.reports, loaded, strict=True)
    ]
    OUT.mkdir(exist_ok=True)
    name = f"fit_abstention-{settings['runtime']}"
    (OUT / f"{name}.json").write_text(json.dumps(fit, indent=1) + "\n")
    head = "| part | strictness | retrieval | answer_check | right (answerable) | abstained | precision | coverage |\n"
    body = "".join(
        f"| {part} | {s} | {fit['points'][s]['min_retrieval_score']} | {fit['points'][s]['min_answer_check']} "
        f"| {f[s]['contains']} | {f[s]['abstained']} | {f[s]['precision']} | {f[s]['coverage']} |\n"
        for part, f in fit["parts"].items()
        for s in STRICTNESS
    )
    (OUT / f"{name}.md").write_text(
        f"# Operating points fitted on training material\n\n`python eval/fit_abstention.py "
        f"{' '.join(map(str, args.reports))} --must-answer {args.must_answer}`; generator {settings['generator']} "
        f"on {settings['runtime']}.\n\n{head}|---|---|---|---|---|---|---|---|\n{body}"
    )
    if args.write:
        print(f"written: {save_fit(identity_of(settings), fit, SHIPPED)}")
    print(json.dumps(fit["points"], indent=1))


if __name__ == "__main__":
    main()
