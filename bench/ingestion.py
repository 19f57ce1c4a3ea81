"""Ingestion speed: `rag index` against the bare encoder, and (--formats) each file format's read speed.

Default: `rag index` on real files against the bare encoder on the same chunk texts.

    python bench/ingestion.py [--documents 1000] [--runs 2]
    python bench/ingestion.py --formats [--documents 200] [--per-file 10] [--runs 3] [--ocr-pages 4]

The corpora are SciFact abstracts (each a Markdown file: "# title" then the abstract) and SQuAD v1.1
dev paragraphs (each a text file), the first --documents of each, written to a temporary folder.

    ours   RAG.build of that folder into a new index: read, split, embed, BM25, save (models loaded
           beforehand, as in a running app)
    bare   SentenceTransformer.encode of exactly the texts our index embedded (title + chunk), same
           model files, batch size and threads (ours runs the model through transformers directly)

Runs alternate (bare, ours, bare, ours …) so drift on a shared machine hits both; medians are
compared. Prints chunks per second and the ratio, and writes bench/results/ingestion.json.

--formats: the first --documents SQuAD v1.1 dev paragraphs, --per-file to a file, written in every
format the product reads (bench/format_samples.py: the same text in each, put in tables, slides,
chapters or messages as such files hold it), then read with the product's own `load_file` (default
ReadOptions). Untimed first: each format's files are read twice (the first pays the reader's imports
and shows every file reads; the second sizes the samples), and the OCR model is loaded on a blank
page. Then each run reads every format in turn, starting one format later each run, so drift on a
shared machine hits all formats. Within a run each format is timed in SLICES samples, each reading
its files over and over for at least MIN_SAMPLE_S (a scan: once), so that neither a millisecond's
timing nor a short burst of other jobs' work decides a figure; the figures use the median of all
samples of all runs (seconds for one pass over the format's files). A reader that fails on a
sample is a product bug: the format's row says so, with the file and the error.

    format              file suffix
    files               how many files of it (all hold the same paragraphs)
    text MB             UTF-8 bytes of the text the reader returned, in 10^6 (tables and mail add
                        column names and headers, so it is a little more than the paragraphs)
    read files/s        files / median seconds to read them all
    read MB of text/s   text MB / median seconds
    chunks              chunks the product's splitter (RAG().library.splitter()) makes of that text
    vs .txt             read files/s over .txt's: the same paragraphs, so the cost of the format

Scans (OCR): --ocr-pages pages of the text PDFs rendered at 200 dpi, read as PNG files (one per
page) and as one image-only PDF (the reader renders it again at its own DPI): pages per minute, and
the share of the page's words (from its text layer) that the OCR found. Also for every other format
the share of the paragraphs' words found in its text is checked, and any below 99.9% is named. The
CPU (lscpu "Model name", whether the flags include avx512_bf16) and the load average are printed
first. Writes bench/results/ingestion-formats.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rag.settings import eval_data_dir

DATA = eval_data_dir()
OUT = Path(__file__).with_name("results") / "ingestion.json"
FORMATS_OUT = OUT.with_name("ingestion-formats.json")
# Per run, a format is timed in this many samples, each reading its files over and over for at least
# MIN_SAMPLE_S: the median then passes over a burst of other jobs' work on this shared machine
SLICES = 5
MIN_SAMPLE_S = 0.05
SCANS = (".png (scan)", ".pdf (scan)")


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
    parser.add_argument("--formats", action="store_true", help="read speed of each file format instead")
    parser.add_argument("--documents", type=int, help="from each corpus (default 1000); --formats: paragraphs (200)")
    parser.add_argument("--runs", type=int, help="default 2; --formats: 3")
    parser.add_argument("--per-file", type=int, default=10, help="--formats: paragraphs in each file")
    parser.add_argument("--ocr-pages", type=int, default=4, help="--formats: pages of scans to OCR")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"needs the evaluation data at {DATA} (set eval_data / RAG_EVAL_DATA)")
    if args.formats:
        formats_main(args.documents or 200, args.per_file, args.runs or 3, args.ocr_pages)
        return
    args.documents = args.documents or 1000
    args.runs = args.runs or 2
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


# --- --formats: read speed of each file format ---------------------------------------------------------


def cpu() -> dict:
    """lscpu's model name and whether the CPU has AVX-512 BF16 (it decides how fast the models run)."""
    try:
        listing = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        listing = ""
    fields = dict(line.split(":", 1) for line in listing.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    return {
        "model": fields.get("Model name", "unknown").strip(),
        "avx512_bf16": "avx512_bf16" in flags,
        "cores": len(os.sched_getaffinity(0)),
    }


def code_version() -> dict:
    """The commit, and the reader files changed since it: others edit the readers while benches run."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain", "--", "rag/ingest").splitlines()  # "XY path" lines
    return {"commit": git("rev-parse", "--short", "HEAD"), "rag_ingest_changed": [line.split()[-1] for line in changed]}


def words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def words_found(expected: str, got: str) -> float:
    """The share of `expected`'s words (counted with repeats) that `got` has."""
    want, have = words(expected), words(got)
    total = sum(want.values())
    return sum(min(n, have[word]) for word, n in want.items()) / total if total else 1.0


class ReadFailure(Exception):
    """A sample file the product's reader failed on: the file, the error's type and message."""

    def __init__(self, path: Path, error: Exception) -> None:
        super().__init__(f"{path.name}: {type(error).__name__}: {error}")


def read_all(files: list[Path], options, repeats: int = 1) -> tuple[list, float]:
    """The Documents of `files` read with the product's `load_file`, and the seconds one pass over them
    took: the mean of `repeats` passes."""
    from rag.ingest.load import load_file

    started = time.perf_counter()
    for _ in range(repeats):
        documents = []
        for path in files:
            try:
                documents.append(load_file(path, options))
            except Exception as error:  # noqa: BLE001 - reported with the file, never worked around
                raise ReadFailure(path, error) from error
    return documents, (time.perf_counter() - started) / repeats


def formats_main(documents: int, per_file: int, runs: int, ocr_pages: int) -> None:
    from format_samples import write_samples
    from PIL import Image

    from rag.evaluation.datasets import load_dataset
    from rag.ingest.extracted import ReadOptions
    from rag.ingest.ocr import ocr_image
    from rag.pipeline import RAG

    machine = {**cpu(), "load_average_start": [round(x, 2) for x in os.getloadavg()]}
    version = code_version()  # before the readers are imported: the code that is timed
    corpus = load_dataset(DATA / "squad-v1.1" / "dev-v1.1.json").corpus or []
    paragraphs = [document.text for document in corpus[:documents]]
    # the splitter counts the embedder's tokens: its tokenizer is loaded once, here, and never timed
    rag = RAG()
    splitter = rag.library.splitter()
    options = ReadOptions()
    read: dict[str, list] = {}  # each format's Documents, for chunks and the words check
    seconds: dict[str, list[float]] = {}
    repeats: dict[str, int] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        samples = write_samples(paragraphs, Path(tmp), per_file, scan_pages=ocr_pages)
        print(
            f"wrote {sum(map(len, samples.values()))} files in {time.perf_counter() - started:.0f} s", file=sys.stderr
        )
        # the OCR model is loaded on a blank page, so no timed read pays for it; the scans themselves are
        # not read untimed (a minute a page on a busy machine): the first run's reading is kept instead
        ocr_image(Image.new("L", (64, 64), 255))
        for name, files in samples.items():
            if not files:
                failures[name] = "no files written"
                continue
            seconds[name] = []
            if name in SCANS:
                repeats[name] = 1
                continue
            try:  # untimed: imports the reader's libraries and shows that every file reads; a second
                # pass, without the imports, sizes the timed samples
                read[name], _ = read_all(files, options)
                _, once = read_all(files, options)
            except ReadFailure as failure:  # a well-formed sample the reader fails on: a product bug
                failures[name] = str(failure)
                del seconds[name]
                continue
            repeats[name] = max(1, min(1000, round(MIN_SAMPLE_S / max(once, 1e-6))))
        order = list(seconds)
        for run in range(runs):
            # each run starts one format later, so no format always comes first (or last) in a run
            for name in order[run % len(order) :] + order[: run % len(order)]:
                if name in failures:
                    continue
                try:
                    for _ in range(1 if name in SCANS else SLICES):
                        documents_read, took = read_all(samples[name], options, repeats[name])
                        read.setdefault(name, documents_read)
                        seconds[name].append(took)
                except ReadFailure as failure:
                    failures[name] = str(failure)
            done = {  # this run's median per format
                name: round(statistics.median(times[-(1 if name in SCANS else SLICES) :]), 4)
                for name, times in seconds.items()
                if times and name not in failures
            }
            print(json.dumps({"run": run + 1, **done}), file=sys.stderr)
        answer_keys = [png.with_suffix(".txt").read_text(encoding="utf-8") for png in samples[".png (scan)"]]
        results = {}
        for name in order:
            if name in failures:
                continue
            files, median = samples[name], statistics.median(seconds[name])
            text = "\n\n".join(d.text for d in read[name])
            expected = "\n\n".join(answer_keys if name in SCANS else paragraphs[: len(files) * per_file])
            result = {
                "files": len(files),
                "file_bytes": sum(path.stat().st_size for path in files),
                "text_bytes": sum(len(d.text.encode("utf-8")) for d in read[name]),
                "chunks": sum(len(splitter.split(d)) for d in read[name]),
                "words_found": round(words_found(expected, text), 4),
                "repeats": repeats[name],
                "seconds": [round(s, 5) for s in seconds[name]],
                "median_s": round(median, 5),
            }
            result["files_per_s"] = round(len(files) / median, 2)
            result["text_mb_per_s"] = round(result["text_bytes"] / 1e6 / median, 3)
            if name in SCANS:
                result["pages"] = len(answer_keys)
                result["pages_per_min"] = round(len(answer_keys) / median * 60, 2)
            results[name] = result
    for name, result in results.items():
        if ".txt" in results and name not in SCANS:
            result["vs_txt"] = round(result["files_per_s"] / results[".txt"]["files_per_s"], 4)
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report = {
        "cpu": machine,
        "code": version,
        "paragraphs": len(paragraphs),
        "per_file": per_file,
        "runs": runs,
        "ocr_pages": ocr_pages,
        "embedder": rag.embedder.name,
        "chunk_tokens": splitter.max_tokens,
        "formats": results,
        "failures": failures,
    }
    print_formats(report)
    FORMATS_OUT.parent.mkdir(exist_ok=True)
    FORMATS_OUT.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")


def print_formats(report: dict) -> None:
    machine, results = report["cpu"], report["formats"]
    print(
        f"CPU: {machine['model']}; avx512_bf16: {'yes' if machine['avx512_bf16'] else 'no'}; "
        f"{machine['cores']} cores; load average {machine['load_average_start']} at start, "
        f"{machine['load_average_end']} at end"
    )
    code = report["code"]
    changed = ", ".join(code["rag_ingest_changed"]) or "none"
    print(f"code: commit {code['commit']}; rag/ingest files changed since: {changed}")
    print(
        f"{report['paragraphs']} SQuAD v1.1 dev paragraphs, {report['per_file']} a file; load_file with default "
        f"ReadOptions; medians of {report['runs']} runs x {SLICES} samples (scans: 1); "
        f"chunks of {report['chunk_tokens']} {report['embedder']} tokens\n"
    )
    print("| format | files | text MB | read files/s | read MB of text/s | chunks | vs .txt |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if name not in SCANS:
            print(
                f"| {name} | {r['files']} | {r['text_bytes'] / 1e6:.3f} | {r['files_per_s']:,.1f} "
                f"| {r['text_mb_per_s']:,.3f} | {r['chunks']:,} | {r['vs_txt']:.3f} |"
            )
    for name, error in report["failures"].items():
        if name not in SCANS:
            print(f"| {name} | failed: {error} | | | | | |")
    scans = [name for name in SCANS if name in results or name in report["failures"]]
    if scans:
        print("\n| scan (OCR) | files | pages | median s | pages/min | chunks | words found |")
        print("|---|---|---|---|---|---|---|")
        for name in scans:
            if name in report["failures"]:
                print(f"| {name} | failed: {report['failures'][name]} | | | | | |")
                continue
            r = results[name]
            print(
                f"| {name} | {r['files']} | {r['pages']} | {r['median_s']:.1f} | {r['pages_per_min']:.2f} "
                f"| {r['chunks']:,} | {r['words_found']:.1%} |"
            )
    lost = {n: r["words_found"] for n, r in results.items() if n not in SCANS and r["words_found"] < 0.999}
    if lost:
        print("\nwords of the paragraphs not all found in: " + ", ".join(f"{n} ({v:.1%})" for n, v in lost.items()))
    if report["failures"]:
        print("\nreader failures on well-formed samples:")
        for name, error in report["failures"].items():
            print(f"- {name}: {error}")


if __name__ == "__main__":
    main()
