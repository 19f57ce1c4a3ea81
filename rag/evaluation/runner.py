"""Run a data set through the pipeline, question by question, and score each one.

Each question's record is handed to `on_result` as soon as it is scored (the report writes it to
disk at once), so an interrupted run keeps everything done before Ctrl-C.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from tqdm import tqdm

from rag.answer import answer_stream
from rag.cite import MARKER
from rag.evaluation.datasets import EvalSet, Question
from rag.evaluation.judge import SupportJudge
from rag.index import Index
from rag.ingest import add_documents
from rag.metrics import exact_match, f1, mrr_at, ndcg_at, percentile, recall_at
from rag.pipeline import RAG
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
    """The pipeline to evaluate: the configured index for JSONL, else the data set's corpus, cached.

    The cache key holds the corpus's content hash, the embedder's fingerprint and the splitting,
    so a second run (or another split of the same data) opens the index without embedding anything.
    """
    if evalset.corpus is None:
        return rag
    s = rag.settings
    corpus = hashlib.sha256("".join(f"{d.source}\0{d.sha256}\n" for d in evalset.corpus).encode()).hexdigest()
    key = f"{corpus}|{rag.embedder.fingerprint}|{s.chunk_tokens}|{s.chunk_overlap}"
    folder = s.cache_dir / "eval-indexes" / f"{evalset.kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if not (folder / "manifest.json").is_file():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        index = Index.create(partial, rag._embedder_info(), rag._splitting())
        if progress:
            print(f"indexing {len(evalset.corpus)} documents of {evalset.name} (once) …", file=sys.stderr)
        add_documents(index, rag.embedder, rag._splitter(), evalset.corpus, progress=progress)
        index.save()
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)  # complete or absent: an interrupted build is redone next time
    evaluated = RAG(s.with_overrides(index_dir=folder))
    evaluated._embedder = rag.embedder  # already loaded
    evaluated._generator = rag._generator
    return evaluated


# --- scoring one question ------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("“", '"').replace("”", '"').split()).lower()


def ranked_items(question: Question, passages: list[Passage]) -> tuple[list[str], set[str]]:
    """The ranking to score and what counts as relevant in it.

    With gold passages: each retrieved chunk is the gold passage it contains (or itself).
    With gold sources only: retrieved chunks collapse to documents, in order of their best chunk.
    """
    if question.gold_passages:
        gold = [_normalise(g) for g in question.gold_passages]
        ranked = []
        for passage in passages:
            text = _normalise(passage.chunk.text)
            hit = next((f"gold:{i}" for i, g in enumerate(gold) if g in text or text in g), None)
            ranked.append(hit or f"chunk:{passage.chunk.id}")
        return ranked, {f"gold:{i}" for i in range(len(gold))}
    documents = list(dict.fromkeys(_gold_name(p.chunk.source, question.gold_sources) for p in passages))
    return documents, set(question.gold_sources)


def _gold_name(source: str, gold_sources: list[str]) -> str:
    """A gold source may be written relative to another folder than the index's: match path endings."""
    for gold in gold_sources:
        if source == gold or source.endswith("/" + gold) or gold.endswith("/" + source):
            return gold
    return source


