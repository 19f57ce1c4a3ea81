"""The page's kept conversations (rag/web/kept.py) in process, on a real SQLite file with a scripted model
(tests/fakes.py): what is answered is kept, follow-ups read the kept turns, a conversation reopens as it was
shown, and one user never reaches another's. In a real browser: test_kept_browser.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from fakes import FREEDONIA, FakeEmbedder, ScriptedGenerator

from rag.api.gate import AnswerGate
from rag.collections import Collections
from rag.people.conversations import Conversations
from rag.pipeline import RAG
from rag.web.app import _Handlers, build_app

QUESTION = "What is the capital of Freedonia?"


@pytest.fixture
def rag(tmp_path: Path) -> RAG:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "freedonia.txt").write_text(FREEDONIA, encoding="utf-8")
    pipeline = RAG(index_dir=tmp_path / "index").use(
        embedder=FakeEmbedder(), generator=ScriptedGenerator("The capital of Freedonia is Mirabel.")
    )
    pipeline.build([tmp_path / "docs"])
    return pipeline


@pytest.fixture
def kept(tmp_path: Path) -> Conversations:
    return Conversations.at(tmp_path / "data")


def as_user(name: str, role: str = "reader") -> gr.Request:
    """A request as the Guard passes it on."""
    return gr.Request(headers={"x-rag-user": name, "x-rag-role": role})


def ask(handlers: _Handlers, question: str, shown: tuple[Any, ...], request: gr.Request | None) -> tuple[Any, ...]:
    """Ask as the page does, after `shown` (chat, sources, turns, conversation); what it shows last, the
    sidebar's outputs as the answer left them."""
    history, _, turns, conversation = shown
    knobs = (5, *handlers.cautious(None), "balanced", "")
    outputs = list(handlers.respond(question, history, turns, conversation, request, "default", *knobs))
    last = outputs[-1]
    return last[0], next(o[1] for o in reversed(outputs) if isinstance(o[1], str)), last[2], *last[4:]


def test_an_answer_is_kept_and_its_conversation_reopens_as_it_was_shown(rag: RAG, kept: Conversations):
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=True, conversations=kept)
    alice = as_user("alice")
    chat, sources, turns, conversation, listing, title, export = ask(handlers, QUESTION, ([], "", {}, None), alice)
    assert "Mirabel" in chat[-1]["content"] and conversation and title == QUESTION
    assert listing.value == conversation and listing.choices == [(QUESTION, conversation)]
    assert f"conversations/{conversation}.md" in export and f"conversations/{conversation}.json" in export

    reopened = handlers.kept.open(conversation, alice)  # a reload, or another browser of alice's
    assert reopened[:4] == (chat, sources, turns, conversation), "the chat, its chips' passages and the turns"
    assert reopened[4] == QUESTION


def test_a_follow_up_reads_the_kept_turns_not_what_the_browser_sends(rag: RAG, kept: Conversations):
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=False, conversations=kept)
    first = ask(handlers, QUESTION, ([], "", {}, None), None)
    model = rag.generator
    before = len(model.prompts)
    # a forged or stale chat (nothing before) with the kept conversation: the rewrite still reads the kept turn
    ask(handlers, "And which river is it on?", ([], "", {}, first[3]), None)
    rewrite = str(model.prompts[before])
    assert QUESTION in rewrite and "Mirabel" in rewrite, rewrite
    kept_turns = kept.get("local", first[3])
    assert kept_turns is not None and len(kept_turns.turns) == 2


def test_a_retry_replaces_the_kept_answer_and_what_followed(rag: RAG, kept: Conversations):
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=False, conversations=kept)
    shown = ask(handlers, QUESTION, ([], "", {}, None), None)
    shown = ask(handlers, "Which river?", shown[:4], None)
    knobs = (5, *handlers.cautious(None), "balanced", "")
    retried = list(
        handlers.retry(
            gr.RetryData(None, {"index": 0, "value": QUESTION}), shown[0], shown[2], shown[3], None, "default", *knobs
        )
    )
    assert len(retried[-1][0]) == 2
    again = kept.get("local", shown[3])
    assert again is not None and [t.question for t in again.turns] == [QUESTION]


def test_one_user_never_reaches_anothers_conversation(rag: RAG, kept: Conversations):
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=True, conversations=kept)
    alices = ask(handlers, QUESTION, ([], "", {}, None), as_user("alice"))[3]
    bob = as_user("bob")
    with pytest.raises(gr.Error):
        handlers.kept.open(alices, bob)
    assert handlers.kept.search("", None, bob).choices == []
    with pytest.raises(gr.Error):
        handlers.kept.rename(alices, "bob's now", "", bob)
    handlers.kept.delete(alices, "", bob)
    bobs = ask(handlers, "Is this mine?", ([], "", {}, alices), bob)[3]  # continuing alice's id starts his own
    assert bobs != alices
    kept_for_alice = kept.get("alice", alices)
    assert kept_for_alice is not None and [t.question for t in kept_for_alice.turns] == [QUESTION]
    with pytest.raises(gr.Error, match="who is asking"):
        handlers.kept.open(alices, gr.Request(headers={}))  # not through the Guard: nobody


def test_renaming_searching_and_deleting_from_the_sidebar(rag: RAG, kept: Conversations):
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=False, conversations=kept)
    first = ask(handlers, QUESTION, ([], "", {}, None), None)[3]
    second = ask(handlers, "Which river does Mirabel lie on?", ([], "", {}, None), None)[3]
    sidebar = handlers.kept
    assert [value for _, value in sidebar.search("", None, None).choices] == [second, first]
    assert sidebar.rename(first, "Zanzibar notes", "", None).choices[1] == ("Zanzibar notes", first)
    assert [value for _, value in sidebar.search("zanzibar", None, None).choices] == [first]
    emptied = sidebar.delete(first, "", None)
    assert emptied[:4] == ([], "", {}, None) and [v for _, v in emptied[4].choices] == [second]


def test_the_page_has_the_sidebar_and_sends_the_conversation_with_each_question(rag: RAG, kept: Conversations):
    app = build_app(Collections(rag), conversations=kept)
    ids = {getattr(block, "elem_id", None): block for block in app.blocks.values()}
    assert isinstance(ids["sidebar"], gr.Sidebar)
    for name in ("conversations", "search-chats", "new-chat", "rename-chat", "delete-chat", "export-chat"):
        assert name in ids, name
    asking = [fn for fn in app.fns.values() if fn.name in ("respond", "retry")]
    assert len(asking) >= 2 and all(
        any(isinstance(c, gr.State) and c.value is None for c in fn.inputs) for fn in asking
    )
    assert all(ids["conversations"] in fn.outputs for fn in asking), "an answer shows its conversation listed"
    private = [fn for fn in app.fns.values() if ids["conversations"] in fn.inputs]
    assert private and all(fn.api_visibility == "private" for fn in private)
