"""Kept conversations (rag/people/conversations.py) on a real SQLite file: kept per user, listed newest first,
searched, renamed, deleted, cut back for a retry, and read back after the file is opened again."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedGenerator, freedonia_answer

from rag.people.conversations import Conversations, Turn, title_of
from rag.people.database import FILE_NAME, Database
from rag.types import Answer

QUESTION = "What is the capital of Freedonia?"


@pytest.fixture
def answer(fake_embedder: Any) -> Answer:
    return freedonia_answer(ScriptedGenerator("The capital of Freedonia is Mirabel."), fake_embedder)


@pytest.fixture
def kept(tmp_path: Path) -> Conversations:
    return Conversations.at(tmp_path)


def test_an_answer_round_trips_through_its_json(answer: Answer):
    assert not answer.abstained and answer.citations
    again = Answer.from_dict(answer.to_dict())
    assert again.to_dict() == answer.to_dict()
    assert again.citations[0].highlights == answer.citations[0].highlights


def test_turns_are_kept_in_order_under_a_title_from_the_first_question(kept: Conversations, answer: Answer):
    first = kept.add("alice", None, Turn(QUESTION, "default", answer))
    assert kept.add("alice", first, Turn("And its river?", "default", None, "the model is busy")) == first
    conversation = kept.get("alice", first)
    assert conversation is not None and conversation.title == QUESTION
    assert [t.question for t in conversation.turns] == [QUESTION, "And its river?"]
    assert conversation.turns[0].answer is not None and conversation.turns[0].answer.answer == answer.answer
    assert conversation.turns[1].answer is None and conversation.turns[1].error == "the model is busy"
    assert title_of("word " * 40).endswith("…") and len(title_of("word " * 40)) == 80


def test_listed_newest_first_and_searched_in_titles_questions_and_answers(kept: Conversations, answer: Answer):
    older = kept.add("alice", None, Turn(QUESTION, "default", answer))
    newer = kept.add("alice", None, Turn("Who wrote the border law?", "news", None, "no index"))
    assert [s.id for s in kept.summaries("alice")] == [newer, older]
    kept.add("alice", older, Turn("And its river?", "default", None, "busy"))  # used again: listed first
    assert [s.id for s in kept.summaries("alice")] == [older, newer]
    assert [s.turns for s in kept.summaries("alice")] == [2, 1]
    assert [s.id for s in kept.summaries("alice", "BORDER")] == [newer]  # a title, case aside
    assert [s.id for s in kept.summaries("alice", "river")] == [older]  # a later question
    assert [s.id for s in kept.summaries("alice", "Mirabel")] == [older]  # an answer
    assert kept.summaries("alice", "100%") == [] and kept.summaries("alice", "_") == []  # taken literally


def test_nobody_reaches_another_users_conversation(kept: Conversations, answer: Answer):
    alices = kept.add("alice", None, Turn(QUESTION, "default", answer))
    assert kept.summaries("bob") == [] and kept.get("bob", alices) is None
    assert not kept.rename("bob", alices, "mine now") and not kept.delete("bob", alices)
    kept.keep_first("bob", alices, 0)
    bobs = kept.add("bob", alices, Turn("Is it mine?", "default", None, "x"))  # an id that is not his: a new one
    assert bobs != alices
    conversation = kept.get("alice", alices)
    assert conversation is not None and conversation.title == QUESTION and len(conversation.turns) == 1
    assert [s.id for s in kept.summaries("bob")] == [bobs]


def test_rename_delete_and_cut_back(kept: Conversations, answer: Answer):
    first = kept.add("alice", None, Turn(QUESTION, "default", answer))
    for question in ("Second?", "Third?"):
        kept.add("alice", first, Turn(question, "default", answer))
    kept.keep_first("alice", first, 1)  # the second question asked again: it and the third go
    conversation = kept.get("alice", first)
    assert conversation is not None and [t.question for t in conversation.turns] == [QUESTION]
    assert kept.add("alice", first, Turn("Second, again?", "default", answer)) == first
    assert kept.rename("alice", first, "  Freedonia\n facts ") and kept.summaries("alice")[0].title == "Freedonia facts"
    assert not kept.rename("alice", first, "   ")
    assert kept.delete("alice", first) and kept.get("alice", first) is None and kept.summaries("alice") == []
    left = kept.db.rows("SELECT count(*) AS n FROM turns")[0]["n"]
    assert left == 0, "a deleted conversation's turns go with it"


def test_a_removed_users_conversations_go(kept: Conversations, answer: Answer):
    kept.add("alice", None, Turn(QUESTION, "default", answer))
    kept.add("alice", None, Turn("Another?", "default", answer))
    kept.add("bob", None, Turn(QUESTION, "default", answer))
    assert kept.forget_user("alice") == 2 and kept.summaries("alice") == [] and len(kept.summaries("bob")) == 1


def test_kept_conversations_survive_reopening_the_file(kept: Conversations, answer: Answer, tmp_path: Path):
    first = kept.add("alice", None, Turn(QUESTION, "default", answer))
    reopened = Conversations(Database(tmp_path / FILE_NAME))  # the server after a restart
    conversation = reopened.get("alice", first)
    assert conversation is not None and conversation.turns[0].answer is not None
    assert conversation.turns[0].answer.to_dict() == answer.to_dict()
    journal = sqlite3.connect(tmp_path / FILE_NAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal", "readers and a writer in another process at once"
