"""The answer check: after a draft is written, the model must confirm that the context answers the question.

A scripted generator stands in for the model here, so each test fixes the model's reply and checks
what the system does with it; the real model's check is measured by eval/fit_abstention.py and
`rag eval` (docs/evaluation.md), and its prompt cache by tests/models/test_generate.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from fakes import FREEDONIA as TEXT
from fakes import ScriptedGenerator as ScriptedModel
from fakes import freedonia_answer

from rag.answering.answer import ABSTAIN_TEXT
from rag.answering.evidence import Evidence, Sentence
from rag.answering.prompt import CHECK_PROMPT, answer_messages, check_messages
from rag.answering.question import parse
from rag.types import Answer, Chunk, Passage


def ask(
    model: ScriptedModel, embedder, question: str = "What is the capital of Freedonia?", **settings: float
) -> Answer:
    return freedonia_answer(model, embedder, question, title="freedonia", **settings)


def test_a_confirmed_answer_is_shown_with_its_check(fake_embedder):
    answer = ask(ScriptedModel("Mirabel [1]", 0.9), fake_embedder, min_answer_check=0.3)
    assert not answer.abstained and answer.answer.startswith("Mirabel")
    assert answer.answer_check == 0.9


def test_an_unconfirmed_answer_abstains_and_says_why(fake_embedder):
    model = ScriptedModel("Mirabel [1]", 0.1)
    answer = ask(model, fake_embedder, min_answer_check=0.3)
    assert answer.abstained and answer.answer == ABSTAIN_TEXT
    assert "did not confirm" in answer.abstain_reason and answer.answer_check == 0.1
    assert answer.passages, "the closest passages are still shown"
    # asked after the very prompt the draft answered, so that a prompt cache reuses it
    [asked] = model.asked
    assert asked[-1]["content"].endswith("Question: What is the capital of Freedonia?\n\n" + CHECK_PROMPT)


def test_check_off_asks_nothing(fake_embedder):
    model = ScriptedModel("Mirabel [1]", 0.1)
    answer = ask(model, fake_embedder, min_answer_check=0.0)
    assert not answer.abstained and answer.answer_check is None and model.asked == []


@pytest.mark.parametrize("verdict", ["Yes [1]", "No."])
def test_a_bare_yes_or_no_abstains_it_holds_nothing_to_check(fake_embedder, verdict: str):
    answer = ask(ScriptedModel(verdict, 0.9), fake_embedder, "Is Mirabel the capital of Freedonia?")
    assert answer.abstained and answer.citations == []
    assert [c.name for c in answer.checks if not c.passed] == ["supported"]


def test_a_verdict_whose_reason_nothing_supports_abstains_and_reports_the_reason(fake_embedder):
    answer = ask(
        ScriptedModel("Yes [1]. The moon is made of green cheese.", 0.9),
        fake_embedder,
        "Is Mirabel the capital of Freedonia?",
    )
    assert answer.abstained
    assert [(s.text, s.supported) for s in answer.sentences] == [("The moon is made of green cheese.", False)]


def test_a_yes_with_its_reason_keeps_the_reason_alone(fake_embedder):
    """The verdict is unreliable and checks nothing; the reason is checked and cited."""
    answer = ask(
        ScriptedModel("Yes, the context states that the capital of Freedonia is Mirabel. [1]", 0.9),
        fake_embedder,
        "Is Mirabel the capital of Freedonia?",
    )
    assert answer.answer == "The capital of Freedonia is Mirabel. [1]"
    assert not answer.abstained


def test_check_prompt_extends_the_answer_prompt():
    """Same system message and the same user text up to the question: a prompt cache reuses it all."""
    passages = [Passage(Chunk(0, "freedonia.txt", "freedonia", TEXT, 0, len(TEXT)), 0.8)]
    shown = [Sentence(0, (0, len(TEXT)), TEXT, np.zeros(2), 0.5, frozenset(), frozenset(), frozenset())]
    messages = answer_messages(Evidence(parse("What is the capital of Freedonia?"), passages, shown))
    checked = check_messages(messages)
    assert checked[0] == messages[0] and len(checked) == len(messages) == 2
    assert checked[1]["content"] == messages[1]["content"] + "\n\n" + CHECK_PROMPT  # the same text, then the ask


@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("Which agreement does Beijing honor?", False),
        ("Is Beijing likely to comply?", True),
        ("Is fertilization internal or external?", False),
    ],
)
def test_every_question_is_answered_in_sentences_a_yes_no_one_with_its_reason(question: str, yes_no: bool):
    system = answer_messages(Evidence(parse(question), [], []))[0]["content"]
    assert "complete sentences" in system and "a few words" not in system
    assert ("Begin with Yes or No" in system) is yes_no


@pytest.mark.parametrize(
    "question",
    ["Why does China treat defectors as economic migrants?", "How did Tesla die?", "What punishments do they face?"],
)
def test_a_why_how_or_list_question_asks_for_every_reason_each_keeping_its_attribution(question: str):
    system = answer_messages(Evidence(parse(question), [], []))[0]["content"]
    assert "every reason or item" in system and "allegedly" in system
    plain = answer_messages(Evidence(parse(question, complete_answers=False), [], []))[0]["content"]
    assert "every reason" not in plain and "one or two complete sentences" in plain
