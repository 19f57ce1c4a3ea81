"""Questions about one cell of a real table: does retrieval find the row, and does the answer give the cell?

    python eval/table_cells.py [--rows 300] [--questions 40] [--answers] [--csv PATH]

The table is the Titanic passenger list that ships with Gradio (gradio/media_assets/data/titanic.csv;
891 rows, 12 columns, real names). Its first --rows rows are indexed two ways, each in its own index
built by the product (`RAG.build`):

    rows naming columns   the .csv itself, read by rag's CSV reader: "Name: …; Age: 22; Fare: 7.25; …"
    header once (before)  the same rows as the DOCX reader used to write a table: the header line once,
                          then each row's cells joined by " | " (a .txt)

Each question asks for one cell of a row picked at random: "What was the fare of Braund, Mr. Owen
Harris?" (columns Age, Fare, Ticket, Cabin, Embarked; empty cells never asked). Retrieval counts a hit
when a passage among the first k holds the row (its name) and the value. With --answers, the product
answers each (`RAG.ask`, default settings) and an answer is right when it contains the value (numbers
compared as numbers). Writes eval/results/table-cells/report.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "eval" / "results" / "table-cells" / "report.json"
ASKED = {"Age": "age", "Fare": "fare", "Ticket": "ticket number", "Cabin": "cabin", "Embarked": "port of embarkation"}
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def default_csv() -> Path:
    import gradio

    return Path(gradio.__file__).parent / "media_assets" / "data" / "titanic.csv"


def questions(rows: list[dict[str, str]], count: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    asked = []
    while len(asked) < count:
        row = rng.choice(rows)
        column = rng.choice([c for c in ASKED if row[c]])
        asked.append(
            {"question": f"What was the {ASKED[column]} of {row['Name']}?", "name": row["Name"], "value": row[column]}
        )
    return asked


def holds(text: str, name: str, value: str) -> bool:
    return name in text and value in text


def right(answer: str, value: str) -> bool:
    if NUMBER.fullmatch(value):
        return any(abs(float(n) - float(value)) < 1e-6 for n in NUMBER.findall(answer.replace(",", "")))
    return value.lower() in answer.lower()


def write_corpora(source: Path, rows: int, folder: Path) -> tuple[list[dict[str, str]], Path, Path]:
    with open(source, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    header, body = table[0], table[1 : rows + 1]
    records_dir, pipes_dir = folder / "records", folder / "pipes"
    records_dir.mkdir()
    pipes_dir.mkdir()
    with open(records_dir / "titanic.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *body])
    lines = [" | ".join(header), *(" | ".join(row) for row in body)]
    (pipes_dir / "titanic.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [dict(zip(header, row, strict=True)) for row in body], records_dir, pipes_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--answers", action="store_true", help="also answer each question with the model")
    args = parser.parse_args()
    source = args.csv or default_csv()
    if not source.exists():
        sys.exit(f"no table at {source} (give one with --csv)")
    from rag import RAG

    base = RAG()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows, records_dir, pipes_dir = write_corpora(source, args.rows, Path(tmp))
        asked = questions(rows, args.questions)
        for label, folder in (("rows naming columns", records_dir), ("header once (before)", pipes_dir)):
            rag = base.variant(index_dir=Path(tmp) / f"index-{folder.name}", corpus=[folder])
            rag.build([folder])
            hits1 = hits5 = answered = correct = 0
            for q in asked:
                passages = rag.retrieve(q["question"], k=5)
                found = [holds(p.chunk.text, q["name"], q["value"]) for p in passages]
                hits1 += bool(found[:1] and found[0])
                hits5 += any(found)
                if args.answers:
                    answer = rag.ask(q["question"])
                    answered += not answer.abstained
                    correct += not answer.abstained and right(answer.answer, q["value"])
            n = len(asked)
            results[label] = {"hit@1": round(hits1 / n, 3), "hit@5": round(hits5 / n, 3)}
            if args.answers:
                results[label] |= {"answered": round(answered / n, 3), "right": round(correct / n, 3)}
            print(json.dumps({label: results[label]}), file=sys.stderr)
    print(f"{args.questions} questions on {args.rows} rows of {source.name}")
    columns = ["hit@1", "hit@5", *(["answered", "right"] if args.answers else [])]
    print("| indexed as | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for label, figures in results.items():
        print(f"| {label} | " + " | ".join(f"{figures[c]:.3f}" for c in columns) + " |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"rows": args.rows, "questions": args.questions, **results}, indent=1))


if __name__ == "__main__":
    main()
