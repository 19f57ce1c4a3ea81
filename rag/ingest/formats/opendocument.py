"""OpenDocument text (.odt): headings, paragraphs, lists and tables in document order; each table row
written "Column: value; …" (rag.ingest.tables) and labelled "table N", other text by the heading it
falls under. Read with the standard library (zipfile + ElementTree over content.xml and meta.xml): the
walk in document order is the same few lines with odfpy, which would also load every part of the
archive, pictures included, into its own slower node tree."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.formats.zipped import checked_zip
from rag.ingest.tables import cell_text, records

_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_DC = "{http://purl.org/dc/elements/1.1/}"

HEADING, PARAGRAPH, LIST, TABLE = f"{_TEXT}h", f"{_TEXT}p", f"{_TEXT}list", f"{_TABLE}table"
# Generated (an index, the table of contents repeating the headings), deleted (tracked changes) or not text
SKIPPED = {
    f"{_TEXT}{name}"
    for name in (
        "tracked-changes",
        "sequence-decls",
        "variable-decls",
        "user-field-decls",
        "table-of-content",
        "alphabetical-index",
        "illustration-index",
        "table-index",
        "object-index",
        "user-index",
    )
} | {f"{_OFFICE}forms", f"{_TABLE}table-columns", f"{_TABLE}table-column"}
# Inline: a comment and a footnote's number are not the sentence's words
SKIPPED_INLINE = {f"{_OFFICE}annotation", f"{_OFFICE}annotation-end", f"{_TEXT}note-citation"}
ROW_GROUPS = {f"{_TABLE}{name}" for name in ("table-header-rows", "table-rows", "table-row-group")}
CELLS = {f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"}
# A repeated cell or row is written at most this many times: a table padded to the sheet's edge repeats
# an empty cell thousands of times
MAX_REPEAT = 256
_SPACES = re.compile(r"\s+")


class _Writer:
    """Appends the document's parts with their labels: "table N" for a table's rows, else "section:
    HEADING" under a heading, or "after table N" for text that follows a table before any new heading."""

    def __init__(self) -> None:
        self.built = TextBuilder()
        self.tables = 0
        self.label = ""
        self.first_heading = ""

    def heading(self, text: str) -> None:
        if text:
            self.first_heading = self.first_heading or text
            self.label = f"section: {text[:80]}"
        self.built.add(text, self.label)

    def text(self, text: str, end: str = "\n\n") -> None:
        self.built.add(text, self.label, end=end)

    def table(self, rows: list[list[str]]) -> None:
        self.tables += 1
        label = f"table {self.tables}"
        texts = [text for _, text in records(rows)]
        for n, text in enumerate(texts, start=1):
            self.built.add(text, label, end="\n\n" if n == len(texts) else "\n")
        if texts and not self.label.startswith("section: "):
            self.label = f"after {label}"


