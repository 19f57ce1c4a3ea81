"""Verified streaming: the time to the first checked sentence shown, against the time to the checked answer, and
what checking each sentence while the model writes costs the whole answer, in one run (issue 38).

    python bench/verified_streaming.py [--rounds 2] [--json bench/results/verified_streaming.json]

Every question of eval/seed_gold.jsonl over the shipped corpus, asked through rag.RAG.stream as the chat page,
/v1 and `rag ask` ask it, with `check_while_writing` on (each sentence checked as soon as it is written,
rag.types.Checked) and off (the answer checked once, when the model is done: the time a reader waited before),
on and off interleaved so that drifting machine load hits both alike. For each answered question: the first
checked sentence's time (on) against the checked answer's (off), and the whole answer's time on against off.
Medians over the answered questions and rounds; the answers on and off must be the same (greedy), else it
stops. Prints the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

from rag import RAG
from rag.types import Answer, Checked

GOLD = Path(__file__).parents[1] / "eval" / "seed_gold.jsonl"


def cpu() -> str:
    info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Model name")), "?")
    return f"{model} ({'AVX512-BF16' if 'avx512_bf16' in info else 'no AVX512-BF16'})"


def timed(rag: RAG, question: str) -> tuple[Answer, float | None, float]:
    """The answer, seconds to the first Checked (None: none came), seconds to the Answer."""
    start, first = time.perf_counter(), None
    for item in rag.stream(question):
        if isinstance(item, Checked) and first is None:
            first = time.perf_counter() - start
        if isinstance(item, Answer):
            return item, first, time.perf_counter() - start
    raise RuntimeError("no answer")


def summary(rows: list[dict]) -> dict:
    """Medians over the answered questions. What a reader sees first is the first checked sentence, or, where the
    answer is one sentence (it is whole only when the model stops), the checked answer itself."""
    answered = [r for r in rows if not r["abstained"]]
    early = [r for r in answered if r["first_checked_s"] is not None]
    for r in answered:
        r["first_shown_s"] = r["first_checked_s"] if r["first_checked_s"] is not None else r["total_on_s"]

    def median(key: str, among: list[dict]) -> float:
        return round(statistics.median(r[key] for r in among), 3)

    def ratio(among: list[dict], key: str = "first_shown_s") -> float:
        return round(statistics.median(r[key] / r["total_off_s"] for r in among), 3)

    return {
        "answered": len(answered),
        "answered_with_a_sentence_shown_before_the_end": len(early),
        "withdrawn": [r["question"] for r in rows if r["abstained"] and r["first_checked_s"] is not None],
        "first_shown_s_p50": median("first_shown_s", answered),
        "checked_answer_before_s_p50": median("total_off_s", answered),
        "ratio_first_shown_to_checked_answer_before_p50": ratio(answered),
        "of_those_shown_early": {
            "first_checked_s_p50": median("first_checked_s", early) if early else None,
            "checked_answer_before_s_p50": median("total_off_s", early) if early else None,
            "ratio_p50": ratio(early) if early else None,
        },
        "total_on_s_p50": median("total_on_s", answered),
        "ratio_total_on_to_off_p50": ratio(answered, "total_on_s"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("results") / "verified_streaming.json")
    parser.add_argument("--summarize", action="store_true", help="only summarize the rows --json already holds")
    args = parser.parse_args()
    if args.summarize:
        saved = json.loads(args.json.read_text(encoding="utf-8"))
        saved.update(summary(saved["rows"]))
        args.json.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: v for k, v in saved.items() if k != "rows"}, indent=2))
        return
    questions = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line]
    on = RAG()
    off = on.variant(check_while_writing=False)
    on.warm_up()
    rows = []
    for round_ in range(args.rounds):
        for n, question in enumerate(questions):
            first_on, rest = (on, off) if (n + round_) % 2 else (off, on)
            runs = {id(first_on): timed(first_on, question), id(rest): timed(rest, question)}
            (a_on, checked, total_on), (a_off, _, total_off) = runs[id(on)], runs[id(off)]
            if a_on.answer != a_off.answer or a_on.abstained != a_off.abstained:
                raise SystemExit(f"the answers differ on {question!r}: {a_on.answer!r} / {a_off.answer!r}")
            row = {"question": question, "abstained": a_on.abstained, "first_checked_s": checked}
            rows.append(row | {"total_on_s": total_on, "total_off_s": total_off})
    result = {"cpu": cpu(), "questions": len(questions), "rounds": args.rounds, **summary(rows), "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
