"""The `rag` command as a user runs it: JSON contract, and one-line errors with non-zero exits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run

pytestmark = pytest.mark.slow  # runs the `rag` command in new processes


def test_index_json_contract(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")
    result = run("index", str(docs), "--index", str(tmp_path / "idx"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("documents", "chunks", "added", "updated", "removed", "skipped", "seconds"):
        assert key in report
    assert report["documents"] == 1 and report["chunks"] == 1 and report["skipped"] == []


def test_ask_json_contract(seed_index: Path, seed_rag):  # seed_rag: the index built
    result = run("ask", "Which agreement does Beijing honor?", "--index", str(seed_index), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    for key in ("question", "answer", "abstained", "citations", "timings_ms"):
        assert key in answer
    assert "1986" in answer["answer"]
    assert {"n", "source", "text", "score"} <= set(answer["citations"][0])
    assert {"retrieve", "generate", "first_token", "total"} <= set(answer["timings_ms"])


def test_empty_question():
    assert_one_line_error(run("ask", "   "), "question is empty")


def test_missing_index(tmp_path: Path):
    assert_one_line_error(run("ask", "anything?", "--index", str(tmp_path / "nowhere")), "no index at")


def test_missing_file(tmp_path: Path):
    result = run("index", str(tmp_path / "missing.txt"), "--index", str(tmp_path / "idx"))
    assert_one_line_error(result, "missing.txt", "no such file")


def test_corrupt_pdf_is_named_and_the_rest_indexed(tmp_path: Path):
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7 this is not really a pdf")
    (tmp_path / "good.txt").write_text("Penguins live in the southern hemisphere.")
    result = run("index", str(tmp_path / "bad.pdf"), str(tmp_path / "good.txt"), "--index", str(tmp_path / "idx"))
    assert_one_line_error(result, "bad.pdf", "corrupt PDF")
    assert "1 documents" in result.stdout


def test_wrong_model_path(seed_index: Path, seed_rag, tmp_path: Path):
    result = run("ask", "Which agreement?", "--index", str(seed_index), "--generator", str(tmp_path / "none.gguf"))
    assert_one_line_error(result, "none.gguf", "not found")


def test_unknown_model_name(seed_index: Path, seed_rag):
    result = run("ask", "Which agreement?", "--index", str(seed_index), "--generator", "no-such-model")
    assert_one_line_error(result, "no-such-model", "not a known name")


def test_damaged_index(tmp_path: Path):
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "manifest.json").write_text("{ not json")
    assert_one_line_error(run("ask", "anything?", "--index", str(folder)), "damaged", "--rebuild")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")
    assert_one_line_error(run("index", str(docs), "--index", str(folder)), "damaged", "--rebuild")
    rebuilt = run("index", str(docs), "--index", str(folder), "--rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    report = json.loads(rebuilt.stdout)
    assert len(report["added"]) == 1 and report["chunks"] == 1
    answer = run("ask", "What do sea otters do while they sleep?", "--index", str(folder), "--json")
    assert answer.returncode == 0 and "otters.md" in answer.stdout


def test_bad_setting_value(seed_index: Path, seed_rag):
    result = run("ask", "Which agreement?", "--index", str(seed_index), "--top-k", "0")
    assert_one_line_error(result, "top_k")


def test_bad_serve_options():
    assert_one_line_error(run("serve", "--auth", "no-colon"), "USER:PASSWORD")
    assert_one_line_error(run("serve", "--concurrency", "0"), "at least 1")


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path: Path, monkeypatch, capsys):
    """`rag collections --json | head -1`: the pipe closes while rag still prints."""
    from rag.cli import main

    class ClosedPipe:
        def __init__(self) -> None:
            self.file = (tmp_path / "stdout").open("w")

        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return self.file.fileno()

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["collections", "--json"]) == 1
    assert capsys.readouterr().err == ""  # no "unexpected error", no traceback
