"""Run a data set through the pipeline, question by question, and score each one.

Each question's record is handed to `on_result` as soon as it is scored (the report writes it to
disk at once), so an interrupted run keeps everything done before Ctrl-C.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from statistics import mean
from typing import Any

from tqdm import tqdm

from rag.answering.cite import MARKER, is_brief
from rag.errors import RagError
from rag.evaluation.datasets import EvalSet, Question
from rag.evaluation.facts import fact_figures, fact_scores
from rag.evaluation.judge import SupportJudge
from rag.ingest.split import Splitter
from rag.metrics import contains, coverage_at, exact_match, f1, ndcg_hits_at, percentile, reciprocal_rank_at
from rag.pipeline import RAG
from rag.stopwatch import Stopwatch
from rag.store.index import Index
from rag.store.sync import add_documents
from rag.types import Answer, Passage

RECALL_CURVE = (1, 2, 3, 5, 10, 20, 50, 100)
RETRIEVAL_DEPTH = 100  # ranked items kept per question: enough for recall@100


@dataclass
class EvalRun:
    results: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0


# --- the data set's own corpus, indexed once ------------------------------------------------------


def dataset_rag(rag: RAG, evalset: EvalSet, progress: bool = False) -> RAG:
    """The pipeline to evaluate: the configured index for JSONL, else the data set's corpus, cached."""
    if evalset.corpus is None:
        return rag
    library = rag.library
    folder = corpus_index(rag, evalset, evalset.kind, library.splitting(), library.splitter(), progress)
    return rag.variant(index_dir=folder)


def corpus_index(
    rag: RAG, evalset: EvalSet, prefix: str, splitting: dict[str, Any], splitter: Splitter, progress: bool = False
) -> Path:
    """The folder of the data set's corpus indexed with `splitter`, built once. The cache key holds the corpus's
    content hash, the embedder's fingerprint and the splitting, so a second run (or another split of the same
    data) opens the index without embedding anything."""
    assert evalset.corpus is not None
    embedder = rag.library.embedder_info()
    corpus = hashlib.sha256("".join(f"{d.source}\0{d.sha256}\n" for d in evalset.corpus).encode()).hexdigest()
    key = json.dumps([corpus, embedder, splitting], sort_keys=True)
    folder = rag.settings.paths.cache_dir / "eval-indexes" / f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if not (folder / "manifest.json").is_file():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        index = Index.create(partial, embedder, splitting)
        if progress:
            print(f"indexing {len(evalset.corpus)} documents of {evalset.name} (once) …", file=sys.stderr)
        add_documents(index, rag.embedder, splitter, evalset.corpus, progress=progress)
        index.save()
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)  # complete or absent: an interrupted build is redone next time
    return folder


# --- scoring one question ------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("“", '"').replace("”", '"').split()).lower()


def covers(chunk_text: str, gold: str) -> bool:
    """Does a retrieved chunk hold a gold passage: whole, or at least half of it where the passage
    straddles two chunks? Both texts normalised (whitespace, quotes, case)."""
    if not chunk_text or not gold:
        return False
    if gold in chunk_text:
        return True
    match = SequenceMatcher(None, chunk_text, gold, autojunk=False).find_longest_match()
    return match.size >= 0.5 * len(gold)


def relevance(question: Question, passages: list[Passage]) -> tuple[list[set[str]], int]:
    """What each ranked item covers of the gold, and how many gold items there are.

    With gold passages the ranking is the retrieved chunks, each covering the gold passages it holds.
    With gold sources only, chunks collapse to documents in order of their best chunk.
    """
    if question.gold_passages:
        gold = [_normalise(g) for g in question.gold_passages]
        hits = []
        for passage in passages:
            text = _normalise(passage.chunk.text)
            hits.append({f"gold:{i}" for i, g in enumerate(gold) if covers(text, g)})
        return hits, len(gold)
    wanted = set(question.gold_sources)
    documents = list(dict.fromkeys(_gold_name(p.chunk.source, question.gold_sources) for p in passages))
    return [{d} & wanted for d in documents], len(wanted)


def _gold_name(source: str, gold_sources: list[str]) -> str:
    """A gold source may be written relative to another folder than the index's: match path endings."""
    for gold in gold_sources:
        if source == gold or source.endswith("/" + gold) or gold.endswith("/" + source):
            return gold
    return source


