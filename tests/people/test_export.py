"""A kept conversation exported (rag/people/export.py) as Markdown to read and JSON to process, with citations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FREEDONIA, ScriptedGenerator, freedonia_answer

from rag.people.conversations import Conversation, Conversations, Turn
from rag.people.export import file_name, to_json, to_markdown
from rag.types import Answer


@pytest.fixture
def conversation(tmp_path: Path, fake_embedder: Any) -> Conversation:
    answered = freedonia_answer(ScriptedGenerator("The capital of Freedonia is Mirabel."), fake_embedder)
    abstained = freedonia_answer(
        ScriptedGenerator("The capital of Freedonia is Mirabel.", p_yes=0.0),
        fake_embedder,
        question="# How many people live in Freedonia?",
    )
    assert abstained.abstained and not answered.abstained
    kept = Conversations.at(tmp_path)
    first = kept.add("alice", None, Turn("What is the capital of Freedonia?", "default", answered))
    kept.add("alice", first, Turn("# How many people live in Freedonia?", "default", abstained))
    kept.add("alice", first, Turn("And then?", "atlas", None, "no collection named atlas"))
    found = kept.get("alice", first)
    assert found is not None
    return found


def test_markdown_has_each_question_its_cited_answer_and_the_passages(conversation: Conversation):
    text = to_markdown(conversation)
    assert text.startswith("# What is the capital of Freedonia?\n")
    assert "3 question(s)" in text
    answered = text.split("## What is the capital of Freedonia?")[1].split("\n## ")[0]
    assert "Mirabel" in answered and "[1]" in answered
    assert "[1] freedonia.txt" in answered and f"> {FREEDONIA}" in answered
    assert "## How many people live in Freedonia?" in text, "a question's own # is not a second heading"
    assert "The documents don't say." in text and "Closest passages:" in text
    assert "Error: no collection named atlas" in text and "*atlas · " in text


def test_json_keeps_each_answer_as_rag_ask_json_gives_it(conversation: Conversation):
    data = json.loads(to_json(conversation))
    assert data["title"] == conversation.title and data["user"] == "alice"
    assert data["created"].endswith("Z") and len(data["turns"]) == 3
    first, second, third = data["turns"]
    assert first["answer"]["citations"][0]["source"] == "freedonia.txt" and first["answer"]["citations"][0]["text"]
    assert Answer.from_dict(first["answer"]).answer == conversation.turns[0].answer.answer
    assert second["answer"]["abstained"] and second["answer"]["passages"]
    assert third["answer"] is None and third["error"] == "no collection named atlas"


def test_the_file_name_is_made_of_the_title_safely(conversation: Conversation):
    assert file_name(conversation, "md") == "what-is-the-capital-of-freedonia.md"
    odd = Conversation("x", "alice", '"; rm -rf / ";\n', 0.0, 0.0, [])
    assert file_name(odd, "json") == "rm-rf.json"
    assert file_name(Conversation("x", "alice", "ÄÖÜ", 0.0, 0.0, []), "md") == "conversation.md"
