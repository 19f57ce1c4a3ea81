"""Sentence splitting and token-sized chunking with overlap and exact character offsets."""

import re

import pytest

from rag.ingest.split import Splitter, sentences, splitter_for
from rag.types import Document


def _sentences(text):
    return [text[s.start : s.end] for s in sentences(text)]


def _doc(text):
    return Document(source="doc.txt", title="Doc", text=text, sha256="0" * 64)


def _words(max_tokens, overlap):
    return Splitter(
        lambda text: len(text.split()),
        lambda text: [m.span() for m in re.finditer(r"\S+", text)],
        max_tokens,
        overlap,
    )


def _check_offsets(document, chunks):
    for chunk in chunks:
        assert chunk.text == document.text[chunk.start : chunk.end]
        assert chunk.source == document.source and chunk.title == document.title


# --- sentences --------------------------------------------------------------------------------


def test_abbreviations_do_not_end_sentences():
    assert _sentences("Dr. Smith arrived at noon. He sat down.") == ["Dr. Smith arrived at noon.", "He sat down."]
    assert _sentences("Use a tool, e.g. this one. Then stop.") == ["Use a tool, e.g. this one.", "Then stop."]
    assert _sentences("Cats, dogs, etc. are pets. Fish too.") == ["Cats, dogs, etc. are pets.", "Fish too."]


def test_initials_do_not_end_sentences():
    assert _sentences("I met J. Doe today. Fine.") == ["I met J. Doe today.", "Fine."]


def test_line_break_ends_a_sentence():
    assert _sentences("A heading without a period\nThe body starts here. More.") == [
        "A heading without a period",
        "The body starts here.",
        "More.",
    ]


def test_closing_quote_stays_with_its_sentence():
    assert _sentences('He said "stop." Then he left.') == ['He said "stop."', "Then he left."]
    assert _sentences("It works (mostly.) Next one.") == ["It works (mostly.)", "Next one."]


def test_question_exclamation_and_ellipsis():
    assert _sentences("Really? Yes! Well... maybe") == ["Really?", "Yes!", "Well...", "maybe"]


def test_no_break_inside_numbers_or_at_end():
    assert _sentences("Version 3.14 is out.") == ["Version 3.14 is out."]


def test_sentence_spans_skip_blank_lines_and_whitespace():
    text = "  First one.   \n\n\n   Second one.  "
    spans = sentences(text)
    assert [text[s.start : s.end] for s in spans] == ["First one.", "Second one."]


# --- Splitter with a whitespace tokenizer ------------------------------------------------------

TEXT = " ".join(f"Sentence number {i} has exactly seven words." for i in range(1, 31))


def test_no_chunk_exceeds_max_tokens():
    document = _doc(TEXT)
    chunks = _words(20, 7).split(document)
    assert len(chunks) > 5
    assert all(len(c.text.split()) <= 20 for c in chunks)
    _check_offsets(document, chunks)


def test_consecutive_chunks_share_a_sentence_when_overlapping():
    document = _doc(TEXT)
    chunks = _words(21, 7).split(document)
    assert len(chunks) > 5  # else the loop below checks nothing
    for previous, current in zip(chunks, chunks[1:], strict=False):
        assert current.start < previous.end  # overlap in the text
        last_sentence = _sentences(previous.text)[-1]
        assert current.text.startswith(last_sentence)


def test_no_overlap_means_disjoint_chunks():
    chunks = _words(21, 0).split(_doc(TEXT))
    assert len(chunks) > 5  # else the loop below checks nothing
    for previous, current in zip(chunks, chunks[1:], strict=False):
        assert current.start >= previous.end


def test_all_text_is_covered():
    document = _doc(TEXT)
    chunks = _words(20, 5).split(document)
    covered = " ".join(c.text for c in chunks)
    for i in range(1, 31):
        assert f"Sentence number {i} has" in covered
    assert chunks[0].start == 0 and chunks[-1].end == len(TEXT)


def test_ids_count_up_from_first_id():
    chunks = _words(20, 5).split(_doc(TEXT), first_id=100)
    assert [c.id for c in chunks] == list(range(100, 100 + len(chunks)))


def test_offsets_exact_with_messy_whitespace_and_lines():
    text = "Title line\n\n  Dr. Who went home.  It rained!\n\tTabs here.\n" + "word " * 40 + "\nEnd."
    document = _doc(text)
    chunks = _words(12, 4).split(document)
    _check_offsets(document, chunks)
    assert all(len(c.text.split()) <= 12 for c in chunks)


def test_long_sentence_cut_into_windows_covering_all_words():
    words = [f"w{i}" for i in range(53)]
    text = "Short start. " + " ".join(words) + ". Short end."
    document = _doc(text)
    chunks = _words(10, 3).split(document)
    _check_offsets(document, chunks)
    assert all(len(c.text.split()) <= 10 for c in chunks)
    seen = {w.rstrip(".") for c in chunks for w in c.text.split()}
    assert set(words) <= seen
    assert "start" in seen and "end" in seen


