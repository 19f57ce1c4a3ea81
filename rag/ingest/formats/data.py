"""JSON, JSON Lines and Jupyter notebooks: their text, not their punctuation. Each record (an element of
a top-level list, a line of JSON Lines, a notebook cell) is one part, its fields written "path: value"
so a value keeps the name of what it is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.ingest.extracted import Extracted, LoadError, ReadOptions, TextBuilder
from rag.ingest.formats.text import decode_text

# A record's fields past this depth are written as JSON text rather than walked further
MAX_DEPTH = 32


def fields(value: Any, path: str = "", depth: int = 0) -> Iterator[str]:  # noqa: ANN401 - any JSON value
    """ "path: value" for each scalar under `value` (lists by position: "authors.2.name")."""
    if isinstance(value, dict) and depth < MAX_DEPTH:
        for key, item in value.items():
            yield from fields(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list) and depth < MAX_DEPTH:
        for n, item in enumerate(value, start=1):
            yield from fields(item, f"{path}.{n}" if path else str(n), depth + 1)
    elif value is not None and value != "":
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        shown = " ".join(str(shown).split())
        yield f"{path}: {shown}" if path else shown


def _parse(text: str, path: Path, where: str = "") -> Any:  # noqa: ANN401 - any JSON value
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise LoadError(f"{path}: corrupt JSON{where} ({error.msg} at line {error.lineno})") from None
    except RecursionError:
        raise LoadError(f"{path}: JSON nested too deeply{where}") from None


def read_json(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    value = _parse(decode_text(data, path), path)
    built = TextBuilder()
    records = value if isinstance(value, list) else [value]
    for n, item in enumerate(records, start=1):
        built.add("\n".join(fields(item)), f"item {n}" if isinstance(value, list) else "")
    return built.result(
        value.get("title", "") if isinstance(value, dict) and isinstance(value.get("title"), str) else ""
    )


def read_jsonl(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    built = TextBuilder()
    for n, line in enumerate(decode_text(data, path).splitlines(), start=1):
        if line.strip():
            built.add("\n".join(fields(_parse(line, path, f" on line {n}"))), f"line {n}")
    return built.result()


def read_notebook(path: Path, data: bytes, options: ReadOptions) -> Extracted:
    """A notebook's Markdown and code cells, in order (outputs left out: they are often large and generated)."""
    notebook = _parse(decode_text(data, path), path)
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise LoadError(f"{path}: not a Jupyter notebook (no cells)")
    built = TextBuilder()
    for n, cell in enumerate(cells, start=1):
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        built.add("".join(source) if isinstance(source, list) else str(source), f"cell {n}")
    return built.result()
