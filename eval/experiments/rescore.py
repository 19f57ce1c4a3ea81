"""Score a saved `rag eval` report again with today's answer metrics (`contains`, answer length), no model run.

    python eval/experiments/rescore.py REPORT [REPORT ...]

For reports written before `answers.contains` existed (a baseline run of older code): each question's
saved answer and gold answers are scored as `rag eval` scores them now, and the answer and abstention
figures are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.answering.cite import MARKER
from rag.evaluation.runner import aggregate
from rag.metrics import contains


def rescored(report: Path) -> dict:
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines() if line.strip()]
    for r in rows:
        if "answer" not in r:
            continue
        text = "" if r["abstained"] else MARKER.sub("", r["answer"]).strip()
        if not r["abstained"]:
            r["answer_words"] = len(text.split())
        if r.get("gold_answers"):
            r["contains"] = contains(text, r["gold_answers"])
    metrics = aggregate(rows)
    return {"report": str(report), **{k: metrics[k] for k in ("questions", "answers", "abstention") if k in metrics}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    for report in parser.parse_args().reports:
        print(json.dumps(rescored(report), indent=1))


if __name__ == "__main__":
    main()
