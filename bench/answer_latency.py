"""Seed-question latency on a warm process, against the bare generator on the same prompt, plus cold start.

    python bench/answer_latency.py [--runs 5] [--generator qwen-1.5b] [--runtime llama.cpp] [--json out.json]

Prints medians (the machines are shared and noisy) and the ratio of the full pipeline (retrieve,
generate, check citations) to the bare generator on the identical prompt, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

from seed_questions import SEED, displace

from rag import RAG
from rag.answering.answer import build_messages


def bare_generation(rag: RAG, question: str) -> tuple[float, float]:
    """First token and total (ms) of the generator alone, on the prompt the pipeline would build."""
    messages = build_messages(question, rag.retrieve(question))
    started = time.perf_counter()
    first = 0.0
    for _ in rag.generator.stream(messages, rag.settings.max_new_tokens):
        if not first:
            first = (time.perf_counter() - started) * 1000
    return first, (time.perf_counter() - started) * 1000


def cold_ask(extra: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag", "ask", SEED, "--json", *extra], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--generator", default=None)
    parser.add_argument("--runtime", default=None)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    extra = [f for flag, value in (("--generator", args.generator), ("--runtime", args.runtime)) if value
             for f in (flag, value)]  # fmt: skip

    started = time.perf_counter()
    rag = RAG(generator=args.generator, runtime=args.runtime, prompt_cache_mb=0)
    rag.warm_up()
    load_s = time.perf_counter() - started
    rag.ask(SEED)  # one untimed run: caches warm

    answers, bare = [], []
    for _ in range(args.runs):
        displace(rag)
        answers.append(rag.ask(SEED))
        displace(rag)
        bare.append(bare_generation(rag, SEED))
    rag.ask(SEED)
    repeated = rag.ask(SEED).timings_ms  # the identical prompt again: served from the prompt cache
    med = {key: statistics.median(a.timings_ms[key] for a in answers) for key in answers[0].timings_ms}
    bare_first = statistics.median(b[0] for b in bare)
    bare_total = statistics.median(b[1] for b in bare)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    cold_ask(extra)  # first run may build caches
    cold = [cold_ask(extra) for _ in range(2)]

    result = {
        "generator": rag.settings.generator,
        "runtime": rag.settings.runtime,
        "threads": rag.settings.threads,
        "runs": args.runs,
        "answer": answers[-1].answer,
        "warm_median_ms": med,
        "bare_generator_median_ms": {"first_token": bare_first, "total": bare_total},
        "ratio_pipeline_to_bare": {"first_token": med["first_token"] / bare_first, "total": med["total"] / bare_total},
        "repeated_question_ms": repeated,
        "load_s": load_s,
        "peak_rss_mb": peak_mb,
        "cold_ask_s": cold,
    }
    print(f"generator {result['generator']} ({result['runtime']}, {result['threads']} threads), {args.runs} runs")
    print(f"answer: {result['answer']}")
    print(f"{'':24}{'pipeline':>10}{'bare':>10}{'ratio':>8}")
    for key in ("first_token", "total"):
        print(f"{key + ' ms (median)':24}{med[key]:>10.0f}{result['bare_generator_median_ms'][key]:>10.0f}"
              f"{result['ratio_pipeline_to_bare'][key]:>8.2f}")  # fmt: skip
    print(f"{'retrieve ms (median)':24}{med['retrieve']:>10.1f}")
    print(f"{'verify ms (median)':24}{med['verify']:>10.1f}")
    print(f"same question asked twice in a row (prompt cache): first token {repeated['first_token']:.0f} ms")
    print(f"model+index load: {load_s:.1f} s; peak RSS {peak_mb:.0f} MB")
    print(f"cold `rag ask` (second and third run): {', '.join(f'{c:.1f} s' for c in cold)}")
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
