"""Attribution kept (rag/answering/attribution.py): a reported or hedged claim is never shown as plain fact."""

import json
from pathlib import Path

import pytest

from rag.answering.attribution import clauses, dropped, restored

PAIRS = Path(__file__).parents[2] / "eval" / "attribution_pairs.jsonl"


@pytest.mark.parametrize(
    ("answer", "source"),
    [
        (
            "China treats them as economic migrants because of North Korea's food and financial struggles.",
            "It labels them as illegal economic migrants, allegedly due to North Korea's food and financial struggles.",
        ),
        (
            "The senator took bribes from the contractor.",
            "Prosecutors claimed that the senator took bribes from the contractor.",
        ),
        ("The stadium will open in 2027.", "The new stadium is expected to open in 2027."),
        (
            "Protein clearance is linked to ageing.",
            "Clearance extends lifespan, suggesting that protein clearance is linked to ageing.",
        ),
    ],
)
def test_a_reported_or_hedged_claim_stated_as_fact_is_found(answer: str, source: str):
    assert dropped(answer, source) is not None


@pytest.mark.parametrize(
    ("answer", "source"),
    [
        # kept, in its own words or the source's
        (
            "China labels them economic migrants, allegedly because of food shortages.",
            "It labels them economic migrants, allegedly due to food shortages.",
        ),
        (
            "Reportedly, the glow could be seen in Savannah.",
            "It is said the glow from the flames could be seen in Savannah.",
        ),
        ("According to Smith, the bridge was unsafe.", "Smith said that the bridge was unsafe."),
        (
            "Simon Kuznets held that inequality follows development.",
            "Economist Simon Kuznets argued that inequality follows development.",
        ),
        # the answer uses the plain clause; the hedge governs another one
        (
            "Beijing views the influx of refugees as a threat.",
            "Beijing is not likely to comply, since it still views the influx of refugees as a threat.",
        ),
        (
            "The strike shut down three ports on Monday.",
            "The strike, which union leaders say involves 40,000 workers, shut down three ports on Monday.",
        ),
        # nothing to keep
        (
            "Diabetic patients had a 70% higher risk of death.",
            "Diabetic patients were 70% more likely to die than the others.",
        ),
        ("The treaty was signed in 1986.", "The treaty was signed in 1986 by both governments."),
    ],
)
def test_a_kept_attribution_or_a_plain_claim_is_not_flagged(answer: str, source: str):
    assert dropped(answer, source) is None


def test_clauses_cut_at_punctuation_and_at_the_conjunctions_that_open_another():
    assert clauses("Beijing will not comply, since it views them as a threat") == [
        "Beijing will not comply",
        "since it views them as a threat",
    ]


def test_a_restored_sentence_quotes_the_source_words_for_it():
    lost = dropped("The stadium will open in 2027.", "The new stadium is expected to open in 2027.")
    shown = restored("The stadium will open in 2027.", lost)
    assert shown.startswith("The stadium will open in 2027 (the source:") and "expected to" in shown


def test_the_check_holds_its_measured_accuracy_on_the_held_out_labelled_pairs():
    # eval/attribution_check.py prints the table; here: the held-out half (even ids) must not fall below what was
    # measured when the rules were written (precision 0.745, recall 0.864, accuracy 0.842)
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    held_out = [p for p in pairs if int(p["id"].split("-")[1]) % 2 == 0]
    assert len(held_out) >= 100
    flagged = [dropped(p["answer"], p["source"]) is not None for p in held_out]
    truth = [p["label"] == "dropped" for p in held_out]
    accuracy = sum(f == t for f, t in zip(flagged, truth, strict=True)) / len(held_out)
    recall = sum(f and t for f, t in zip(flagged, truth, strict=True)) / sum(truth)
    assert accuracy >= 0.8 and recall >= 0.8
