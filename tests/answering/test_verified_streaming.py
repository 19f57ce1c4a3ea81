"""Verified streaming: while the model writes, each sentence is shown once it passes its checks (rag.types.Checked),
never the raw draft; the final Answer decides, and withdraws what was shown when the whole answer fails."""

from __future__ import annotations

from fakes import FREEDONIA, ScriptedGenerator

from rag.answering.answer import after_checked, answer, complete_sentences
from rag.settings import Settings
from rag.stopwatch import Stopwatch
from rag.types import Answer, Checked, Chunk, Passage


def stream(reply: str, embedder, question: str = "What is the capital of Freedonia?", text: str = FREEDONIA) -> list:
    model = ScriptedGenerator(reply)
    passages = [Passage(Chunk(0, "freedonia.txt", "Freedonia", text, 0, len(text)), 0.8)]
    return list(answer(question, question, passages, embedder, model, Settings(), Stopwatch()))


def test_sentences_are_shown_one_by_one_as_they_are_checked(fake_embedder):
    items = stream("The capital of Freedonia is Mirabel. Mirabel lies on the river Ost. It has a port.", fake_embedder)
    shown = [item.answer.answer for item in items if isinstance(item, Checked)]
    final = items[-1]
    assert isinstance(final, Answer) and not final.abstained
    assert shown[0] == "The capital of Freedonia is Mirabel. [1]"
    assert len(shown) >= 2 and all(final.answer.startswith(text) for text in shown)  # they only ever grow
    # the first sentence is out while the model is still writing: drafted text follows it
    first = next(i for i, item in enumerate(items) if isinstance(item, Checked))
    assert any(isinstance(item, str) for item in items[first:])
    assert final.timings_ms["first_checked"] < final.timings_ms["total"]
    assert after_checked(final, shown[-1]) == final.answer.removeprefix(shown[-1])


def test_a_sentence_the_passages_do_not_support_is_never_shown(fake_embedder):
    items = stream(
        "The capital of Freedonia is Mirabel. Its mayor is Rufus T. Firefly, elected in 1933.", fake_embedder
    )
    assert all("Firefly" not in item.answer.answer for item in items if isinstance(item, Checked))
    assert "Firefly" not in items[-1].answer


def test_a_when_question_shows_nothing_until_a_sentence_gives_the_date(fake_embedder):
    founded = f"{FREEDONIA} Mirabel was founded in 1291 by river traders."
    reply = "Mirabel is the capital of Freedonia. Mirabel was founded in 1291 by river traders. It lies on the Ost."
    items = stream(reply, fake_embedder, "When was Mirabel founded?", founded)
    shown = [item.answer.answer for item in items if isinstance(item, Checked)]
    assert not items[-1].abstained
    # the kind check holds the first sentence back until the date comes; then both are shown at once
    assert shown[0].startswith("Mirabel is the capital of Freedonia. [1] Mirabel was founded in 1291")


def test_an_answer_the_whole_draft_fails_withdraws_what_was_shown(fake_embedder):
    items = stream("The capital of Freedonia is Mirabel. I don't know anything else about it.", fake_embedder)
    shown = [item.answer.answer for item in items if isinstance(item, Checked)]
    final = items[-1]
    assert shown == ["The capital of Freedonia is Mirabel. [1]"]
    assert final.abstained and final.abstain_reason == "the model found no answer in the passages"
    notice = after_checked(final, shown[-1])
    assert "Withdrawn" in notice and final.abstain_reason in notice and notice.endswith(final.answer)


def test_a_list_is_shown_once_its_form_is_settled_and_only_grows(fake_embedder):
    """A why / how / list answer may open with a sentence and go on as a list: nothing is shown until two items
    are written (verify makes a list of two or more), so what is shown is never re-formed."""
    reply = (
        "Mirabel matters for these reasons.\n- Mirabel is the capital of Freedonia.\n- Mirabel lies on the river Ost."
        "\n- The capital of Freedonia is Mirabel, on the Ost.\n"
    )
    items = stream(reply, fake_embedder, "Why is Mirabel important?")
    shown = [item.answer.answer for item in items if isinstance(item, Checked)]
    final = items[-1]
    assert shown and all(text.startswith("- ") for text in shown), shown
    assert not final.abstained and all(final.answer.startswith(text) for text in shown)
    assert after_checked(final, shown[-1]) == final.answer.removeprefix(shown[-1])


def test_a_revised_answer_says_so_and_an_unshown_one_is_given_as_is(fake_embedder):
    final = stream("The capital of Freedonia is Mirabel.", fake_embedder)[-1]
    assert after_checked(final, "") == final.answer  # nothing shown while written: the answer, no notice
    assert after_checked(final, "Something else was shown. [1]").startswith("\n\n[Revised")


def test_only_whole_sentences_count_as_written():
    assert complete_sentences("The capital is Mirabel. It li") == len("The capital is Mirabel.")
    assert complete_sentences("The capital is Mir") == 0
    assert complete_sentences("- one item\n- two") == len("- one item")