def retrieval_scores(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    scores = {"ndcg@10": ndcg_at(ranked, relevant, 10), "mrr@10": mrr_at(ranked, relevant, 10)}
    scores.update({f"recall@{k}": recall_at(ranked, relevant, k) for k in RECALL_CURVE})
    return scores


def answer_text(answer: Answer) -> str:
    """What the user reads, without citation markers; empty when the system abstained."""
    return "" if answer.abstained else MARKER.sub("", answer.answer).strip()


def judge_citations(answer: Answer, judge: SupportJudge) -> list[dict[str, Any]]:
    """Each shown sentence with, per citation, whether the judge finds that the passage supports it."""
    shown = [s for s in answer.sentences if s.supported]
    by_number = {c.n: c for c in answer.citations}
    pairs = [(s.text, by_number[n].text) for s in shown for n in s.citations]
    verdicts = iter(judge.supports(pairs))
    return [{"text": s.text, "citations": {n: next(verdicts) for n in s.citations}} for s in shown]


def score_question(
    rag: RAG, question: Question, judge: SupportJudge | None, retrieval_only: bool
) -> dict[str, Any]:
    started = time.perf_counter()
    depth = max(RETRIEVAL_DEPTH, rag.settings.top_k) * (1 if question.gold_passages else 10)
    passages = rag.retrieve(question.question, min(depth, len(rag.index)))
    retrieve_ms = (time.perf_counter() - started) * 1000
    record: dict[str, Any] = {"id": question.id, "question": question.question, "answerable": question.answerable}
    ranked, relevant = ranked_items(question, passages)
    if relevant:
        record["retrieval"] = retrieval_scores(ranked[:RETRIEVAL_DEPTH], relevant)
        record["first_relevant_rank"] = next((r for r, item in enumerate(ranked, 1) if item in relevant), None)
    record["retrieved"] = [
        {"source": p.chunk.source, "chunk": p.chunk.id, "score": round(p.score, 4)} for p in passages[:10]
    ]
    record["timings_ms"] = {"retrieve": round(retrieve_ms, 1)}
    if retrieval_only:
        return record

    answer: Answer | None = None
    for item in answer_stream(question.question, passages[: rag.settings.top_k], rag.generator, rag.embedder,
                              rag.settings, started, retrieve_ms):  # fmt: skip
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    text = answer_text(answer)
    record.update(answer=answer.answer, abstained=answer.abstained, abstain_reason=answer.abstain_reason,
                  timings_ms=answer.timings_ms)  # fmt: skip
    if question.answers:
        record["gold_answers"] = question.answers
        record["em"], record["f1"] = exact_match(text, question.answers), f1(text, question.answers)
    if judge is not None and not answer.abstained:
        record["judged_sentences"] = judge_citations(answer, judge)
    return record


# --- the whole run -------------------------------------------------------------------------------


def run(
    rag: RAG,
    evalset: EvalSet,
    judge: SupportJudge | None,
    retrieval_only: bool,
    on_result: Callable[[dict[str, Any]], None] = lambda record: None,
    progress: bool = False,
) -> EvalRun:
    """Score every question; Ctrl-C stops between questions and keeps what is done."""
    outcome = EvalRun()
    _ = rag.index if retrieval_only else (rag.index, rag.generator)  # load now: timings are per question
    started = time.perf_counter()
    bar = tqdm(evalset.questions, desc=f"eval {evalset.name}", unit="q", disable=not progress, file=sys.stderr)
    try:
        for question in bar:
            record = score_question(rag, question, judge, retrieval_only)
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
    metrics: dict[str, Any] = {"questions": len(results)}
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
    judged = [s for r in answered for s in r.get("judged_sentences", [])]
    if any("judged_sentences" in r for r in answered):
        verdicts = [v for s in judged for v in s["citations"].values()]
        metrics["citations"] = {
            "precision": _share(verdicts),
            "recall": _share([any(s["citations"].values()) for s in judged]),
            "citations": len(verdicts),
            "sentences": len(judged),
        }
    answerable = [not r["abstained"] for r in answered if r["answerable"]]
    unanswerable = [r["abstained"] for r in answered if not r["answerable"]]
    metrics["abstention"] = {
        "answered_when_answerable": _share(answerable),
        "abstained_when_unanswerable": _share(unanswerable),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }
    first = [r["timings_ms"]["first_token"] for r in answered if r["timings_ms"].get("first_token")]
    metrics["latency_ms"] = _latency(
        [r["timings_ms"]["retrieve"] for r in answered], first, [r["timings_ms"]["total"] for r in answered]
    )
    return metrics


def _latency(retrieve: list[float], first_token: list[float], total: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in (("retrieve", retrieve), ("first_token", first_token), ("total", total)):
        if values:
            out[name] = {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
                         "n": len(values)}  # fmt: skip
    return out


def retrieval_metrics(rag: RAG, evalset: EvalSet, **overrides: Any) -> dict[str, Any]:
    """Retrieval metrics of one configuration (settings overrides) on a data set, sharing loaded models."""
    target = dataset_rag(rag, evalset)
    variant = RAG(target.settings.with_overrides(**overrides))
    variant._embedder, variant._index = target.embedder, target.index
    return aggregate(run(variant, evalset, None, retrieval_only=True).results)
