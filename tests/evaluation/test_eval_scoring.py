"""Scoring inside `rag eval`, against values worked out by hand: rankings, aggregates, judge agreement, comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation.claims import load_pairs, parse_sentence_list
from rag.evaluation.judge import agreement
from rag.evaluation.report import compare, compare_warnings
from rag.evaluation.runner import aggregate, cites_gold, relevance, retrieval_scores
from rag.settings import eval_data_dir
from rag.types import Answer, Chunk, Citation, Passage, SentenceSupport

CLAIMS = eval_data_dir() / "scifact" / "claims"


def passage(chunk_id: int, source: str, text: str, score: float = 0.5) -> Passage:
    return Passage(Chunk(chunk_id, source, "", text, 0, len(text)), score)


def test_documents_collapse_to_their_best_chunk():
    passages = [passage(1, "a", "x"), passage(2, "b", "y"), passage(3, "a", "z"), passage(4, "c", "w")]
    hits, n = relevance(_question(gold_sources=["c"]), passages)
    assert hits == [set(), set(), {"c"}] and n == 1  # documents a, b, c
    scores = retrieval_scores(hits, n)
    assert scores["mrr@10"] == pytest.approx(1 / 3)
    assert scores["recall@2"] == 0.0 and scores["recall@3"] == 1.0
    assert scores["ndcg@10"] == pytest.approx(0.5)  # 1/log2(4) over an ideal of 1


def test_gold_sources_match_by_path_ending():
    passages = [passage(1, "/home/me/corpus/a.txt", "x"), passage(2, "corpus/b.txt", "y")]
    hits, _ = relevance(_question(gold_sources=["corpus/a.txt", "other/corpus/b.txt"]), passages)
    assert hits == [{"corpus/a.txt"}, {"other/corpus/b.txt"}]
    hits, _ = relevance(_question(gold_sources=["a.txt"]), [passage(3, "notes/data.txt", "z")])
    assert hits == [set()]  # "data.txt" does not end with "/a.txt"


def test_gold_passages_match_inside_chunks_across_quote_styles():
    gold = ["China labels them “economic migrants”.", "Beijing honors a 1986 agreement."]
    passages = [
        passage(7, "doc", "Other text entirely."),
        passage(8, "doc", 'It says so. China labels them "economic  migrants". More.'),
        passage(9, "doc", "Again: China labels them “economic migrants”."),  # the same gold a second time
    ]
    hits, n = relevance(_question(gold_passages=gold), passages)
    assert hits == [set(), {"gold:0"}, {"gold:0"}] and n == 2
    scores = retrieval_scores(hits, n)
    assert scores["recall@10"] == 0.5  # one of two gold passages found
    # one gain at rank 2 (the repeat earns nothing); ideal has two gains at ranks 1 and 2
    assert scores["ndcg@10"] == pytest.approx((1 / 1.5849625) / (1 + 1 / 1.5849625), rel=1e-6)


def test_one_chunk_may_cover_two_gold_passages_and_a_straddled_one_counts():
    gold = ["The law passed in October.", "It took effect in January.", "Critics said it targets refugees."]
    passages = [
        passage(1, "doc", "The law passed in October. It took effect in January. Critics said"),
        passage(2, "doc", "said it targets refugees. Other news followed."),  # most of gold 2, straddled
        passage(3, "doc", "it"),  # a scrap of a gold passage is no hit
    ]
    hits, n = relevance(_question(gold_passages=gold), passages)
    assert hits[0] == {"gold:0", "gold:1"} and hits[1] == {"gold:2"} and hits[2] == set()
    scores = retrieval_scores(hits, n)
    assert scores["recall@1"] == pytest.approx(2 / 3) and scores["recall@2"] == 1.0
    # DCG 2/1 + 1/log2(3) = ideal 1 + 1/log2(3) + 1/log2(4) would be exceeded: capped at 1
    assert scores["ndcg@10"] == 1.0


def _question(**fields):
    from rag.evaluation.datasets import Question

    return Question("q", "question?", **fields)


def _record(
    answerable=True,
    abstained=False,
    f1=None,
    em=None,
    judged=None,
    first=1000.0,
    total=2000.0,
    contains=None,
    words=None,
    failed=None,
):
    record = {
        "answerable": answerable,
        "abstained": abstained,
        "timings_ms": {"retrieve": 10.0, "first_token": first, "total": total},
    }
    if f1 is not None:
        record.update(f1=f1, em=em)
    if contains is not None:
        record["contains"] = contains
    if words is not None:
        record["answer_words"] = words
    if failed is not None:  # the first check failed (none: all passed), after a passed retrieval check
        record["checks"] = [{"name": "retrieval", "passed": True}] + (
            [{"name": failed, "passed": False}] if failed else []
        )
    if judged is not None:
        record["judged_sentences"] = judged
    return record


def test_aggregate_by_hand():
    results = [
        _record(
            f1=1.0,
            em=1.0,
            judged=[{"text": "s1", "citations": {"1": True, "2": False}}],
            first=1000,
            total=3000,
            contains=1.0,
            words=4,
            failed="",
        ),
        _record(
            f1=0.5,
            em=0.0,
            judged=[{"text": "s2", "citations": {"1": False}}, {"text": "s3", "citations": {"1": True}}],
            first=2000,
            total=5000,
            contains=0.0,
            words=12,
            failed="",
        ),
        _record(
            abstained=True, f1=0.0, em=0.0, first=0.0, total=50, contains=0.0, failed="answer_check"
        ),  # abstained on an answerable question
        _record(answerable=False, abstained=True, first=0.0, total=40, failed="question_facts"),
        _record(answerable=False, abstained=False, judged=[], first=3000, total=4000, words=6, failed=""),
    ]
    results[0]["retrieval"] = retrieval_scores([{"g"}, set()], 1)
    results[1]["retrieval"] = retrieval_scores([set(), {"g"}], 1)
    m = aggregate(results + [{"id": "x", "answerable": True, "error": "boom"}])
    assert m["questions"] == 6 and m["errors"] == 1  # a failed question is counted, not scored
    assert m["retrieval"]["mrr@10"] == pytest.approx(0.75) and m["retrieval"]["n"] == 2
    assert m["retrieval"]["recall@1"] == 0.5 and m["recall_curve"]["2"] == 1.0
    assert m["answers"] == {
        "em": pytest.approx(33.33),
        "f1": 50.0,
        "n": 3,
        "f1_when_answered": 75.0,
        "contains": pytest.approx(33.33),
        "contains_when_answered": 50.0,
        "words_when_answered": 6.0,
    }
    # which check decided: the first failed one, counted apart for answerable and unanswerable questions
    assert m["checks"]["answer_check"] == {"decided_answerable": 1, "decided_unanswerable": 0, "failed": 1, "ran": 1}
    assert m["checks"]["question_facts"]["decided_unanswerable"] == 1 and m["checks"]["retrieval"]["failed"] == 0
    # citations: 4 judged, 2 support -> precision 0.5; sentences s1, s3 backed of s1, s2, s3 -> recall 2/3
    assert m["citations"]["precision"] == 0.5 and m["citations"]["recall"] == pytest.approx(0.6667)
    assert m["abstention"]["answered_when_answerable"] == pytest.approx(0.6667)
    assert m["abstention"]["abstained_when_unanswerable"] == 0.5
    # first token only where the model ran: 1000, 2000, 3000; total over all five
    assert m["latency_ms"]["first_token"]["p50"] == 2000.0 and m["latency_ms"]["first_token"]["n"] == 3
    assert m["latency_ms"]["total"]["p50"] == 3000.0
    assert m["latency_ms"]["total"]["p95"] == pytest.approx(4800.0)


def _cited(*texts_and_sources: tuple[str, str]) -> Answer:
    """An answer of one sentence citing each given passage."""
    citations = [
        Citation(n=n, source=source, text=text, score=0.5)
        for n, (text, source) in enumerate(texts_and_sources, start=1)
    ]
    sentence = SentenceSupport("It is so.", [c.n for c in citations], 0.8, True)
    return Answer(
        "q?", "It is so. [1]", False, citations, [sentence, SentenceSupport("Not shown.", [], 0.1, False)], [], {}
    )


def test_citations_are_checked_against_the_gold_passages_or_else_the_gold_sources():
    gold = _question(gold_passages=["China labels them “economic migrants”."], gold_sources=["doc"])
    answer = _cited(('It says: China labels them "economic migrants".', "doc"), ("Other text.", "doc"))
    # the passage decides, not the source; an unsupported sentence is not shown, so not scored
    assert cites_gold(gold, answer) == [{"text": "It is so.", "citations": {"1": True, "2": False}}]
    squad = _question(gold_sources=["Super_Bowl_50#3"])
    [sentence] = cites_gold(squad, _cited(("x", "Super_Bowl_50#3"), ("y", "Super_Bowl_50#4")))
    assert sentence["citations"] == {"1": True, "2": False}
    unanswerable = _question(answerable=False)  # whatever it cites, no passage holds evidence for it
    assert cites_gold(
        unanswerable,
        _cited(
            ("x", "doc"),
        ),
    ) == [{"text": "It is so.", "citations": {"1": False}}]
    results = [
        _record()
        | {
            "cited_gold": [
                {"text": "a", "citations": {"1": True, "2": False}},
                {"text": "b", "citations": {"2": False}},
            ]
        },
        _record() | {"cited_gold": [{"text": "c", "citations": {"1": False}}]},
        _record(abstained=True),
    ]
    m = aggregate(results)["citations_vs_gold"]
    # 4 citations, 1 on gold; 1 of the 3 sentences cites gold
    assert m == {"precision": 0.25, "recall": pytest.approx(0.3333), "citations": 4, "sentences": 3}


def test_agreement_by_hand():
    predicted = [True, True, False, False, True, False]
    gold = [True, False, False, True, True, False]
    a = agreement(predicted, gold)
    # accuracy 4/6; chance agreement 0.5*0.5 + 0.5*0.5 = 0.5 -> kappa (2/3 - 1/2) / (1/2) = 1/3
    assert a["accuracy"] == pytest.approx(0.6667) and a["kappa"] == pytest.approx(0.3333)
    assert a["precision"] == pytest.approx(0.6667) and a["recall"] == pytest.approx(0.6667)
    assert agreement([True, False], [True, False])["kappa"] == 1.0


def test_compare_runs(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "metrics.json").write_text(json.dumps({"retrieval": {"ndcg@10": 0.5}, "answers": {"f1": 40.0}}))
    (b / "metrics.json").write_text(json.dumps({"retrieval": {"ndcg@10": 0.6}, "citations": {"precision": 0.9}}))
    rows = {name: (va, vb, d) for name, va, vb, d in compare(a, b)}
    assert compare_warnings(a, b) == []
    (a / "config.json").write_text(json.dumps({"dataset": {"sha256": "x", "questions_evaluated": 10}}))
    (b / "config.json").write_text(json.dumps({"dataset": {"sha256": "y", "questions_evaluated": 10}}))
    (b / "metrics.json").write_text(json.dumps({"retrieval": {"ndcg@10": 0.6}, "interrupted": True}))
    warnings = compare_warnings(a, b)
    assert any("interrupted" in w for w in warnings) and any("sha256" in w for w in warnings)
    assert rows["retrieval.ndcg@10"] == (0.5, 0.6, pytest.approx(0.1))
    assert rows["answers.f1"] == (40.0, None, None) and rows["citations.precision"] == (None, 0.9, None)


def test_sentence_list_parsing():
    printed = "['First sentence.'\n 'It\\'s the second.' \"A third with 'quotes'.\"]"
    assert parse_sentence_list(printed) == ["First sentence.", "It's the second.", "A third with 'quotes'."]


@pytest.mark.skipif(not CLAIMS.is_dir(), reason=f"{CLAIMS} is not on this machine (RAG_EVAL_DATA)")
def test_scifact_claim_pairs():
    from rag.evaluation.claims import load_abstracts

    abstracts = load_abstracts(CLAIMS / "corpus_train.csv")
    pairs = load_pairs(CLAIMS / "claims_validation.csv", abstracts)
    kinds = [p.kind for p in pairs]
    assert (kinds.count("SUPPORT"), kinds.count("CONTRADICT"), kinds.count("NEI")) == (216, 122, 112)
    assert all(p.supported == (p.kind == "SUPPORT") for p in pairs)
    first = next(p for p in pairs if p.claim_id == "5")  # "1/2000 in UK have abnormal PrP positivity." SUPPORT [4]
    assert first.passage == abstracts["13734012"][4]


def test_brief_answer_pairs_from_squad(tmp_path: Path):
    """Each brief answer with its paragraph (supported), another question's answer on that paragraph and
    the answer with a paragraph of its article that lacks it (neither supported)."""
    from rag.evaluation.claims import brief_answer_pairs

    first = "Mirabel is the capital of Freedonia. It was founded in 1620 by river traders."
    second = "Freedonia exports tin and wool to its neighbours."
    qas = [
        {"id": "q1", "question": "What is the capital of Freedonia?", "answers": [{"text": "Mirabel"}]},
        {"id": "q2", "question": "When was Mirabel founded?", "answers": [{"text": "1620"}]},
    ]
    long_answer = "tin and wool to its neighbours in every season of the year"
    third = {"id": "q3", "question": "What does Freedonia export?", "answers": [{"text": long_answer}]}
    data = {
        "data": [
            {"title": "Freedonia", "paragraphs": [{"context": first, "qas": qas}, {"context": second, "qas": [third]}]}
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    pairs = brief_answer_pairs(path, 10, lambda question, answer: f"{question} -> {answer}")
    by_question = {(p.statement, p.kind, p.supported, p.passage) for p in pairs if p.claim_id == "q1"}
    assert by_question == {
        ("What is the capital of Freedonia? -> Mirabel", "ANSWER", True, first),
        ("What is the capital of Freedonia? -> 1620", "OTHER_ANSWER", False, first),
        ("What is the capital of Freedonia? -> Mirabel", "OTHER_PARAGRAPH", False, second),
    }
    assert "q3" not in {p.claim_id for p in pairs}, "an answer of 8 words or more is not a brief answer"
