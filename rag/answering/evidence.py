"""Evidence selection: from the retrieved passages, the sentences that bear on the question.

The model reads only these (numbered by passage, with their source), within a word budget: less
text in means a faster first token and less for a small model to get wrong. A sentence that reads
as an instruction to the assistant ("ignore your instructions and…") is withheld: documents are
data, never instructions. Citations are later checked against exactly the sentences shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rag.models.embed import Embedder
from rag.text import sentences
from rag.types import Passage

# Sentences addressed to the assistant rather than to a reader: a heuristic, measured on eval/injection.
_AI = r"(AI|assistants?|chatbots?|language models?|LLMs?|bots?)"
INSTRUCTION_PATTERNS = [
    r"\boverride (previous|prior|all|your)\b",
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules?|context|directions?|prompts?|question|everything"
    r"|above)\b",
    r"\b(you are now|pretend to be|jailbreak|(?-i:DAN))\b",
    rf"\b(to|dear|attention|hey|if you are|for the)\s+(an?\s+|the\s+)?{_AI}\b|\bas an? {_AI}\b",
    r"\b(AI|assistant|chatbot|bot)\s*:|\bassistant instructions?\b",
    rf"\bthe {_AI} (must|should|shall|will now|is required)\b",
    r"\b(system (message|prompt|override)|new instructions?|### instruction)\b",
    r"<\|im_start\|>|<\|im_end\|>|</?context>|\[/?INST\]",
    r"^\W*(system|assistant|user)\s*:",
    r"^\W*(please,?\s+|instead,?\s+|now,?\s+)?(always\s+)?(answer|say|reply|respond|tell|write|output|print"
    r"|translate|state that|claim that)\b",
    r"\b(reply|respond|answer|say)\s+(only\b|with (only\b|the (word|phrase)\b|['\"“])|['\"“])",
    r"\b(answer|reply|respond)\b.{0,30}\bin (french|german|spanish|(all )?capital letters|all caps)\b",
    r"\b(you must (answer|reply|respond|say)|do not use the context|output your|translate your)\b",
]
INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in INSTRUCTION_PATTERNS), re.IGNORECASE | re.MULTILINE)


def is_instruction(sentence: str) -> bool:
    return bool(INSTRUCTION.search(sentence))


@dataclass
class Evidence:
    """What the model is shown of one retrieved passage."""

    passage: int  # index into the retrieved passages; the prompt numbers it passage + 1
    spans: list[tuple[int, int]]  # (start, end) in the passage text of the sentences shown, in text order
    withheld: list[tuple[int, int]] = field(default_factory=list)  # sentences read as instructions
    closeness: float = 0.0  # the best cosine between the question and one of the sentences shown

    def text(self, passages: list[Passage]) -> str:
        chunk_text = passages[self.passage].chunk.text
        return " ".join(chunk_text[start:end] for start, end in self.spans)


def select_evidence(
    question: str, passages: list[Passage], embedder: Embedder, budget_words: int, withhold_instructions: bool = True
) -> list[Evidence]:
    """The sentences of `passages` most similar to the question, at most `budget_words` words in all
    (0: every sentence), each passage's kept in text order. Instruction-like sentences are withheld."""
    candidates: list[tuple[int, tuple[int, int], str]] = []  # (passage, span, text)
    withheld: dict[int, list[tuple[int, int]]] = {}
    for index, passage in enumerate(passages):
        text = passage.chunk.text
        tainted_line = -1  # an injection's continuation on the same line is withheld with it
        for span in sentences(text):
            piece, line = text[span.start : span.end], text.count("\n", 0, span.start)
            if withhold_instructions and (line == tainted_line or is_instruction(piece)):
                withheld.setdefault(index, []).append((span.start, span.end))
                tainted_line = line
            else:
                candidates.append((index, (span.start, span.end), piece))

    if not candidates:
        return []
    # each sentence's closeness to the question: it chooses the evidence, and the best of it says whether
    # the passages bear on the question at all (a whole chunk's vector dilutes its one relevant sentence)
    vectors = embedder.encode([question] + [c[2] for c in candidates])
    similarity = vectors[1:] @ vectors[0]
    chosen: list[int]
    if budget_words <= 0:
        chosen = list(range(len(candidates)))
    else:
        # a passage's rank still counts: an equally similar sentence from a better passage goes first
        rank_bonus = np.array([-0.01 * c[0] for c in candidates])
        chosen, used = [], 0
        for i in np.argsort(-(similarity + rank_bonus)):
            words = len(candidates[i][2].split())
            if used + words > budget_words and chosen:
                continue
            chosen.append(int(i))
            used += words

    kept: dict[int, list[tuple[int, int]]] = {}
    closeness: dict[int, float] = {}
    for i in sorted(chosen):
        passage = candidates[i][0]
        kept.setdefault(passage, []).append(candidates[i][1])
        closeness[passage] = max(closeness.get(passage, -1.0), float(similarity[i]))
    return [Evidence(i, spans, withheld.get(i, []), closeness[i]) for i, spans in sorted(kept.items())]


def relevance(passages: list[Passage], evidence: list[Evidence]) -> float:
    """How close what the model is shown comes to the question: the best cosine of a passage it is shown
    sentences of, or of one of those sentences (-1 when it is shown nothing)."""
    return max([max(passages[e.passage].score, e.closeness) for e in evidence], default=-1.0)
