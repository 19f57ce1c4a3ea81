"""Retrieval: fusion and duplicate collapse by hand, keyword search, and each method on a real index."""

from __future__ import annotations

import numpy as np
import pytest

from rag.retrieval.retrieve import collapse, convex, rrf
from rag.store.keyword import KeywordIndex
from rag.types import Chunk


def test_rrf_by_hand():
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert sorted(fused, key=lambda i: -fused[i]) == [1, 3, 2]


def test_convex_by_hand():
    fused = convex({1: 0.8, 2: 0.4}, {2: 10.0, 3: 5.0}, dense_weight=0.25)
    # dense normalised: 1 -> 1, 2 -> 0; keyword normalised: 2 -> 1, 3 -> 0
    assert fused == {1: pytest.approx(0.25), 2: pytest.approx(0.75), 3: pytest.approx(0.0)}


def test_collapse_keeps_the_first_of_near_duplicates():
    a = np.array([1.0, 0.0, 0.0])
    near_a = np.array([0.99, 0.141, 0.0]) / np.linalg.norm([0.99, 0.141, 0.0])
    b = np.array([0.0, 1.0, 0.0])
    vectors = np.vstack([a, near_a, b])
    assert collapse([10, 11, 12], vectors, threshold=0.95, keep=5) == [10, 12]
    assert collapse([10, 11, 12], vectors, threshold=1.0, keep=2) == [10, 11]  # 1.0 turns it off
    assert collapse([10, 11, 12], vectors, threshold=0.95, keep=1) == [10]


def test_keyword_index_finds_rare_terms_and_round_trips(tmp_path):
    chunks = {
        7: Chunk(7, "a", "", "The Land Borders Law took effect in 2022.", 0, 10),
        9: Chunk(9, "b", "", "Sea otters hold hands while they sleep.", 0, 10),
        12: Chunk(12, "c", "", "The and of with.", 0, 10),  # nothing but stop words
    }
    index = KeywordIndex.build(chunks)
    assert [i for i, _ in index.search("When did the borders law take effect?", 5)] == [7]
    assert index.search("zebra", 5) == []  # no shared term, no result
    index.save(tmp_path / "bm25")
    again = KeywordIndex.load(tmp_path / "bm25")
    assert again.search("sleeping otters", 5) == index.search("sleeping otters", 5) != []
    empty = KeywordIndex.build({})
    empty.save(tmp_path / "empty")
    assert KeywordIndex.load(tmp_path / "empty").search("anything", 3) == []


@pytest.mark.parametrize("method", ["dense", "keyword", "hybrid"])
def test_each_method_answers_the_seed_question(seed_rag, method: str):
    settings = seed_rag.settings.with_overrides(retrieval=method).search
    from rag.retrieval.retrieve import search

    question = "Which agreement does Beijing honor?"
    query = seed_rag.embedder.encode([question])[0]
    passages = search(seed_rag.index, query, question, 5, settings)
    assert 1 <= len(passages) <= 5
    assert any("1986" in p.chunk.text for p in passages[:3]), method
    # score is the cosine to the question whatever the order came from
    for p in passages:
        vector = seed_rag.index.vectors.reconstruct(p.chunk.id)
        assert p.score == pytest.approx(float(vector @ query), abs=1e-5)


PARAPHRASES = [  # the seed article says each of these twice, in other words
    ("This will likely encourage Chinese law enforcement", "The new law will encourage Chinese law enforcement"),
    ("Both Human Rights Watch and the UN have urged", "Human Rights Watch and the UN have both asked"),
]


@pytest.mark.parametrize(
    "question",
    [
        "Why does China treat defectors as economic migrants?",
        "What will the new law encourage Chinese law enforcement officers to do?",
        "What have Human Rights Watch and the UN urged China to do?",
    ],
)
def test_seed_passages_hold_no_paraphrased_duplicates(seed_rag, question: str):
    # a chunk repeating another's paraphrase comes back only when it goes on to a sentence of its own (the seed
    # chunk "Human Rights Watch and the UN have both asked…" goes on to "…views the influx of refugees as a threat",
    # one of the mission question's three reasons)
    from rag.text import adds_sentence

    texts = [p.chunk.text for p in seed_rag.retrieve(question)]
    assert len(texts) >= 3, question  # nothing retrieved would hold no duplicates either
    for first, second in PARAPHRASES:
        with_first = [t for t in texts if first in t]
        for later in (t for t in texts if second in t):
            assert all(adds_sentence(later, earlier) for earlier in with_first), (question, first)


def test_without_collapse_the_paraphrases_both_come_back(seed_rag):
    """The check above is not empty: with collapse off, both wordings are retrieved."""
    from rag.retrieval.retrieve import search

    question = "What have Human Rights Watch and the UN urged China to do?"
    settings = seed_rag.settings.with_overrides(duplicate_threshold=1.0).search
    query = seed_rag.embedder.encode([question])[0]
    texts = [p.chunk.text for p in search(seed_rag.index, query, question, 5, settings)]
    first, second = PARAPHRASES[1]
    assert any(first in t for t in texts) and any(second in t for t in texts)


def tiny_cross_encoder(folder):
    """A randomly initialised BERT cross-encoder, built here: no reranker weights exist offline."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    words = "china north korea defectors law border refugees beijing agreement economic migrants the a of".split()
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = BertConfig(
        vocab_size=5 + len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_user_supplied_cross_encoder_reorders_the_head(seed_rag, tmp_path):
    from sentence_transformers import CrossEncoder

    folder = tiny_cross_encoder(tmp_path / "ce")
    reranked = seed_rag.variant(reranker=str(folder), rerank_candidates=6, duplicate_threshold=1.0)
    question = "Why does China treat defectors as economic migrants?"
    passages = reranked.retrieve(question, k=6)
    # the same six candidates as without the reranker, in the cross-encoder's order
    plain = seed_rag.settings.with_overrides(duplicate_threshold=1.0).search
    from rag.retrieval.retrieve import search

    before = search(seed_rag.index, seed_rag.embedder.encode([question])[0], question, 6, plain)
    assert {p.chunk.id for p in passages} == {p.chunk.id for p in before}
    scores = CrossEncoder(str(folder)).predict([(question, p.chunk.text) for p in passages])
    assert list(scores) == sorted(scores, reverse=True)


def test_missing_reranker_is_a_clear_error(seed_rag, tmp_path):
    from rag.errors import ModelNotFoundError

    broken = seed_rag.variant(reranker=str(tmp_path / "no-such-model"))
    with pytest.raises(ModelNotFoundError, match="cannot load reranker"):
        broken.retrieve("anything?")


def test_a_deeper_search_keeps_the_head_that_ask_returns(seed_rag):
    """rag eval searches 100 or 1000 deep for recall@100; its first passages must be what `rag ask` gets."""
    from rag.retrieval.retrieve import search

    settings = seed_rag.settings.with_overrides(candidates=3, duplicate_threshold=1.0).search
    question = "What punishments do repatriated defectors face?"
    query = seed_rag.embedder.encode([question])[0]
    shallow = search(seed_rag.index, query, question, 3, settings)
    deep = search(seed_rag.index, query, question, 9, settings)
    assert [p.chunk.id for p in deep[:3]] == [p.chunk.id for p in shallow]
    assert len(deep) == 9 and len({p.chunk.id for p in deep}) == 9
