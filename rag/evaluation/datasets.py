"""Evaluation data sets in three formats, read into one shape: questions with their gold, and a corpus.

- project JSONL: a question a line (`question`, `answers`, `gold_sources`, `gold_passages`, `answerable`,
  `history`, `must_not_say`);
  answered from an existing index.
- BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`): retrieval only; its corpus is indexed.
- SQuAD json (v1.1 or v2.0): paragraphs are the corpus, questions and answer spans the gold; v2.0's
  `is_impossible` marks a question unanswerable. `remove_gold` makes the "removed-gold" variant: a seeded share
  of the split's paragraphs is deleted from the corpus (the split's articles only), and their questions become
  unanswerable: documents near the question but silent on it, the case users meet most.

Malformed input raises DatasetError naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.evaluation.facts import Fact, fact_from
from rag.types import Document

# SQuAD rules (eval-data README): fit on the first 10 articles at most, report on the other 38.
SQUAD_TUNE_ARTICLES = 10


class DatasetError(RagError):
    pass


@dataclass
class Question:
    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    answerable: bool = True
    gold_sources: list[str] = field(default_factory=list)  # documents that should be retrieved
    gold_passages: list[str] = field(default_factory=list)  # exact text that should be retrieved
    history: list[tuple[str, str]] = field(default_factory=list)  # earlier (question, answer) of a conversation
    must_not_say: list[str] = field(default_factory=list)  # e.g. what an injected passage tells the model to say
    facts: list[Fact] = field(default_factory=list)  # the facts a complete answer states (rag.evaluation.facts)


@dataclass
class EvalSet:
    name: str
    kind: str  # jsonl, beir, squad
    path: Path
    questions: list[Question]
    corpus: list[Document] | None  # None: answer from the configured index
    sha256: str  # of the data set's files: names its cached index
    retrieval_only: bool = False
    total_questions: int = 0  # before sampling


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def _sample(questions: list[Question], limit: int | None, seed: int) -> list[Question]:
    """A fixed sample for a given seed, kept in the data set's order so runs read alike."""
    if not limit or limit >= len(questions):
        return questions
    chosen = set(random.Random(seed).sample(range(len(questions)), limit))
    return [q for i, q in enumerate(questions) if i in chosen]


def load_dataset(
    path: Path, limit: int | None = None, split: str | None = None, seed: int = 0, remove_gold: float = 0.0
) -> EvalSet:
    """Read a JSONL file, a BEIR folder or a SQuAD json file (detected from what `path` is). `split` picks
    SQuAD articles; None: articles 11-48 of a v1.1 file ("test"), every article of a v2.0 file ("all"), whose
    tune and test splits are files of their own (eval-data README). `remove_gold` (SQuAD only): the share of
    the split's paragraphs deleted from the corpus, their questions then unanswerable."""
    if not 0.0 <= remove_gold < 1.0:
        raise DatasetError(f"the share of paragraphs to remove must be at least 0 and below 1, not {remove_gold}")
    if not path.exists():
        raise DatasetError(f"no data set at {path}")
    if path.is_dir():
        if not (path / "queries.jsonl").is_file():
            raise DatasetError(f"{path} is a folder but not a BEIR data set (no queries.jsonl)")
        return _load_beir(path, limit, seed)
    if remove_gold and path.suffix != ".json":
        raise DatasetError(f"{path}: removing gold paragraphs needs a SQuAD .json file")
    if path.suffix == ".jsonl":
        return _load_jsonl(path, limit, seed)
    if path.suffix == ".json":
        return _load_squad(path, limit, split, seed, remove_gold)
    raise DatasetError(f"{path}: unknown data set format (expected .jsonl, .json (SQuAD) or a BEIR folder)")


# --- readers -------------------------------------------------------------------------------------


def _json_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    # split on newlines only: JSON strings may hold U+2028 and friends, which splitlines() would cut at
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append((number, row))
    return rows


def _strings(row: dict[str, Any], key: str, where: str) -> list[str]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: '{key}' must be a list of strings")
    return value


