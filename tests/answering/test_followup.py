"""Follow-up questions are rewritten into standalone ones from the conversation before retrieval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import ScriptedGenerator

from rag.answering.followup import standalone_question
from rag.answering.prompt import rewrite_messages
from rag.evaluation.datasets import DatasetError, load_dataset
from rag.web import conversation_turns

HISTORY = [("Which agreement does Beijing honor?", "A 1986 bilateral agreement with Pyongyang [1].")]


def test_the_rewriter_sees_the_conversation_without_citation_markers():
    generator = ScriptedGenerator("What did the 1986 agreement with Pyongyang outlaw?")
    rewritten = standalone_question("What did it outlaw?", HISTORY, generator)
    assert rewritten == "What did the 1986 agreement with Pyongyang outlaw?"
    prompt = generator.prompts[0][-1]["content"]
    assert "Which agreement does Beijing honor?" in prompt and "[1]" not in prompt
    assert prompt.rstrip().endswith("Standalone question:") and "What did it outlaw?" in prompt


@pytest.mark.parametrize("reply", ["", "   \n", "I don't know what you mean.", "x" * 1000])
def test_an_unusable_rewrite_falls_back_to_the_question(reply: str):
    assert standalone_question("Why?", HISTORY, ScriptedGenerator(reply)) == "Why?"


def test_no_history_means_no_model_call():
    generator = ScriptedGenerator("anything")
    assert standalone_question("Which law?", [], generator) == "Which law?" and not generator.prompts


def test_only_the_last_turns_are_shown():
    history = [(f"question {n}?", f"answer {n}.") for n in range(10)]
    prompt = rewrite_messages("And then?", history)[-1]["content"]
    assert "question 9?" in prompt and "question 6?" not in prompt


def test_chat_history_becomes_turns_and_failed_answers_are_left_out():
    history = [
        {"role": "user", "content": "Which law?"},
        {"role": "assistant", "content": [{"type": "text", "text": "The Land Borders Law [1]."}]},
        {"role": "user", "content": "Broken?"},
        {"role": "assistant", "content": "⚠️ index at x is damaged"},
    ]
    assert conversation_turns(history) == [("Which law?", "The Land Borders Law [1].")]


def test_followup_gold_set_reads_and_bad_history_is_named(tmp_path: Path):
    gold = load_dataset(Path(__file__).resolve().parents[2] / "eval" / "followups_gold.jsonl")
    assert len(gold.questions) >= 15 and all(q.history for q in gold.questions)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "Why?", "history": ["just a string"]}) + "\n")
    with pytest.raises(DatasetError, match=r"bad.jsonl:1: 'history'"):
        load_dataset(bad)


def test_a_followup_answer_shows_what_was_searched(seed_index: Path, seed_rag):
    from rag import RAG

    rag = RAG(index_dir=seed_index)
    rag.use(generator=ScriptedGenerator("What did the 1986 bilateral agreement with Pyongyang outlaw?"))
    answer = rag.ask("What did it outlaw?", HISTORY)
    assert answer.question == "What did it outlaw?"
    assert answer.rewritten_question == "What did the 1986 bilateral agreement with Pyongyang outlaw?"
    assert "rewrite" in answer.timings_ms
    assert "outlawed illegal border crossings" in answer.passages[0].chunk.text  # retrieved for the rewrite
    assert rag.ask("What did it outlaw?").rewritten_question == ""  # no conversation, no rewrite
    assert rag.variant(rewrite_followups=False).ask("What did it outlaw?", HISTORY).rewritten_question == ""
