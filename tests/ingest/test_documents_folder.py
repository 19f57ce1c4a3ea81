"""A "Documents" folder as a person has one, indexed by `rag index` as they would run it: Markdown, a CSV,
slides, an e-mail, a file of a kind not read, a corrupt workbook and hidden files. Every file is either
indexed or named with its reason; a question about one cell finds the row that names its column, and the
answer's citation says where in the file it is."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pptx
import pytest
from helpers import run

from rag import RAG
from rag.api.gate import AnswerGate
from rag.collections import Collections
from rag.web.app import _Handlers

pytestmark = pytest.mark.slow  # runs the `rag` command and the real embedder


def _documents_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "notes.md").write_text("# Ferry notes\n\nThe Skerry ferry was repainted blue in March.\n")
    (folder / "fares.csv").write_text(
        "Ticket,Price,Valid on\nAdult,7.40 EUR,all boats\nChild,3.10 EUR,all boats\nBicycle,2.00 EUR,day boats\n"
    )
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Winter timetable"
    slide.placeholders[1].text = "From November the last ferry leaves the harbour at 21:15."
    slide.notes_slide.notes_text_frame.text = "Remind crews that the winter timetable starts on 3 November."
    deck.save(folder / "timetable.pptx")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "harbour@example.org", "crew@example.org", "Dock closure"
    mail.set_content("Dock 4 is closed for repairs until the end of January.")
    (folder / "closure.eml").write_bytes(mail.as_bytes())
    (folder / "backup.xyz").write_bytes(b"\x00binary backup")
    (folder / ".DS_Store").write_bytes(b"\x00\x00")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")


def test_a_documents_folder_is_indexed_and_nothing_is_dropped_silently(tmp_path: Path):
    docs, index = tmp_path / "Documents", tmp_path / "index"
    _documents_folder(docs)
    result = run("index", str(docs), "--index", str(index), "--json")
    # a folder's file of a kind not read is named, but does not fail the run
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(Path(s).name for s in report["added"]) == ["closure.eml", "fares.csv", "notes.md", "timetable.pptx"]
    assert [(Path(s["path"]).name, s["reason"]) for s in report["skipped"]] == [("backup.xyz", "unsupported")]
    assert "unsupported file type '.xyz'" in report["skipped"][0]["error"]
    assert report["hidden"] == 2  # .DS_Store and .git, said once
    assert "rag: not read:" in result.stderr and "2 hidden files and folders" in result.stderr

    (docs / "budget.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    result = run("index", str(docs), "--index", str(index), "--json")
    assert result.returncode == 3  # a file of a kind that is read, and could not be: partial success
    reasons = {Path(s["path"]).name: s["reason"] for s in json.loads(result.stdout)["skipped"]}
    assert reasons == {"backup.xyz": "unsupported", "budget.xlsx": "corrupt"}

    rag = RAG(index_dir=index)
    not_indexed = {Path(source).name: why for source, why in rag.not_indexed().items()}
    assert set(not_indexed) == {"backup.xyz", "budget.xlsx"} and "malformed XLSX" in not_indexed["budget.xlsx"]
    # the page's Documents panel lists the same, after the indexed documents
    table = _Handlers(Collections(rag), AnswerGate(), roles=False).documents_table()
    assert [Path(row[0]).name for row in table][-2:] == ["backup.xyz", "budget.xlsx"]
    assert table[-1][2].startswith("not indexed: malformed XLSX")

    top = rag.retrieve("How much is a child ticket?", k=1)[0].chunk
    assert Path(top.source).name == "fares.csv" and "Ticket: Child; Price: 3.10 EUR" in top.text
    assert top.location.startswith("row ")
    notes = rag.retrieve("When does the winter timetable start?", k=3)
    assert any(p.chunk.location == "slide 1" and "starts on 3 November" in p.chunk.text for p in notes)


def test_a_file_named_on_the_command_line_of_a_kind_not_read_fails_the_run(tmp_path: Path):
    (tmp_path / "data.xyz").write_text("text")
    result = run("index", str(tmp_path / "data.xyz"), "--index", str(tmp_path / "index"), "--json")
    assert result.returncode == 3  # partial success: not all that was named was indexed
    assert "rag: skipped:" in result.stderr and "unsupported file type '.xyz'" in result.stderr
