"""A laid-out page's lines joined back into paragraphs.

A PDF's text layer (and OCR) gives one line of text per printed line, so a sentence is cut wherever the
page ran out of width, and rag.text.sentences (for which a line break ends a sentence) would see its
pieces: evidence, support checks and the highlighted sentence would all be fragments. Here a line runs on
into the next unless it ends its paragraph: a blank line follows, it is short (a paragraph's last line, a
heading), it introduces a list (":"), the next line starts an item (a bullet, "1.", "(a)"), or the lines are
code (";", braces, indented) or a table's rows (mostly figures). A word hyphenated across the break is joined
again.
"""

from __future__ import annotations

import re

# A line shorter than this share of the page's full lines ends its paragraph (its last line, a heading)
SHORT_LINE = 0.75
# The length of a full line: this percentile of the page's line lengths (most lines of prose are full)
FULL_LINE_PERCENTILE = 0.8
MIN_LINES = 3  # fewer lines than this: nothing to learn the full width from; left as they are

_ITEM = re.compile(r"^\s*([•●○◦▪■□‣∙·\-–—*]\s|\(?\d{1,3}[.)]\s|\(?[a-zA-Z][.)]\s|\(?[ivxIVX]{1,4}[.)]\s)")
_FIGURE = re.compile(r"[-+(]?[$€£]?\d[\d.,:/%)-]*")
TABLE_FIGURES = 0.4  # a line this share of whose words are figures is a table's row: its own line
_HYPHENATED = re.compile(r"[^\W\d_]-$")  # a letter, then a hyphen at the end of the line


def _full_width(lines: list[str]) -> int:
    lengths = sorted(len(line) for line in lines if line.strip())
    return lengths[min(len(lengths) - 1, int(FULL_LINE_PERCENTILE * len(lengths)))]


def _figures(line: str) -> bool:
    """A row of a table: most of its words are figures ("North 1,204 1,310 +8%")."""
    words = line.split()
    return len(words) >= 2 and sum(bool(_FIGURE.fullmatch(w)) for w in words) >= TABLE_FIGURES * len(words)


def _runs_on(line: str, following: str, full: int) -> bool:
    """Whether `line` continues into `following` (same paragraph)."""
    if not line.strip() or not following.strip():
        return False
    if len(line) < SHORT_LINE * full or line.endswith((":", ";", "{", "}")):  # a list's start; code
        return False
    if following[:2].isspace() or _figures(line) or _figures(following):  # indented code; a table's rows
        return False
    return not _ITEM.match(following)


def reflow(text: str) -> str:
    """`text` with the line breaks inside its paragraphs made spaces, and hyphenated words joined."""
    lines = [line.rstrip() for line in text.split("\n")]
    if sum(1 for line in lines if line.strip()) < MIN_LINES:
        return text
    full = _full_width(lines)
    out = [lines[0]]
    for line, following in zip(lines, lines[1:], strict=False):
        if not _runs_on(line, following, full):
            out.append("\n" + following)
        elif _HYPHENATED.search(line) and following.lstrip()[:1].islower():
            out[-1] = out[-1][:-1]  # "man-" + "agement": the hyphen only broke the word
            out.append(following.lstrip())
        else:
            out.append(" " + following.lstrip())
    return "".join(out)
