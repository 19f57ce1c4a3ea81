"""Each report's figures at each strictness under the fit the settings find today (rag.evaluation.operating_points,
the same step `rag eval` reports with), and a `--plain` report's own: the table of docs/measurements.md.

    python eval/operating_points.py REPORT [REPORT ...] [--markdown] [--rewrite]

An `--every-check` report is re-read under the model's current fit (a fit made after the run applies); any other
report gives its point as run. `--rewrite` writes the report again (metrics.json, summary.md, risk_coverage.png)
with the points of today's fit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.evaluation.operating_points import risk_coverage
from rag.evaluation.report import write_report
from rag.settings import Settings

KEYS = ("contains", "answered", "abstained", "precision", "coverage")
MODEL = ("generator", "generator_url", "runtime", "dtype", "embedder")


def points(report: Path, rewrite: bool = False) -> dict:
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines() if line.strip()]
    config = json.loads((report / "config.json").read_text())
    settings = Settings(**{k: config["settings"][k] for k in MODEL if config["settings"].get(k) is not None})
    rc = risk_coverage(rows, settings)
    if rewrite:
        metrics = json.loads((report / "metrics.json").read_text())
        write_report(report, {**metrics, "risk_coverage": rc}, config, rows)
    if config.get("pipeline", "rag") != "rag":
        rc["points"] = {"plain pipeline": rc["points"]["as run"]}
    return {"report": str(report), "data": config["dataset"]["name"], "questions": len(rows), **rc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", type=Path, nargs="+")
    parser.add_argument("--markdown", action="store_true", help="one table row a point")
    parser.add_argument("--rewrite", action="store_true", help="write each report again with today's points")
    args = parser.parse_args()
    for report in args.reports:
        found = points(report, args.rewrite)
        for name, p in found["points"].items():
            if args.markdown:
                thresholds = f"{p.get('min_retrieval_score', '–')} / {p.get('min_answer_check', '–')}"
                cells = " | ".join(str(p[k]) for k in KEYS)
                print(f"| {found['data']} ({found['questions']}) | {name} | {thresholds} | {cells} |")
            else:
                print(json.dumps({"report": found["report"], "point": name, **p}))


if __name__ == "__main__":
    main()
