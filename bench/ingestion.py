"""Ingestion speed: `rag index` on real files against the bare encoder on the same chunk texts.

    python bench/ingestion.py [--documents 1000] [--runs 2]

The corpora are SciFact abstracts (each a Markdown file: "# title" then the abstract) and SQuAD v1.1
dev paragraphs (each a text file), the first --documents of each, written to a temporary folder.

    ours   RAG.build of that folder into a new index: read, split, embed, BM25, save (models loaded
           beforehand, as in a running app)
    bare   SentenceTransformer.encode of exactly the texts our index embedded (title + chunk), same
           model files, batch size and threads (ours runs the model through transformers directly)

Runs alternate (bare, ours, bare, ours …) so drift on a shared machine hits both; medians are
compared. Prints chunks per second and the ratio, and writes bench/results/ingestion.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rag.settings import eval_data_dir

DATA = eval_data_dir()
OUT = Path(__file__).with_name("results") / "ingestion.json"


def write_corpus(name: str, folder: Path, limit: int) -> int:
    from rag.evaluation.datasets import load_dataset

    path = DATA / "scifact" if name == "SciFact" else DATA / "squad-v1.1" / "dev-v1.1.json"
    documents = load_dataset(path).corpus or []
    for n, document in enumerate(documents[:limit]):
        if name == "SciFact":
            (folder / f"{n:05d}.md").write_text(f"# {document.title}\n\n{document.text}\n", encoding="utf-8")
        else:
            (folder / f"{n:05d}.txt").write_text(document.text + "\n", encoding="utf-8")
    return min(limit, len(documents))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000, help="from each corpus")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"needs the evaluation data at {DATA} (set eval_data / RAG_EVAL_DATA)")
    from sentence_transformers import SentenceTransformer

    from rag.models.weights import resolve_embedder
    from rag.pipeline import RAG

    base = RAG()
    embedder = base.embedder  # loaded once, shared by our runs
    bare_model = SentenceTransformer(resolve_embedder(embedder.name).location, device="cpu")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("SciFact", "SQuAD"):
            corpus = Path(tmp) / name
            corpus.mkdir()
            documents = write_corpus(name, corpus, args.documents)
            ours_s, bare_s, texts = [], [], None
            for run in range(args.runs):
                index_dir = Path(tmp) / f"index-{name}-{run}"
                rag = base.variant(index_dir=index_dir, corpus=[corpus])
                if texts is not None:
                    started = time.perf_counter()
                    bare_model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True)
                    bare_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                report = rag.build([corpus])
                ours_s.append(time.perf_counter() - started)
                splitter = rag.library.splitter()
                texts = [splitter.indexed_text(c) for c in rag.index.chunks.values()]
                shutil.rmtree(index_dir)
            started = time.perf_counter()  # the bare side's last run (its first needed the texts)
            bare_model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True)
            bare_s.append(time.perf_counter() - started)
            chunks = report.chunks
            ours, bare = chunks / statistics.median(ours_s), chunks / statistics.median(bare_s)
            results[name] = {
                "documents": documents,
                "chunks": chunks,
                "ours_s": [round(s, 2) for s in ours_s],
                "bare_s": [round(s, 2) for s in bare_s],
                "ours_chunks_per_s": round(ours, 1),
                "bare_chunks_per_s": round(bare, 1),
                "ratio": round(ours / bare, 3),
            }
            print(json.dumps({name: results[name]}), file=sys.stderr)
    print(f"embedder {embedder.name}, batch {embedder.batch_size}, {args.runs} runs each, medians")
    print(
        "| corpus | documents | chunks | rag index chunks/s | bare encode chunks/s | ratio |\n|---|---|---|---|---|---|"
    )
    for name, r in results.items():
        print(
            f"| {name} | {r['documents']:,} | {r['chunks']:,} | {r['ours_chunks_per_s']:.1f} "
            f"| {r['bare_chunks_per_s']:.1f} | {r['ratio']:.2f} |"
        )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"embedder": embedder.name, "batch_size": embedder.batch_size, **results}, indent=1))


if __name__ == "__main__":
    main()
