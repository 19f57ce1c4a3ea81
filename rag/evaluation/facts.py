"""Fact recall and attribution kept: how completely an answer states what the documents give, and whether it
keeps who claims what (issue 42; the set: eval/complete_gold.jsonl).

A data set line may list `facts`, each with the document `sentence` holding it, `match` (groups of alternative
phrases: every group must appear in one answer sentence, case aside) and `attribution` (null, or the
`kept_by` phrases one of which that sentence must hold). A fact is **stated** when one shown sentence matches
it and cites a passage holding its sentence; an attributed fact stated is **kept** when that sentence holds a
`kept_by` phrase. Deterministic, read from the data's labels: no judge model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rag.types import Answer

Holds = Callable[[str, str], bool]  # (cited passage text, gold sentence) -> does the passage hold it?


@dataclass(frozen=True)
class Fact:
    fact: str
    sentences: list[str]  # the document sentences that hold it (one, or where the document repeats it, more)
    match: list[list[str]]  # groups of alternatives, all groups matched
    kept_by: list[str] = field(default_factory=list)  # empty: stated plainly by the document

    @property
    def attributed(self) -> bool:
        return bool(self.kept_by)

    def matched_by(self, text: str) -> bool:
        lowered = text.lower()
        return all(any(alternative.lower() in lowered for alternative in group) for group in self.match)


def fact_from(row: dict[str, Any]) -> Fact:
    """A fact as the data set writes it (KeyError/TypeError on a malformed one: the loader names the line)."""
    attribution = row.get("attribution") or {}
    return Fact(
        fact=str(row["fact"]),
        sentences=[str(row["sentence"]), *map(str, row.get("also_in", []))],
        match=[[str(a) for a in group] for group in row["match"]],
        kept_by=[str(k) for k in attribution.get("kept_by", [])],
    )


def fact_scores(facts: list[Fact], answer: Answer, holds: Holds) -> list[dict[str, Any]]:
    """Per fact: stated (with a citation to a passage holding it), and for an attributed one, kept."""
    cited = {c.n: c.text for c in answer.citations}
    shown = [] if answer.abstained else [s for s in answer.sentences if s.supported]
    scores = []
    for fact in facts:
        stating = next(
            (
                s
                for s in shown
                if fact.matched_by(s.text)
                and any(holds(cited.get(n, ""), sentence) for n in s.citations for sentence in fact.sentences)
            ),
            None,
        )
        score: dict[str, Any] = {"fact": fact.fact, "stated": stating is not None}
        if fact.attributed:
            score["attributed"] = True
            score["kept"] = stating is not None and any(k.lower() in stating.text.lower() for k in fact.kept_by)
        scores.append(score)
    return scores


def fact_figures(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Fact recall over every gold fact (and per question, averaged), and attribution kept over the attributed
    facts stated; None where no question has facts."""
    scored = [r["facts"] for r in results if r.get("facts")]
    if not scored:
        return None
    every = [f for facts in scored for f in facts]
    attributed = [f for f in every if f.get("attributed") and f["stated"]]
    return {
        "fact_recall": round(sum(f["stated"] for f in every) / len(every), 4),
        "fact_recall_per_question": round(sum(sum(f["stated"] for f in q) / len(q) for q in scored) / len(scored), 4),
        "two_or_more_stated": round(
            sum(sum(f["stated"] for f in q) >= min(2, len(q)) for q in scored) / len(scored), 4
        ),
        "attribution_kept": round(sum(f["kept"] for f in attributed) / len(attributed), 4) if attributed else None,
        "attributed_stated": len(attributed),
        "attributed_facts": sum(1 for f in every if f.get("attributed")),
        "facts": len(every),
        "questions": len(scored),
    }
