"""Write chosen SQuAD v1.1 dev articles as plain-text documents for the completeness dev set.

Why this exists: eval/complete_gold.jsonl has questions on a few Wikipedia articles from SQuAD v1.1 dev,
but those texts must not be copied into the repository. This script rebuilds them on demand, one file
per article (all its paragraphs, in order, separated by a blank line), so they can be indexed beside the
seed article (``rag index corpus/north-korean-defectors-border-law.txt OUT_DIR/*.txt``). Only the first
10 articles of the file may be used (the project's rule: fit on at most the first 10).

    python eval/squad_articles.py /tmp/wiki
    python eval/squad_articles.py /tmp/wiki --articles Nikola_Tesla,Teacher --squad PATH/dev-v1.1.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SQUAD = REPO.parent / "shared" / "eval-data" / "squad-v1.1" / "dev-v1.1.json"
DEFAULT_ARTICLES = ["Nikola_Tesla", "Martin_Luther", "Teacher", "Victoria_(Australia)"]
FIRST_N = 10  # only the first 10 articles of the dev file may be used


def load_articles(squad: Path) -> dict[str, str]:
    """Title -> text (paragraph contexts joined by a blank line) for the first FIRST_N articles."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    return {a["title"]: "\n\n".join(p["context"] for p in a["paragraphs"]) for a in data[:FIRST_N]}


def write_articles(out_dir: Path, titles: list[str], squad: Path) -> list[Path]:
    """Write each title as OUT_DIR/<Title>.txt; raises KeyError for a title not among the first FIRST_N."""
    articles = load_articles(squad)
    missing = [t for t in titles if t not in articles]
    if missing:
        raise KeyError(f"not among the first {FIRST_N} articles of {squad}: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for title in titles:
        path = out_dir / f"{title}.txt"
        path.write_text(articles[title] + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write <Title>.txt files into")
    parser.add_argument("--articles", default=",".join(DEFAULT_ARTICLES), help="comma-separated SQuAD titles")
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="SQuAD v1.1 dev JSON file")
    args = parser.parse_args(argv)
    if not args.squad.is_file():
        print(f"squad_articles: error: SQuAD file not found: {args.squad}", file=sys.stderr)
        return 2
    titles = [t.strip() for t in args.articles.split(",") if t.strip()]
    try:
        written = write_articles(args.out_dir, titles, args.squad)
    except KeyError as exc:
        print(f"squad_articles: error: {exc.args[0]}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
