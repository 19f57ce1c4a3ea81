"""The question, parsed once: which answer it asks for and the facts it gives. Every step reads this one
object (the prompt its kind, the checks its words, names and numbers) rather than parsing the text again."""

from __future__ import annotations

import re
from dataclasses import dataclass

import Stemmer

from rag.text import content_words, names, negates, numbers

STEM = Stemmer.Stemmer("english").stemWord

AUXILIARIES = r"is|are|was|were|do|does|did|can|could|will|would|has|have|had|should|must|may|might|shall"
ASKS_YES_NO = re.compile(rf"^\s*({AUXILIARIES})(n[’']t)?\b", re.IGNORECASE)
# "Is it abstract or concrete?": the question names its possible answers
_CHOICE = re.compile(r"\b(\w+),?\s+or\s+(\w+)\b", re.IGNORECASE)
# when, or how many/much/long: answered only by a number or a date
ASKS_QUANTITY = re.compile(
    r"^\s*(when\b|(in |from )?(what|which) (year|date|month|day|time)\b|how (many|much|long|old|far|large|big)\b)",
    re.IGNORECASE,
)


# Asks for every reason, way or item the documents give, not one fact: why; how (the way, not how many);
# what/which followed by a plural ("What punishments…", "What are…"); list, name or give. A reader asking
# why wants the reasons the documents give, not the first one.
# "reasons"; not "does", "process", "status", "basis"
_PLURAL = r"(?!(does|has|was|this|its|his|hers|thus|yours|ours)\b)\w+[^siu\W]s"
ASKS_COMPLETE = re.compile(
    rf"^\s*(why\b|how\b(?!\s+(many|much|long|old|far|large|big|often|soon|tall|high|deep|wide)\b)"
    rf"|(what|which)\s+((are|were)\b|{_PLURAL}\b|(kinds?|types?|sorts?)\s+of\b)"
    rf"|(list|name|give|describe)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Question:
    text: str
    yes_no: bool  # "Is Mirabel the capital?": a verdict and its reason (not a choice between named answers)
    options: tuple[str, ...]  # "Is it abstract or concrete?" -> ("abstract", "concrete"); () otherwise
    quantity: bool  # asks when, or how many/much/long/old
    complete: bool  # asks why, how, or for several things: every one the documents give is the answer
    words: frozenset[str]  # content words (rag.text.content_words)
    stems: frozenset[str]  # their stems
    names: frozenset[str]  # words written as names inside the question
    numbers: frozenset[str]  # numbers written as digits ("one" is a pronoun as often as a number)
    negated: bool

    @property
    def kind(self) -> str:
        """What the prompt asks of the answer: `yes_no` (a verdict, then the reason), `complete` (every reason or
        item the evidence gives, one a sentence) or `other`."""
        return "yes_no" if self.yes_no else "complete" if self.complete else "other"


def parse(text: str, complete_answers: bool = True) -> Question:
    """`complete_answers`: False reads a why / how / list question as any other (AnsweringSettings)."""
    choice = _CHOICE.search(text)
    words = content_words(text)
    return Question(
        text=text,
        yes_no=bool(ASKS_YES_NO.match(text)) and choice is None,
        options=tuple(w.lower() for w in choice.groups()) if choice else (),
        quantity=bool(ASKS_QUANTITY.search(text)),
        complete=complete_answers and bool(ASKS_COMPLETE.match(text)) and not choice,
        words=frozenset(words),
        stems=frozenset(STEM(w) for w in words),
        names=frozenset(names(text)),
        numbers=frozenset(numbers(text)),
        negated=negates(text),
    )
