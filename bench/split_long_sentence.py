"""Splitting time of one over-long sentence (a one-line file with no sentence end) with the real tokenizer.

    python bench/split_long_sentence.py [--sizes 100000 200000 2000000] [--runs 3] [--kind words]

--kind words: "word123 " repeated; dots: a run of "." (a table-of-contents leader gone wrong);
initials: "J. " repeated (periods that do not end the sentence). Prints, per size, the median seconds
and the chunks produced; time that grows 4x when the size doubles is quadratic.
"""

from __future__ import annotations

import argparse
import statistics
import time

TEXTS = {
    "words": lambda n: " ".join(f"word{i % 997}" for i in range(n // 8))[:n],
    "dots": lambda n: "." * n,
    "initials": lambda n: ("J. " * (n // 3)) + "end",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 2_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kind", choices=sorted(TEXTS), default="words")
    args = parser.parse_args()
    from rag.ingest.split import splitter_for
    from rag.models.embed import Embedder
    from rag.types import Document

    splitter = splitter_for(Embedder("minilm"), 64, 16, title_in_chunks=True)
    for size in args.sizes:
        text = TEXTS[args.kind](size)
        document = Document(source="long.txt", title="", text=text, sha256="0" * 64)
        seconds, chunks = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            chunks = len(splitter.split(document))
            seconds.append(time.perf_counter() - started)
        print(f"{args.kind} {len(text):>9} chars: median {statistics.median(seconds):8.2f} s, {chunks} chunks")


if __name__ == "__main__":
    main()
