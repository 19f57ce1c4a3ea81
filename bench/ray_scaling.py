"""Ray scale-out on this machine: ingestion with 1, 2 and 4 workers against `rag index`, answers a minute
with 1 and 2 serving replicas, and a projection of the scaling to larger clusters from the measured rates.

    python bench/ray_scaling.py [--files 48] [--runs 2] [--seconds 30] [--scripted]

Corpus: the shipped article reshuffled into --files different files (about 9 chunks each), written to a
temporary folder. Ingestion runs alternate (single, single-1t, ray-1, ray-2, ray-4, single, ...), each
into a new index: `single` is RAG.build (as `rag index`), `single-1t` the same with torch on one thread
(as each Ray worker runs), `ray-W` rag.scale.ray_ingest.build with W workers on a local Ray started for
that run (1 CPU each, or a fair share when there are fewer cores than workers). The driver's embedder is
loaded beforehand on both sides; a Ray run's time includes starting Ray and its actors and loading their
embedders: that is what a user waits for. Medians are quoted.

Serving: `rag serve --ray --replicas N` as the code runs it (rag.scale.ray_serve), 2 client threads
asking the /v1 API questions in turn for --seconds; the configured generator (--scripted: a fixed reply,
which times the rest: HTTP, Serve, retrieval, checks).

The projection (labelled so) is arithmetic on the measured figures, not a measurement:
T(W) = start + N / (W * r) + merge(N), with r the per-worker rate and merge the driver's serial part.
Writes bench/results/ray_scaling.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "ray_scaling.txt"
QUESTIONS = [
    "Why does China treat defectors as economic migrants?",
    "Which agreement does Beijing honor?",
    "What happens to defectors who are sent back to North Korea?",
    "What status does China deny North Korean refugees?",
]
SCRIPTED = "China treats defectors as economic migrants because of North Korea's food and financial struggles."


def write_corpus(folder: Path, files: int) -> None:
    original = next((ROOT / "corpus").glob("*.txt")).read_text(encoding="utf-8")
    sentences = original.split(". ")
    for n in range(files):
        order = sentences[:]
        random.Random(n).shuffle(order)
        (folder / f"doc-{n:04d}.md").write_text(f"# Document {n}\n\n" + ". ".join(order), encoding="utf-8")


def ingestion(corpus: Path, work: Path, runs: int, worker_counts: list[int], embedder) -> dict:  # noqa: ANN001
    import ray

    from rag.pipeline import RAG
    from rag.scale import ray_ingest

    cores = os.cpu_count() or 1
    import torch

    threads = torch.get_num_threads()
    # single-1t: `rag index` with torch on 1 thread, as each Ray worker runs: separates Ray's cost from threading's
    times: dict[str, list[float]] = {"single": [], "single-1t": [], **{f"ray-{w}": [] for w in worker_counts}}
    # fixed: a Ray run over one file with one worker, i.e. what a Ray run costs before any work (Ray's start,
    # the actor, its model load, the shutdown): the projection's serial start-up
    times["fixed"] = []
    one = work / "one-file"
    one.mkdir()
    shutil.copy(sorted(corpus.iterdir())[0], one)
    chunks = 0
    for run in range(runs):
        for name in times:
            folder = work / f"{name}-{run}"
            rag = RAG(index_dir=folder)
            rag.use(embedder=embedder)  # loaded once: both sides time indexing, not the driver's model load
            started = time.perf_counter()
            if name.startswith("single"):
                torch.set_num_threads(1 if name == "single-1t" else threads)
                report = rag.build([corpus])
                torch.set_num_threads(threads)
            else:
                workers = 1 if name == "fixed" else int(name.split("-")[1])
                ray.init(num_cpus=cores, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
                try:
                    share = min(1.0, cores / workers)
                    report = ray_ingest.build(
                        rag, [one if name == "fixed" else corpus], workers=workers, cpus_per_worker=share
                    )
                finally:
                    ray.shutdown()
            times[name].append(time.perf_counter() - started)
            if name != "fixed":
                chunks = report.chunks
            print(f"  run {run + 1} {name:>7}: {times[name][-1]:6.1f} s", flush=True)

    # The driver's serial part: adding every document's vectors to one index, BM25 over the whole, the save.
    from rag.store.index import DocumentEntry, Index

    built = Index.open(work / "single-0")
    merge = []
    for run in range(runs):
        target = Index.create(work / f"merge-{run}", built.manifest.embedder, built.manifest.splitting)
        started = time.perf_counter()
        for source, entry in built.manifest.documents.items():
            chunk_list = [built.chunks[i] for i in entry.chunk_ids]
            target.add(source, DocumentEntry(entry.sha256, entry.title, []), chunk_list, built.vectors_of(source))
        target.save()
        merge.append(time.perf_counter() - started)
    return {"chunks": chunks, "times": times, "merge_s": statistics.median(merge)}


def serving(index: Path, replicas: int, seconds: float, scripted: bool) -> dict:
    import ray
    from ray import serve

    from rag.scale import ray_serve
    from rag.settings import Settings

    cores = os.cpu_count() or 1
    ray.init(num_cpus=cores, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        generator = None
        if scripted:
            sys.path.insert(0, str(ROOT / "tests"))
            import fakes
            from ray import cloudpickle

            cloudpickle.register_pickle_by_value(fakes)
            generator = fakes.ScriptedGenerator(SCRIPTED)
        port = 8790 + replicas
        started = time.perf_counter()
        ray_serve.start_replicas(
            Settings().with_overrides(index_dir=index),
            replicas=replicas,
            port=port,
            cpus_per_replica=min(1.0, cores / replicas),
            generator=generator,
        )
        startup = time.perf_counter() - started
        url = f"http://127.0.0.1:{port}/v1/chat/completions"

        def ask(question: str) -> str:
            body = json.dumps({"model": "default", "messages": [{"role": "user", "content": question}]}).encode()
            request = urllib.request.Request(url, body, {"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.headers["x-rag-replica"]

        for question in QUESTIONS[:replicas]:  # warm each replica's first request (prompt caches, lazy imports)
            ask(question)
        done, errors, by_replica, lock = [], [0], {}, threading.Lock()
        deadline = time.perf_counter() + seconds

        def client(offset: int) -> None:
            n = offset
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    replica = ask(QUESTIONS[n % len(QUESTIONS)])
                except OSError:
                    with lock:
                        errors[0] += 1
                    continue
                with lock:
                    done.append(time.perf_counter() - t)
                    by_replica[replica] = by_replica.get(replica, 0) + 1
                n += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
        window = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - window
        return {
            "replicas": replicas,
            "answers": len(done),
            "errors": errors[0],
            "seconds": round(elapsed, 1),
            "per_minute": round(60 * len(done) / elapsed, 1),
            "p50_s": round(statistics.median(done), 2) if done else None,
            "startup_s": round(startup, 1),
            "spread": sorted(by_replica.values()),
        }
    finally:
        serve.shutdown()
        ray.shutdown()


def projection(chunks: int, times: dict, merge_s: float) -> list[str]:
    """Amdahl-style: serial = Ray's fixed start-up + the driver's merge; parallel = embedding at the
    per-worker rate measured with one Ray worker."""
    med = {name: statistics.median(values) for name, values in times.items()}
    fixed = med["fixed"]
    measured_rate = chunks / max(med["ray-1"] - fixed - merge_s, 1e-9)  # one Ray worker, once started
    # the baseline is the single process at its best here (2 threads or 1: on shared cores 1 can win)
    best = "single" if med["single"] <= med["single-1t"] else "single-1t"
    single_rate = chunks / max(med[best] - merge_s, 1e-9)
    # a worker runs the single process's code on one core: a faster figure for it is noise, so cap it
    rate = min(measured_rate, chunks / max(med["single-1t"] - merge_s, 1e-9))
    per_chunk = merge_s / chunks
    predicted_2 = fixed + chunks / (2 * rate) + merge_s
    lines = [
        "PROJECTION (arithmetic on the figures above, not a measurement):",
        f"  per-worker rate r = {rate:.1f} chunks/s (ray-1 minus the fixed cost and the merge: {measured_rate:.1f}, "
        "capped at single-1t's rate, the same code on one core);",
        f"  single-process rate ({best}, the faster) {single_rate:.1f} chunks/s;",
        f"  Ray fixed cost F = {fixed:.1f} s; merge m = {per_chunk * 1e3:.3f} ms/chunk",
        "  T(W) = F + N/(W*r) + m*N, one core per worker, a driver that keeps up, merge linear in N (beyond",
        "  100,000 chunks the save also trains an IVF index, not in m: the large-N rows are optimistic)",
        f"  model check on this machine: ray-2 predicted {predicted_2:.1f} s, measured {med['ray-2']:.1f} s "
        f"(2 workers on 2 shared cores); ray-4 has 4 workers on 2 cores, outside the model",
        f"{'N chunks':>10} {'workers':>8} {'T(W) s':>10} {'single s':>10} {'speed-up':>9}",
    ]
    for n in (chunks, 100_000, 1_000_000):
        base = n / single_rate + per_chunk * n
        for w in (1, 8, 32, 128):
            t = fixed + n / (w * rate) + per_chunk * n
            lines.append(f"{n:>10} {w:>8} {t:>10.1f} {base:>10.1f} {base / t:>8.2f}x")
    lines.append(
        f"  large-N limit: speed-up < {(1 / single_rate + per_chunk) / per_chunk:.0f}x whatever the workers "
        "(the serial merge; BM25 and FAISS adds on one driver)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30, help="serving window per replica count")
    parser.add_argument("--scripted", action="store_true", help="serve a fixed reply instead of the generator")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from rag.models.cpu import describe
    from rag.models.embed import Embedder

    embedder = Embedder("minilm")
    work = Path(tempfile.mkdtemp(prefix="ray-scaling-"))
    try:
        (work / "corpus").mkdir()
        write_corpus(work / "corpus", args.files)
        print(f"ingestion: {args.files} files, {args.runs} runs", flush=True)
        result = ingestion(work / "corpus", work, args.runs, [1, 2, 4], embedder)
        serve_results = []
        for replicas in (1, 2):
            print(f"serving: {replicas} replicas, {args.seconds:.0f} s", flush=True)
            serve_results.append(serving(work / "single-0", replicas, args.seconds, args.scripted))
            print(f"  {serve_results[-1]}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    chunks, times = result["chunks"], result["times"]
    single = statistics.median(times["single"])
    lines = [
        f"bench/ray_scaling.py --files {args.files} --runs {args.runs} --seconds {args.seconds:.0f}"
        f"{' --scripted' if args.scripted else ''}",
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"CPU {describe()}; ray {__import__('ray').__version__}; other jobs may share "
        "the cores (medians quoted)",
        "",
        f"INGESTION (measured): {args.files} files, {chunks} chunks",
        f"{'run':>9} {'median s':>9} {'chunks/s':>9} {'vs single':>10}   all runs",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        if name == "fixed":  # one file: the cost of a Ray run before any work
            lines.append(
                f"{name:>9} {median:>9.1f} {'-':>9} {'-':>10}   "
                + " ".join(f"{v:.1f}" for v in values)
                + "   (ray-1 on 1 file: start-up)"
            )
            continue
        lines.append(
            f"{name:>9} {median:>9.1f} {chunks / median:>9.1f} {single / median:>9.2f}x   "
            + " ".join(f"{v:.1f}" for v in values)
        )
    lines.append(f"merge on the driver (add + BM25 + save of all {chunks} chunks): {result['merge_s']:.2f} s")
    lines += [
        "",
        f"SERVING (measured): 2 client threads, {'scripted reply' if args.scripted else 'the real generator'}",
        f"{'replicas':>8} {'answers':>8} {'per min':>8} {'p50 s':>6} {'errors':>7} {'start s':>8}   per replica",
    ]
    for r in serve_results:
        lines.append(
            f"{r['replicas']:>8} {r['answers']:>8} {r['per_minute']:>8} {r['p50_s']!s:>6} {r['errors']:>7} "
            f"{r['startup_s']:>8}   {r['spread']}"
        )
    lines += ["", *projection(chunks, times, result["merge_s"])]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
