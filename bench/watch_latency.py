"""Watched folders: seconds from a file saved to its passages being found, and a 200-file copy.

    python bench/watch_latency.py [--trials 20] [--copy 200]

A collection is built from the shipped corpus in a temporary folder and watched (`RAG.watch`, the watcher
`rag serve --watch` runs). Each trial saves one new one-page file (a SQuAD v1.1 dev paragraph, ~130 words,
with a marker word of its own) and measures until `RAG.retrieve(marker)` returns a passage of that file:
what a question asked at that moment would see. Trials are spaced so each starts at idle. Then --copy
files are copied in at once; it measures until all are indexed and checks the index is whole (every
document's chunks present, no chunk without a document). Prints medians, p90 and the CPU; writes
bench/results/watch_latency.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.settings import DEFAULT_CORPUS, eval_data_dir

OUT = Path(__file__).with_name("results") / "watch_latency.json"
POLL_S = 0.02


def cpu() -> str:
    info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Model name")), "?")
    return f"{model} ({'AVX512-BF16' if 'avx512_bf16' in info else 'no AVX512-BF16'})"


def paragraphs(count: int) -> list[str]:
    from rag.evaluation.datasets import load_dataset

    corpus = load_dataset(eval_data_dir() / "squad-v1.1" / "dev-v1.1.json").corpus or []
    return [document.text for document in corpus[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--copy", type=int, default=200)
    args = parser.parse_args()
    from rag import RAG

    texts = paragraphs(args.trials + args.copy)
    if len(texts) < args.trials + args.copy:
        sys.exit(f"needs SQuAD v1.1 dev at {eval_data_dir()}")
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(DEFAULT_CORPUS, docs)
        rag = RAG(index_dir=Path(tmp) / "index", corpus=[docs])
        rag.build([docs])
        rag.retrieve("warm up")  # models loaded, as in a running server
        watch = rag.watch([docs])
        latencies = []
        for n in range(args.trials):
            marker = f"zorbulon{n}quix"
            started = time.perf_counter()
            (docs / f"trial{n:02d}.txt").write_text(f"{texts[n]} The archive code is {marker}.\n", encoding="utf-8")
            while not any(marker in p.chunk.text for p in rag.retrieve(marker, k=3)):
                time.sleep(POLL_S)
            latencies.append(time.perf_counter() - started)
            time.sleep(1.0)  # the next trial starts at idle
        batch = Path(tmp) / "batch"
        batch.mkdir()
        for n, text in enumerate(texts[args.trials :]):
            (batch / f"copy{n:03d}.txt").write_text(text + "\n", encoding="utf-8")
        updates = watch.state.updates
        expected = len(rag.documents()) + args.copy
        started = time.perf_counter()
        shutil.copytree(batch, docs / "batch")
        while len(rag.documents()) < expected:
            time.sleep(POLL_S)
        copy_s = time.perf_counter() - started
        index = rag.index
        owned = sorted(i for entry in index.manifest.documents.values() for i in entry.chunk_ids)
        whole = owned == sorted(index.chunks) and len(index) == len(owned)
        watch.stop()
    result = {
        "cpu": cpu(),
        "trials": args.trials,
        "saved_to_found_s": {
            "median": round(statistics.median(latencies), 3),
            "p90": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 3),
            "max": round(max(latencies), 3),
            "all": [round(x, 3) for x in latencies],
        },
        "copy": {
            "files": args.copy,
            "seconds_to_all_indexed": round(copy_s, 2),
            "updates": watch.state.updates - updates,
            "index_whole": whole,
        },
    }
    print(f"CPU: {result['cpu']}")
    s = result["saved_to_found_s"]
    print(
        f"saved -> found, {args.trials} one-page files: median {s['median']:.2f} s, "
        f"p90 {s['p90']:.2f} s, max {s['max']:.2f} s"
    )
    c = result["copy"]
    print(
        f"{c['files']} files copied at once: all indexed after {c['seconds_to_all_indexed']:.1f} s in "
        f"{c['updates']} update(s); index whole: {c['index_whole']}"
    )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
