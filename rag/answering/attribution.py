"""Attribution kept: an answer sentence must not state as plain fact what its evidence only reports or hedges.

"It labels them economic migrants, allegedly due to North Korea's food struggles" is the source's report of a
claim; "China treats them as economic migrants because of North Korea's food struggles" states it as fact.
A small model drops these words often. The cues are two general kinds, from linguistics, not from any one
document: reporting frames (someone says, claims, alleges, believes…; according to) which put a whole sentence
in someone's mouth, and hedges (allegedly, likely, may, is expected to…) which qualify the clause they stand in.
A sentence that uses a hedged clause or a reported sentence and carries no cue of its own dropped the
attribution; it is shown with the source's own words for it. Measured on eval/attribution_pairs.jsonl
(labelled pairs from public text, not the seed): eval/attribution_check.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import content_words

# Reporting verbs, in their forms ("suggesting that…", "officials said", "it was claimed that…")
_REPORTING_VERBS = (
    r"say(s|ing)?|said|claim(s|ed|ing)?|alleg(e|es|ed|ing)|report(s|ed|ing)?|argu(e|es|ed|ing)|believ(e|es|ed|ing)"
    r"|suggest(s|ed|ing)?|estimat(e|es|ed|ing)|assert(s|ed|ing)?|contend(s|ed|ing)?|insist(s|ed|ing)?"
    r"|accus(e|es|ed|ing)|predict(s|ed|ing)?|expect(s|ed|ing)?|speculat(e|es|ed|ing)|suspect(s|ed|ing)?"
    r"|think(s|ing)?|thought|hypothesi[sz](e|es|ed|ing)|warn(s|ed|ing)?|indicat(e|es|ed|ing)|conclud(e|es|ed|ing)"
)
# Put a claim in someone's mouth: "Smith said (that)…", "…, officials claimed", "according to…"
REPORTING = re.compile(
    rf"\b(according to|in (\w+[’']s|his|her|their|its|the) (view|opinion|words|account)"
    rf"|(?<!\ban )(?<!\ba )(?<!\bthe )({_REPORTING_VERBS})\b(?!\s+to\b)( that)?"
    rf"|hold(s|ing)? that|held that|point(s|ed|ing)? to"
    rf"|put(s|ting)? (it|them|the \w+) at"
    rf"|the (claim|allegation|belief|assertion|report|view|theory|hypothesis|suggestion) that)\b",
    re.IGNORECASE,
)
# Qualify the clause they stand in ("more likely to die" compares, it does not hedge; "May" is a month or a name)
HEDGE = re.compile(
    r"\b(allegedly|alleged|reportedly|supposedly|purportedly|apparently|presumably|ostensibly|seemingly|arguably"
    r"|(?<!more )(?<!less )(?<!most )(?<!least )(?<!as )(likely|unlikely)|probably|possibly|perhaps|maybe|potentially"
    r"|(?-i:may|might)|could|should|appears? to|appeared to|seems? to|seemed to|tends? to|tended to"
    r"|(is|are|was|were) (expected|thought|believed)( to)?|rumou?red|purported|suspected|putative|so-called"
    r"|thought to|believed to"
    r"|said to|claimed to|in theory|controversial|disputed|unconfirmed|unverified)\b",
    re.IGNORECASE,
)
# Clause boundaries: punctuation, and the conjunctions that open another clause ("…, since it views…")
_CLAUSE = re.compile(
    r"[,:()\u2013\u2014]|\s(?=(since|because|while|whereas|although|though|but|which|who|after|before|when"
    r"|until|despite)\b)",
    re.IGNORECASE,
)
_RELATIVE = re.compile(r"^(which|who|whom|that)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+")
USED = 0.4  # share of a clause's content words an answer sentence holds for it to use that clause


@dataclass(frozen=True)
class Dropped:
    """The attribution an answer sentence dropped: the cue and the source's clause that carries it."""

    cue: str
    clause: str


def cue(text: str) -> str:
    """The first attribution or hedge cue of `text` ("" when it has none)."""
    match = REPORTING.search(text) or HEDGE.search(text)
    return match.group(0) if match else ""