def read_odt(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    archive = checked_zip(path, data, "ODT", options)
    if _encrypted(archive):
        raise LoadError(f"{path}: encrypted ODT (it needs a password)", reason="encrypted")
    body = _xml(path, archive, "content.xml").find(f"{_OFFICE}body/{_OFFICE}text")
    if body is None:
        raise LoadError(f"{path}: not an OpenDocument text (content.xml holds no text body)")
    writer = _Writer()
    try:
        _walk(body, writer)
    except RecursionError:
        raise LoadError(f"{path}: corrupt ODT (elements nested too deeply)") from None
    return writer.built.result(_meta_title(path, archive) or writer.first_heading)


def _encrypted(archive: zipfile.ZipFile) -> bool:
    """ODF encrypts its parts itself (the zip is not encrypted): the manifest says which."""
    try:
        return b"encryption-data" in archive.read("META-INF/manifest.xml")
    except (KeyError, zipfile.BadZipFile, ValueError, EOFError, OSError):
        return False


def _xml(path: Path, archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    # Expat 2.4 and later (as Python ships) refuses entity expansion bombs; external entities are never read
    try:
        return ElementTree.fromstring(archive.read(name))
    except KeyError:
        raise LoadError(f"{path}: corrupt ODT ({name} is missing)") from None
    except (ElementTree.ParseError, zipfile.BadZipFile, ValueError, EOFError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LoadError(f"{path}: corrupt ODT ({name}: {reason})") from None


def _meta_title(path: Path, archive: zipfile.ZipFile) -> str:
    if "meta.xml" not in archive.namelist():
        return ""
    return " ".join(_xml(path, archive, "meta.xml").findtext(f"{_OFFICE}meta/{_DC}title", "").split())


def _walk(element: ElementTree.Element, writer: _Writer) -> None:
    """The blocks under `element` in document order; containers (sections, frames) are walked into."""
    for child in element:
        if child.tag == HEADING:
            writer.heading(_inline(child))
        elif child.tag == PARAGRAPH:
            writer.text(_inline(child))
        elif child.tag == LIST:
            writer.text("\n".join(_list_items(child)))
        elif child.tag == TABLE:
            writer.table(_rows(child))
        elif child.tag not in SKIPPED:
            _walk(child, writer)


def _list_items(element: ElementTree.Element) -> list[str]:
    """Each list item's text, one a line; nested lists follow their item."""
    items = []
    for child in element:
        if child.tag in (HEADING, PARAGRAPH):
            items.append(_inline(child))
        elif child.tag == TABLE:
            items.extend(text for _, text in records(_rows(child)))
        elif child.tag not in SKIPPED:
            items.extend(_list_items(child))
    return [item for item in items if item]


def _rows(table: ElementTree.Element) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in _row_elements(table):
        cells: list[str] = []
        for cell in row:
            if cell.tag in CELLS:
                cells.extend([cell_text(_inline(cell))] * _repeat(cell, "number-columns-repeated"))
        while cells and not cells[-1]:
            cells.pop()
        rows.extend([cells] * (_repeat(row, "number-rows-repeated") if cells else 1))
    return rows


def _row_elements(table: ElementTree.Element) -> list[ElementTree.Element]:
    """The table's rows, inside header-row and row groups too, not those of tables nested in its cells."""
    rows = []
    for child in table:
        if child.tag == f"{_TABLE}table-row":
            rows.append(child)
        elif child.tag in ROW_GROUPS:
            rows.extend(_row_elements(child))
    return rows


def _repeat(element: ElementTree.Element, attribute: str) -> int:
    try:
        return max(1, min(MAX_REPEAT, int(element.get(f"{_TABLE}{attribute}", "1"))))
    except ValueError:
        return 1


def _inline(element: ElementTree.Element) -> str:
    """A paragraph's text: white space in the XML is one space, <text:s text:c="3"/> three, <text:tab/> a
    tab, <text:line-break/> a new line; a footnote is kept in parentheses where it is cited."""
    parts: list[str] = []
    _collect(element, parts)
    lines = (line.strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _collect(element: ElementTree.Element, parts: list[str]) -> None:
    if element.text:
        parts.append(_SPACES.sub(" ", element.text))
    for child in element:
        if child.tag == f"{_TEXT}s":
            parts.append(" " * _count(child))
        elif child.tag == f"{_TEXT}tab":
            parts.append("\t")
        elif child.tag == f"{_TEXT}line-break":
            parts.append("\n")
        elif child.tag == f"{_TEXT}note":
            body = child.find(f"{_TEXT}note-body")
            if body is not None:
                parts.append(f" ({' '.join(_inline(body).split())})")
        elif child.tag in (HEADING, PARAGRAPH):  # a paragraph inside a frame, a cell or a note: its own line
            parts.append("\n")
            _collect(child, parts)
            parts.append("\n")
        elif child.tag not in SKIPPED_INLINE and child.tag not in SKIPPED:
            _collect(child, parts)
        if child.tail:
            parts.append(_SPACES.sub(" ", child.tail))


def _count(element: ElementTree.Element) -> int:
    try:
        return max(1, min(MAX_REPEAT, int(element.get(f"{_TEXT}c", "1"))))
    except ValueError:
        return 1
