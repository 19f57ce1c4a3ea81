"""First token and time to the checked answer for why / how / list questions, complete answers on and off,
in one run (issue 42).

    python bench/complete_answers.py [--runs 3] [--json bench/results/complete_answers.json]

The seed why / how / list questions of eval/complete_gold.jsonl, each asked with `complete_answers` off (the
baseline: one or two sentences from 5 passages, 120 evidence words) and on (a list from 8 passages, 200
words), interleaved so that drifting machine load hits both alike; between timed asks another question is
asked and the RAM prompt cache is off, so each prompt is read afresh. The checked sentences come with the
final Answer (verification runs after the draft), so the time to the first checked sentence is the total.
Prints medians over every question and run, and the ratio on / off.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from seed_questions import displace

from rag import RAG

GOLD = Path(__file__).parents[1] / "eval" / "complete_gold.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["question"] for r in rows if r["id"].startswith("complete-seed")]
    base = RAG(prompt_cache_mb=0)
    base.warm_up()
    variants = {"off": base.variant(complete_answers=False), "on": base.variant(complete_answers=True)}
    variants["off"].ask(questions[0])  # untimed: caches warm
    timings: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for question in questions:
            for name, rag in variants.items():
                displace(rag)
                timings[name].append(rag.ask(question).timings_ms)
    result = {}
    for name in variants:
        result[name] = {
            key: statistics.median(t[key] for t in timings[name] if key in t) for key in ("first_token", "total")
        }
    result["ratio_on_off"] = {key: round(result["on"][key] / result["off"][key], 3) for key in ("first_token", "total")}
    result["questions"], result["runs"] = len(questions), args.runs
    print("| complete answers | first token p50 (ms) | checked answer p50 (ms) |\n|---|---|---|")
    for name in variants:
        print(f"| {name} | {result[name]['first_token']:.0f} | {result[name]['total']:.0f} |")
    ratio = result["ratio_on_off"]
    print(f"| ratio on / off | {ratio['first_token']} | {ratio['total']} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
