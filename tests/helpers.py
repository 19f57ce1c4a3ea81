"""Helpers shared by test modules in different folders: running the CLI, and small data sets written on the fly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.settings import eval_data_dir

SHARED_DATA = eval_data_dir()
SEED_GOLD = Path(__file__).resolve().parents[1] / "eval" / "seed_gold.jsonl"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """A non-zero exit, no traceback, and the problem named on a `rag:` line: each of `words` is said there,
    not only somewhere in a library's output, and not by the catch-all for an error nobody foresaw."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("rag:")]
    assert lines, result.stderr
    assert not [line for line in lines if line.startswith("rag: unexpected error")], result.stderr
    for word in words:
        assert any(word in line for line in lines), (word, result.stderr)


def write_lines(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def make_beir(folder: Path) -> Path:
    folder.mkdir(parents=True)
    write_lines(
        folder / "corpus.jsonl",
        [
            {
                "_id": "d1",
                "title": "Otters",
                "text": "Sea otters hold hands while they sleep so they do not drift apart.",
            },
            {"_id": "d2", "title": "Bees", "text": "Honey bees dance to tell each other where flowers are."},
            {"_id": "d3", "title": "", "text": "Penguins cannot fly but they swim very fast."},
        ],
    )
    write_lines(
        folder / "queries.jsonl",
        [
            {"_id": "q1", "text": "Why do otters hold hands?"},
            {"_id": "q2", "text": "How do bees share where flowers are?"},
            {"_id": "q3", "text": "A query without judgements"},
        ],
    )
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n", encoding="utf-8")
    return folder


def drained(stream: Iterator[str]) -> tuple[str, Any]:
    """The text a generator's stream wrote and its return value (the Usage it reports)."""
    pieces = []
    try:
        while True:
            pieces.append(next(stream))
    except StopIteration as stop:
        return "".join(pieces), stop.value
