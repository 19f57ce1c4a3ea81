"""The answer-type check: a question asking for a person or an organisation is not answered by a place.

Runs the real named-entity tagger (spaCy's en_core_web_sm) and the shipped list of place names. How often it
fires on real answers is measured by `rag eval` (README); here, the seed's own failure and its contrasts.
"""

from __future__ import annotations

import time

import pytest

from rag import answer_type
from rag.answer import ABSTAIN_TEXT, answer_stream
from rag.answer_type import asked_kind, names_only_places, place_instead_of
from rag.embed import Embedder
from rag.errors import ModelNotFoundError
from rag.settings import Settings
from rag.types import Chunk, Passage
from tests.test_answer_check import ScriptedModel

SEED = "Beijing passed a new Land Borders Law in response to long-standing territorial disputes."


@pytest.mark.parametrize(
    ("question", "kind"),
    [("What is the name of the Chinese official who proposed the Land Borders Law?", "person"),
     ("Which Chinese legislative body voted to approve the Land Borders Law?", "organisation"),
     ("Which Mongol general led the invasion?", "person"),
     ("What two Denver players ranked at 5 percent for sacks?", "person"),
     ("Hank Paulson is the former Chairman and CEO of what banking firm?", "organisation"),
     ("What body of water sat to the west of the empire?", None),  # "body of water" is not an organisation
     ("What nationality is the architect Enric Miralles?", None),  # asks for a nationality
     ("What sea bordered Genghis Khan's empire to the east?", None),
     ("Who proposed the Land Borders Law?", None),  # "who" may be a country, a team, a company
     ("Where do defectors cross the border?", None)],
)  # fmt: skip
def test_the_kind_asked_is_read_from_the_head_of_the_which_phrase(question: str, kind: str | None):
    assert asked_kind(question) == kind


@pytest.mark.parametrize(
    ("answer", "evidence", "only_places"),
    [("Beijing", [SEED], True),  # the city standing for its government
     ("North Korea", ["China returns defectors to North Korea."], True),
     ("Xi Jinping", ["Xi Jinping proposed the law."], False),
     ("the National People's Congress", ["The law was passed by the National People's Congress."], False),
     # the tagger reads this Mongol general's name as a place, but no list of places holds it
     ("Subutai", ["Subutai abandoned Jamukha's coalition."], False),
     # a well-known place's name, read in its sentence as the person it also names
     ("Washington", ["George Washington led the Continental Army."], False),
     ("Human Rights Watch", ["Human Rights Watch and the UN have both asked China to reconsider."], False),
     ("a spokesman", ["A spokesman said so."], False)],  # no name at all: nothing to decide on
)  # fmt: skip
def test_only_names_read_as_well_known_places_count(answer: str, evidence: list[str], only_places: bool):
    assert names_only_places(answer, evidence) is only_places


def test_a_place_answers_a_question_asking_for_a_place():
    assert place_instead_of("Which city passed the Land Borders Law?", "Beijing", [SEED]) is None
    assert place_instead_of("Which body passed the Land Borders Law?", "Beijing", [SEED]) == "organisation"


@pytest.fixture(scope="module")
def embedder():
    return Embedder("minilm")


@pytest.mark.parametrize(
    ("question", "abstains"),
    [("What is the name of the Chinese official who proposed the Land Borders Law?", True),
     ("Which Chinese legislative body voted to approve the Land Borders Law?", True),
     ("Which capital passed a new Land Borders Law?", False)],
)  # fmt: skip
def test_a_place_given_for_a_person_or_body_abstains_and_says_why(embedder, question: str, abstains: bool):
    passages = [Passage(Chunk(0, "law.txt", "law", SEED, 0, len(SEED)), 0.8)]
    settings = Settings(min_retrieval_score=0.0, min_answer_check=0.3)
    model = ScriptedModel("Beijing [1]", 0.9)
    items = list(answer_stream(question, passages, model, embedder, settings, time.perf_counter(), 1.0))
    answer = items[-1]
    assert answer.abstained is abstains
    if abstains:
        assert answer.answer == ABSTAIN_TEXT and "names a place where the question asks for" in answer.abstain_reason
        assert answer.passages and answer.sentences[0].text == "Beijing", "what was checked is still reported"
    else:
        assert answer.answer == "Beijing [1]"


def test_a_missing_tagger_is_a_clear_error_naming_the_fix(monkeypatch):
    answer_type.tagger.cache_clear()
    monkeypatch.setattr(answer_type, "TAGGER", "no_such_spacy_model")
    try:
        with pytest.raises(ModelNotFoundError, match="no_such_spacy_model.*pip install -e ."):
            asked_kind("Which body passed the law?")
    finally:
        answer_type.tagger.cache_clear()  # the next test loads the real one again
