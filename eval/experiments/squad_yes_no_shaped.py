"""Write the SQuAD v1.1 dev questions that start like a yes/no question (an auxiliary first), with every paragraph
kept as the corpus, so that `rag eval` can measure how they are answered.

    python eval/experiments/squad_yes_no_shaped.py /tmp/squad-yes-no-shaped.json
    rag eval /tmp/squad-yes-no-shaped.json --split all --judge none

Of the 45, about half name their answers ("Is it A or B?"), which rag.answering.question.parse does not
take for yes/no.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.answering.question import ASKS_YES_NO
from rag.settings import eval_data_dir

DATA = eval_data_dir() / "squad-v1.1" / "dev-v1.1.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    data = json.loads(DATA.read_text(encoding="utf-8"))
    kept = 0
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            paragraph["qas"] = [qa for qa in paragraph["qas"] if ASKS_YES_NO.match(qa["question"])]
            kept += len(paragraph["qas"])
    out.write_text(json.dumps(data), encoding="utf-8")
    print(f"{kept} questions -> {out}")


if __name__ == "__main__":
    main()
