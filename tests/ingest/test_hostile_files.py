"""One `rag index` run over a folder of broken and hostile files beside good ones: every bad file is
skipped with its reason, every good one is indexed and searchable, and nothing hangs or crashes."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from rag import RAG
from rag.ingest.split import CHARS_PER_TOKEN

pytestmark = pytest.mark.slow  # indexes with the real embedder

ROOT = Path(__file__).resolve().parents[2]


def _pdf(path: Path, text: str | None) -> Path:
    pdf = FPDF()
    pdf.add_page()
    if text is None:
        pdf.rect(20, 20, 100, 60, style="F")  # a picture, no text layer: what a scan looks like
    else:
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def _good_files(folder: Path) -> dict[str, str]:
    """name -> a word found only in that file."""
    words = {}

    def word(name: str) -> str:
        words[name] = f"quokka{len(words)}zanzibar"
        return words[name]

    (folder / "plain.txt").write_text(f"The harbour ledger mentions {word('plain.txt')} twice.\n")
    (folder / "notes.md").write_text(f"# Notes\n\nThe orchard census found {word('notes.md')}.\n")
    (folder / "page.html").write_text(
        f"<html><head><title>Page</title><script>alert('x')</script></head>"
        f"<body><p>The lighthouse keeper wrote {word('page.html')}.</p><img src=x onerror=alert(1)></body></html>"
    )
    depth = 50_000
    (folder / "deep.html").write_text("<div>" * depth + f"Deep inside lies {word('deep.html')}." + "</div>" * depth)
    _pdf(folder / "report.pdf", f"The quarry report lists {word('report.pdf')} on page one.")
    memo = docx.Document()
    memo.add_paragraph(f"The cooperative memo names {word('memo.docx')}.")
    memo.save(str(folder / "memo.docx"))
    (folder / "legacy.txt").write_bytes(f"Café tariff notes: {word('legacy.txt')} €5.".encode("cp1252"))
    (folder / "wide.md").write_bytes(f"Estuary survey: {word('wide.md')}.".encode("utf-16"))
    writer = PdfWriter()
    for page in PdfReader(_pdf(folder / "restricted.tmp", f"The tide table lists {word('restricted.pdf')}.")).pages:
        writer.add_page(page)
    writer.encrypt(user_password="", owner_password="owner")  # copying restricted; opens without a password
    with open(folder / "restricted.pdf", "wb") as handle:
        writer.write(handle)
    (folder / "restricted.tmp").unlink()
    # one line: a sentence cut into token windows, ending in a 50 KB "word" cut by characters
    (folder / "oneline.txt").write_text(f"The ferry log names {word('oneline.txt')} " + "tide " * 5_000 + "x" * 50_000)
    return words


def _bad_files(folder: Path) -> dict[str, str]:
    """name -> a word the skip reason must contain."""
    rng = random.Random(11)
    bad = {}
    (folder / "empty.txt").write_bytes(b"")
    bad["empty.txt"] = "empty"
    (folder / "blank.md").write_text("  \n\n\t \n")
    bad["blank.md"] = "empty"
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(4000))
    bad["image.txt"] = "binary"
    (folder / "noise.md").write_bytes(bytes(range(1, 32)) * 50 + b"\x81\x8d\x8f")
    bad["noise.md"] = "not text"
    (folder / "random.pdf").write_bytes(rng.randbytes(3000))
    bad["random.pdf"] = "corrupt pdf"
    whole = _pdf(folder / "whole.tmp", "A report that will be cut in half. " * 40).read_bytes()
    (folder / "whole.tmp").unlink()
    (folder / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    bad["truncated.pdf"] = "corrupt pdf"
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(whole)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    with open(folder / "locked.pdf", "wb") as handle:
        writer.write(handle)
    bad["locked.pdf"] = "encrypted"
    _pdf(folder / "scanned.pdf", None)
    bad["scanned.pdf"] = "no text found, even by ocr"
    (folder / "garbage.docx").write_bytes(rng.randbytes(2000))
    bad["garbage.docx"] = "malformed docx"
    with zipfile.ZipFile(folder / "notword.docx", "w") as archive:
        archive.writestr("hello.txt", "a zip, but not a Word document")
    bad["notword.docx"] = "malformed docx"
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (210 * 1024 * 1024))
    bad["bomb.docx"] = "zip bomb"
    (folder / "huge.txt").write_text("All work and no play. " * 60_000)  # 1.3 MB, over the 1 MB limit set below
    bad["huge.txt"] = "limit"
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    bad["dangling.txt"] = "broken link"
    os.mkfifo(folder / "pipe.txt")
    bad["pipe.txt"] = "not a regular file"
    (folder / "loop").symlink_to(folder)  # a symlink loop: the walk must end
    (folder / "empty.docx").write_bytes(_empty_docx())
    bad["empty.docx"] = "empty"
    (folder / "locked.txt").write_text("nobody may read this")
    (folder / "locked.txt").chmod(0)
    bad["locked.txt"] = "permission denied"
    descriptor = os.open(os.fsencode(folder) + b"/caf\xe9.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(descriptor, b"A name in Latin-1, not UTF-8.")
    os.close(descriptor)
    bad["caf\\xe9.txt"] = "not valid utf-8"  # shown with the byte escaped
    return bad


def _empty_docx() -> bytes:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    return buffer.getvalue()


def _without_root_privileges() -> list[str]:
    """Root reads a mode-000 file anyway; without its DAC capabilities it cannot, like any user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): an unreadable file cannot be made")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def test_hostile_corpus_indexes_the_good_and_names_the_bad(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = _good_files(corpus)
    bad = _bad_files(corpus)
    assert len(bad) >= 15
    index = tmp_path / "index"
    process = subprocess.run(
        [
            *_without_root_privileges(),
            sys.executable,
            "-m",
            "rag.cli",
            "index",
            str(corpus),
            "--index",
            str(index),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "RAG_MAX_FILE_MB": "1"},
    )
    assert process.returncode == 3, process.stderr[-3000:]  # indexed, but some files were skipped: partial
    report = json.loads(process.stdout)
    skipped = {Path(item["path"]).name: item["error"] for item in report["skipped"]}
    for name, reason in bad.items():
        assert name in skipped, f"{name} was not reported as skipped"
        # the reason follows the file's path, which may hold the word itself ("empty.txt"): read it alone
        named, _, said = skipped[name].partition(f"{name}: ")
        assert named and said, f"{name}: {skipped[name]} (the path first, then the reason)"
        assert reason in said.lower(), f"{name}: {skipped[name]}"
        assert "\n" not in skipped[name] and "Traceback" not in skipped[name]
    assert set(skipped) == set(bad)
    assert sorted(Path(source).name for source in report["added"]) == sorted(good)
    rag = RAG(index_dir=index)
    for name, word in good.items():
        top = rag.retrieve(word, k=1)[0]
        assert Path(top.chunk.source).name == name and word in top.chunk.text
    page = next(c for c in rag.index.chunks.values() if c.source.endswith("page.html"))
    assert "alert" not in page.text and "<img" not in page.text  # script and markup are not document text
    longest = max(len(c.text) for c in rag.index.chunks.values())
    assert longest <= CHARS_PER_TOKEN * rag.settings.chunk_tokens
