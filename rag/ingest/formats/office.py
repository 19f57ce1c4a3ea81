"""Word (.docx) and PowerPoint (.pptx), through python-docx and python-pptx: text in reading order, tables
as rows that name their columns (rag/ingest/tables.py), each part labelled for citations (the section
heading of a paragraph, "table 2", "slide 3", "slide 3, notes")."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.formats.zipped import checked_zip
from rag.ingest.tables import cell_text, records


def _opened(path: Path, data: bytes, kind: str, options: ReadOptions, opener: Any) -> Any:  # noqa: ANN401
    checked_zip(path, data, kind, options)
    try:
        return opener(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - any failure to parse means a malformed file
        raise LoadError(f"{path}: malformed {kind} ({type(error).__name__})") from None


def _add_table(built: TextBuilder, rows: list[list[str]], label: str) -> None:
    for _, text in records(rows):
        built.add(text, label, end="\n")
    built.end_paragraph()


def read_docx(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    import docx
    from docx.table import Table

    document = _opened(path, data, "DOCX", options, docx.Document)
    built = TextBuilder()
    heading, tables, first_heading = "", 0, ""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            tables += 1
            _add_table(built, [[cell_text(cell.text) for cell in row.cells] for row in block.rows], f"table {tables}")
            continue
        text = block.text.strip()
        if text and block.style is not None and block.style.name.startswith(("Heading", "Title")):
            heading = text
            first_heading = first_heading or text
        built.add(text, f"section: {heading}" if heading else "")
    return built.result(document.core_properties.title or first_heading)


def _shape_texts(shapes: Any) -> Iterator[tuple[str, list[list[str]] | None]]:  # noqa: ANN401 - pptx shapes
    """(text, None) of each text frame and (\"\", rows) of each table, groups opened, top to bottom."""
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            yield "", [[cell_text(cell.text) for cell in row.cells] for row in shape.table.rows]
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text, None


def read_pptx(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    """Each slide's title first, then its text and tables from top to bottom, then its speaker notes."""
    from pptx import Presentation

    presentation = _opened(path, data, "PPTX", options, Presentation)
    built = TextBuilder()
    first_title = ""
    for n, slide in enumerate(presentation.slides, start=1):
        title = slide.shapes.title
        title_text = title.text_frame.text.strip() if title is not None and title.has_text_frame else ""
        first_title = first_title or title_text
        built.add(title_text, f"slide {n}")
        others = [shape for shape in slide.shapes if title is None or shape.shape_id != title.shape_id]
        for text, rows in _shape_texts(others):
            if rows is None:
                built.add(text, f"slide {n}")
            else:
                _add_table(built, rows, f"slide {n}")
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            built.add(slide.notes_slide.notes_text_frame.text, f"slide {n}, notes")
    return built.result(presentation.core_properties.title or first_title)