def test_long_sentence_windows_overlap():
    text = " ".join(f"t{i}" for i in range(30))
    chunks = _words(10, 4).split(_doc(text))
    firsts = [c.text.split() for c in chunks]
    assert len(firsts) >= 4  # 30 words in windows of 10 that overlap: the loop below checks something
    for previous, current in zip(firsts, firsts[1:], strict=False):
        assert set(previous) & set(current)


def test_long_sentence_is_tokenized_in_bounded_slices():
    """A 2 MB sentence costs linear work: no tokenizer call reads more than a chunk's character bound, and
    all of them together read each character a few times. (Tokenizing it whole, then scanning all its words
    for each window, held `rag index` for over an hour on 9 MB.)"""
    text = " ".join(f"w{i}" for i in range(300_000))
    read = []

    def counted(function):
        def reading(piece):
            read.append(len(piece))
            assert len(piece) < 100_000, "the tokenizer was given the whole sentence"
            return function(piece)

        return reading

    splitter = Splitter(
        counted(lambda t: len(t.split())), counted(lambda t: [m.span() for m in re.finditer(r"\S+", t)]), 64, 16
    )
    document = _doc(text)
    chunks = splitter.split(document)
    assert len(text) > 2_000_000 and max(read) <= splitter.max_chars
    assert sum(read) < 6 * len(text)
    _check_offsets(document, chunks)
    assert all(len(c.text.split()) <= 64 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for previous, current in zip(chunks, chunks[1:], strict=False):
        assert current.start < previous.end  # overlapping windows, none missing


def test_a_word_without_spaces_is_cut_by_characters():
    """A 2 MB "word" the tokenizer reads as one unknown token is cut into chunks of at most max_chars."""
    word = "x" * 2_000_000
    document = _doc(f"Start here. {word} End.")
    splitter = _words(64, 16)
    chunks = splitter.split(document)
    _check_offsets(document, chunks)
    assert max(len(c.text) for c in chunks) <= splitter.max_chars == 16 * 64
    assert chunks[0].text == "Start here." and chunks[1].start == len("Start here. ")
    assert all(b.start == a.end for a, b in zip(chunks[1:], chunks[2:], strict=False))  # cut end to end
    assert chunks[-1].text.endswith("x End.") and len(chunks) > len(word) // splitter.max_chars


def test_sentences_far_apart_are_not_packed_past_the_character_bound():
    document = _doc("One." + " " * 3000 + "Two.")
    chunks = _words(64, 16).split(document)
    assert [c.text for c in chunks] == ["One.", "Two."]


def test_runs_of_marks_and_initials_split_as_before():
    """The sentence-end pattern reads a run of dots once, and an abbreviation by its last few characters."""
    assert _sentences("." * 5000 + "x") == ["." * 5000 + "x"]
    assert _sentences("J. " * 2000 + "Doe ran. Then stop.") == ["J. " * 2000 + "Doe ran.", "Then stop."]
    assert _sentences("See fig. 3, etc.) and more... Then? Yes!") == ["See fig. 3, etc.) and more...", "Then?", "Yes!"]


def test_empty_document_has_no_chunks():
    assert _words(10, 2).split(_doc("   \n\n ")) == []


@pytest.mark.parametrize("overlap", [10, 11])
def test_overlap_not_smaller_than_size_is_refused(overlap):
    with pytest.raises(ValueError, match="overlap"):
        _words(10, overlap)


# --- with the real embedder's tokenizer ---------------------------------------------------------


def test_real_tokenizer_chunks_fit(embedder):
    text = (
        "Retrieval-augmented generation combines search with a language model. "
        "Dr. Smith's 2023 paper, e.g. section 4.2, reports a 12.5% gain on multi-hop QA!\n"
        + "the cat sat on the mat and then it ran to the door " * 20
        + "\n"
        + " ".join(f"Fact {i}: the value is {i * 17} units." for i in range(40))
    )
    document = _doc(text)
    chunks = splitter_for(embedder, 64, 16).split(document)
    assert sum("cat sat" in c.text for c in chunks) >= 4  # the long sentence was cut into windows
    assert all(embedder.count_tokens(c.text) <= 64 for c in chunks)
    _check_offsets(document, chunks)


def test_splitter_for_caps_at_embedder_limit(embedder):
    splitter = splitter_for(embedder, 10_000, 16)
    assert splitter.max_tokens == embedder.max_tokens - 2


def test_cut_windows_keep_whole_words(embedder):
    """Windows of an over-long sentence end on word boundaries, so their counts stay exact."""
    document = _doc("Supercalifragilisticexpialidocious antidisestablishmentarianism " * 30)
    chunks = splitter_for(embedder, 64, 16).split(document)
    assert len(chunks) > 2
    for chunk in chunks:
        assert embedder.count_tokens(chunk.text) <= 64
        assert chunk.text.split()[0] in {"Supercalifragilisticexpialidocious", "antidisestablishmentarianism"}
    _check_offsets(document, chunks)
