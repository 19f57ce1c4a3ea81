"""Fit the `score` support judge on SciFact claims_train and measure both judges against human labels.

    python eval/fit_judge.py                 # score judge: fit on train, report train and validation
    python eval/fit_judge.py --llm 300       # also the llm judge: threshold fitted on 300 train pairs
    python eval/fit_judge.py --brief 80      # also the llm judge on 80 SQuAD brief answers (tune split)

Writes rag/evaluation/judge_fit.json, which `rag eval` prints in its report. Only claims_train is
used to fit (eval-data rules); claims_validation is the held-out report. `rag eval` judges a brief
answer ("1986") as the claim that it answers its question; --brief measures the llm judge, at its
SciFact threshold, on such claims made from SQuAD's human answers, put that way and as the bare phrase.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from rag.evaluation.claims import brief_answer_pairs, load_abstracts, load_pairs
from rag.evaluation.judge import FEATURES, FIT_FILE, LLMJudge, ScoreJudge, agreement, load_fit
from rag.models.embed import Embedder
from rag.settings import eval_data_dir

SHARED = eval_data_dir()
CLAIMS = SHARED / "scifact" / "claims"
SQUAD = SHARED / "squad-v1.1" / "dev-v1.1.json"


def mean_by_kind(values: list, pairs: list) -> dict[str, float]:
    """The mean of a value per pair over each kind of pair (SciFact: supported, contradicted, and on topic
    but silent; SQuAD brief answers: the answer, another answer, another paragraph)."""
    kinds = dict.fromkeys(pair.kind for pair in pairs)
    return {
        kind: round(float(np.mean([v for v, pair in zip(values, pairs, strict=True) if pair.kind == kind])), 4)
        for kind in kinds
    }


def accuracy_by_kind(predicted: list[bool], pairs: list) -> dict[str, float]:
    """Agreement with the labels on each kind of pair."""
    return mean_by_kind([guess == pair.supported for guess, pair in zip(predicted, pairs, strict=True)], pairs)


def best_threshold(probabilities: np.ndarray, gold: list[bool]) -> float:
    """The cut on P(Yes) with the best balanced accuracy (train only)."""
    y = np.asarray(gold, dtype=bool)

    def balanced(cut: float) -> float:
        guess = probabilities >= cut
        return (guess[y].mean() + (~guess[~y]).mean()) / 2

    return max(sorted(set(probabilities.tolist())), key=balanced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=Path, default=CLAIMS)
    parser.add_argument("--llm", type=int, default=0, help="fit the llm judge on N train pairs")
    parser.add_argument("--brief", type=int, default=0, help="measure the llm judge on N SQuAD brief answers")
    parser.add_argument("--generator", default="qwen-1.5b")
    args = parser.parse_args()

    abstracts = load_abstracts(args.claims / "corpus_train.csv")
    train = load_pairs(args.claims / "claims_train.csv", abstracts)
    validation = load_pairs(args.claims / "claims_validation.csv", abstracts)
    embedder = Embedder("minilm")
    fit = load_fit()

    judge = ScoreJudge(embedder, coef=[0.0] * len(FEATURES))
    x_train = judge.features([(p.statement, p.passage) for p in train])
    y_train = np.array([p.supported for p in train])
    model = LogisticRegression(class_weight="balanced").fit(x_train, y_train)
    judge = ScoreJudge(embedder, model.coef_[0].tolist(), float(model.intercept_[0]))
    measured = {}
    for name, pairs in (("train", train), ("validation", validation)):
        predicted = judge.supports([(p.statement, p.passage) for p in pairs])
        measured[name] = agreement(predicted, [p.supported for p in pairs])
        measured[name]["accuracy_by_kind"] = accuracy_by_kind(predicted, pairs)
    fit["score"] = {
        "features": list(FEATURES),
        "coef": [round(c, 6) for c in model.coef_[0].tolist()],
        "intercept": round(float(model.intercept_[0]), 6),
        "embedder": "minilm",
        "fitted_on": "SciFact claims_train.csv",
        "agreement": measured,
    }
    print("score judge:", json.dumps(fit["score"], indent=1))

    generator = None
    if args.llm or args.brief:
        from rag.pipeline import RAG
        from rag.settings import Settings

        generator = RAG(Settings(generator=args.generator)).generator
    if args.llm:
        llm = LLMJudge(generator, threshold=0.5)
        train_sample = random.Random(0).sample(train, min(args.llm, len(train)))
        train_p = llm.probabilities([(p.statement, p.passage) for p in train_sample])
        threshold = best_threshold(train_p, [p.supported for p in train_sample])
        started = time.perf_counter()
        valid_p = llm.probabilities([(p.statement, p.passage) for p in validation])
        seconds = time.perf_counter() - started
        measured = {}
        for name, pairs, probs in (("train_sample", train_sample, train_p), ("validation", validation, valid_p)):
            predicted = [bool(p >= threshold) for p in probs]
            measured[name] = agreement(predicted, [p.supported for p in pairs])
            measured[name]["accuracy_by_kind"] = accuracy_by_kind(predicted, pairs)
        measured["validation"]["seconds_per_pair"] = round(seconds / len(validation), 2)
        fit["llm"] = {
            "generator": args.generator,
            "threshold": round(threshold, 4),
            "fitted_on": f"{len(train_sample)} SciFact claims_train pairs, random.Random(0)",
            "agreement": measured,
        }
        print("llm judge:", json.dumps(fit["llm"], indent=1))

    if args.brief:
        from rag.evaluation.runner import statement

        if fit.get("llm", {}).get("generator") != args.generator:
            parser.error(f"the llm judge was fitted with another generator: run --llm with {args.generator} first")
        llm = LLMJudge(generator, threshold=fit["llm"]["threshold"])  # as fitted above, or earlier
        forms = {"as the answer to its question": statement, "as the bare phrase": lambda question, answer: answer}
        measured = {"threshold": llm.threshold, "data": f"{SQUAD.name} tune split, {args.brief} answers, seed 0"}
        for name, form in forms.items():
            pairs = brief_answer_pairs(SQUAD, args.brief, form)
            probabilities = llm.probabilities([(p.statement, p.passage) for p in pairs])
            predicted = [bool(p >= llm.threshold) for p in probabilities]
            measured[name] = agreement(predicted, [p.supported for p in pairs])
            measured[name]["accuracy_by_kind"] = accuracy_by_kind(predicted, pairs)
            measured[name]["mean_p_yes_by_kind"] = mean_by_kind(list(probabilities), pairs)
        fit.setdefault("llm", {})["brief_answers"] = measured
        print("llm judge on brief answers:", json.dumps(measured, indent=1))

    FIT_FILE.write_text(json.dumps(fit, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIT_FILE}")


if __name__ == "__main__":
    main()
