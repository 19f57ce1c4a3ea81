"""Fit the abstention thresholds on training material: SQuAD v1.1 dev articles 1-10 (the tune split).

    python eval/fit_abstention.py [--questions 120] [--seed 0] [--refit] [--name fit_abstention]

Each sampled question is asked three times: as is (answerable); with its whole article out of reach of
retrieval (unanswerable "elsewhere": what is left is other articles, as when a user asks about something
the documents do not cover); and with only its paragraph, and any passage stating its answer, out of
reach (unanswerable "nearby": the rest of its article, as when a user asks what the documents' subject
suggests but they do not say). For each answer it records what the system decides on: the best cosine of a
passage or of a sentence shown to the model (`min_retrieval_score`), the best support among the draft's
sentences (`min_support`; a sentence stating a number or a name its evidence does not state counts as
0), the model's P(Yes) when asked whether the context states the answer (`min_answer_check`), and whether
it abstained for a reason no threshold moves (it refused; the answer lacks the date or number asked for, or gives
only a place for a person or an organisation).
A grid search picks the thresholds that abstain most on the unanswerable questions among those that
answer at least 95% of the answerable ones (or, when none does, as many as the loosest answer: answering comes first).
`--refit` redoes the search on the saved answers. The generator runs on the runtime the settings choose for
this CPU (`RAG_RUNTIME` picks another), and the report names it.
Writes eval/results/NAME.{json,md}; the defaults in rag/settings.py are set from them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rag import RAG
from rag.answer import answer_stream
from rag.evaluation.datasets import Question, load_dataset
from rag.evaluation.runner import dataset_rag
from rag.types import Answer, Passage

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "squad-v1.1" / "dev-v1.1.json"
OUT = Path(__file__).resolve().parent / "results"
MIN_ANSWERED = 0.95


def features(rag: RAG, question: str, passages: list[Passage]) -> dict[str, float | bool]:
    """Answer with nothing filtered, and return what the abstention thresholds would read."""
    loose = rag.variant(min_retrieval_score=-1.0, min_support=0.0, min_answer_check=1e-9)  # asked, never binding
    answer = None
    for item in answer_stream(question, passages, loose.generator, loose.embedder, loose.settings,
                              time.perf_counter(), 0.0):  # fmt: skip
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    supports = [s.support if s.supported else 0.0 for s in answer.sentences]
    return {
        "best_score": answer.relevance if answer.relevance is not None else -1.0,
        "support": max(supports, default=0.0),
        "check": answer.answer_check if answer.answer_check is not None else 0.0,
        # with every threshold loose, only for reasons no threshold moves (a P(Yes) of exactly 0 still abstains)
        "refused": answer.abstained and answer.answer_check is None,
        "abstain_reason": answer.abstain_reason,
        "answer": answer.answer,
    }


THRESHOLDS = ("min_retrieval_score", "min_support", "min_answer_check")
FEATURES = ("best_score", "support", "check")
GRID = tuple(np.round(np.arange(low, high, 0.01), 2) for low, high in ((0.0, 0.61), (0.30, 0.81), (0.0, 0.61)))


def decide(refused: np.ndarray, values: list[np.ndarray], thresholds: tuple) -> np.ndarray:
    """Per answer (the last axis): would the system abstain under these thresholds? Thresholds may be
    arrays shaped to broadcast, which decides for every combination of them at once."""
    return refused | (values[0] < thresholds[0]) | (values[1] < thresholds[1]) | (values[2] < thresholds[2])


def signals(rows: list[dict], features: tuple[str, str, str] = FEATURES) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per row: whether it abstained for a reason no threshold moves, and the values the thresholds read."""
    return np.array([r["refused"] for r in rows]), [np.array([r.get(f, 0.0) for r in rows]) for f in features]


def search(rows: list[dict], features: tuple[str, str, str] = FEATURES, floor: float = MIN_ANSWERED) -> dict:
    """The thresholds abstaining most on the unanswerable rows among those answering at least `floor` of the
    answerable ones (or as many as the loosest answer); then more answered; then the loosest thresholds
    (fewest 0.01 steps in all, then the lowest score, support and check thresholds, in that order).
    `features` names the rows' values the three thresholds read (another check's P(Yes) in place of "check")."""
    answerable = np.array([r["answerable"] for r in rows])
    refused, values = signals(rows, features)
    # every combination at once: abstain[i, j, k, row] for GRID[0][i], GRID[1][j], GRID[2][k]
    grid = (GRID[0][:, None, None, None], GRID[1][None, :, None, None], GRID[2][None, None, :, None])
    abstain = decide(refused, values, grid)
    answered_share = (~abstain[..., answerable]).mean(-1)
    abstained_share = abstain[..., ~answerable].mean(-1)
    floor = min(floor, float(answered_share.max()))
    candidates = [(float(abstained_share[i, j, k]), float(answered_share[i, j, k]), -i - j - k, -i, -j, -k)
                  for i, j, k in zip(*np.nonzero(answered_share >= floor), strict=True)]  # fmt: skip
    best = tuple(-n for n in max(candidates)[3:])
    return {name: round(float(GRID[n][best[n]]), 2) for n, name in enumerate(THRESHOLDS)}


