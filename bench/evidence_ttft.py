"""Time to first token for the seed question with whole passages and with evidence selection, in one run.

    python bench/evidence_ttft.py [--runs 5] [--budgets 0,120,80] [--json bench/results/evidence_ttft.json]

Budget 0 gives the model the whole retrieved passages (the baseline); others give it only the
question-closest sentences, that many words in all. Between timed runs another question is asked and
the RAM prompt cache is off, so each timed prompt is read afresh, as a new question would be.
Prints medians, the ratio to the baseline, the prompt length and the answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from seed_questions import SEED, displace

from rag import RAG
from rag.answering.evidence import prepare
from rag.answering.prompt import answer_messages
from rag.answering.question import parse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budgets", default="0,120,80")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    base = RAG(prompt_cache_mb=0)
    base.warm_up()
    budgets = [int(b) for b in args.budgets.split(",")]
    variants = {b: base.variant(evidence_words=b) for b in budgets}
    variants[budgets[0]].ask(SEED)  # untimed: caches warm

    timings: dict[int, list[dict[str, float]]] = {b: [] for b in budgets}
    answers: dict[int, str] = {}
    for _ in range(args.runs):
        for budget, rag in variants.items():  # interleaved, so drifting machine load hits all alike
            displace(rag)
            answer = rag.ask(SEED)
            timings[budget].append(answer.timings_ms)
            answers[budget] = answer.answer

    rows = []
    for budget in budgets:
        rag = variants[budget]
        passages = rag.retrieve(SEED)
        prompt = answer_messages(prepare(parse(SEED), passages, rag.embedder, rag.settings.answering))
        rows.append(
            {
                "budget_words": budget,
                "prompt_words": sum(len(m["content"].split()) for m in prompt),
                "first_token_ms": statistics.median(t["first_token"] for t in timings[budget]),
                "total_ms": statistics.median(t["total"] for t in timings[budget]),
                "evidence_ms": statistics.median(t["evidence"] for t in timings[budget]),
                "answer": answers[budget],
            }
        )
    baseline = rows[0]
    print(f"seed question, median of {args.runs} warm runs each (prompt cache off)")
    header = ["budget", "prompt words", "first token ms", "ratio", "total ms", "ratio"]
    print(f"{header[0]:>8} {header[1]:>12} {header[2]:>15} {header[3]:>6} {header[4]:>9} {header[5]:>6}  answer")
    for row in rows:
        label = "all" if row["budget_words"] == 0 else str(row["budget_words"])
        print(
            f"{label:>8} {row['prompt_words']:>12} {row['first_token_ms']:>15.0f} "
            f"{row['first_token_ms'] / baseline['first_token_ms']:>6.2f} {row['total_ms']:>9.0f} "
            f"{row['total_ms'] / baseline['total_ms']:>6.2f}  {row['answer'][:70]}"
        )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
