"""The page's "How cautious" control: picking a strictness moves the threshold sliders to its fitted thresholds,
and a question goes out with it and is checked against them. In process, no model loaded (tests/fakes.py); the
same in a real browser is tests/web/test_browser.py::test_picking_a_strictness_moves_the_thresholds_and_is_sent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from fakes import FREEDONIA, FakeEmbedder, ScriptedGenerator

from rag.api.gate import AnswerGate
from rag.collections import Collections
from rag.pipeline import RAG, STRICTNESS
from rag.web.app import _Handlers, build_app
from rag.web.render import is_abstention, plain_answer

QUESTION = "What is the capital of Freedonia?"


@pytest.fixture
def rag(tmp_path: Path) -> RAG:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "freedonia.txt").write_text(FREEDONIA, encoding="utf-8")
    model = ScriptedGenerator("The capital of Freedonia is Mirabel.")
    pipeline = RAG(index_dir=tmp_path / "index").use(embedder=FakeEmbedder(), generator=model)
    pipeline.build([tmp_path / "docs"])
    lenient, strict = (pipeline.settings.with_overrides(strictness=s).checks for s in ("lenient", "strict"))
    model.p_yes = (lenient.min_answer_check + strict.min_answer_check) / 2  # lenient answers, strict abstains
    return pipeline


def ask(handlers: _Handlers, *knobs: Any) -> tuple[str, str]:
    """What the chat and the sources panel show last for one question asked with the page's inputs."""
    shown = list(handlers.respond(QUESTION, [], {}, None, None, "default", *knobs))  # a new conversation
    history, panel = shown[-1][0], next((out[1] for out in reversed(shown) if isinstance(out[1], str)), "")
    return history[-1]["content"], panel


def answer_check_threshold(panel: str) -> float:
    found = re.search(r"answer_check [\d.]+ \(≥ ([\d.]+)\)", panel)
    assert found, panel
    return float(found.group(1))


def test_picking_a_strictness_sets_the_sliders_and_the_question_is_checked_against_them(rag: RAG):
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=False)
    shown = {}
    for strictness in ("lenient", "strict"):
        sliders = handlers.cautious(strictness)  # what the Radio's input event puts in the three sliders
        checks = rag.settings.with_overrides(strictness=strictness).checks
        assert sliders == (checks.min_retrieval_score, checks.min_support, checks.min_answer_check)
        shown[strictness] = ask(handlers, 5, *sliders, strictness)
    (lenient_chat, lenient_panel), (strict_chat, strict_panel) = shown["lenient"], shown["strict"]
    assert answer_check_threshold(strict_panel) == pytest.approx(handlers.cautious("strict")[2])
    assert answer_check_threshold(strict_panel) > answer_check_threshold(lenient_panel)
    assert "Mirabel" in lenient_chat and not is_abstention(lenient_chat)
    assert is_abstention(strict_chat) and "No answer in the documents" in strict_panel
    assert rag.settings.checks.strictness == "balanced"  # one user's pick changes nobody else's


def test_the_sliders_as_shown_are_what_is_used(rag: RAG):
    """A threshold moved after picking the strictness is the one used: what the panel shows is what checks."""
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=False)
    min_score, min_support, _ = handlers.cautious("strict")
    _, panel = ask(handlers, 5, min_score, min_support, 0.05, "strict")
    assert answer_check_threshold(panel) == 0.05


def test_an_unknown_strictness_is_said_in_the_chat(rag: RAG):
    handlers = _Handlers(Collections(rag), AnswerGate(), roles=False)
    shown, _ = ask(handlers, 5, *handlers.cautious(None), "paranoid")
    chat = plain_answer(shown)  # as written, without the escapes that keep it plain text
    assert chat.startswith("⚠️") and "unknown strictness" in chat and all(s in chat for s in STRICTNESS)


def test_the_settings_panel_offers_the_strictness_and_sends_it_with_each_question(rag: RAG):
    app = build_app(Collections(rag))
    radios = [block for block in app.blocks.values() if getattr(block, "elem_id", None) == "strictness"]
    assert len(radios) == 1 and isinstance(radios[0], gr.Radio)
    radio = radios[0]
    assert [value for _, value in radio.choices] == list(STRICTNESS) and radio.value == "balanced"
    sliders = [block for block in app.blocks.values() if isinstance(block, gr.Slider)]
    picked = [fn for fn in app.fns.values() if (radio._id, "input") in fn.targets]
    assert len(picked) == 1 and [c._id for c in picked[0].outputs] == [s._id for s in sliders[1:]]
    asking = [fn for fn in app.fns.values() if fn.name == "respond"]
    assert asking and all(fn.inputs[-2] is radio for fn in asking)  # typed, picked example, ...; the filter last
    retried = [fn for fn in app.fns.values() if fn.name == "retry"]
    assert retried and retried[0].inputs[-2] is radio
