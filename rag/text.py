"""Text helpers every stage shares: sentence spans, content words, the numbers a text states, and whether
two statements disagree. Plain functions over strings; no stage's objects."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words ending in a period that do not end a sentence.
ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "no",
    "fig",
    "al",
    "inc",
    "ltd",
    "co",
    "corp",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "u.n",
}
# Matched from the first mark of a run only, possessively: a long run of dots with no space after it is
# rejected once, not once per dot (which took seconds for 20 KB of dots).
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s)")
_CLOSERS = "\"'”’)]"
# Enough of the text before a mark to see a whole abbreviation; a longer word cannot be one.
_WORD_BEFORE = max(map(len, ABBREVIATIONS)) + 1
_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentences(text: str) -> list[Span]:
    """Sentence spans: a line break always ends one; so does . ! ? before a space, unless an abbreviation."""
    spans: list[Span] = []
    for line in _LINE.finditer(text):
        start = line.start()
        for end_mark in _SENTENCE_END.finditer(line.group()):
            end = line.start() + end_mark.end()
            mark_start = line.start() + end_mark.start()
            if _abbreviation(text[max(start, mark_start - _WORD_BEFORE) : mark_start], end_mark.group()):
                continue
            spans.append(Span(start, end))
            start = end
        spans.append(Span(start, line.end()))
    return [_strip(text, s) for s in spans if text[s.start : s.end].strip()]


def _abbreviation(before: str, mark: str) -> bool:
    """The end mark closes an abbreviation or an initial ("Dr.", "J."), not a sentence. `before`: the few
    characters before it (reading back to the sentence's start made a line of initials quadratic)."""
    if mark.rstrip(_CLOSERS).strip("."):  # "!", "?" or "…" always end a sentence
        return False
    word = before.split()[-1].lower() if before and not before[-1].isspace() else ""
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _strip(text: str, span: Span) -> Span:
    piece = text[span.start : span.end]
    left = len(piece) - len(piece.lstrip())
    right = len(piece.rstrip())
    return Span(span.start + left, span.start + right)


WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = set(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that these "
    "those there their they them he she his her we you i do does did done have has had not no so than then which who "
    "whom whose what when where why how also can could would should will shall may might must into about over such "
    "because due according context passage passages".split()
)


def content_words(text: str) -> set[str]:
    """The words that carry content; a plural "s" dropped ("laws" -> "law")."""
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in WORD.findall(text.lower()) if w not in STOPWORDS}


_NUMBER = re.compile(r"\d[\d,.]*")


_NUMBER_WORDS = {
    word: str(n)
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
} | {word: str(10 * n) for n, word in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), 3)}
_NUMBER_WORDS |= {
    word: str(n)
    for n, word in enumerate(  # ordinals: "the tenth century" states "10th"
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(),
        1,
    )
}
_NUMBER_WORD = re.compile(rf"\b({'|'.join(_NUMBER_WORDS)})\b", re.IGNORECASE)


def numbers(text: str, spelled: bool = False) -> set[str]:
    """The numbers a text states, written plainly ("2,196." -> "2196"); with `spelled`, also those it spells
    out ("four" -> "4"). Evidence is read with `spelled`: "4" answers "four years", and an answer's "one" (a
    pronoun as often as a number) asks nothing of the evidence."""
    found = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
    if spelled:
        found |= {_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD.findall(text)}
    return found


SAME_WORDS = 0.5  # share of content words two sentences must have in common (Jaccard) to state the same thing
# The one negation list: what makes a statement say the opposite ("is not", "denied", "isn't")
NEGATION = re.compile(r"\b(not|never|no|none|neither|nor|denies|denied|false)\b|n[’']t\b", re.IGNORECASE)


def negates(text: str) -> bool:
    return bool(NEGATION.search(text))


def disagree(a: str, b: str) -> bool:
    """Two statements of the same thing (mostly the same words) that differ in their numbers or in negation."""
    words_a, words_b = (content_words(t) - numbers(t) - {"not", "never", "no"} for t in (a, b))
    if len(words_a & words_b) < SAME_WORDS * len(words_a | words_b):
        return False  # on the same topic perhaps, but saying different things
    numbers_a, numbers_b = numbers(a), numbers(b)
    if numbers_a and numbers_b and numbers_a != numbers_b:
        return True
    return negates(a) != negates(b)


NEW_WORDS = 0.5  # share of a sentence's content words another text lacks for the sentence to say something new


def adds_sentence(text: str, other: str) -> bool:
    """Does `text` hold a sentence of its own: one most of whose content words (at least three) `other` lacks?
    Two chunks near-duplicate as wholes may still differ by one sentence, and that sentence may hold a fact."""
    known = content_words(other)
    for span in sentences(text):
        words = content_words(text[span.start : span.end])
        if len(words) >= 3 and len(words - known) >= NEW_WORDS * len(words):
            return True
    return False


def texts_disagree(a: str, b: str) -> bool:
    """Some sentence of `a` and some sentence of `b` disagree."""
    pieces_b = [b[s.start : s.end] for s in sentences(b)]
    return any(disagree(a[s.start : s.end], piece) for s in sentences(a) for piece in pieces_b)


_CAPITALISED = re.compile(r"(?<![.!?:;\n\s])\s+([A-Z][A-Za-z]+)|^\s*([A-Z][A-Za-z]+)")  # inside | opening


def names(text: str, known: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """The words a text writes as names (content_words' spelling): capitalised inside a sentence, or
    opening it when `known` (names seen elsewhere) has them. "Torture, forced labour" names nothing."""
    found = set()
    for match in _CAPITALISED.finditer(text):
        inside, opening = match.groups()
        normal = next(iter(content_words(inside or opening)), "")
        if normal and (inside or normal in known):
            found.add(normal)
    return found


NAME_ENDINGS = ("n", "an", "ian", "ese", "i", "ish")  # Korea/Korean, Japan/Japanese, Israel/Israeli


def stated(name: str, words: set[str] | frozenset[str]) -> bool:
    """Is the name among the words, or another form of it ("Korea" is stated by "Korean", not "Indiana"
    by "India")?"""
    if name in words:
        return True
    for word in words:
        short, long = sorted((name, word), key=len)
        if long.startswith(short) and long[len(short) :] in NAME_ENDINGS:
            return True
    return False
