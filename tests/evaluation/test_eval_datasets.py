"""The three data set formats of `rag eval`, their sampling, and malformed input (file and line named)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import SEED_GOLD, SHARED_DATA, make_beir, write_lines

from rag.evaluation.datasets import DatasetError, load_dataset


def make_squad(path: Path, articles: int = 12) -> Path:
    data = {"version": "1.1", "data": []}
    for a in range(1, articles + 1):
        context = f"Article {a} says that the capital of land {a} is city {a}."
        qas = [
            {
                "id": f"a{a}q1",
                "question": f"What is the capital of land {a}?",
                "answers": [{"text": f"city {a}", "answer_start": 40}, {"text": f"city {a}", "answer_start": 40}],
            }
        ]
        data["data"].append({"title": f"Land_{a}", "paragraphs": [{"context": context, "qas": qas}]})
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_jsonl_seed_gold_set_is_complete_and_well_formed():
    evalset = load_dataset(SEED_GOLD)
    answerable = [q for q in evalset.questions if q.answerable]
    unanswerable = [q for q in evalset.questions if not q.answerable]
    assert len(answerable) >= 30 and len(unanswerable) >= 10
    assert all(q.answers and q.gold_passages and q.gold_sources for q in answerable)
    corpus = (Path(__file__).resolve().parents[2] / "corpus" / "north-korean-defectors-border-law.txt").read_text()
    for q in answerable:  # gold sentences are copied exactly from the article
        assert all(p in corpus for p in q.gold_passages), q.id
    assert evalset.corpus is None and evalset.kind == "jsonl"


def test_jsonl_defaults_and_seeded_sample(tmp_path: Path):
    rows = [{"question": f"question {i}?"} for i in range(20)]
    path = write_lines(tmp_path / "gold.jsonl", rows + [""])  # a blank line is allowed
    full = load_dataset(path)
    assert len(full.questions) == 20 and full.questions[0].answerable and full.questions[0].id == "line-1"
    sample = load_dataset(path, limit=5, seed=3)
    again = load_dataset(path, limit=5, seed=3)
    other = load_dataset(path, limit=5, seed=4)
    assert [q.id for q in sample.questions] == [q.id for q in again.questions]  # fixed for a seed
    assert [q.id for q in sample.questions] != [q.id for q in other.questions]
    assert len(sample.questions) == 5 and sample.total_questions == 20


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "ok?"', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"answers": ["x"]}', "'question' is missing"),
        ('{"question": "q?", "answers": "x"}', "'answers' must be a list of strings"),
        ('{"question": "q?", "answerable": "no"}', "'answerable' must be true or false"),
        ('{"question": "q?", "gold_passages": [1]}', "'gold_passages' must be a list of strings"),
        ('{"question": "q?", "facts": {"fact": "x"}}', "'facts' must be a list"),
        ('{"question": "q?", "facts": [{"fact": "x", "match": [["a"]]}]}', "a fact needs 'fact', 'sentence'"),
    ],
)
def test_jsonl_malformed_names_file_and_line(tmp_path: Path, line: str, message: str):
    path = write_lines(tmp_path / "bad.jsonl", ['{"question": "fine?"}', line])
    with pytest.raises(DatasetError) as error:
        load_dataset(path)
    assert f"{path}:2:" in str(error.value) and message in str(error.value)


def test_beir_folder(tmp_path: Path):
    evalset = load_dataset(make_beir(tmp_path / "beir"))
    assert evalset.kind == "beir" and evalset.retrieval_only
    assert [q.id for q in evalset.questions] == ["q1", "q2"]  # q3 has no judgements
    assert evalset.questions[0].gold_sources == ["d1"]
    assert evalset.corpus is not None and len(evalset.corpus) == 3
    assert evalset.corpus[0].text.startswith("Otters\n\n")  # the title is embedded with the text
    assert evalset.corpus[2].text.startswith("Penguins")


def test_beir_malformed(tmp_path: Path):
    folder = make_beir(tmp_path / "beir")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"qrels/test.tsv:2: expected"):
        load_dataset(folder)
    make_beir(tmp_path / "beir2")
    with open(tmp_path / "beir2" / "corpus.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"title": "no id", "text": "x"}\n')
    with pytest.raises(DatasetError, match=r"corpus.jsonl:4: '_id' is missing"):
        load_dataset(tmp_path / "beir2")
    (tmp_path / "notbeir").mkdir()
    with pytest.raises(DatasetError, match="not a BEIR data set"):
        load_dataset(tmp_path / "notbeir")


def test_squad_splits(tmp_path: Path):
    path = make_squad(tmp_path / "squad.json", articles=12)
    test = load_dataset(path)
    tune = load_dataset(path, split="tune")
    assert [q.id for q in test.questions] == ["a11q1", "a12q1"]  # articles 11 onwards
    assert len(tune.questions) == 10
    assert len(test.corpus) == 12  # every paragraph is in the corpus, whatever the split
    q = test.questions[0]
    assert q.answers == ["city 11"] and q.gold_sources == ["Land_11#1"]  # duplicate answers merged


def test_squad_malformed(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [\n{"title": "x",\n "paragraphs": [}\n]}', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.json:3: not valid JSON"):
        load_dataset(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"data": [{"title": "x", "paragraphs": [{"qas": []}]}]}), encoding="utf-8")
    with pytest.raises(DatasetError, match="article 1 is not in SQuAD form"):
        load_dataset(wrong)
    with pytest.raises(DatasetError, match="unknown data set format"):
        load_dataset(write_lines(tmp_path / "x.csv", ["a,b"]))
    with pytest.raises(DatasetError, match="no data set at"):
        load_dataset(tmp_path / "missing.jsonl")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is not on this machine (RAG_EVAL_DATA)")
def test_shared_scifact_and_squad_read_whole():
    scifact = load_dataset(SHARED_DATA / "scifact")
    assert len(scifact.questions) == 300 and len(scifact.corpus) == 5183
    squad = load_dataset(SHARED_DATA / "squad-v1.1" / "dev-v1.1.json", split="all")
    assert len(squad.questions) == 10570 and len(squad.corpus) == 2067
    test = load_dataset(SHARED_DATA / "squad-v1.1" / "dev-v1.1.json", limit=300)
    assert len(test.questions) == 300 and test.total_questions < 10570


def test_jsonl_with_bom_and_line_separators_inside_strings(tmp_path: Path):
    path = tmp_path / "gold.jsonl"
    row = json.dumps({"question": "Is this\u2028one question?", "answers": ["yes\u2029"]}, ensure_ascii=False)
    path.write_text("\ufeff" + row + "\n" + json.dumps({"question": "second?"}) + "\n", encoding="utf-8")
    evalset = load_dataset(path)
    assert [q.id for q in evalset.questions] == ["line-1", "line-2"]
    assert evalset.questions[0].question == "Is this\u2028one question?"


def test_beir_empty_text_is_allowed_and_duplicate_ids_are_not(tmp_path: Path):
    folder = make_beir(tmp_path / "beir")
    with open(folder / "corpus.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"_id": "d4", "title": "Only a title", "text": ""}\n')
    assert load_dataset(folder).corpus[-1].text == "Only a title"
    with open(folder / "corpus.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"_id": "d1", "title": "again", "text": "x"}\n')
    with pytest.raises(DatasetError, match=r"corpus.jsonl:5: '_id' d1 appears twice"):
        load_dataset(folder)


def test_squad_v2_unanswerable_questions(tmp_path: Path):
    path = make_squad(tmp_path / "squad.json", articles=11)
    data = json.loads(path.read_text())
    data["data"][10]["paragraphs"][0]["qas"].append(
        {"id": "impossible", "question": "What is the moon made of?", "answers": [], "is_impossible": True}
    )
    path.write_text(json.dumps(data))
    questions = {q.id: q for q in load_dataset(path).questions}
    assert questions["a11q1"].answerable and not questions["impossible"].answerable
    assert questions["impossible"].gold_sources == []


def test_a_squad_v2_file_is_read_whole_by_default(tmp_path: Path):
    """SQuAD 2.0's tune and test splits are files of their own: each is read whole unless a split is named."""
    path = make_squad(tmp_path / "tune-v2.0.json", articles=3)
    data = json.loads(path.read_text()) | {"version": "v2.0"}
    data["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "impossible", "question": "What is the moon made of?", "answers": [], "is_impossible": True}
    )
    path.write_text(json.dumps(data))
    evalset = load_dataset(path)
    assert evalset.name == "tune-v2.0-all" and len(evalset.questions) == evalset.total_questions
    assert {q.id for q in evalset.questions if not q.answerable} == {"impossible"}
    with pytest.raises(DatasetError, match="no questions in split 'test'"):
        load_dataset(path, split="test")  # articles 11-48 of a file of 3


