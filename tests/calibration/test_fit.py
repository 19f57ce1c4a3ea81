"""rag.calibration.fit: the decision recomputed from recorded checks, and the three operating points."""

from __future__ import annotations

from rag.calibration import fit


def row(answerable: bool, contains: bool, relevance: float, p_yes: float, facts: bool = True, id: str = "") -> dict:
    sentences = [{"text": "It was Mirabel." if contains else "It was Ost.", "supported": True}]
    return {
        "id": id,
        "question": "Who was it?",
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
    t = fit.table(ROWS)
    loose = fit.outcome(t, {"retrieval": 0.0, "answer_check": 0.0})
    # only the failed question_facts check abstains: 1 of 3 unanswerable; 2 of 3 answerable hold a gold answer
    assert loose["abstained"] == round(1 / 3, 4) and loose["contains"] == round(2 / 3, 4) and loose["answered"] == 1.0
    assert loose["precision"] == round(2 / 5, 4) and loose["coverage"] == round(5 / 6, 4)
    off = fit.outcome(t, {"retrieval": 0.0, "answer_check": 0.0}, off=("question_facts",))
    assert off["abstained"] == 0.0


def test_keeping_abstains_most_while_keeping_the_right_answers():
    t = fit.table(ROWS)
    fitted = fit.keeping([t], 1.0, {"retrieval": 0.44, "answer_check": 0.33})
    figures = fit.outcome(t, fitted)
    # both right answers kept (P(Yes) 0.5 and 0.6, relevance 0.6 and 0.7), every unanswerable one abstained
    assert figures["contains"] == round(2 / 3, 4) and figures["abstained"] == 1.0
    assert 0.4 < fitted["retrieval"] <= 0.6 and 0.3 < fitted["answer_check"] <= 0.5


def test_each_point_meets_its_target_and_strict_is_the_most_precise():
    rows = [row(True, True, 0.7, 0.9, id="a"), row(True, True, 0.7, 0.88), row(True, True, 0.7, 0.45, id="mission")]
    rows += [row(True, True, 0.7, 0.35), row(True, False, 0.7, 0.8), row(True, False, 0.7, 0.4)]
    rows += [row(False, False, 0.7, p) for p in (0.85, 0.5, 0.42, 0.3, 0.2)]
    t = fit.table(rows)
    must = [{"retrieval": 0.7 - fit.MARGIN, "answer_check": 0.45 - fit.MARGIN}]
    points = fit.operating_points([t], {"retrieval": 0.4, "answer_check": 0.3}, must)
    lenient, balanced, strict = (points[name] for name in fit.STRICTNESS)
    assert lenient["figures"]["contains"] == round(4 / 6, 4)  # every right answer kept, the one at 0.35 too
    # the mission question (P(Yes) 0.45) stays answered with the margin: the balanced threshold is at most 0.42
    assert balanced["min_answer_check"] <= 0.42 and balanced["figures"]["contains"] >= round(3 / 6, 4)
    # strict: every answer shown right (the unanswerable one at 0.85 left out), half the right answers kept
    assert strict["target_reached"] and strict["figures"]["precision"] >= fit.STRICT_PRECISION
    assert strict["figures"]["contains"] == round(2 / 6, 4) and 0.85 < strict["min_answer_check"] <= 0.88
    assert strict["figures"]["precision"] > balanced["figures"]["precision"] >= lenient["figures"]["precision"]


def test_strict_keeps_half_the_right_answers_and_says_when_its_precision_is_out_of_reach():
    rows = [row(True, False, 0.7, 0.9), row(True, True, 0.7, 0.5), row(True, True, 0.7, 0.4)]
    rows += [row(False, False, 0.7, 0.95), row(False, False, 0.7, 0.3)]
    point = fit.operating_points([fit.table(rows)], {"retrieval": 0.4, "answer_check": 0.3})["strict"]
    # 90% is never reached while keeping one of the two right answers: the most precise such point is taken (at
    # 0.31-0.4 two of the four shown are right; at 0.41-0.5 one of three) and the fit says so
    assert point["target_reached"] is False
    assert point["figures"]["precision"] == 0.5 and 0.3 < point["min_answer_check"] <= 0.4


def test_the_curve_runs_from_every_answer_shown_to_the_most_confident():
    t = fit.table(ROWS)
    points = fit.curve(t, retrieval=0.0)
    assert points[0]["coverage"] == round(5 / 6, 4)  # threshold 0: all but the question_facts failure shown
    coverages = [p["coverage"] for p in points]
    assert coverages == sorted(coverages, reverse=True) and coverages[-1] < coverages[0]


def test_fit_record_names_the_must_answer_question_and_refuses_a_missing_one():
    rows = [row(True, True, 0.7, 0.6, id="seed-001"), row(False, False, 0.6, 0.3, id="u")]
    record = fit.fit_record([("part", rows)], {"retrieval": 0.4, "answer_check": 0.3}, ["seed-001"])
    assert record["must_answer"] == ["seed-001"] and set(record["parts"]["part"]) >= set(fit.STRICTNESS)
    try:
        fit.fit_record([("part", rows)], {"retrieval": 0.4, "answer_check": 0.3}, ["absent"])
    except ValueError as error:
        assert "absent" in str(error)
    else:
        raise AssertionError("a must-answer question that was not asked must be refused")
