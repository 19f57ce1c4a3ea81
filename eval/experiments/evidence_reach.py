"""How often the evidence the model is shown holds a gold answer, by passages retrieved and word budget.

    python eval/experiments/evidence_reach.py $RAG_EVAL_DATA/squad-v2.0/test-v2.0.json --limit 400

No generation: retrieval and evidence selection only (the embedder), over the answerable questions of the
same seeded sample `rag eval` takes. For each (top_k, evidence_words) it prints the share whose retrieved
passages hold a gold answer, the share whose shown evidence does (`rag.metrics.contains`, as `rag eval` scores
answers), and the median words shown (the prompt's
length drives the first token: docs/measurements.md).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from rag import RAG
from rag.answering.evidence import prepare
from rag.answering.question import parse
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import dataset_rag
from rag.metrics import contains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--top-k", default="5,8,10")
    parser.add_argument("--words", default="120,160,200")
    args = parser.parse_args()
    evalset = load_dataset(args.data, limit=args.limit)
    rag = dataset_rag(RAG(), evalset, progress=True)
    ks, budgets = [int(k) for k in args.top_k.split(",")], [int(w) for w in args.words.split(",")]
    questions = [q for q in evalset.questions if q.answerable]
    print(f"{len(questions)} answerable questions of {len(evalset.questions)}")
    print("| top_k | evidence words | passages hold gold | evidence holds gold | median words shown |")
    print("|---|---|---|---|---|")
    retrieved = {q.id: rag.retrieve(q.question, k=max(ks)) for q in questions}
    for k in ks:
        for budget in budgets:
            in_passages = in_evidence = 0
            shown_words = []
            for q in questions:
                passages = retrieved[q.id][:k]
                golds = q.answers
                in_passages += any(contains(p.chunk.text, golds) for p in passages)
                within = rag.settings.answering.model_copy(update={"evidence_words": budget})
                evidence = prepare(parse(q.question), passages, rag.embedder, within)
                shown = " ".join(evidence.text(i) for i in evidence.shown_passages)
                in_evidence += bool(contains(shown, golds))
                shown_words.append(len(shown.split()))
            n = len(questions)
            print(
                f"| {k} | {budget} | {in_passages / n:.3f} | {in_evidence / n:.3f} | "
                f"{statistics.median(shown_words):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
