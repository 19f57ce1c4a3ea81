"""The text and title of an HTML page, read as a stream of tags (the standard library's parser): memory
grows with the text kept, not with the markup. A parse tree (BeautifulSoup) took 77 times the size of
a tag-heavy page at its peak, this 2.5 times (bench/html_memory.py).

Script, style, noscript and template content is dropped; the first <title> is the title, not body text;
block-level elements and <br> end a line (inline ones such as <b> do not); outside <pre>, a run of white
space is one space, as a browser shows it. A table becomes one line per row that names its columns
(rag/ingest/tables.py), its caption above.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from rag.ingest.tables import records

SKIPPED = {"script", "style", "noscript", "template"}
BLOCKS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "nav",
    "ol",
    "option",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "ul",
}
_SPACES = re.compile(r"\s+")
CELLS = {"td", "th"}
# A cell spanning more columns than this is taken as spanning this many (a hostile colspan)
MAX_COLSPAN = 64
# Small strings are joined this many at a time: a page of tiny text nodes keeps no object per node.
_JOIN_EVERY = 4096


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.joined: list[str] = []
        self.parts: list[str] = []
        self.title: list[str] = []
        self.title_done = False
        self.in_title = False
        self.skipping = 0  # depth inside skipped elements
        self.in_pre = 0
        self.tables: list[_Table] = []  # open tables, innermost last

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(_Table())
        elif self.tables and tag == "tr":
            self.tables[-1].end_row()
        elif self.tables and tag in CELLS:
            span = next((value for name, value in attrs if name == "colspan"), None) or "1"
            self.tables[-1].start_cell(min(MAX_COLSPAN, max(1, int(span) if span.isdigit() else 1)))
        if tag in SKIPPED:
            self.skipping += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "pre":
            self.in_pre += 1
        if tag in BLOCKS:
            self._keep("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.tables:
            self._keep_table(self.tables.pop())
        elif self.tables and tag == "tr":
            self.tables[-1].end_row()
        elif self.tables and tag in CELLS:
            self.tables[-1].end_cell()
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "title":
            self.in_title = False
            self.title_done = bool(self.title)
        elif tag == "pre":
            self.in_pre = max(0, self.in_pre - 1)
        if tag in BLOCKS:
            self._keep("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.in_title:
            if not self.title_done:
                self.title.append(data)
            return
        self._keep(data if self.in_pre else _SPACES.sub(" ", data))

    def _keep_table(self, table: _Table) -> None:
        table.end_row()
        lines = [*table.caption_lines(), *(text for _, text in records(table.rows))]
        self._keep("\n" + "\n".join(lines) + "\n")

    def _keep(self, text: str) -> None:
        if self.tables:  # inside a table: into its open cell, else its caption
            self.tables[-1].keep(text)
            return
        self.parts.append(text)
        if len(self.parts) >= _JOIN_EVERY:
            self.joined.append("".join(self.parts))
            self.parts = []


class _Table:
    """The rows of one table as they are read: cells of text, a colspan cell repeated under each column."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.span = 1
        self.caption: list[str] = []

    def keep(self, text: str) -> None:
        (self.cell if self.cell is not None else self.caption).append(text)

    def start_cell(self, span: int) -> None:
        self.end_cell()
        self.cell, self.span = [], span

    def end_cell(self) -> None:
        if self.cell is None:
            return
        if self.row is None:
            self.row = []
        self.row += [" ".join("".join(self.cell).split())] * self.span
        self.cell = None

    def end_row(self) -> None:
        self.end_cell()
        if self.row is not None:
            self.rows.append(self.row)
        self.row = None

    def caption_lines(self) -> list[str]:
        return [line.strip() for line in "".join(self.caption).splitlines() if line.strip()]


def html_text(html: str) -> tuple[str, str]:
    """(text, title) of a page: one line per block, blank lines dropped."""
    collector = _TextCollector()
    collector.feed(html)
    # What feed() leaves unread is a tag or comment that never ends, dropped as a browser drops it (close()
    # would re-read it from each "<" inside: quadratic), or text held back for a character reference
    rest = collector.rawdata
    if not rest.startswith("<"):
        collector.handle_data(unescape(rest))
    text = "".join(collector.joined + collector.parts)
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line), " ".join("".join(collector.title).split())
