"""The same GGUF answering in process (llama.cpp) and through an OpenAI-compatible server (llama.cpp's, started
here on loopback by rag.models.llama_server): parity of answers and P(Yes), and first-token times, in one run.

    python bench/server_generator.py [--model qwen-1.5b] [--questions 52] [--json bench/results/server_generator.json]

Both engines get the same requests in the same order (the probe the server is sent at start included): llama.cpp's
numbers depend on what its caches hold, so a parity check must give both the same history. Each seed gold question
is asked of both, in alternating order (the shared machine's noise falls on both);
prints the share of identical answers, the largest P(Yes) difference, and first-token medians with their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from rag import RAG
from rag.models.server import PROBE

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "seed_gold.jsonl"


def start_server(model: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "rag.models.llama_server", "--model", model]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return process, line.split()[-1]


def p_yes(answer) -> float | None:
    return next((c.value for c in answer.checks if c.name == "answer_check"), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen-1.5b")
    parser.add_argument("--questions", type=int, default=52)
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    rows = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
    questions = [row["question"] for row in rows if not row.get("history")][: args.questions]

    process, url = start_server(args.model)
    try:
        local = RAG(generator=args.model, runtime="llama.cpp")
        served = local.variant(generator_url=url)
        local.warm_up()
        local.generator.yes_probability(PROBE)  # the request the server got at start: the same history on both
        served.warm_up()
        for rag in (local, served):
            rag.ask("Which agreement does Beijing honor?")  # untimed: caches warm
        pairs = []
        for n, question in enumerate(questions):
            order = (local, served) if n % 2 == 0 else (served, local)
            answers = {id(rag): rag.ask(question) for rag in order}
            pairs.append((answers[id(local)], answers[id(served)]))
            print(f"{n + 1}/{len(questions)}", file=sys.stderr, end="\r")
    finally:
        process.terminate()
        process.wait(timeout=30)

    same = sum(a.answer == b.answer for a, b in pairs) / len(pairs)
    both = [(p_yes(a), p_yes(b)) for a, b in pairs if p_yes(a) is not None and p_yes(b) is not None]
    gaps = sorted(abs(x - y) for x, y in both)
    gap = gaps[-1] if gaps else 0.0
    within = sum(g <= 0.02 for g in gaps)
    timed = [(a.timings_ms["first_token"], b.timings_ms["first_token"]) for a, b in pairs if not a.abstained]
    first_local = statistics.median(x for x, _ in timed)
    first_served = statistics.median(y for _, y in timed)
    result = {
        "model": args.model,
        "questions": len(pairs),
        "same_answer": round(same, 4),
        "p_yes_compared": len(both),
        "p_yes_max_difference": round(gap, 4),
        "p_yes_median_difference": round(statistics.median(gaps), 4) if gaps else 0.0,
        "p_yes_within_0_02": within,
        "p_yes_pairs": [[round(x, 4), round(y, 4)] for x, y in both],
        "first_token_ms_in_process_p50": first_local,
        "first_token_ms_server_p50": first_served,
        "first_token_ratio": round(first_served / first_local, 3),
        "differing": [
            {"question": a.question, "in_process": a.answer, "server": b.answer}
            for a, b in pairs
            if a.answer != b.answer
        ],
    }
    print(f"{args.model}, {len(pairs)} seed questions: same answer {same:.1%}")
    print(f"P(Yes) compared on {len(both)}: within 0.02 on {within}, largest difference {gap:.4f}")
    print(
        f"first token p50: in process {first_local:.0f} ms, server {first_served:.0f} ms, "
        f"ratio {first_served / first_local:.2f}"
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