def conditions(rag: RAG, q: Question) -> dict[str, list[Passage]]:
    """The passages for the question as is ("answerable"), with its article out of reach ("elsewhere"),
    and with only its paragraph and any passage stating a gold answer out of reach ("nearby")."""
    k = rag.settings.top_k
    paragraph = q.gold_sources[0]
    article = paragraph.split("#")[0]
    deep = rag.retrieve(q.question, k + 60)
    elsewhere = [p for p in deep if p.chunk.source.split("#")[0] != article][:k]
    nearby = [p for p in deep if p.chunk.source != paragraph
              and not any(answer.lower() in p.chunk.text.lower() for answer in q.answers)][:k]  # fmt: skip
    return {"answerable": deep[:k], "elsewhere": elsewhere, "nearby": nearby}


def ask_each_way(rag: RAG, evalset) -> list[dict]:
    """Each question with its passages; with what retrieval returns once its article is out of reach
    ("elsewhere"); and once only its paragraph and any passage stating a gold answer are ("nearby": the
    same subject, as when a user asks what the documents' topic suggests but they do not say)."""
    rows, started = [], time.time()
    _ = rag.generator  # loaded once here, then shared by the loose variant of each question
    for n, q in enumerate(evalset.questions, 1):
        for condition, passages in conditions(rag, q).items():
            rows.append({"id": q.id, "answerable": condition == "answerable", "condition": condition,
                         **features(rag, q.question, passages)})  # fmt: skip
        print(f"{n}/{len(evalset.questions)} ({time.time() - started:.0f} s)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--refit", action="store_true", help="search again on the answers saved by the last run")
    parser.add_argument("--name", default="fit_abstention", help="eval/results/NAME.{json,md} (default fit_abstention)")
    args = parser.parse_args()
    evalset = load_dataset(DATA, args.questions, split="tune", seed=args.seed)
    rag = RAG()
    if args.refit:
        rows = json.loads((OUT / f"{args.name}.json").read_text())["rows"]
    else:
        rows = ask_each_way(dataset_rag(rag, evalset), evalset)

    answerable = np.array([r["answerable"] for r in rows])
    condition_of = np.array([r.get("condition", "answerable" if r["answerable"] else "elsewhere") for r in rows])
    refused, values = signals(rows)
    fitted = search(rows)

    def shares(abstained: np.ndarray) -> dict[str, float]:
        """Answered among the answerable; abstained among the unanswerable, in all and by condition."""
        out = {"answered_when_answerable": float((~abstained[answerable]).mean()),
               "abstained_when_unanswerable": float(abstained[~answerable].mean())}  # fmt: skip
        for condition in ("elsewhere", "nearby"):
            if (condition_of == condition).any():
                out[f"abstained_{condition}"] = float(abstained[condition_of == condition].mean())
        return {name: round(value, 4) for name, value in out.items()}

    current = {name: getattr(rag.settings, name) for name in THRESHOLDS}
    result = {
        "data": f"{DATA.name} tune split (articles 1-10), {len(evalset.questions)} questions (seed {args.seed}), "
        "each asked as is, with its article out of reach (elsewhere) and with only its paragraph and any "
        f"passage stating its answer out of reach (nearby); generator {rag.settings.generator} on "
        f"{rag.settings.runtime}" + (f" ({rag.settings.dtype})" if rag.settings.runtime == "transformers" else ""),
        "fitted": {**fitted, **shares(decide(refused, values, tuple(fitted.values())))},
        "before": {**current, **shares(decide(refused, values, tuple(current.values())))},
        "rows": rows,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    columns = [c for c in ("answered_when_answerable", "abstained_when_unanswerable", "abstained_elsewhere",
                           "abstained_nearby") if c in result["fitted"]]  # fmt: skip

    def line(label: str, row: dict) -> str:
        thresholds = ", ".join(f"{name} {row[name]}" for name in THRESHOLDS)
        return f"| {label}: {thresholds} | " + " | ".join(str(row[c]) for c in columns) + " |\n"

    (OUT / f"{args.name}.md").write_text(
        f"# Abstention thresholds fitted on training material\n\n`python eval/fit_abstention.py "
        f"--questions {args.questions} --seed {args.seed} --name {args.name}`: {result['data']}.\n\n"
        f"| thresholds | {' | '.join(c.replace('_', ' ') for c in columns)} |\n|---|{'---|' * len(columns)}\n"
        + line("before", result["before"]) + line("fitted", result["fitted"])
    )
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
