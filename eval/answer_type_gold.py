"""How often would the answer-type check (rag/answer_type.py) reject a right answer? Read on SQuAD's gold answers.

    python eval/answer_type_gold.py

For every SQuAD v1.1 dev question that asks for a person or an organisation, the gold answer, read in its own
paragraph sentence, must not count as "only places". Prints, per split (tune: articles 1-10, test: 11-48), how
many questions the check reads as asking for a person or an organisation, and the gold answers it would reject.
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.answer_type import asked_kind, names_only_places
from rag.evaluation.datasets import SQUAD_TUNE_ARTICLES
from rag.split import sentences

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "squad-v1.1" / "dev-v1.1.json"
def sentence_around(context: str, start: int) -> str:
    """The sentence of `context` (as rag splits it) that holds the character at `start`."""
    return next((context[s.start : s.end] for s in sentences(context) if s.start <= start < s.end), context)


def main() -> None:
    if not DATA.is_file():
        raise SystemExit(f"no SQuAD data at {DATA} (see ../shared/eval-data/README.md)")
    articles = json.loads(DATA.read_text(encoding="utf-8"))["data"]
    for split, chosen in (("tune", articles[:SQUAD_TUNE_ARTICLES]), ("test", articles[SQUAD_TUNE_ARTICLES:])):
        asked = {"person": 0, "organisation": 0}
        rejected = []
        questions = 0
        for article in chosen:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    questions += 1
                    kind = asked_kind(qa["question"])
                    if kind is None:
                        continue
                    asked[kind] += 1
                    gold = qa["answers"][0]
                    if names_only_places(gold["text"], [sentence_around(paragraph["context"], gold["answer_start"])]):
                        rejected.append(f"  {qa['question']} -> {gold['text']} ({kind})")
        print(f"{split}: {questions} questions; asking for a person {asked['person']}, for an organisation "
              f"{asked['organisation']}; gold answers rejected: {len(rejected)}")  # fmt: skip
        print("\n".join(rejected))


if __name__ == "__main__":
    main()
