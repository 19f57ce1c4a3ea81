"""Compare wordings of the answer check on the answers saved by eval/fit_abstention.py (no generation).

    python eval/compare_check_prompts.py [--name fit_abstention-llama.cpp] [--questions 120] [--limit N]
        [--wordings proposal,answerability,...] [--out check_prompts]

For each saved answer that was not refused, the model is asked after its answer prompt, in each wording,
whether the context bears it out, and P(Yes) is read. The report gives each wording's AUC between the
answerable questions and the unanswerable ones (nearby, elsewhere), and the share abstained at the fit's
floor (95% answered) when the wording replaces the check in the grid search. For the wording the
system uses (CHECK_PROMPT), it also gives how far P(Yes) lies from the check the fit saved: about 0 on
the fit's runtime, and the shift between runtimes on another (`RAG_RUNTIME=transformers`), since that
check reads only the question and the passages, not the answer. Writes eval/results/OUT.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from fit_abstention import DATA, FEATURES, MIN_ANSWERED, OUT, conditions, decide, search, signals

from rag import RAG
from rag.answer import CHECK_PROMPT, build_messages
from rag.cite import MARKER
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import dataset_rag
from rag.evidence import select_evidence

WORDINGS = {  # "proposal" was the check until the answerability question replaced it (README)
    "proposal": "Proposed answer: {answer}\n\nDoes the context say this? Reply Yes or No.",
    "answerability": CHECK_PROMPT,
    "exact": "Proposed answer: {answer}\n\nIs this what the context gives as the answer to this exact question? "
    "Reply Yes or No.",
    "says_is": 'Does the context say that "{answer}" is the answer to the question "{question}"? Reply Yes or No.',
    "quoted": 'Does the context answer the question "{question}"? Reply Yes or No.',
    "specific": "Does the context state exactly what this question asks for? Reply Yes or No.",
}


PAIRED = ("proposal", "quoted", "specific")  # each also averaged with the answerability check


def auc(positive: list[float], negative: list[float]) -> float:
    p, n = np.array(positive)[:, None], np.array(negative)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def abstained_at_floor(rows: list[dict], signal: str) -> tuple[float, float, float]:
    """With `signal` in place of the check, at the thresholds the fit would choose: the shares abstained
    on the answerable, the nearby and the elsewhere questions."""
    features = (*FEATURES[:2], signal)
    abstain = decide(*signals(rows, features), tuple(search(rows, features).values()))
    conditions = np.array([r["condition"] for r in rows])
    return tuple(round(float(abstain[conditions == c].mean()), 4) for c in ("answerable", "nearby", "elsewhere"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="fit_abstention-llama.cpp", help="the fit whose saved answers to read")
    parser.add_argument("--questions", type=int, default=120, help="as given to the fit")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions (a quick look)")
    parser.add_argument("--wordings", default=",".join(WORDINGS), help="which, comma-separated (default: all)")
    parser.add_argument("--out", default="check_prompts", help="eval/results/OUT.{json,md}")
    args = parser.parse_args()
    wordings = {name: WORDINGS[name] for name in args.wordings.split(",")}
    fit = json.loads((OUT / f"{args.name}.json").read_text())
    saved = fit["rows"]
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
                for name, wording in wordings.items():
                    asked = f"{messages[-1]['content']}\n\n{wording.format(answer=answer, question=q.question)}"
                    row[name] = rag.generator.yes_probability([*messages[:-1], {"role": "user", "content": asked}])
                for other in PAIRED:
                    if other in row and "answerability" in row:
                        row[f"mean_{other}_answerability"] = (row[other] + row["answerability"]) / 2
            rows.append(row)
        print(f"{n}/{len(evalset.questions[: args.limit])}", flush=True)

    lines = ["| wording | AUC nearby | AUC elsewhere | answered | abstained nearby | abstained elsewhere |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name in [*wordings, *(f"mean_{other}_answerability" for other in PAIRED)]:
        scored = [r for r in rows if name in r]
        if not scored:
            continue
        positive = [r[name] for r in scored if r["answerable"]]
        aucs = [auc(positive, [r[name] for r in scored if r["condition"] == c]) for c in ("nearby", "elsewhere")]
        lost, nearby, elsewhere = abstained_at_floor(rows, name)
        lines.append(f"| {name} | {aucs[0]:.3f} | {aucs[1]:.3f} | {1 - lost:.3f} | {nearby:.3f} | {elsewhere:.3f} |")
    shift = ""
    in_use = next((name for name, wording in wordings.items() if wording == CHECK_PROMPT), None)
    if in_use:
        gaps = np.array([abs(r[in_use] - r["check"]) for r in rows if in_use in r])
        fitted = fit["fitted"]["min_answer_check"]
        flips = sum((r[in_use] < fitted) != (r["check"] < fitted) for r in rows if in_use in r)
        shift = (f"\n\nThe check in use ({in_use}) against the check the fit saved, over {len(gaps)} answers: "
                 f"P(Yes) differs by {np.median(gaps):.4f} (median), {gaps.max():.4f} at most; {flips} fall on the "
                 f"other side of the fit's min_answer_check {fitted}.")  # fmt: skip
    runtime = s.runtime + (f" ({s.dtype})" if s.runtime == "transformers" else "")
    (OUT / f"{args.out}.json").write_text(json.dumps({"fit": args.name, "rows": rows}, indent=1) + "\n")
    (OUT / f"{args.out}.md").write_text(
        f"# Answer-check wordings on the answers of {args.name}\n\n`python eval/compare_check_prompts.py "
        f"{' '.join(sys.argv[1:])}`; generator {s.generator} on {runtime}; AUC over the "
        f"answers not refused; the shares at the fit's floor ({MIN_ANSWERED:.0%} answered, or the most reachable), "
        "with each wording in place of the check.\n\n" + "\n".join(lines) + shift + "\n"
    )
    print("\n".join(lines) + shift)


if __name__ == "__main__":
    main()