@pytest.mark.skipif(not (SHARED_DATA / "squad-v2.0").is_dir(), reason=f"needs {SHARED_DATA}/squad-v2.0 (RAG_EVAL_DATA)")
def test_the_shared_squad_v2_test_file():
    evalset = load_dataset(SHARED_DATA / "squad-v2.0" / "test-v2.0.json")
    assert len(evalset.questions) == 2624 and sum(not q.answerable for q in evalset.questions) == 1411


def test_removed_gold_deletes_a_seeded_share_of_the_splits_paragraphs(tmp_path: Path):
    path = make_squad(tmp_path / "squad.json", articles=12)
    full = load_dataset(path, split="tune")
    removed = load_dataset(path, split="tune", remove_gold=0.5)
    assert removed.name == "squad-tune-removed-gold" and len(full.corpus) == 12
    kept = {d.source for d in removed.corpus}
    assert kept and len(kept) < 10 and all(int(s.split("_")[1].split("#")[0]) <= 10 for s in kept)  # tune only
    for q in removed.questions:
        land = f"Land_{q.id[1:].split('q')[0]}#1"
        assert q.answerable == (land in kept) and q.answers  # gold answers kept either way
        assert q.gold_sources == ([land] if q.answerable else [])
    again = load_dataset(path, split="tune", remove_gold=0.5)
    assert {d.source for d in again.corpus} == kept  # seeded: the same paragraphs every time
    assert {d.source for d in load_dataset(path, split="tune", remove_gold=0.5, seed=1).corpus} != kept


@pytest.mark.parametrize("share", [-0.1, 1.0])
def test_removed_gold_needs_a_share_below_one_and_a_squad_file(tmp_path: Path, share: float):
    path = make_squad(tmp_path / "squad.json")
    with pytest.raises(DatasetError, match="share"):
        load_dataset(path, remove_gold=share)
    with pytest.raises(DatasetError, match="SQuAD"):
        load_dataset(SEED_GOLD, remove_gold=0.5)


def test_the_complete_answers_set_is_well_formed_and_its_sentences_hold_their_facts():
    rows = [json.loads(line) for line in (Path(__file__).parents[2] / "eval" / "complete_gold.jsonl").open()]
    evalset = load_dataset(Path(__file__).parents[2] / "eval" / "complete_gold.jsonl")
    assert len(evalset.questions) == len(rows) >= 40
    assert sum(2 <= len(q.facts) <= 5 for q in evalset.questions) >= 40
    assert sum(any(f.attributed for f in q.facts) for q in evalset.questions) >= 15
    for question in evalset.questions:  # the gold sentence itself states its fact
        assert all(f.matched_by(f.sentences[0]) for f in question.facts), question.id
