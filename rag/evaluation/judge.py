"""Does a passage support a statement? The judgement behind the citation metrics of `rag eval`.

No NLI model ships its weights on PyPI (MODELS.md), so two offline judges are offered, each
measured against SciFact's human labels by `python eval/fit_judge.py` (figures in judge_fit.json):

- `score`: logistic regression over three similarity features, fitted on SciFact claims_train.
  Fast (one embedding batch), but it shares its features with the citation aligner (rag.cite),
  so its citation figures are not an independent check.
- `llm`: the generator asked a yes/no question. Slower (one model call a citation), independent
  of the aligner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.answering.prompt import judge_messages
from rag.models.embed import Embedder
from rag.models.generate import Generator
from rag.text import content_words, sentences

FIT_FILE = Path(__file__).with_name("judge_fit.json")
FEATURES = ("best_sentence_cosine", "passage_cosine", "word_overlap")

Pair = tuple[str, str]  # (statement, passage)


class SupportJudge(Protocol):
    name: str

    def supports(self, pairs: Sequence[Pair]) -> list[bool]:
        """For each (statement, passage): does the passage support the statement?"""
        ...


def load_fit() -> dict[str, Any]:
    """Fitted parameters and measured agreement, as written by eval/fit_judge.py."""
    return json.loads(FIT_FILE.read_text(encoding="utf-8")) if FIT_FILE.is_file() else {}


def _split_sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentences(text)] or [text]


class ScoreJudge:
    name = "score"

    def __init__(self, embedder: Embedder, coef: Sequence[float] | None = None, intercept: float = 0.0) -> None:
        self.embedder = embedder
        if coef is None:
            fitted = load_fit().get("score", {})
            coef, intercept = fitted.get("coef", [1.0, 1.0, 1.0]), fitted.get("intercept", -1.5)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)

    def features(self, pairs: Sequence[Pair]) -> np.ndarray:
        """One row per pair, columns as FEATURES."""
        if not pairs:
            return np.zeros((0, len(FEATURES)))
        statements = [s for s, _ in pairs]
        passages = [p for _, p in pairs]
        parts = [_split_sentences(p) for p in passages]
        flat = [sentence for part in parts for sentence in part]
        vectors = self.embedder.encode(statements + passages + flat)
        n = len(pairs)
        statement_vectors, passage_vectors, sentence_vectors = vectors[:n], vectors[n : 2 * n], vectors[2 * n :]
        rows, offset = [], 0
        for i, (statement, passage) in enumerate(pairs):
            block = sentence_vectors[offset : offset + len(parts[i])]
            offset += len(parts[i])
            words = content_words(statement)
            overlap = len(words & content_words(passage)) / len(words) if words else 0.0
            best = float((block @ statement_vectors[i]).max())
            rows.append([best, float(passage_vectors[i] @ statement_vectors[i]), overlap])
        return np.asarray(rows)

    def probabilities(self, pairs: Sequence[Pair]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.features(pairs) @ self.coef + self.intercept)))

    def supports(self, pairs: Sequence[Pair]) -> list[bool]:
        return [bool(p >= 0.5) for p in self.probabilities(pairs)]


class LLMJudge:
    """P(Yes) of the generator's first reply token, against a threshold fitted on claims_train."""

    name = "llm"

    def __init__(self, generator: Generator, threshold: float | None = None) -> None:
        self.generator = generator
        self.threshold = load_fit().get("llm", {}).get("threshold", 0.5) if threshold is None else threshold

    def probabilities(self, pairs: Sequence[Pair]) -> np.ndarray:
        return np.array(
            [self.generator.yes_probability(judge_messages(statement, passage)) for statement, passage in pairs]
        )

    def supports(self, pairs: Sequence[Pair]) -> list[bool]:
        return [bool(p >= self.threshold) for p in self.probabilities(pairs)]


def agreement(predicted: Sequence[bool], gold: Sequence[bool]) -> dict[str, float]:
    """How far a judge agrees with human labels: accuracy, Cohen's kappa, and its 'supports' precision/recall."""
    p, g = np.asarray(predicted, dtype=bool), np.asarray(gold, dtype=bool)
    n = len(g)
    if n == 0:
        return {"n": 0}
    accuracy = float((p == g).mean())
    chance = float(p.mean() * g.mean() + (1 - p.mean()) * (1 - g.mean()))
    kappa = (accuracy - chance) / (1 - chance) if chance < 1 else 0.0
    true_positive = float((p & g).sum())
    return {
        "n": n,
        "accuracy": round(accuracy, 4),
        "kappa": round(kappa, 4),
        "precision": round(true_positive / p.sum(), 4) if p.sum() else 0.0,
        "recall": round(true_positive / g.sum(), 4) if g.sum() else 0.0,
        "positive_share": round(float(g.mean()), 4),
    }
