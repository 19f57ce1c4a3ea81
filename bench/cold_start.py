"""Cold start: `rag ask` in a new process, end to end and split into its parts; the app's peak memory.

    python bench/cold_start.py [--runs 3] [--no-app]

1. `python -m rag ask SEED --json` in a new process, --runs + 1 times; the first run may fill caches
   (joined model files, the OS page cache), so the later ones are the "second run" figure: median.
2. The same work in a new process, timed part by part: imports (torch, transformers, FAISS, rag),
   model load (embedder, generator, and what they import), index open, answer (retrieve, generate,
   check citations). Median per part over --runs processes.
3. The app (`python app.py`) started on the shipped index, asked the seed question through its API;
   its peak resident memory (VmHWM) with the default models loaded and one answer given.

Prints a table, writes bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).with_name("results") / "cold_start.json"
SEED = "Why does China treat defectors as economic migrants?"


def parts_worker() -> dict:
    """Run in a new process: the parts of a cold `rag ask`, in the order the CLI meets them."""
    times, last = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        times[name] = round(now - last, 3)
        last = now

    import faiss  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from rag.pipeline import RAG

    lap("imports")
    rag = RAG()
    _ = rag.embedder, rag.generator
    lap("model load")
    _ = rag.index
    lap("index open")
    answer = rag.ask(SEED)
    lap("answer")
    times["answer text"] = answer.answer
    return times


def end_to_end() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag", "ask", SEED, "--json"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def app_peak_mb() -> dict:
    """Start the app, ask once through its API, read the process's peak resident memory."""
    from gradio_client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 300
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # noqa: BLE001 - not listening yet
                if process.poll() is not None or time.time() > deadline:
                    sys.exit("the app did not start")
                time.sleep(1)
        ready_s = time.perf_counter() - started
        answer = client.predict(SEED, api_name="/ask")
        status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
        memory = {
            line.split(":")[0]: int(line.split()[1]) / 1024 for line in status if line.startswith(("VmHWM", "VmRSS"))
        }
        return {
            "peak_rss_mb": round(memory["VmHWM"], 0),
            "rss_after_answer_mb": round(memory["VmRSS"], 0),
            "start_to_ready_s": round(ready_s, 1),
            "answered": bool(answer.get("answer")),
        }
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-app", action="store_true", help="skip the app's memory")
    parser.add_argument("--parts-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.parts_worker:
        print(json.dumps(parts_worker()))
        return

    end_to_end()  # first run: caches
    runs = [end_to_end() for _ in range(args.runs)]
    parts = []
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, __file__, "--parts-worker"], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"parts worker failed: {done.stderr.strip().splitlines()[-1:]}")
        parts.append(json.loads(done.stdout.strip().splitlines()[-1]))
    names = ["imports", "model load", "index open", "answer"]
    medians = {name: round(statistics.median(p[name] for p in parts), 2) for name in names}
    result = {
        "end_to_end_s": [round(r, 2) for r in runs],
        "end_to_end_median_s": round(statistics.median(runs), 2),
        "parts_median_s": medians,
        "parts_runs": parts,
    }
    if not args.no_app:
        result["app"] = app_peak_mb()

    print(
        f"cold `rag ask` (new process, caches in place), median of {args.runs}: {result['end_to_end_median_s']} s "
        f"(runs: {', '.join(f'{r:.1f}' for r in runs)})"
    )
    total = sum(medians.values())
    print("| part | median s | share |\n|---|---|---|")
    for name in names:
        print(f"| {name} | {medians[name]:.2f} | {medians[name] / total:.0%} |")
    if "app" in result:
        app = result["app"]
        print(
            f"app: ready in {app['start_to_ready_s']} s; peak RSS {app['peak_rss_mb']:.0f} MB "
            f"(after one answer: {app['rss_after_answer_mb']:.0f} MB)"
        )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
