"""Quick check of the default pipeline on the hand-written seed gold set (eval/seed_gold.jsonl).

    python eval/seed_check.py

Prints how often it answers the answerable questions and abstains on the others, SQuAD F1 of the
answers, and whether a citation holds a gold passage. (The full `rag eval` will supersede this.)
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from rag import RAG
from rag.metrics import f1

GOLD = Path(__file__).with_name("seed_gold.jsonl")


def main() -> None:
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    rag = RAG()
    answered, abstained, f1s, cited_gold, first_tokens = [], [], [], [], []
    for row in rows:
        answer = rag.ask(row["question"])
        first_tokens.append(answer.timings_ms["first_token"])
        if row["answerable"]:
            answered.append(not answer.abstained)
            f1s.append(f1(answer.answer, row["answers"]) if not answer.abstained else 0.0)
            cited = " ".join(c.text for c in answer.citations)
            cited_gold.append(any(g in cited for g in row["gold_passages"]))
        else:
            abstained.append(answer.abstained)
        mark = "ABSTAIN" if answer.abstained else "ANSWER "
        print(f"{row['id']} {'A' if row['answerable'] else 'U'} {mark} {row['question']} -> {answer.answer}")
    print(f"answerable answered: {sum(answered)}/{len(answered)} = {statistics.mean(answered):.2f}")
    print(f"unanswerable abstained: {sum(abstained)}/{len(abstained)} = {statistics.mean(abstained):.2f}")
    print(f"F1 on answerable (abstention = 0): {100 * statistics.mean(f1s):.1f}")
    gold_cited = sum(c for c, a in zip(cited_gold, answered, strict=True) if a)
    print(f"answered questions whose citations contain a gold passage: {gold_cited}/{sum(answered)}")
    print(f"first token median {statistics.median(first_tokens):.0f} ms")


if __name__ == "__main__":
    main()
