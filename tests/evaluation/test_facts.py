"""Fact recall and attribution kept (rag/evaluation/facts.py), on answers built by hand."""

from rag.evaluation.facts import Fact, fact_figures, fact_from, fact_scores
from rag.types import Answer, Citation, SentenceSupport

SOURCE = "It labels them economic migrants, allegedly due to food struggles. It honours a 1986 agreement."


def _answer(*sentences: tuple[str, list[int]], abstained: bool = False) -> Answer:
    return Answer(
        question="Why?",
        answer=" ".join(s for s, _ in sentences),
        abstained=abstained,
        citations=[
            Citation(n=1, source="a.txt", text=SOURCE, score=0.5),
            Citation(n=2, source="b.txt", text="Other.", score=0.4),
        ],
        sentences=[SentenceSupport(text, cited, 0.9, True) for text, cited in sentences],
        passages=[],
        timings_ms={},
    )


FACTS = [
    fact_from(
        {
            "fact": "economic migrants, allegedly due to food",
            "sentence": "It labels them economic migrants, allegedly due to food struggles.",
            "match": [["food", "famine"]],
            "attribution": {"cue": "allegedly", "kept_by": ["allegedly", "claim"]},
        }
    ),
    fact_from(
        {
            "fact": "1986 agreement",
            "sentence": "It honours a 1986 agreement.",
            "match": [["1986"], ["agreement", "treaty"]],
        }
    ),
]


def _holds(text: str, gold: str) -> bool:
    return gold in text


def test_a_fact_is_stated_when_a_sentence_holds_its_phrases_and_cites_a_passage_holding_it():
    answer = _answer(("They are migrants, allegedly because of famine.", [1]), ("A 1986 treaty binds it.", [2]))
    scores = fact_scores(FACTS, answer, _holds)
    assert scores[0] == {"fact": FACTS[0].fact, "stated": True, "attributed": True, "kept": True}
    assert scores[1]["stated"] is False  # cites a passage that does not hold it


def test_an_attributed_fact_stated_as_plain_fact_is_not_kept():
    answer = _answer(("They are migrants because of famine.", [1]), ("A 1986 treaty binds it.", [1]))
    scores = fact_scores(FACTS, answer, _holds)
    assert [s["stated"] for s in scores] == [True, True] and scores[0]["kept"] is False
    figures = fact_figures([{"facts": scores}])
    assert figures["fact_recall"] == 1.0 and figures["attribution_kept"] == 0.0 and figures["two_or_more_stated"] == 1.0


def test_an_abstention_states_nothing():
    scores = fact_scores(FACTS, _answer(("They are migrants, allegedly due to food.", [1]), abstained=True), _holds)
    assert not any(s["stated"] for s in scores)
    assert fact_figures([{"facts": scores}])["attribution_kept"] is None


def test_a_fact_is_matched_only_when_every_group_is():
    fact = Fact("x", ["s"], [["1986"], ["agreement", "treaty"]])
    assert fact.matched_by("The 1986 Treaty") and not fact.matched_by("an agreement")
