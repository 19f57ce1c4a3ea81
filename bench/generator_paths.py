"""Generator paths side by side: each model and runtime on the seed question, warm.

    python bench/generator_paths.py [--runs 3] [--paths qwen-1.5b:llama.cpp qwen-0.5b:transformers:bfloat16:10 …]

For each path (model : runtime [: dtype [: prompt lookup tokens]]) in one process, one after another:
load time, then --runs timed answers to the seed question through the whole pipeline (retrieve,
evidence, generate, check citations). Before each timed answer another question is answered, so the
generator holds another prompt (as for a new question in real use); llama.cpp reuses only the shared
system-prompt prefix, transformers nothing.
Figures are medians: first token, complete answer, prompt tokens read per second and answer tokens
per second, with the answer text, and each path's first token and answer time as a ratio to the first
path's. Writes bench/results/generator_paths.json (or --out), naming whether the CPU has native bfloat16.
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
from rag.answering.evidence import prepare
from rag.answering.prompt import answer_messages
from rag.answering.question import parse
from rag.models.cpu import native_bfloat16

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
    messages = answer_messages(prepare(parse(SEED), passages, rag.embedder, rag.settings.answering))
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
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = []
    for path in args.paths:
        rows.append(measure(path, args.runs))
        print(json.dumps(rows[-1]), flush=True)
    print(
        f"\nseed question, warm, medians of {args.runs}; prompt tokens/s counts the whole prompt over the first "
        "token's wait (the cached system-prompt prefix makes it read fewer)"
    )
    base = rows[0]
    for r in rows:
        r["first_token_x"] = round(r["first_token_ms"] / base["first_token_ms"], 2)
        r["total_x"] = round(r["total_ms"] / base["total_ms"], 2)
    print(f"CPU with native bfloat16: {native_bfloat16()}; ratios against {base['path']}")
    print(
        "| path | load s | first token ms | answer ms | first token x | answer x | prompt tok/s | answer tok/s "
        "| answer |\n|---|---|---|---|---|---|---|---|---|"
    )
    cells = (
        "path",
        "load_s",
        "first_token_ms",
        "total_ms",
        "first_token_x",
        "total_x",
        "prompt_tokens_per_s",
        "answer_tokens_per_s",
    )
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cells) + f" | {r['answer'][:90]} |")
    args.out.parent.mkdir(exist_ok=True)
    report = {"runs": args.runs, "question": SEED, "cpu_native_bfloat16": native_bfloat16(), "rows": rows}
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
