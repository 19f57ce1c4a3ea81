"""Many people at once: N chat sessions ask the running app at the same time, over HTTP on loopback.

    python bench/load_test.py [--sessions 16] [--url http://127.0.0.1:7860/] [--concurrency 1]

Without --url it starts the app itself (`app.py`, the shipped index) on a free port. Each session is
its own gradio_client Client (its own session) asking one question of eval/seed_gold.jsonl through
the `/ask` endpoint; all start together. Prints per-question latency p50/p95, errors and throughput,
and writes bench/results/load_test.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "load_test.json"


def questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "seed_gold.jsonl").read_text().splitlines() if line]
    return [row["question"] for row in rows if row.get("answerable", True)]


def start_app(concurrency: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)  # noqa: SIM115 - kept for the app's life
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--concurrency", str(concurrency)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return process, url
        except OSError:
            if process.poll() is not None:
                sys.exit(f"the app exited: {Path(log.name).read_text()[-2000:]}")
            time.sleep(1)
    process.terminate()
    sys.exit("the app did not start within 300 s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--url", help="a running app (default: start one)")
    parser.add_argument("--concurrency", type=int, default=1, help="generation slots of the app started here")
    args = parser.parse_args()
    from gradio_client import Client

    process, url = (None, args.url) if args.url else start_app(args.concurrency)
    asked = questions()
    results: list[dict] = [{} for _ in range(args.sessions)]
    gate = threading.Barrier(args.sessions)

    def session(n: int) -> None:
        question = asked[n % len(asked)]
        try:
            client = Client(url, verbose=False)
            gate.wait()
            started = time.perf_counter()
            answer = client.predict(question, api_name="/ask")
            results[n] = {
                "question": question,
                "seconds": time.perf_counter() - started,
                "answered": bool(answer["answer"]),
                "abstained": answer["abstained"],
                "first_token_ms": answer["timings_ms"]["first_token"],
            }
        except Exception as error:  # noqa: BLE001 - every failure is counted and shown
            results[n] = {"question": question, "error": f"{type(error).__name__}: {error}"}

    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=session, args=(n,)) for n in range(args.sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    latencies = [r["seconds"] for r in results if "seconds" in r]
    errors = [r for r in results if "error" in r]
    summary = {
        "sessions": args.sessions,
        "url_given": bool(args.url),
        "concurrency": args.concurrency,
        "answered": sum(1 for r in results if r.get("answered")),
        "errors": len(errors),
        "latency_s": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p95": round(percentile(latencies, 0.95), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
        "wall_s": round(wall, 2),
        "answers_per_minute": round(60 * len(latencies) / wall, 1),
        "median_first_token_ms_inside_app": statistics.median(r["first_token_ms"] for r in results if "seconds" in r)
        if latencies
        else None,
        "results": results,
    }
    print(
        "| sessions | answered | errors | p50 s | p95 s | max s | wall s | answers/min |\n" + "|---" * 8 + "|\n"
        f"| {args.sessions} | {summary['answered']} | {len(errors)} | {summary['latency_s']['p50']} | "
        f"{summary['latency_s']['p95']} | {summary['latency_s']['max']} | {summary['wall_s']} | "
        f"{summary['answers_per_minute']} |"
    )
    for error in errors:
        print(f"error: {error['error']}")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(summary, indent=1))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
