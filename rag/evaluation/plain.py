"""The plain pipeline a tutorial gives, as a baseline row of `rag eval --plain`: the same embedder and model,
1,000-character chunks (200 shared), the 4 closest by embedding, a one-line "answer from the context" prompt,
greedy, and every answer shown: no evidence selection, no citations, no checks.

It shares the product's embedder, index, search and generator; only the splitting and the prompt are the
tutorial's, so the row measures what the product's answer path adds (or costs) on the same model.
"""

from __future__ import annotations

from typing import Any

from rag.evaluation.datasets import EvalSet, Question
from rag.evaluation.runner import corpus_index
from rag.metrics import contains, exact_match, f1
from rag.pipeline import RAG
from rag.retrieval.retrieve import search
from rag.stopwatch import Stopwatch
from rag.store.index import Index
from rag.types import Chunk, Document

CHUNK_CHARS = 1000
OVERLAP_CHARS = 200
TOP_K = 4
PROMPT = "Answer the question from the context.\n\nContext:\n{context}\n\nQuestion: {question}"


class CharacterSplitter:
    """Windows of at most CHUNK_CHARS characters, cut at whitespace, each starting OVERLAP_CHARS before the last
    one ended (LangChain's RecursiveCharacterTextSplitter, its tutorial settings, reduced to its effect on
    prose)."""

    def split(self, document: Document, first_id: int = 0) -> list[Chunk]:
        text, chunks, start = document.text, [], 0
        while start < len(text):
            end = min(len(text), start + CHUNK_CHARS)
            if end < len(text) and (cut := text.rfind(" ", start + 1, end)) > start:
                end = cut
            piece = text[start:end].strip()
            if piece:
                chunks.append(Chunk(first_id + len(chunks), document.source, document.title, piece, start, end))
            if end >= len(text):
                break
            following = text.find(" ", max(start + 1, end - OVERLAP_CHARS), end)
            start = following + 1 if following > start else end
        return chunks

    def indexed_text(self, chunk: Chunk) -> str:
        return chunk.text


def plain_index(rag: RAG, evalset: EvalSet) -> Index:
    """The data set's corpus split the tutorial's way, indexed once (cached beside rag eval's own indexes)."""
    if evalset.corpus is None:
        raise ValueError("the plain baseline needs a data set with its own corpus (SQuAD, BEIR)")
    splitting = {"chunk_chars": CHUNK_CHARS, "overlap_chars": OVERLAP_CHARS}
    return Index.open(corpus_index(rag, evalset, "plain", splitting, CharacterSplitter()))  # type: ignore[arg-type]


def plain_scorer(rag: RAG, evalset: EvalSet):  # noqa: ANN201 - a function of a Question
    """Score a question the plain way: what `rag eval --plain` runs in place of the product's answer path."""
    index = plain_index(rag, evalset)
    dense = rag.settings.search.model_copy(update={"retrieval": "dense", "duplicate_threshold": 1.0})
    limit = rag.settings.answering.max_new_tokens

    def score(question: Question) -> dict[str, Any]:
        clock = Stopwatch()
        with clock.step("retrieve"):
            passages = search(index, rag.embedder.encode([question.question])[0], question.question, TOP_K, dense)
        context = "\n\n".join(p.chunk.text for p in passages)
        messages = [{"role": "user", "content": PROMPT.format(context=context, question=question.question)}]
        with clock.step("generate"):
            text = "".join(rag.generator.stream(messages, limit)).strip()
        record: dict[str, Any] = {
            "id": question.id,
            "question": question.question,
            "answerable": question.answerable,
            "retrieved": [
                {"source": p.chunk.source, "chunk": p.chunk.id, "score": round(p.score, 4)} for p in passages
            ],
            "timings_ms": clock.timings(),
            "answer": text,
            "abstained": False,  # nothing here withholds an answer
            "answer_words": len(text.split()),
        }
        if question.answers:
            record |= {
                "gold_answers": question.answers,
                "em": exact_match(text, question.answers),
                "f1": f1(text, question.answers),
                "contains": contains(text, question.answers),
            }
        return record

    return score
