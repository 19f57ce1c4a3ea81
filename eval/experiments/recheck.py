"""Read the answer check again for a recorded run, with today's generator, into a copy of its report.

    python eval/experiments/recheck.py eval/results/squad2-test-transformers DATA --out eval/results/NAME

The answer check's prompt is the answer prompt (the evidence and the question) with the check question
appended, and holds no draft: it is read again without generating anything. Each row's retrieval is done again
and must match the recorded one (a row whose passages differ is left out and counted). Writes the report's
rows with the new `answer_check` value, and its config, to --out; eval/fit_abstention.py reads that as it reads
any `--every-check` run. Prints the ROC AUC (answerable against unanswerable) of the old and new values.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from rag import RAG
from rag.answering.evidence import prepare
from rag.answering.prompt import answer_messages, check_messages
from rag.answering.question import parse
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import dataset_rag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("data", type=Path, help="the data set the report was run on")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    config = json.loads((args.report / "config.json").read_text()) if (args.report / "config.json").is_file() else {}
    dataset = config.get("dataset", {})
    evalset = load_dataset(args.data, limit=dataset.get("limit"), seed=dataset.get("seed", 0))
    questions = {q.id: q for q in evalset.questions}
    overrides = {"threads": args.threads} if args.threads else {}
    rag = dataset_rag(RAG(**overrides), evalset)
    rows = [json.loads(line) for line in (args.report / "results.jsonl").read_text().splitlines() if line.strip()]
    kept, old, new, differs = [], [], [], 0
    for row in tqdm(rows, desc="recheck", unit="q", file=sys.stderr):
        check = next((c for c in row.get("checks", []) if c["name"] == "answer_check"), None)
        if check is None:  # nothing shown to the model: no check was read
            kept.append(row)
            continue
        question = questions[row["id"]]
        passages = rag.retrieve(question.question)
        if [(p.chunk.source, p.chunk.id) for p in passages] != [(r["source"], r["chunk"]) for r in row["retrieved"]]:
            differs += 1
            continue
        evidence = prepare(parse(question.question), passages, rag.embedder, rag.settings.answering)
        p_yes = round(rag.generator.yes_probability(check_messages(answer_messages(evidence))), 4)
        old.append((row["answerable"], check["value"]))
        new.append((row["answerable"], p_yes))
        check.update(value=p_yes, passed=p_yes >= check["threshold"])
        row["answer_check"] = p_yes
        kept.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    if config:
        config["rechecked"] = {
            "from": str(args.report),
            "generator": rag.generator.label,
            "runtime": rag.settings.runtime,
            "dtype": rag.settings.dtype,
        }
        (args.out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    print(f"{len(new)} rows read again, {differs} left out (retrieval differs), {len(kept) - len(new)} without a check")
    for name, pairs in (("recorded", old), ("read again", new)):
        labels, values = zip(*pairs, strict=True)
        print(f"answer_check AUC, {name}: {roc_auc_score(labels, values):.4f} ({len(set(values))} distinct values)")


if __name__ == "__main__":
    main()
