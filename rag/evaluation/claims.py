"""Human-labelled (statement, passage, supported) pairs, to measure support judges: SciFact's claims
(below), and SQuAD's answers as brief-answer claims (brief_answer_pairs).

- SUPPORT rows: the claim and its evidence sentences -> supported.
- CONTRADICT rows: the claim and its evidence sentences -> not supported.
- claims without evidence ("not enough info"): the claim and the two adjacent sentences of its
  cited abstract that share the most words with it -> not supported. These are the hard negatives a
  citation checker meets: on topic, but not saying it.
"""

from __future__ import annotations

import ast
import csv
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.answering.cite import BRIEF_WORDS
from rag.evaluation.datasets import EvalSet, Question, load_dataset
from rag.text import content_words

_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


@dataclass
class LabelledPair:
    claim_id: str
    statement: str
    passage: str
    supported: bool
    kind: str  # SciFact: SUPPORT, CONTRADICT or NEI; SQuAD brief answers: ANSWER, OTHER_ANSWER or OTHER_PARAGRAPH


def parse_sentence_list(text: str) -> list[str]:
    """corpus_train.csv stores each abstract as a printed array of quoted sentences."""
    return [ast.literal_eval(literal) for literal in _LITERAL.findall(text)]


def load_abstracts(path: Path) -> dict[str, list[str]]:
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["doc_id"]: parse_sentence_list(row["abstract"]) for row in csv.DictReader(handle)}


def _closest_window(claim: str, abstract: list[str], width: int = 2) -> str:
    words = content_words(claim)
    windows = [" ".join(abstract[i : i + width]) for i in range(max(1, len(abstract) - width + 1))]
    return max(windows, key=lambda w: len(words & content_words(w)))


def load_pairs(claims_csv: Path, abstracts: dict[str, list[str]]) -> list[LabelledPair]:
    pairs: list[LabelledPair] = []
    seen_nei: set[str] = set()
    with open(claims_csv, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            label = row["evidence_label"]
            if label in ("SUPPORT", "CONTRADICT"):
                abstract = abstracts.get(row["evidence_doc_id"], [])
                indices = [int(i) for i in row["evidence_sentences"].strip("[]").split()]
                evidence = " ".join(abstract[i] for i in indices if i < len(abstract))
                if evidence:
                    pairs.append(LabelledPair(row["id"], row["claim"], evidence, label == "SUPPORT", label))
            elif row["id"] not in seen_nei:
                seen_nei.add(row["id"])
                cited = row["cited_doc_ids"].strip("[]").replace(",", " ").split()[0]
                if abstracts.get(cited):
                    window = _closest_window(row["claim"], abstracts[cited])
                    pairs.append(LabelledPair(row["id"], row["claim"], window, False, "NEI"))
    return pairs


def training_queries(scifact: Path) -> EvalSet:
    """SciFact's training claims as retrieval queries over the BEIR corpus (relevant: the cited abstracts).

    The same judgements BEIR's test qrels use, so settings can be tuned on these, never on the test claims.
    """
    test = load_dataset(scifact)
    questions: dict[str, Question] = {}  # a claim has one row per evidence set: keep the first
    with open(scifact / "claims" / "claims_train.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            cited = row["cited_doc_ids"].strip("[]").replace(",", " ").split()
            if cited and row["id"] not in questions:
                questions[row["id"]] = Question(row["id"], row["claim"], gold_sources=cited)
    chosen = list(questions.values())
    return EvalSet(
        "scifact-train",
        "beir",
        scifact,
        chosen,
        test.corpus,
        test.sha256,
        retrieval_only=True,
        total_questions=len(chosen),
    )


def brief_answer_pairs(
    squad: Path, limit: int, form: Callable[[str, str], str], max_words: int = BRIEF_WORDS, seed: int = 0
) -> list[LabelledPair]:
    """SQuAD's human answers shorter than `max_words` as brief-answer claims, `form(question, answer)`, with
    three kinds of passage:

    - ANSWER: the answer with its own paragraph -> supported;
    - OTHER_ANSWER: the answer to another question on the same paragraph -> not supported (the passage
      holds the phrase, but it does not answer this question);
    - OTHER_PARAGRAPH: the answer with another paragraph of its article that does not contain it -> not
      supported (on topic, but silent).
    Only the tune split (articles 1-10) is read: the test split stays for `rag eval`.
    """
    evalset = load_dataset(squad, None, split="tune")
    paragraphs = {d.source: d.text for d in evalset.corpus}
    by_paragraph: dict[str, list[Question]] = {}
    for q in evalset.questions:
        by_paragraph.setdefault(q.gold_sources[0], []).append(q)
    brief = [q for q in evalset.questions if len(q.answers[0].split()) < max_words]
    chosen = random.Random(seed).sample(brief, min(limit, len(brief)))
    pairs: list[LabelledPair] = []
    for q in chosen:
        source, answer = q.gold_sources[0], q.answers[0]
        article, said = source.split("#")[0], {a.lower() for a in q.answers}
        pairs.append(LabelledPair(q.id, form(q.question, answer), paragraphs[source], True, "ANSWER"))
        others = [
            o.answers[0]
            for o in by_paragraph[source]
            if len(o.answers[0].split()) < max_words
            and not any(a in o.answers[0].lower() or o.answers[0].lower() in a for a in said)
        ]
        if others:
            pairs.append(LabelledPair(q.id, form(q.question, others[0]), paragraphs[source], False, "OTHER_ANSWER"))
        silent = [
            t
            for s, t in paragraphs.items()
            if s.split("#")[0] == article and s != source and not any(a in t.lower() for a in said)
        ]
        if silent:
            pairs.append(LabelledPair(q.id, form(q.question, answer), silent[0], False, "OTHER_PARAGRAPH"))
    return pairs