def _text(row: dict[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{where}: '{key}' is missing or not a non-empty string")
    return value


def _history(row: dict[str, Any], where: str) -> list[tuple[str, str]]:
    turns = row.get("history", [])
    ok = isinstance(turns, list) and all(
        isinstance(t, list) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in turns
    )
    if not ok:
        raise DatasetError(f"{where}: 'history' must be a list of [question, answer] pairs")
    return [(q, a) for q, a in turns]


def _facts(row: dict[str, Any], where: str) -> list[Fact]:
    facts = row.get("facts", [])
    if not isinstance(facts, list):
        raise DatasetError(f"{where}: 'facts' must be a list")
    try:
        return [fact_from(f) for f in facts]
    except (KeyError, TypeError, AttributeError) as error:
        raise DatasetError(f"{where}: a fact needs 'fact', 'sentence' and 'match' groups ({error})") from None


def _load_jsonl(path: Path, limit: int | None, seed: int) -> EvalSet:
    questions = []
    for number, row in _json_lines(path):
        where = f"{path}:{number}"
        answerable = row.get("answerable", True)
        if not isinstance(answerable, bool):
            raise DatasetError(f"{where}: 'answerable' must be true or false")
        questions.append(
            Question(
                id=str(row.get("id", f"line-{number}")),
                question=_text(row, "question", where),
                answers=_strings(row, "answers", where),
                answerable=answerable,
                gold_sources=_strings(row, "gold_sources", where),
                gold_passages=_strings(row, "gold_passages", where),
                history=_history(row, where),
                must_not_say=_strings(row, "must_not_say", where),
                facts=_facts(row, where),
            )
        )
    if not questions:
        raise DatasetError(f"{path}: no questions")
    return EvalSet(
        path.stem,
        "jsonl",
        path,
        _sample(questions, limit, seed),
        None,
        _hash_files([path]),
        total_questions=len(questions),
    )


def _load_beir(folder: Path, limit: int | None, seed: int) -> EvalSet:
    corpus_path, queries_path, qrels_path = folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels/test.tsv"
    for needed in (corpus_path, qrels_path):
        if not needed.is_file():
            raise DatasetError(f"{folder} is not a complete BEIR data set (no {needed.relative_to(folder)})")
    corpus = _beir_corpus(corpus_path)
    relevant = _beir_qrels(qrels_path)
    questions = _beir_questions(queries_path, relevant)
    if not questions:
        raise DatasetError(f"{qrels_path}: no query in it has relevance judgements in {queries_path}")
    return EvalSet(
        folder.name,
        "beir",
        folder,
        _sample(questions, limit, seed),
        corpus,
        _hash_files([corpus_path, queries_path, qrels_path]),
        retrieval_only=True,
        total_questions=len(questions),
    )


def _beir_corpus(corpus_path: Path) -> list[Document]:
    """The documents of a BEIR corpus.jsonl, each id once."""
    corpus: list[Document] = []
    seen_ids: set[str] = set()
    for number, row in _json_lines(corpus_path):
        document = _beir_document(row, f"{corpus_path}:{number}")
        if document.source in seen_ids:
            raise DatasetError(f"{corpus_path}:{number}: '_id' {row['_id']} appears twice")
        seen_ids.add(document.source)
        corpus.append(document)
    return corpus


def _beir_document(row: dict[str, Any], where: str) -> Document:
    """One corpus row as a document whose source is its '_id'."""
    doc_id = row.get("_id")
    if not isinstance(doc_id, (str, int)):
        raise DatasetError(f"{where}: '_id' is missing")
    title = row.get("title") or ""
    body = row.get("text", "")
    if not isinstance(body, str) or not isinstance(title, str):
        raise DatasetError(f"{where}: 'title' and 'text' must be strings")
    # BEIR practice: the title is part of what is embedded
    text = (f"{title}\n\n{body}" if body else title) if title else body
    return Document(str(doc_id), title, text, hashlib.sha256(text.encode()).hexdigest())


def _beir_qrels(qrels_path: Path) -> dict[str, list[str]]:
    """Each query id's relevant corpus ids (score above 0), from a qrels TSV with or without its header."""
    relevant: dict[str, list[str]] = {}
    lines = qrels_path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if (number == 1 and fields[0] == "query-id") or not line.strip():
            continue
        if len(fields) != 3 or not fields[2].strip().lstrip("-").isdigit():
            raise DatasetError(f"{qrels_path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score'")
        if int(fields[2]) > 0:
            relevant.setdefault(fields[0], []).append(fields[1])
    return relevant


def _beir_questions(queries_path: Path, relevant: dict[str, list[str]]) -> list[Question]:
    """The queries that have relevance judgements; the others cannot be scored."""
    questions = []
    for number, row in _json_lines(queries_path):
        where = f"{queries_path}:{number}"
        query_id = str(row.get("_id", ""))
        if query_id in relevant:
            questions.append(Question(query_id, _text(row, "text", where), gold_sources=relevant[query_id]))
    return questions


def _load_squad(path: Path, limit: int | None, split: str | None, seed: int, remove_gold: float = 0.0) -> EvalSet:
    articles, version = _squad_articles(path)
    if split is None:
        split = "all" if version == "v2.0" else "test"
    if split not in ("test", "tune", "all"):
        raise DatasetError(f"unknown split '{split}' (test: articles 11-48, tune: 1-10, all)")
    removed = random.Random(seed)
    corpus, questions = [], []
    for a, article in enumerate(articles, start=1):
        in_split = split == "all" or (a <= SQUAD_TUNE_ARTICLES) == (split == "tune")
        if remove_gold and not in_split:
            continue  # the removed-gold variant's corpus is its split's articles
        try:
            title = str(article["title"])
            for p, paragraph in enumerate(article["paragraphs"], start=1):
                source = f"{title}#{p}"
                context = paragraph["context"]
                gone = bool(remove_gold) and removed.random() < remove_gold
                if not gone:
                    corpus.append(Document(source, title, context, hashlib.sha256(context.encode()).hexdigest()))
                questions += [_squad_question(qa, source, gone) for qa in (paragraph["qas"] if in_split else [])]
        except (KeyError, TypeError) as error:
            raise DatasetError(f"{path}: article {a} is not in SQuAD form (missing {error})") from None
    if not questions:
        raise DatasetError(f"{path}: no questions in split '{split}'")
    return EvalSet(
        f"{path.stem}-{split}" + ("-removed-gold" if remove_gold else ""),
        "squad",
        path,
        _sample(questions, limit, seed),
        corpus,
        _hash_files([path]),
        total_questions=len(questions),
    )


def _squad_articles(path: Path) -> tuple[list[Any], str | None]:
    """A SQuAD file's articles and its version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise DatasetError(f"{path}: not a SQuAD file (no top-level 'data' list)")
    return articles, data.get("version")


def _squad_question(qa: dict[str, Any], source: str, removed: bool) -> Question:
    """One SQuAD question; unanswerable where v2.0 marks it so or its paragraph was removed (its gold answers are
    kept: a system that states one anyway found it elsewhere)."""
    answers = list(dict.fromkeys(str(answer["text"]) for answer in qa["answers"]))
    answerable = not qa.get("is_impossible", False) and not removed
    return Question(
        str(qa["id"]), str(qa["question"]), answers, answerable, gold_sources=[source] if answerable else []
    )