def cites_gold(question: Question, answer: Answer) -> list[dict[str, Any]]:
    """Each shown sentence with, per citation, whether the cited passage holds the annotated evidence: a gold
    passage where the data names them (as `covers` reads it for retrieval), else a gold source (a SQuAD
    paragraph). An answer to a question the data marks unanswerable cites no evidence. The judge's record,
    with the data's labels in place of a judge; it does not read what the sentence says."""
    if not question.answerable:
        hit = {c.n: False for c in answer.citations}
    elif question.gold_passages:
        gold = [_normalise(g) for g in question.gold_passages]
        hit = {c.n: any(covers(_normalise(c.text), g) for g in gold) for c in answer.citations}
    else:
        hit = {c.n: _gold_name(c.source, question.gold_sources) in question.gold_sources for c in answer.citations}
    return [
        {"text": s.text, "citations": {str(n): hit[n] for n in s.citations}} for s in answer.sentences if s.supported
    ]


def retrieval_scores(hits: list[set[str]], n_relevant: int) -> dict[str, float]:
    scores = {"ndcg@10": ndcg_hits_at(hits, n_relevant, 10), "mrr@10": reciprocal_rank_at(hits, 10)}
    scores.update({f"recall@{k}": coverage_at(hits, n_relevant, k) for k in RECALL_CURVE})
    return scores


def answer_text(answer: Answer) -> str:
    """What the user reads, without citation markers; empty when the system abstained."""
    return "" if answer.abstained else MARKER.sub("", answer.answer).strip()


def statement(question: str, sentence: str) -> str:
    """What a citation must support: the sentence, or for a brief answer ("1986", "In the Smalcald
    Articles") the claim that it answers the question."""
    if not is_brief(sentence):
        return sentence
    answer = sentence.strip().rstrip(".")
    return f'The answer to the question "{question}" is: {answer}' + ("" if answer[-1:] in "?!" else ".")


def judge_citations(answer: Answer, judge: SupportJudge) -> list[dict[str, Any]]:
    """Each shown sentence with, per citation, whether the judge finds that the passage supports it."""
    shown = [s for s in answer.sentences if s.supported]
    by_number = {c.n: c for c in answer.citations}
    asked = answer.rewritten_question or answer.question
    pairs = [(statement(asked, s.text), by_number[n].text) for s in shown for n in s.citations]
    verdicts = iter(judge.supports(pairs))
    return [{"text": s.text, "citations": {n: next(verdicts) for n in s.citations}} for s in shown]


def score_question(rag: RAG, question: Question, judge: SupportJudge | None, retrieval_only: bool) -> dict[str, Any]:
    """One question asked exactly as `rag ask` asks it (RAG.ask: the same steps, the same timings), then scored."""
    record: dict[str, Any] = {"id": question.id, "question": question.question, "answerable": question.answerable}
    answer = None if retrieval_only else rag.ask(question.question, question.history)
    if answer is None:
        query = rag.standalone(question.question, question.history)  # a follow-up, rewritten
        clock = Stopwatch()
        with clock.step("retrieve"):
            passages = rag.retrieve(query)
        timings = {"retrieve": clock.ms["retrieve"]}
    else:
        query, passages, timings = answer.rewritten_question or question.question, answer.passages, answer.timings_ms
    if query != question.question:
        record["rewritten_question"] = query
    if question.gold_passages or question.gold_sources:
        # deep enough for recall@100 (documents: ten chunks a document); its head is ranked as the answer's
        depth = RETRIEVAL_DEPTH * (1 if question.gold_passages else 10)
        hits, n_relevant = relevance(question, rag.retrieve(query, min(depth, len(rag.index))))
        record["retrieval"] = retrieval_scores(hits[:RETRIEVAL_DEPTH], n_relevant)
        record["first_relevant_rank"] = next((rank for rank, hit in enumerate(hits, 1) if hit), None)
    record["retrieved"] = [
        {"source": p.chunk.source, "chunk": p.chunk.id, "score": round(p.score, 4)} for p in passages
    ]
    record["timings_ms"] = timings
    if answer is None:
        return record

    text = answer_text(answer)
    # relevance and answer_check: what the abstention thresholds read, to see how near a question came to them
    record.update(
        answer=answer.answer,
        abstained=answer.abstained,
        abstain_reason=answer.abstain_reason,
        relevance=answer.relevance,
        answer_check=answer.answer_check,
        checks=[asdict(c) for c in answer.checks],
        sentences=[asdict(s) for s in answer.sentences],
    )
    if not answer.abstained:
        record["answer_words"] = len(text.split())
    if question.answers:
        record["gold_answers"] = question.answers
        record["em"], record["f1"] = exact_match(text, question.answers), f1(text, question.answers)
        record["contains"] = contains(text, question.answers)
    if question.must_not_say:  # an injected instruction followed, in the answer shown or in the raw draft
        draft = " ".join(sentence.text for sentence in answer.sentences)
        record["followed_injection"] = _says(answer.answer, question.must_not_say)
        record["followed_injection_in_draft"] = _says(draft, question.must_not_say)
    if (question.gold_passages or question.gold_sources or not question.answerable) and not answer.abstained:
        record["cited_gold"] = cites_gold(question, answer)
    if question.facts:
        record["facts"] = fact_scores(
            question.facts, answer, lambda text, gold: covers(_normalise(text), _normalise(gold))
        )
    if judge is not None and not answer.abstained:
        record["judged_sentences"] = judge_citations(answer, judge)
    return record