def clauses(sentence: str) -> list[str]:
    """The sentence's clauses, cut at punctuation and at the conjunctions that open another clause."""
    pieces, start = [], 0
    for boundary in _CLAUSE.finditer(sentence):
        pieces.append(sentence[start : boundary.start()])
        start = boundary.end()
    pieces.append(sentence[start:])
    merged: list[str] = []
    for piece in (p.strip() for p in pieces if p.strip()):
        # a cue standing alone between commas (", allegedly, because of…") qualifies the clause after it
        if merged and len(content_words(merged[-1])) <= 1 and cue(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def dropped(answer: str, source: str) -> Dropped | None:
    """The attribution `answer` (one sentence) drops from `source` (the sentence it rests on), or None: kept,
    or nothing to keep. A hedge covers the clause it stands in; a reporting frame, its own clause and those after
    it ("X argued that A, and B"), or its whole part of the sentence ("A, according to X"); a relative clause
    ("the strike, which leaders say involves 40,000 workers, shut three ports") only itself. An answer that uses
    none of the clauses covered drops nothing; one that names who reports it, or has a cue of its own, keeps it."""
    # The answer keeps it with a cue of its own, in whatever words ("reportedly" for "it is said"), or with the
    # source's same cue; a cue it copies from the claim itself ("could" of "X believed that A could…") keeps
    # nothing of the frame around it.
    own = [m.group(0).lower() for pattern in (REPORTING, HEDGE) for m in pattern.finditer(answer)]
    fresh = any(c not in source.lower() for c in own)

    def keeps(found: str) -> bool:
        return fresh or any(c[:5] == found.lower()[:5] for c in own)

    said = content_words(answer)
    for part in source.split(";"):
        pieces = clauses(part)
        for i, clause in enumerate(pieces):
            reporting, hedge = REPORTING.search(clause), HEDGE.search(clause)
            if reporting and not keeps(reporting.group(0)):
                whole = reporting.group(0).lower().startswith(("according", "in "))
                covered = pieces if whole else [clause] if _RELATIVE.match(clause) else pieces[i:]
                if any(_uses(c, said) for c in covered) and not any(name in answer for name in _who(clause, reporting)):
                    return Dropped(reporting.group(0), clause)
            if hedge and not keeps(hedge.group(0)) and _uses(clause, said):
                return Dropped(hedge.group(0), clause)
    return None


def _uses(clause: str, said: set[str]) -> bool:
    """Does an answer with these content words use this clause (hold enough of its content words: a share of
    them, at most three)?"""
    words = content_words(clause)
    return bool(words) and len(words & said) >= min(3, max(1, USED * len(words)))


def _who(clause: str, reporting: re.Match[str]) -> set[str]:
    """The names of who reports it: before the verb ("Juzjani suggests…"), or just after "according to"."""
    if reporting.group(0).lower().startswith(("according", "in ")):
        after = re.match(r"\s*(the\s+)?((?:[A-Z][\w’'-]*\s*)+)", clause[reporting.end() :])
        return set(after.group(2).split()) if after else set()
    return set(_NAME.findall(clause[: reporting.start()]))


QUOTED_WORDS = 14  # the most of the source's words a repair quotes


def restored(answer: str, lost: Dropped) -> str:
    """The answer sentence with the source's own words for what it reports or hedges quoted after it: the cue
    with the few words before it (who says it) and after it, at most QUOTED_WORDS."""
    words = lost.clause.split()
    first = lost.cue.split()[0].lower()
    at = next((i for i, w in enumerate(words) if w.lower().strip("“”\"',.;:()").startswith(first)), 0)
    start = max(0, min(at - 4, len(words) - QUOTED_WORDS))
    quoted = " ".join(words[start : start + QUOTED_WORDS]).strip('“”"')
    quoted = ("…" if start > 0 else "") + quoted + ("…" if start + QUOTED_WORDS < len(words) else "")
    return f"{answer.rstrip().rstrip('.')} (the source: “{quoted}”)."
