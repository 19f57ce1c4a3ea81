"""The named checks (rag/answering/checks.py): each one's verdict, their order, and how they decide an answer.

A scripted generator stands in for the model (as in test_answer_check.py), so each test fixes the draft
and the P(Yes) and checks what the system records and decides.
"""

from __future__ import annotations

import json

import pytest
from fakes import ScriptedGenerator as ScriptedModel
from fakes import freedonia_answer

from rag.answering import checks
from rag.answering.answer import answer
from rag.answering.question import parse
from rag.metrics import contains
from rag.settings import CHECKS, Settings
from rag.stopwatch import Stopwatch
from rag.text import sentences
from rag.types import Answer, Chunk, Passage


def ask(model: ScriptedModel, embedder, question: str, **settings) -> Answer:
    return freedonia_answer(model, embedder, question, **settings)


def test_an_answer_records_every_check_in_order(fake_embedder):
    answer = ask(
        ScriptedModel("The capital of Freedonia is Mirabel. [1]", 0.9),
        fake_embedder,
        "What is the capital of Freedonia?",
        min_answer_check=0.3,
    )
    assert not answer.abstained
    assert [c.name for c in answer.checks] == list(CHECKS)
    assert all(c.passed and c.reason == "" for c in answer.checks)
    check = next(c for c in answer.checks if c.name == "answer_check")
    assert (check.value, check.threshold) == (0.9, 0.3)
    assert json.loads(json.dumps(answer.to_dict()))["checks"][0]["name"] == "retrieval"


def test_the_first_failed_check_decides_and_the_rest_do_not_run(fake_embedder):
    model = ScriptedModel("I don't know.", 0.9)
    answer = ask(model, fake_embedder, "What is the capital of Freedonia?", min_answer_check=0.3)
    assert answer.abstained and answer.abstain_reason == "the model found no answer in the passages"
    failed = [c.name for c in answer.checks if not c.passed]
    assert failed[0] == "answered" and len(model.asked) == 1, "the answer check ran before the model wrote"


def test_a_check_that_reads_no_draft_fails_before_the_model_writes(fake_embedder):
    model = ScriptedModel("The capital of Freedonia is Mirabel. [1]", 0.1)
    answer = ask(model, fake_embedder, "What is the capital of Freedonia?", min_answer_check=0.3)
    assert answer.abstained and "did not confirm" in answer.abstain_reason
    assert model.streamed == 0, "nothing is written once the answer is lost"
    assert [c.name for c in answer.checks] == ["retrieval", "question_facts", "answer_check"]


def test_every_check_runs_them_all_and_decides_the_same(fake_embedder):
    model = ScriptedModel("I don't know.", 0.9)
    answer = ask(model, fake_embedder, "What is the capital of Freedonia?", min_answer_check=0.3, every_check=True)
    assert [c.name for c in answer.checks] == list(CHECKS) and len(model.asked) == 1
    assert answer.abstained and answer.abstain_reason == "the model found no answer in the passages"


def test_an_advisory_check_is_recorded_but_does_not_decide(fake_embedder):
    draft = "The capital of Freedonia is Mirabel. [1]"
    strict = ask(ScriptedModel(draft, 0.1), fake_embedder, "What is the capital of Freedonia?", min_answer_check=0.3)
    advisory = ask(
        ScriptedModel(draft, 0.1),
        fake_embedder,
        "What is the capital of Freedonia?",
        min_answer_check=0.3,
        advisory_checks=["answer_check"],
    )
    assert strict.abstained and "did not confirm" in strict.abstain_reason
    check = next(c for c in advisory.checks if c.name == "answer_check")
    assert not advisory.abstained and check.advisory and not check.passed


def test_an_unknown_check_name_is_a_settings_error():
    with pytest.raises(ValueError, match="unknown check 'speling'"):
        Settings(advisory_checks=["speling"])


