"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from rag.metrics import exact_match, f1, mrr_at, ndcg_at, normalize_answer, percentile, recall_at

RANKED = ["d3", "d1", "d7", "d2", "d9"]
RELEVANT = {"d1", "d2"}


def test_recall():
    assert recall_at(RANKED, RELEVANT, 1) == 0.0
    assert recall_at(RANKED, RELEVANT, 2) == 0.5
    assert recall_at(RANKED, RELEVANT, 5) == 1.0
    assert recall_at(RANKED, set(), 5) == 0.0


def test_mrr():
    assert mrr_at(RANKED, RELEVANT, 10) == 0.5  # first relevant at rank 2
    assert mrr_at(RANKED, RELEVANT, 1) == 0.0
    assert mrr_at(["d2"], RELEVANT, 10) == 1.0


def test_ndcg_by_hand():
    # gains at ranks 2 and 4: 1/log2(3) + 1/log2(5); ideal: 1/log2(2) + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at(RANKED, RELEVANT, 10) == pytest.approx(expected)
    assert ndcg_at(["d1", "d2"], RELEVANT, 10) == pytest.approx(1.0)
    assert ndcg_at(["d1", "d1", "d2"], RELEVANT, 10) < 1.0  # a repeated hit earns nothing twice
    # cut-off: one of two relevant in the top 1 -> ideal over min(2, 1) = 1 position
    assert ndcg_at(["d1"], RELEVANT, 1) == pytest.approx(1.0)


def test_squad_normalisation_and_scores():
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert exact_match("the Denver Broncos", ["Denver Broncos"]) == 1.0
    assert exact_match("Broncos", ["Denver Broncos"]) == 0.0
    # prediction "denver broncos won" vs "Denver Broncos": precision 2/3, recall 1 -> F1 0.8
    assert f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)
    assert f1("Broncos", ["Carolina Panthers", "Denver Broncos"]) == pytest.approx(2 / 3)
    assert f1("nothing alike", ["Denver Broncos"]) == 0.0


def test_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
    assert percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
