"""Complete answers (issue 42): a why / how / list question is asked for every reason, more passages are read,
a list stays a list, and a reported claim the draft states as fact is shown with the source's words for it."""

from __future__ import annotations

import pytest
from fakes import ScriptedGenerator

from rag.answering.answer import answer
from rag.answering.question import parse
from rag.settings import AnsweringSettings, Settings
from rag.stopwatch import Stopwatch
from rag.text import adds_sentence
from rag.types import Answer, Chunk, Passage

PASSAGES = [
    "Officials labelled the refugees economic migrants, allegedly because of the famine in the north.",
    "The government honours a 1986 treaty that outlaws crossing the border.",
]


@pytest.mark.parametrize(
    ("question", "complete"),
    [
        ("Why does China treat defectors as economic migrants?", True),
        ("How did the law change the border?", True),
        ("What punishments do defectors face?", True),
        ("What are the effects of the law?", True),
        ("List the reasons given.", True),
        ("How many people crossed?", False),
        ("What is the name of the law?", False),
        ("What does the law provide?", False),
        ("What status does it have?", False),
        ("Is China a signatory?", False),
    ],
)
def test_a_why_how_or_list_question_asks_for_every_reason(question: str, complete: bool):
    assert parse(question).complete is complete
    assert parse(question, complete_answers=False).complete is False


def test_such_a_question_reads_more_passages_and_more_evidence():
    settings = AnsweringSettings()
    assert settings.passages(True) > settings.passages(False) == settings.top_k
    assert settings.evidence_budget(True) > settings.evidence_budget(False) == settings.evidence_words
    off = AnsweringSettings(complete_answers=False)
    assert off.passages(True) == off.top_k and off.evidence_budget(True) == off.evidence_words


def _complete_answer(reply: str, fake_embedder, **overrides) -> Answer:
    passages = [Passage(Chunk(i, f"doc{i}.txt", "", text, 0, len(text)), 0.8) for i, text in enumerate(PASSAGES)]
    settings = Settings(min_retrieval_score=0.0, min_support=0.3, min_answer_check=0.0, **overrides)
    question = "Why are the refugees treated as economic migrants?"
    items = list(answer(question, question, passages, fake_embedder, ScriptedGenerator(reply), settings, Stopwatch()))
    assert isinstance(items[-1], Answer)
    return items[-1]


def test_a_list_answer_stays_a_list_each_item_cited_and_a_dropped_allegedly_restored(fake_embedder):
    reply = (
        "- Officials labelled the refugees economic migrants because of the famine in the north.\n"
        "- The government honours a 1986 treaty that outlaws crossing the border."
    )
    result = _complete_answer(reply, fake_embedder)
    lines = result.answer.split("\n")
    assert len(lines) == 2 and all(line.startswith("- ") for line in lines), result.answer
    assert lines[0].endswith("[1]") and lines[1].endswith("[2]")
    assert "allegedly" in lines[0] and "(the source:" in lines[0]
    assert [s.attribution for s in result.sentences] == ["allegedly", ""]
    as_written = _complete_answer(reply, fake_embedder, keep_attribution=False)
    assert "(the source:" not in as_written.answer and as_written.sentences[0].attribution == ""


def test_an_answer_that_keeps_the_attribution_is_shown_as_written(fake_embedder):
    reply = "- Officials labelled the refugees economic migrants, allegedly because of the famine in the north."
    result = _complete_answer(reply, fake_embedder)
    assert "(the source:" not in result.answer and result.sentences[0].attribution == ""


def test_a_near_duplicate_passage_that_goes_on_to_another_fact_adds_a_sentence():
    kept = "Human Rights Watch and the UN urged China to change its stance towards refugees."
    other = "Human Rights Watch and the UN asked China to reconsider its policy. Beijing views the influx as a threat."
    assert adds_sentence(other, kept)
    assert not adds_sentence("Human Rights Watch and the UN urged China to change its stance on refugees.", kept)


def test_an_item_the_model_writes_again_is_shown_once(fake_embedder):
    item = "- The government honours a 1986 treaty that outlaws crossing the border."
    result = _complete_answer("\n".join([item, item, item.replace("honours", "still honours")]), fake_embedder)
    assert result.answer.count("1986") == 1, result.answer


def test_a_question_naming_what_only_the_document_name_says_is_not_refused(fake_embedder):
    # the article calls him "Tesla" throughout; its file is named after him
    text = "Tesla resigned from the company because he was never paid the bonus he was promised."
    passages = [Passage(Chunk(0, "docs/Nikola_Tesla.txt", "", text, 0, len(text)), 0.8)]
    settings = Settings(min_retrieval_score=0.0, min_support=0.3, min_answer_check=0.0)
    question = "Why did Nikola Tesla resign from the company?"
    model = ScriptedGenerator("Tesla resigned because he was never paid the bonus he was promised.")
    result = list(answer(question, question, passages, fake_embedder, model, settings, Stopwatch()))[-1]
    facts = next(c for c in result.checks if c.name == "question_facts")
    assert facts.passed and not result.abstained, result.abstain_reason


def test_the_answer_check_reads_the_prompt_a_one_fact_question_gets(fake_embedder):
    # its thresholds were fitted on P(Yes) read after that prompt: after the longer list prompt it ran higher
    from rag.answering.prompt import CHECK_PROMPT, COMPLETE_PROMPT, SYSTEM_PROMPT

    passages = [Passage(Chunk(i, f"doc{i}.txt", "", text, 0, len(text)), 0.8) for i, text in enumerate(PASSAGES)]
    settings = Settings(min_retrieval_score=0.0, min_support=0.3, min_answer_check=0.1, top_k=1)
    question = "Why are the refugees treated as economic migrants?"
    model = ScriptedGenerator("- The government honours a 1986 treaty that outlaws crossing the border.")
    list(answer(question, question, passages, fake_embedder, model, settings, Stopwatch()))
    assert model.prompts[0][0]["content"] == COMPLETE_PROMPT  # the answer: asked for every reason, both passages
    assert "[2]" in model.prompts[0][1]["content"]
    checked = model.asked[0]
    assert checked[0]["content"] == SYSTEM_PROMPT.format(kind="")  # the check: as fitted, on top_k passages
    assert "[2]" not in checked[1]["content"] and checked[1]["content"].endswith(CHECK_PROMPT)
