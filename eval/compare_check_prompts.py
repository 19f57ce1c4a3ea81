"""Compare wordings of the answer check on the answers saved by eval/fit_abstention.py (no generation).

    python eval/compare_check_prompts.py [--name fit_abstention-llama.cpp] [--questions 120]

For each saved answer that was not refused, the model is asked after its answer prompt, in each wording,
whether the context bears it out, and P(Yes) is read. The report gives each wording's AUC between the
answerable questions and the unanswerable ones (nearby, elsewhere), and the share abstained at the fit's
floor (95% answered) when the wording replaces the check in the grid search. Writes
eval/results/check_prompts.{json,md}.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from fit_abstention import DATA, FEATURES, GRID, MIN_ANSWERED, OUT, conditions, decide

from rag import RAG
from rag.answer import CHECK_PROMPT, build_messages
from rag.cite import MARKER
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import dataset_rag
from rag.evidence import select_evidence

WORDINGS = {
    "current": CHECK_PROMPT,
    "answerability": "Does the context state the answer to this question? Reply Yes or No.",
    "exact": "Proposed answer: {answer}\n\nIs this what the context gives as the answer to this exact question? "
    "Reply Yes or No.",
    "says_is": 'Does the context say that "{answer}" is the answer to the question "{question}"? Reply Yes or No.',
}


def auc(positive: list[float], negative: list[float]) -> float:
    p, n = np.array(positive)[:, None], np.array(negative)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def abstained_at_floor(rows: list[dict], signal: str) -> tuple[float, float, float]:
    """With `signal` in place of the check, at the thresholds abstaining most at the floor: the shares
    abstained on the answerable, the nearby and the elsewhere questions."""
    answerable = np.array([r["answerable"] for r in rows])
    conditions = np.array([r["condition"] for r in rows])
    refused = np.array([r["refused"] for r in rows])
    values = [np.array([r["best_score"] for r in rows]), np.array([r["support"] for r in rows]),
              np.array([r.get(signal, 0.0) for r in rows])]  # fmt: skip
    grid = (GRID[0][:, None, None, None], GRID[1][None, :, None, None], GRID[2][None, None, :, None])
    abstain = decide(refused, values, grid)
    answered = (~abstain[..., answerable]).mean(-1)
    share = np.where(answered >= min(MIN_ANSWERED, float(answered.max())), abstain[..., ~answerable].mean(-1), -1)
    best = np.unravel_index(share.argmax(), share.shape)
    return tuple(round(float(abstain[best][conditions == c].mean()), 4) for c in ("answerable", "nearby", "elsewhere"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="fit_abstention-llama.cpp", help="the fit whose saved answers to read")
    parser.add_argument("--questions", type=int, default=120, help="as given to the fit")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions (a quick look)")
    args = parser.parse_args()
    saved = json.loads((OUT / f"{args.name}.json").read_text())["rows"]
    evalset = load_dataset(DATA, args.questions, split="tune", seed=0)
    rag = dataset_rag(RAG(), evalset)
    s = rag.settings
    rows = []
    for n, q in enumerate(evalset.questions[: args.limit], 1):
        for condition, passages in conditions(rag, q).items():  # the fit's three
            row = next(r for r in saved if r["id"] == q.id and r["condition"] == condition)
            row = {name: row[name] for name in ("id", "answerable", "condition", "refused", "answer", *FEATURES)}
            if not row["refused"]:
                evidence = select_evidence(q.question, passages, rag.embedder, s.evidence_words,
                                           s.withhold_instructions)  # fmt: skip
                messages = build_messages(q.question, passages, evidence)
                answer = MARKER.sub("", row["answer"]).strip()
                for name, wording in WORDINGS.items():
                    asked = f"{messages[-1]['content']}\n\n{wording.format(answer=answer, question=q.question)}"
                    row[name] = rag.generator.yes_probability([*messages[:-1], {"role": "user", "content": asked}])
                row["mean_current_answerability"] = (row["current"] + row["answerability"]) / 2
            rows.append(row)
        print(f"{n}/{len(evalset.questions[: args.limit])}", flush=True)

    lines = ["| wording | AUC nearby | AUC elsewhere | answered | abstained nearby | abstained elsewhere |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name in [*WORDINGS, "mean_current_answerability"]:
        scored = [r for r in rows if name in r]
        positive = [r[name] for r in scored if r["answerable"]]
        aucs = [auc(positive, [r[name] for r in scored if r["condition"] == c]) for c in ("nearby", "elsewhere")]
        lost, nearby, elsewhere = abstained_at_floor(rows, name)
        lines.append(f"| {name} | {aucs[0]:.3f} | {aucs[1]:.3f} | {1 - lost:.3f} | {nearby:.3f} | {elsewhere:.3f} |")
    (OUT / "check_prompts.json").write_text(json.dumps({"fit": args.name, "rows": rows}, indent=1) + "\n")
    (OUT / "check_prompts.md").write_text(
        f"# Answer-check wordings on the answers of {args.name}\n\n`python eval/compare_check_prompts.py --name "
        f"{args.name}`; AUC over the answers not refused; the shares at the fit's floor ({MIN_ANSWERED:.0%} "
        "answered, or the most reachable), with each wording in place of the check.\n\n" + "\n".join(lines) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
