"""eval/fit_abstention.py: the decision recomputed from recorded checks, and the threshold search."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "eval"))

import fit_abstention  # noqa: E402


def row(answerable: bool, contains: bool, relevance: float, p_yes: float, facts: bool = True) -> dict:
    sentences = [{"text": "It was Mirabel." if contains else "It was Ost.", "supported": True}]
    return {
        "answerable": answerable,
        "gold_answers": ["Mirabel"] if answerable else [],
        "sentences": sentences,
        "checks": [
            {"name": "retrieval", "passed": True, "value": relevance},
            {"name": "question_facts", "passed": facts, "value": 1.0 if facts else 0.0},
            {"name": "answer_check", "passed": True, "value": p_yes},
        ],
    }


ROWS = [
    row(True, True, 0.7, 0.6),
    row(True, True, 0.6, 0.5),
    row(True, False, 0.5, 0.4),
    row(False, False, 0.6, 0.3),
    row(False, False, 0.4, 0.55),
    row(False, False, 0.7, 0.6, facts=False),
]


def test_the_decision_is_recomputed_from_the_recorded_checks():
    t = fit_abstention.table(ROWS)
    loose = fit_abstention.outcome(t, {"retrieval": 0.0, "answer_check": 0.0})
    # only the failed question_facts check abstains: 1 of 3 unanswerable; 2 of 3 answerable hold a gold answer
    assert loose["abstained"] == round(1 / 3, 4) and loose["contains"] == round(2 / 3, 4) and loose["answered"] == 1.0
    off = fit_abstention.outcome(t, {"retrieval": 0.0, "answer_check": 0.0}, off=("question_facts",))
    assert off["abstained"] == 0.0


def test_the_search_abstains_most_while_keeping_the_right_answers():
    t = fit_abstention.table(ROWS)
    fitted = fit_abstention.search([t], {"retrieval": 0.44, "answer_check": 0.33}, keep=1.0)
    figures = fit_abstention.outcome(t, fitted)
    # both right answers kept (P(Yes) 0.5 and 0.6, relevance 0.6 and 0.7), every unanswerable one abstained
    assert figures["contains"] == round(2 / 3, 4) and figures["abstained"] == 1.0
    assert 0.4 < fitted["retrieval"] <= 0.6 and 0.3 < fitted["answer_check"] <= 0.5
