"""The OpenAI-compatible API against `rag ask` on the same questions, then many streaming clients at once.

    python bench/api.py [--index DIR] [--questions 8] [--clients 16]

1. Latency. `rag ask`'s path (RAG.stream, warm, in this process) and the API (`rag serve` started here, the
   `openai` SDK streaming) answer the same seed questions, each side in turn going first. A question is
   asked once per side (a repeated one would be read from llama.cpp's prompt cache); one more question
   first warms both and is not counted. For each: first token (the first draft text; for the API the first
   streamed delta, the draft as `reasoning_content`), first checked text (the API's first `content` delta)
   and total (the checked answer; for the API, the stream's end). Prints medians and the ratios API / ask.
2. Concurrency. `--clients` streaming clients start at once on seed questions the server has not seen;
   prints how many finished without an error, the wall time, and the first-token and total spread (answers
   are generated one at a time in the order asked, so the last client waits for all the others).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "seed_gold.jsonl"
sys.path.insert(0, str(ROOT / "tests"))


def seed_questions() -> list[str]:
    rows = map(json.loads, GOLD.read_text().splitlines())
    return [row["question"] for row in rows if row.get("answerable", True) and not row.get("history")]


def ask_path(rag, question: str) -> dict[str, float]:  # noqa: ANN001
    from rag.types import Answer

    started, first = time.perf_counter(), None
    for item in rag.stream(question):
        if first is None and not isinstance(item, Answer) and item:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    return {"first_token": first or total, "first_content": total, "total": total}


def api_path(client, question: str, model: str = "default") -> dict[str, float]:  # noqa: ANN001
    started, first, first_content, finish = time.perf_counter(), None, None, None
    stream = client.chat.completions.create(model=model, stream=True, messages=[{"role": "user", "content": question}])
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        now = time.perf_counter() - started
        if first is None and ((delta.model_extra or {}).get("reasoning_content") or delta.content):
            first = now
        if first_content is None and delta.content:
            first_content = now
        finish = chunk.choices[0].finish_reason or finish
    total = time.perf_counter() - started
    if finish != "stop":
        raise RuntimeError(f"the stream ended without finish_reason 'stop' ({finish})")
    return {"first_token": first or total, "first_content": first_content or total, "total": total}


def start_server(index: Path | None, port: int) -> subprocess.Popen:
    flags = ["--index", str(index)] if index else []
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--port", str(port), *flags],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"rag serve exited: {process.stderr.read()[-1000:]}") from None
            time.sleep(1)
    process.terminate()
    raise SystemExit("rag serve did not start within 300 s")


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="index folder (default: the shipped corpus's index/)")
    parser.add_argument("--questions", type=int, default=8, help="seed questions timed on both sides")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()

    import openai
    from conftest import free_port

    from rag import RAG

    questions = seed_questions()
    from rag.models.cpu import describe

    print(f"CPU: {describe()}")
    port = free_port()
    server = start_server(args.index, port)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0, timeout=1800)
        rag = RAG(index_dir=args.index) if args.index else RAG()
        rag.warm_up()
        print(f"runtime {rag.settings.runtime}; {args.questions} seed questions, each side once, after a warm-up")
        ask_rows, api_rows = [], []
        timed = questions[1 : 1 + args.questions]
        for n, question in enumerate([questions[0], *timed]):
            sides = [("ask", ask_rows, lambda q: ask_path(rag, q)), ("api", api_rows, lambda q: api_path(client, q))]
            if n % 2:
                sides.reverse()  # alternate who goes first, so a noisy moment falls on both
            for name, rows, measure in sides:
                timing = measure(question)
                if n:
                    rows.append(timing)
                print(
                    f"  {'warm-up' if not n else n} {name}: first {timing['first_token']:.2f} s, "
                    f"total {timing['total']:.2f} s  {question[:50]}",
                    flush=True,
                )
        print("\n| | rag ask (median) | API (median) | API / ask |\n|---|---|---|---|")
        for key, label in (("first_token", "first token"), ("total", "total")):
            a, b = median(ask_rows, key), median(api_rows, key)
            print(f"| {label} | {a:.2f} s | {b:.2f} s | {b / a:.3f} |")
        print(f"| API first checked text | | {median(api_rows, 'first_content'):.2f} s | |")

        print(f"\n{args.clients} streaming clients at once:")
        results: list[dict[str, float] | Exception] = [RuntimeError("not run")] * args.clients
        unseen = questions[1 + args.questions :] or questions

        def one(i: int) -> None:
            try:
                results[i] = api_path(client, unseen[i % len(unseen)])
            except Exception as error:  # noqa: BLE001 - counted and shown
                results[i] = error

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        good = [r for r in results if isinstance(r, dict)]
        errors = [r for r in results if not isinstance(r, dict)]
        print(f"  finished without error: {len(good)} of {args.clients}; wall {wall:.1f} s")
        for error in errors[:3]:
            print(f"  error: {type(error).__name__}: {error}")
        if good:
            firsts, totals = sorted(r["first_token"] for r in good), sorted(r["total"] for r in good)
            print(
                f"  first token: min {firsts[0]:.1f} s, median {statistics.median(firsts):.1f} s, "
                f"max {firsts[-1]:.1f} s"
            )
            print(
                f"  total: min {totals[0]:.1f} s, median {statistics.median(totals):.1f} s, max {totals[-1]:.1f} s; "
                f"{len(good) / wall * 60:.1f} answers a minute"
            )
        if errors:
            raise SystemExit(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
