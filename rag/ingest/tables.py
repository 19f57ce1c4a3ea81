"""Tables as text that keeps its header: each row is written as "Column: value; Column: value", so any
chunk of rows, however the splitter cuts them, names the columns of the cells it holds, and a question
about one cell finds it by its column's name as well as by its value.

A wide row is written as several lines, each starting with the row's key (the first column whose values
name the rows: all different, not numbers), so a line cut away from the start of its row still says
whose cells it holds. Without that, a Titanic passenger's fare landed in a chunk without their name."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator, Sequence

_NUMBER = re.compile(r"^[\s$€£¥%+\-.,()0-9]*$")


def cell_text(value: object) -> str:
    """A cell as one line: None is empty, 3.0 is "3", white space runs become one space."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def column_name(index: int) -> str:
    """Spreadsheet letters: 0 -> "A", 25 -> "Z", 26 -> "AA"."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


# The header is looked for among a table's first rows: above it may be a title or a note
HEADER_SEARCH_ROWS = 10
# A row longer than this is written as several lines, each whole within one default chunk (64 tokens):
# records run 2.6 characters per MiniLM token (names, numbers and "; " are short tokens), so ~54 tokens
LINE_CHARS = 140
# A key repeated on each line of a row is typically (median) at most this long: a name or an id, not a sentence
KEY_CHARS = 40


def looks_like_header(row: Sequence[str], width: int) -> bool:
    """A row naming columns: at least two cells and half the table's width filled, none a number, no name twice."""
    filled = [cell for cell in row if cell]
    return (
        len(filled) >= max(2, width / 2)
        and len(set(filled)) == len(filled)
        and not any(_NUMBER.match(cell) for cell in filled)
    )


def records(rows: list[list[str]]) -> Iterator[tuple[int, str]]:
    """(row index in `rows`, text) of each row with text: rows above the header (a title, a note) as their
    cells joined, each row below as "Column: value; …". The header is the first of the first rows that
    looks like one and has rows below it; without one, columns are named by their letters (A, B, …)."""
    kept = [n for n, row in enumerate(rows) if any(row)]
    if not kept:
        return
    width = max(len(rows[n]) for n in kept)
    header_at = next(
        (i for i, n in enumerate(kept[:HEADER_SEARCH_ROWS]) if i + 1 < len(kept) and looks_like_header(rows[n], width)),
        None,
    )
    if header_at is None:
        header, first_data = [column_name(i) for i in range(width)], 0
    else:
        header, first_data = list(rows[kept[header_at]]), header_at + 1
        header += [column_name(i) for i in range(len(header), width)]
        header = [name or column_name(i) for i, name in enumerate(header)]
        for n in kept[:header_at]:
            yield n, " ".join(cell for cell in rows[n] if cell)
    data = [rows[n] for n in kept[first_data:]]
    key = key_column(header, data)
    for n, row in zip(kept[first_data:], data, strict=True):
        for text in record_lines(header, row, key):
            yield n, text


def key_column(header: Sequence[str], data: Sequence[Sequence[str]]) -> int | None:
    """The column naming the rows: the first whose cells are all filled, all different, not numbers and
    short (a name, a title, an id like "A/5 21171"); else the first column when its cells are short; else
    None (a column of sentences is not repeated on every line)."""

    def cells(column: int) -> list[str]:
        return [row[column] if column < len(row) else "" for row in data]

    def short(found: list[str]) -> bool:
        return bool(found) and statistics.median(map(len, found)) <= KEY_CHARS

    for column in range(len(header)):
        found = cells(column)
        if all(found) and len(set(found)) == len(found) and not any(_NUMBER.match(cell) for cell in found):
            if short(found):
                return column
    return 0 if header and short(cells(0)) else None


def record_lines(header: Sequence[str], row: Sequence[str], key: int | None, limit: int = LINE_CHARS) -> list[str]:
    """One row as "Column: value; …" (empty cells left out), in lines of at most about `limit` characters,
    each after the first starting with the row's key cell."""
    pairs = [f"{name}: {value}" for name, value in zip(header, row, strict=False) if value]
    if not pairs:
        return []
    keyed = f"{header[key]}: {row[key]}" if key is not None and key < len(row) and row[key] else ""
    if keyed in pairs:  # the key leads every line, the first included
        pairs.remove(keyed)
        pairs.insert(0, keyed)
    lines, line = [], pairs[0]
    for pair in pairs[1:]:
        # a new line when this pair does not fit and would fit one led by the key; a long cell (a sentence)
        # stays with the line it follows rather than being cut from its row's other cells
        fits_new_line = len(keyed) + 2 + len(pair) <= limit
        if len(line) + 2 + len(pair) > limit and line != keyed and fits_new_line:
            lines.append(line)
            line = f"{keyed}; {pair}" if keyed else pair
        else:
            line = f"{line}; {pair}"
    return [*lines, line]
