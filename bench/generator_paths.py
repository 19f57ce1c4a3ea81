"""Generator paths side by side: each model and runtime on the seed question, warm.

    python bench/generator_paths.py [--runs 3] [--paths qwen-1.5b:llama.cpp qwen-0.5b:transformers:bfloat16:10 …]

For each path (model : runtime [: dtype [: prompt lookup tokens]]) in one process, one after another:
load time, then --runs timed answers to the seed question through the whole pipeline (retrieve,
evidence, generate, check citations). Before each timed answer another question is answered, so the
generator holds another prompt (as for a new question in real use); llama.cpp reuses only the shared
system-prompt prefix, transformers nothing.
Figures are medians: first token, complete answer, prompt tokens read per second and answer tokens
per second, with the answer text. Writes bench/results/generator_paths.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path

from seed_questions import SEED, displace

from rag import RAG
from rag.answer import build_messages
from rag.evidence import select_evidence

OUT = Path(__file__).with_name("results") / "generator_paths.json"
PATHS = [  # model : runtime [: dtype [: prompt lookup tokens]]
    "qwen-1.5b:llama.cpp",
    "qwen-1.5b:transformers:bfloat16:0",
    "qwen-1.5b:transformers:bfloat16:10",
    "qwen-1.5b:transformers:float32:10",
    "qwen-0.5b:llama.cpp",
    "qwen-0.5b:transformers:bfloat16:10",
    "qwen-0.5b:transformers:float32:10",
]


def count_tokens(rag: RAG, text: str) -> int:
    """Tokens of the generator's own vocabulary (both Qwen sizes share one)."""
    tokenizer = getattr(rag.generator, "tokenizer", None)
    if tokenizer is None:
        from transformers import AutoTokenizer

        folder = next((rag.settings.cache_dir / "transformers").glob("qwen2.5-coder-1.5b*"), None)
        tokenizer = AutoTokenizer.from_pretrained(folder) if folder else None
    return len(tokenizer(text)["input_ids"]) if tokenizer else len(text.split())


def measure(path: str, runs: int) -> dict:
    generator, runtime, *rest = path.split(":")
    dtype = rest[0] if rest else None
    lookup = int(rest[1]) if len(rest) > 1 else None
    rag = RAG(generator=generator, runtime=runtime, dtype=dtype, prompt_lookup_tokens=lookup, prompt_cache_mb=0)
    started = time.perf_counter()
    rag.warm_up()
    load_s = time.perf_counter() - started
    rag.ask(SEED)  # untimed: lazy paths warm
    answers = []
    for _ in range(runs):
        displace(rag)
        answers.append(rag.ask(SEED))
    passages = rag.retrieve(SEED)
    evidence = select_evidence(SEED, passages, rag.embedder, rag.settings.evidence_words)
    messages = build_messages(SEED, passages, evidence)
    prompt_tokens = count_tokens(rag, "".join(m["content"] for m in messages))
    answer_tokens = [count_tokens(rag, a.answer) for a in answers]
    first = statistics.median(a.timings_ms["first_token"] for a in answers)
    total = statistics.median(a.timings_ms["total"] for a in answers)
    generating = statistics.median(
        (a.timings_ms["total"] - a.timings_ms["first_token"]) / max(1, n - 1)
        for a, n in zip(answers, answer_tokens, strict=True)
    )
    result = {
        "path": path,
        "load_s": round(load_s, 1),
        "first_token_ms": round(first),
        "total_ms": round(total),
        "prompt_tokens": prompt_tokens,
        "prompt_tokens_per_s": round(prompt_tokens / (first / 1000), 1),
        "answer_tokens_per_s": round(1000 / generating, 1) if generating else None,
        "answer": answers[-1].answer,
        "abstained": answers[-1].abstained,
    }
    del rag
    gc.collect()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--paths", nargs="+", default=PATHS)
    args = parser.parse_args()
    rows = []
    for path in args.paths:
        rows.append(measure(path, args.runs))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\nseed question, warm, medians of {args.runs}; prompt tokens/s counts the whole prompt over the first "
          "token's wait (the cached system-prompt prefix makes it read fewer)")  # fmt: skip
    print("| path | load s | first token ms | answer ms | prompt tok/s | answer tok/s | answer |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['load_s']} | {r['first_token_ms']} | {r['total_ms']} | {r['prompt_tokens_per_s']} "
              f"| {r['answer_tokens_per_s']} | {r['answer'][:90]} |")  # fmt: skip
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"runs": args.runs, "question": SEED, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