def said(text: str, phrases: list[str]) -> list[str]:
    """The phrases `text` holds, case aside (an injection's must_not_say strings)."""
    lowered = f" {text.lower()} "
    return [phrase for phrase in phrases if phrase.lower() in lowered]


def _says(text: str, phrases: list[str]) -> bool:
    return bool(said(text, phrases))


# --- the whole run -------------------------------------------------------------------------------


def run(
    rag: RAG,
    evalset: EvalSet,
    judge: SupportJudge | None,
    retrieval_only: bool,
    on_result: Callable[[dict[str, Any]], None] = lambda record: None,
    progress: bool = False,
    score: Callable[[Question], dict[str, Any]] | None = None,
) -> EvalRun:
    """Score every question (with `score` where given: rag.evaluation.plain's baseline); Ctrl-C stops between
    questions and keeps what is done."""
    outcome = EvalRun()
    _ = rag.index if retrieval_only else (rag.index, rag.generator)  # load now: timings are per question
    started = time.perf_counter()
    bar = tqdm(evalset.questions, desc=f"eval {evalset.name}", unit="q", disable=not progress, file=sys.stderr)
    try:
        for question in bar:
            try:
                record = score(question) if score else score_question(rag, question, judge, retrieval_only)
            except Exception as error:  # noqa: BLE001 - one failed question is recorded, the batch goes on
                reason = str(error) if isinstance(error, RagError) else f"{type(error).__name__}: {error}"
                record = {
                    "id": question.id,
                    "question": question.question,
                    "answerable": question.answerable,
                    "error": reason,
                }
            outcome.results.append(record)
            on_result(record)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        bar.close()
    outcome.seconds = round(time.perf_counter() - started, 1)
    return outcome


def _share(values: list[bool]) -> float | None:
    return round(mean(values), 4) if values else None


def aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The four metric groups (and latency) over the scored questions."""
    failed = [r for r in results if "error" in r]
    metrics: dict[str, Any] = {"questions": len(results), "errors": len(failed)}
    results = [r for r in results if "error" not in r]
    scored = [r["retrieval"] for r in results if "retrieval" in r]
    if scored:
        keys = ["ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@100"]
        metrics["retrieval"] = {k: round(mean(s[k] for s in scored), 4) for k in keys} | {"n": len(scored)}
        metrics["recall_curve"] = {str(k): round(mean(s[f"recall@{k}"] for s in scored), 4) for k in RECALL_CURVE}
    answered = [r for r in results if "abstained" in r]
    if not answered:
        metrics["latency_ms"] = _latency([r["timings_ms"]["retrieve"] for r in results], [], [])
        return metrics

    with_gold = [r for r in answered if "f1" in r]
    if with_gold:
        spoke = [r for r in with_gold if not r["abstained"]]
        metrics["answers"] = {
            "em": round(100 * mean(r["em"] for r in with_gold), 2),
            "f1": round(100 * mean(r["f1"] for r in with_gold), 2),
            "n": len(with_gold),
            "f1_when_answered": round(100 * mean(r["f1"] for r in spoke), 2) if spoke else None,
        }
        if all("contains" in r for r in with_gold):  # the figure that decides: answered, holding a gold answer
            metrics["answers"]["contains"] = round(100 * mean(r["contains"] for r in with_gold), 2)
            metrics["answers"]["contains_when_answered"] = (
                round(100 * mean(r["contains"] for r in spoke), 2) if spoke else None
            )
    words = [r["answer_words"] for r in answered if not r["abstained"] and "answer_words" in r]
    if words and "answers" in metrics:
        metrics["answers"]["words_when_answered"] = percentile(words, 50)  # median: one long answer is no guide
    decided = _decided_by(answered)
    if decided:
        metrics["checks"] = decided
    if any("judged_sentences" in r for r in answered):
        metrics["citations"] = _citation_figures([s for r in answered for s in r.get("judged_sentences", [])])
    on_gold = [s for r in answered for s in r.get("cited_gold", [])]
    if on_gold:  # the same definitions as `citations`, the data's evidence as the judge
        metrics["citations_vs_gold"] = _citation_figures(on_gold)
    answerable = [not r["abstained"] for r in answered if r["answerable"]]
    unanswerable = [r["abstained"] for r in answered if not r["answerable"]]
    metrics["abstention"] = {
        "answered_when_answerable": _share(answerable),
        "abstained_when_unanswerable": _share(unanswerable),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }
    facts = fact_figures(answered)
    if facts:
        metrics["facts"] = facts
    injected = [r for r in answered if "followed_injection" in r]
    if injected:
        metrics["injection"] = {
            "followed": _share([r["followed_injection"] for r in injected]),
            "followed_in_draft": _share([r["followed_injection_in_draft"] for r in injected]),
            "n": len(injected),
        }
    first = [r["timings_ms"]["first_token"] for r in answered if r["timings_ms"].get("first_token")]
    metrics["latency_ms"] = _latency(
        [r["timings_ms"]["retrieve"] for r in answered], first, [r["timings_ms"]["total"] for r in answered]
    )
    return metrics


def _decided_by(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per check (rag/answering/checks.py): how often it decided an abstention (was the first to fail), on the
    answerable and the unanswerable questions, and how often it failed at all where every check ran."""
    out: dict[str, Any] = {}
    for r in results:
        first = next((c["name"] for c in r.get("checks", []) if not c["passed"] and not c.get("advisory")), None)
        for c in r.get("checks", []):
            row = out.setdefault(c["name"], {"decided_answerable": 0, "decided_unanswerable": 0, "failed": 0, "ran": 0})
            row["ran"] += 1
            row["failed"] += not c["passed"]
            if c["name"] == first:
                row["decided_answerable" if r["answerable"] else "decided_unanswerable"] += 1
    return out


def _citation_figures(sentences: list[dict[str, Any]]) -> dict[str, Any]:
    """ALCE's figures over sentences carrying a verdict per citation: precision over the citations, recall
    over the sentences (backed by at least one)."""
    verdicts = [v for s in sentences for v in s["citations"].values()]
    return {
        "precision": _share(verdicts),
        "recall": _share([any(s["citations"].values()) for s in sentences]),
        "citations": len(verdicts),
        "sentences": len(sentences),
    }


def _latency(retrieve: list[float], first_token: list[float], total: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in (("retrieve", retrieve), ("first_token", first_token), ("total", total)):
        if values:
            out[name] = {
                "p50": round(percentile(values, 50), 1),
                "p95": round(percentile(values, 95), 1),
                "n": len(values),
            }
    return out


def retrieval_metrics(rag: RAG, evalset: EvalSet, **overrides: Any) -> dict[str, Any]:
    """Retrieval metrics of one configuration (settings overrides) on a data set, sharing loaded models."""
    # settings that change the index (embedder, splitting) get their own cached index
    target = dataset_rag(rag.variant(**overrides), evalset)
    return aggregate(run(target, evalset, None, retrieval_only=True).results)
