"""Evaluation metrics: retrieval (binary relevance, BEIR/TREC definitions) and answers (SQuAD EM/F1)."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence

# A ranking is scored through what each ranked item covers of the gold: a set per rank. A document
# covers itself; a retrieved passage may cover several gold passages (or part of none). Each gold
# item counts once, at the first rank that covers it.


def coverage_at(hits: Sequence[set[str]], n_relevant: int, k: int) -> float:
    """Share of the gold items covered by the first k ranked items (recall@k)."""
    if not n_relevant:
        return 0.0
    return len(set().union(*hits[:k])) / n_relevant


def reciprocal_rank_at(hits: Sequence[set[str]], k: int) -> float:
    """1 / rank of the first item covering any gold item within the first k, else 0."""
    return next((1.0 / rank for rank, hit in enumerate(hits[:k], start=1) if hit), 0.0)


def ndcg_hits_at(hits: Sequence[set[str]], n_relevant: int, k: int) -> float:
    """nDCG@k with binary gains: a rank gains the gold items it covers first; at most 1."""
    if not n_relevant:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for rank, hit in enumerate(hits[:k], start=1):
        dcg += len(hit - seen) / math.log2(rank + 1)
        seen |= hit
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_relevant, k) + 1))
    return min(1.0, dcg / ideal)


def _hits(ranked: Sequence[str], relevant: set[str]) -> list[set[str]]:
    return [{item} & relevant for item in ranked]


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant items found in the first k."""
    return coverage_at(_hits(ranked, relevant), len(relevant), k)


def mrr_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 / rank of the first relevant item within the first k, else 0."""
    return reciprocal_rank_at(_hits(ranked, relevant), k)


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Normalised discounted cumulative gain with binary gains (as in BEIR's pytrec_eval use)."""
    return ndcg_hits_at(_hits(ranked, relevant), len(relevant), k)


def normalize_answer(text: str) -> str:
    """The official SQuAD v1.1 normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: Sequence[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in gold)) if gold else 0.0


def f1(prediction: str, gold: Sequence[str]) -> float:
    """Best token-overlap F1 of the prediction against any gold answer."""

    def single(pred: str, truth: str) -> float:
        pred_tokens, truth_tokens = normalize_answer(pred).split(), normalize_answer(truth).split()
        common = Counter(pred_tokens) & Counter(truth_tokens)
        same = sum(common.values())
        if same == 0:
            return 0.0
        precision, recall = same / len(pred_tokens), same / len(truth_tokens)
        return 2 * precision * recall / (precision + recall)

    return max((single(prediction, g) for g in gold), default=0.0)


def contains(prediction: str, gold: Sequence[str]) -> float:
    """Does the prediction hold a gold answer, as whole words, both SQuAD-normalised? The answer metric for
    sentence answers: "China labels them illegal economic migrants." holds "illegal economic migrants"."""
    said = f" {normalize_answer(prediction)} "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in said for g in gold))


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
