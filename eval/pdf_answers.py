"""Answers from PDFs, with a printed line's end taken as a sentence's end (the reader before) and with the lines
of a paragraph run on (rag/ingest/reflow.py), in one run.

    python eval/pdf_answers.py [--articles 6] [--per-article 20] [--out eval/results/pdf-answers]

SQuAD v1.1 dev articles (../shared/eval-data) are written by fpdf2 as PDFs, one an article, its paragraphs one
after another on A4 pages; up to --per-article of each article's questions, spread over it, are asked by
`rag eval` (the product's evaluation, `--judge none`) over an index of those PDFs. The "as printed" arm runs
the same command with the PDF reader's reflow turned into the identity (what was indexed before); nothing
else differs. Prints each arm's answer figures; the reports are under --out (as-printed/, run-on/).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from fpdf import FPDF

from rag.settings import eval_data_dir

# `rag` (this checkout's), and the same with the PDF reader's reflow as the identity: the text layer as printed
RAG = "import sys; from rag.cli import main; sys.exit(main(sys.argv[1:]))"
AS_PRINTED = "import rag.ingest.formats.pdf as pdf; pdf.reflow = lambda text: text; " + RAG


def latin(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def write_articles(articles: list[dict], folder: Path, per_article: int) -> Path:
    """One PDF an article, and the gold JSONL of its questions."""
    folder.mkdir(parents=True, exist_ok=True)
    gold = []
    for article in articles:
        name = "".join(c if c.isalnum() else "_" for c in article["title"])[:60] + ".pdf"
        pdf = FPDF()
        pdf.set_font("helvetica", size=11)
        pdf.add_page()
        for paragraph in article["paragraphs"]:
            pdf.multi_cell(0, 6, latin(paragraph["context"]))
            pdf.ln(4)
        pdf.output(str(folder / name))
        questions = [(q, p) for p in article["paragraphs"] for q in p["qas"]]
        step = max(1, len(questions) // per_article)
        for q, _ in questions[::step][:per_article]:
            answers = list(dict.fromkeys(latin(a["text"]) for a in q["answers"]))
            gold.append({"id": q["id"], "question": q["question"], "answerable": True, "answers": answers})
    path = folder.parent / "gold.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in gold), encoding="utf-8")
    return path


def rag(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`rag ARGS` run by `code` (RAG or AS_PRINTED) in this checkout; stops the script when it fails."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1]
    )
    if done.returncode not in (0, 3):  # 3: done, some questions failed (they are counted)
        sys.exit(f"rag {args[0]} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=6)
    parser.add_argument("--per-article", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results") / "pdf-answers")
    args = parser.parse_args()
    args.out = args.out.resolve()
    source = eval_data_dir() / "squad-v1.1" / "dev-v1.1.json"
    if not source.exists():
        sys.exit(f"no {source}: the SQuAD v1.1 dev set is needed (../shared/eval-data)")
    articles = json.loads(source.read_text(encoding="utf-8"))["data"][: args.articles]
    work = Path(tempfile.mkdtemp())
    gold = write_articles(articles, work / "docs", args.per_article)
    figures = {}
    for arm, code in (("as-printed", AS_PRINTED), ("run-on", RAG)):
        index = str(work / f"index-{arm}")
        rag(code, "index", str(work / "docs"), "--index", index)
        done = rag(
            code, "eval", str(gold), "--index", index, "--judge", "none", "--report", str(args.out / arm), "--json"
        )
        metrics = json.loads(done.stdout)
        figures[arm] = {
            "questions": metrics["questions"],
            "contains": metrics["answers"]["contains"],
            "f1": metrics["answers"]["f1"],
            "answered": metrics["abstention"]["answered_when_answerable"],
            "recall@5": metrics.get("retrieval", {}).get("recall@5"),
        }
        print(f"{arm}: {figures[arm]}", file=sys.stderr)
    (args.out / "summary.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