def test_a_question_about_a_name_the_passages_never_mention_abstains(fake_embedder):
    """SQuAD 2.0's unanswerable questions are often a true question with its name or year changed."""
    answer = ask(
        ScriptedModel("The capital of Freedonia is Mirabel. [1]", 0.9),
        fake_embedder,
        "What was the capital of Freedonia under Herve?",
    )
    assert answer.abstained
    assert answer.abstain_reason == "the passages found never mention herve"


@pytest.mark.parametrize(
    ("question", "passed", "share"),
    [
        ("What did the Normans build in the 10th century?", True, 1.0),  # "tenth" states 10
        ("What did the Normans build in the 11th century?", False, 0.5),
        ("Who led the Normans against the Turks?", False, 0.5),
        ("What did they build?", True, 1.0),  # nothing given: nothing to miss
        ("Where did the Norman settlers live?", True, 1.0),
    ],  # another form of a stated name
)
def test_question_facts_are_the_names_and_numbers_the_question_gives(question: str, passed: bool, share: float):
    check = checks.question_facts(parse(question), ["Normans", "In the tenth century the Normans built castles."])
    assert (check.passed, check.value) == (passed, share)


@pytest.mark.parametrize(
    ("prediction", "gold", "held"),
    [
        ("China labels them illegal economic migrants. [1]", ["illegal economic migrants"], 1.0),
        ("The Normans came from Normandy.", ["France", "Normandy"], 1.0),
        ("It was in 1986.", ["1987"], 0.0),
        ("Beijing", ["Bei"], 0.0),  # whole words only
        ("The documents don't say.", [], 0.0),
    ],
)
def test_contains_is_a_gold_answer_held_whole_after_squad_normalisation(prediction: str, gold: list, held: float):
    assert contains(prediction, gold) == held


@pytest.mark.parametrize(
    ("answer", "passed"),
    [
        ("Robert led against Dyrrachium in 1107.", False),  # the question's own words
        ("Robert Guiscard led the Normans against Dyrrachium in 1107.", True),
        ("Robert did not lead anyone against Dyrrachium in 1107.", True),  # the negation is the answer
        ("", True),
    ],  # nothing shown: the supported check speaks for it
)
def test_an_answer_must_say_something_the_question_did_not(answer: str, passed: bool):
    assert checks.informative(parse("Who did Robert lead against Dyrrachium in 1107?"), answer).passed is passed


def test_a_capitalised_word_the_passages_state_in_another_form_is_stated():
    assert checks.question_facts(parse("Who did Emma Marry?"), ["Emma married King Ethelred."]).passed


@pytest.mark.parametrize(
    ("answer", "passed"),
    [
        ("A problem instance is typically characterized as abstract.", True),  # one of the two: the answer
        ("A problem instance is characterized as abstract or concrete.", False),
    ],  # both: nothing chosen
)
def test_an_answer_to_a_choice_question_names_one_of_its_options(answer: str, passed: bool):
    question = "Is a problem instance typically characterized as abstract or concrete?"
    assert checks.informative(parse(question), answer).passed is passed


def test_the_shown_sentences_are_embedded_once_per_answer(fake_embedder):
    """prepare embeds them; the citation alignment and the conflict search reuse those vectors."""
    texts = {
        "a.txt": "The capital of Freedonia is Mirabel. It lies on the river Ost.",
        "b.txt": "Mirabel has been the capital of Freedonia since 1921.",
    }
    passages = [Passage(Chunk(i, name, "", text, 0, len(text)), 0.8) for i, (name, text) in enumerate(texts.items())]
    model = ScriptedModel("Mirabel is the capital of Freedonia. [1]", 0.9)
    *_, final = answer(
        "What is the capital of Freedonia?",
        "What is the capital of Freedonia?",
        passages,
        fake_embedder,
        model,
        Settings(),
        Stopwatch(),
    )
    assert not final.abstained and len({c.source for c in final.citations}) >= 1
    shown = [text[s.start : s.end] for text in texts.values() for s in sentences(text)]
    assert all(fake_embedder.encoded.count(sentence) == 1 for sentence in shown), fake_embedder.encoded
