"""Re-indexing cost: an unchanged corpus embeds nothing; one changed document re-embeds only itself.

    python bench/reindex.py [--documents 1000] [--runs 5]

The corpus is the first N SciFact abstracts written as .txt files (synthetic text when ../shared is
absent). Prints a table and writes bench/results/reindex.json. Times are medians of --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from rag import RAG
from rag.settings import eval_data_dir

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = eval_data_dir() / "scifact" / "corpus.jsonl"
OUT = ROOT / "bench" / "results" / "reindex.json"


def write_corpus(folder: Path, count: int) -> str:
    folder.mkdir(parents=True)
    if SCIFACT.is_file():
        with open(SCIFACT, encoding="utf-8") as handle:
            for n, line in zip(range(count), handle, strict=False):
                row = json.loads(line)
                (folder / f"doc{n:04d}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
        return f"the first {count} SciFact abstracts"
    rng = random.Random(0)
    words = "river treaty census glacier orchard vaccine turbine tariff canal reactor library quarry".split()
    for n in range(count):
        text = " ".join(" ".join(rng.choice(words) for _ in range(15)) + "." for _ in range(15))
        (folder / f"doc{n:04d}.txt").write_text(text, encoding="utf-8")
    return f"{count} synthetic documents"


class CountingEmbedder:
    """Wraps the embedder to count what is embedded."""

    def __init__(self, embedder) -> None:  # noqa: ANN001
        self.inner, self.texts = embedder, 0

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.inner, name)

    def encode(self, texts: list[str], progress: bool = False):  # noqa: ANN201
        self.texts += len(texts)
        return self.inner.encode(texts, progress=progress)


def timed_build(rag: RAG, corpus: Path) -> tuple[float, int, dict]:
    counter = rag.embedder
    before = counter.texts
    started = time.perf_counter()
    report = rag.build([corpus])
    return time.perf_counter() - started, counter.texts - before, report.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        described = write_corpus(corpus, args.documents)
        rag = RAG(index_dir=Path(tmp) / "index", corpus=[corpus])
        rag.use(embedder=CountingEmbedder(rag.embedder))  # loaded before timing: the build times embedding only
        first, first_embedded, report = timed_build(rag, corpus)
        chunks = report["chunks"]
        rows = {"first build": (first, first_embedded)}

        def median_of(label: str, prepare=None) -> None:  # noqa: ANN001
            times, embedded = [], 0
            for run in range(args.runs):
                if prepare:
                    prepare(run)
                seconds, count, _ = timed_build(rag, corpus)
                times.append(seconds)
                embedded = max(embedded, count)
            rows[label] = (statistics.median(times), embedded)

        median_of("unchanged")
        median_of("every file touched, same content", lambda run: [os.utime(p) for p in corpus.iterdir()])
        target = corpus / "doc0007.txt"
        original = target.read_text(encoding="utf-8")

        def edit(run: int) -> None:
            target.write_text(original + f"\nEdit {run}.\n", encoding="utf-8")

        def rename(run: int) -> None:
            current = next(corpus.glob("renamed*.txt"), corpus / "doc0011.txt")
            current.rename(corpus / f"renamed{run}.txt")

        median_of("one document changed", edit)
        edited = next(source for source in rag.documents() if source.endswith("doc0007.txt"))
        one_doc_chunks = rag.documents()[edited]
        median_of("one document renamed", rename)

    print(f"Corpus: {described}, {chunks} chunks; medians of {args.runs} runs (in-process, models loaded)\n")
    print("| update | seconds | chunks embedded | share of first build |")
    print("|---|---|---|---|")
    result = {"corpus": described, "chunks": chunks, "runs": args.runs, "one_document_chunks": one_doc_chunks}
    result["rows"] = {}
    for label, (seconds, embedded) in rows.items():
        print(f"| {label} | {seconds:.3f} | {embedded} | {seconds / first:.3%} |")
        result["rows"][label] = {"seconds": round(seconds, 4), "embedded": embedded, "ratio": round(seconds / first, 5)}
    print(f"\n(the changed document has {one_doc_chunks} chunks)")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
