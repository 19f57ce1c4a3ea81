"""rag.evaluation.plain: the tutorial pipeline's splitting, the baseline row of `rag eval --plain`."""

from __future__ import annotations

from rag.evaluation.plain import CHUNK_CHARS, OVERLAP_CHARS, CharacterSplitter
from rag.types import Document


def test_windows_of_at_most_a_thousand_characters_cut_at_spaces_and_overlapping():
    words = [f"word{i:04d}" for i in range(900)]  # 9 characters and a space each
    text = " ".join(words)
    chunks = CharacterSplitter().split(Document("doc", "Doc", text, "x"))
    assert len(chunks) > 1 and all(len(c.text) <= CHUNK_CHARS for c in chunks)
    assert all(text[c.start : c.end].strip() == c.text for c in chunks)  # offsets point at the text shown
    for before, after in zip(chunks, chunks[1:], strict=False):
        shared = before.end - after.start
        assert 0 < shared <= OVERLAP_CHARS  # each window starts inside the last one
        assert set(before.text.split()) & set(after.text.split())
    covered = set()
    for c in chunks:
        covered.update(c.text.split())
    assert covered == set(words)  # nothing is lost
    assert [c.id for c in chunks] == list(range(len(chunks)))


def test_a_short_text_is_one_chunk_and_a_word_longer_than_a_window_is_cut():
    assert [c.text for c in CharacterSplitter().split(Document("d", "", "  A short one.  ", "x"))] == ["A short one."]
    blob = "x" * 2500
    chunks = CharacterSplitter().split(Document("d", "", blob, "x"))
    assert "".join(c.text for c in chunks) == blob and all(len(c.text) <= CHUNK_CHARS for c in chunks)
