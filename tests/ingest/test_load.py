"""Loading real files of every supported format, and refusing bad ones with a clear LoadError."""

import hashlib
import os
import random
import re
import tracemalloc

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from rag.ingest.load import LoadError, ReadOptions, find_files, load_file, walk
from rag.ingest.split import Splitter


def _pdf(path, pages):
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def test_txt(tmp_path):
    path = tmp_path / "release_notes-2024.txt"
    path.write_text("Plain text body.\nSecond line.", encoding="utf-8")
    doc = load_file(path)
    assert doc.text == "Plain text body.\nSecond line."
    assert doc.title == ""  # a plain text file declares no title; its file name is not taken for one
    assert doc.page_starts == [] and doc.page_at(5) is None
    assert doc.sha256 == hashlib.sha256(b"Plain text body.\nSecond line.").hexdigest()  # of the text read


def test_txt_strips_utf8_bom(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffcafé".encode())
    assert load_file(path).text == "café"


def test_markdown_title_from_first_heading(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("Intro line\n\n# Install Guide\n\nRun the installer.\n\n## Later\n", encoding="utf-8")
    doc = load_file(path)
    assert doc.title == "Install Guide"
    assert "Run the installer." in doc.text


def test_html_drops_script_style_and_title(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Solar Panels</title><style>body { color: red; }</style>"
        "<script>var secret = 'hidden-js';</script></head>"
        "<body><h1>Efficiency</h1><p>Panels convert <b>sunlight</b> to power.</p></body></html>",
        encoding="utf-8",
    )
    doc = load_file(path)
    assert doc.title == "Solar Panels"
    assert "Efficiency" in doc.text and "sunlight" in doc.text
    assert "hidden-js" not in doc.text and "secret" not in doc.text
    assert "color" not in doc.text
    assert "Solar Panels" not in doc.text


def _html(tmp_path, html):
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    return load_file(path)


def test_html_inline_tags_stay_in_their_line_and_blocks_end_lines(tmp_path):
    doc = _html(
        tmp_path,
        "<title>Cells</title><h1>Efficiency</h1><p>Panels convert <b>sunlight</b> to\n   power &amp; heat.</p>"
        "<ul><li>one</li><li>two<br>three</li></ul><pre>x = 1\n  y = 2</pre><noscript>enable js</noscript>",
    )
    assert doc.title == "Cells"
    assert doc.text.splitlines() == [
        "Efficiency",
        "Panels convert sunlight to power & heat.",
        "one",
        "two",
        "three",
        "x = 1",
        "y = 2",
    ]


def test_html_tag_or_comment_that_never_ends_is_not_text(tmp_path):
    """As a browser reads it: markup left open at the end of the file is dropped, not shown as text."""
    assert _html(tmp_path, "<p>Hello world.</p><a href='x").text == "Hello world."
    assert _html(tmp_path, "<p>Hello</p><!-- never closed <p>secret</p>").text == "Hello"
    assert _html(tmp_path, "<p>Fish &amp; chips &amp").text == "Fish & chips &"


def test_html_memory_grows_with_the_text_not_the_tags(tmp_path):
    row = '<div class="row"><span class="a">alpha</span> <b>beta</b> <i>gamma</i> <a href="#x">delta</a></div>\n'
    html = "<html><body>" + row * 2500 + "</body></html>"  # 250 KB, 85% markup
    tracemalloc.start()
    try:
        doc = _html(tmp_path, html)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * len(html)  # a BeautifulSoup tree took 85 times the page
    assert doc.text.split().count("gamma") == 2500


def test_pdf_two_pages_maps_chunks_to_pages(tmp_path):
    path = _pdf(tmp_path / "manual.pdf", ["Alpha page talks about turbines.", "Beta page talks about batteries."])
    doc = load_file(path)
    assert "turbines" in doc.text and "batteries" in doc.text
    assert len(doc.page_starts) == 2 and doc.page_starts[0] == 0
    assert doc.text.index("batteries") >= doc.page_starts[1] > doc.text.index("turbines")
    words = Splitter(lambda t: len(t.split()), lambda t: [m.span() for m in re.finditer(r"\S+", t)], 5, 0)
    chunks = words.split(doc)
    pages = {c.page for c in chunks}
    assert pages == {1, 2}
    assert next(c for c in chunks if "turbines" in c.text).page == 1
    assert next(c for c in chunks if "batteries" in c.text).page == 2


def test_pdf_title_from_metadata(tmp_path):
    pdf = FPDF()
    pdf.set_title("Wind Report")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(0, 10, "Some text here.")
    pdf.output(str(tmp_path / "r.pdf"))
    assert load_file(tmp_path / "r.pdf").title == "Wind Report"


def test_docx_heading_paragraphs_and_table(tmp_path):
    document = docx.Document()
    document.add_heading("Quarterly Review", level=1)
    document.add_paragraph("Revenue grew in every region.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Region", "Growth"
    table.cell(1, 0).text, table.cell(1, 1).text = "North", "12%"
    path = tmp_path / "review.docx"
    document.save(str(path))
    doc = load_file(path)
    assert doc.title == "Quarterly Review"
    assert "Revenue grew in every region." in doc.text
    # the row names its columns, so a chunk holding it says what "12%" is
    assert "Region: North; Growth: 12%" in doc.text
    assert doc.location_of(doc.text.index("Region: North"), len(doc.text)) == "table 1"


# --- bad inputs -------------------------------------------------------------------------------


def _fails(path, *words):
    """The LoadError names `path`, and its reason (the message without the path, whose folder is named after
    the test and whose file name may hold the very word: "broken.pdf", "empty.txt") says each of `words`."""
    with pytest.raises(LoadError) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    reason = message[len(f"{path}: ") :].lower()
    for word in words:
        assert word in reason, (word, message)
    return message


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(random.Random(7).randbytes(2048))
    _fails(path, "corrupt pdf")


def _encrypted_pdf(tmp_path, text, user_password):
    writer = PdfWriter()
    for page in PdfReader(str(_pdf(tmp_path / "plain.pdf", [text]))).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner")
    path = tmp_path / "encrypted.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    assert PdfReader(str(path)).is_encrypted
    return path


def test_encrypted_pdf(tmp_path):
    _fails(_encrypted_pdf(tmp_path, "Secret content.", user_password="pw"), "encrypted", "needs a password")


def test_pdf_encrypted_with_an_empty_password_is_read(tmp_path):
    """Encrypted only to restrict copying or printing: anyone can open it, and so do we."""
    path = _encrypted_pdf(tmp_path, "Open content about tides.", user_password="")
    assert "Open content about tides." in load_file(path).text


def test_pdf_without_text(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 50, style="F")
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    _fails(path, "no text")


def test_malformed_docx(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(b"this is not a zip archive at all")
    _fails(path, "malformed docx")


def test_binary_txt(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(b"abc\x00\x01\x02def")
    _fails(path, "binary")


def test_legacy_and_utf16_text_is_read(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café au lait, 20 €".encode("cp1252"))
    assert load_file(latin).text == "café au lait, 20 €"
    wide = tmp_path / "wide.md"
    wide.write_bytes("# Titre\n\nnaïve façade".encode("utf-16"))
    read = load_file(wide)
    assert read.title == "Titre" and "naïve façade" in read.text


def test_undecodable_text_is_refused(tmp_path):
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(1, 32)) * 40 + b"\x81\x8d")  # control bytes, no NUL, not UTF-8 or cp1252
    _fails(path, "not text")


def test_fifo_and_broken_link_are_refused(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    _fails(fifo, "not a regular file")
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "missing.txt")
    _fails(link, "broken link")


def test_folder_walk_survives_a_symlink_loop(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "note.txt").write_text("hello")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert find_files([tmp_path]) == [(tmp_path / "a" / "note.txt").resolve()]


@pytest.mark.parametrize("name, content", [("empty.txt", b""), ("blank.md", b"  \n\n\t ")])
def test_empty_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    _fails(path, "empty")


def test_unsupported_extension(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text("text", encoding="utf-8")
    message = _fails(path, "unsupported")
    assert ".pdf" in message


def test_missing_file(tmp_path):
    _fails(tmp_path / "nowhere.txt", "no such file")


def test_too_large(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000, encoding="utf-8")
    with pytest.raises(LoadError, match="limit"):
        load_file(path, ReadOptions(max_bytes=1000))


# --- find_files -------------------------------------------------------------------------------


def test_find_files_recursive_skips_hidden_and_unsupported(tmp_path):
    root = tmp_path / "docs"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    for name in ["a.txt", "sub/b.md", "sub/deeper/c.PDF", "sub/d.html", "e.docx"]:
        (root / name).write_text("x", encoding="utf-8")
    for name in ["f.xyz", "g.exe", ".hidden.txt", ".git/h.txt", "sub/.cache.md"]:
        (root / name).write_text("x", encoding="utf-8")
    found = find_files([root])
    assert sorted(p.relative_to(root.resolve()).as_posix() for p in found) == [
        "a.txt",
        "e.docx",
        "sub/b.md",
        "sub/d.html",
        "sub/deeper/c.PDF",
    ]
    assert all(p.is_absolute() for p in found)
    # walk() gives every file, read or not, so a report can name the ones not read; hidden ones are counted
    walked = walk([root])
    assert sorted(p.name for p in walked.files) == ["a.txt", "b.md", "c.PDF", "d.html", "e.docx", "f.xyz", "g.exe"]
    assert walked.hidden == 3  # .git (not walked into), .hidden.txt, sub/.cache.md


def test_find_files_keeps_explicit_files_and_dedupes(tmp_path):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "notes.xyz").write_text("x", encoding="utf-8")
    assert [p.name for p in walk([tmp_path, tmp_path / "a.txt", tmp_path / "notes.xyz"]).files] == [
        "a.txt",
        "notes.xyz",
    ]
    assert [p.name for p in find_files([tmp_path, tmp_path / "a.txt"])] == ["a.txt"]


def test_find_files_missing_path(tmp_path):
    with pytest.raises(LoadError, match="no such file or folder"):
        find_files([tmp_path / "absent"])


@pytest.mark.parametrize("broken_filter", [b"/FlateDecodX", b"/Fl"])
def test_pdf_with_unknown_filter_is_corrupt_not_a_crash(tmp_path, broken_filter):
    data = _pdf(tmp_path / "ok.pdf", ["Some words here."]).read_bytes()
    path = tmp_path / "odd.pdf"
    path.write_bytes(data.replace(b"/FlateDecode", broken_filter))
    _fails(path, "corrupt pdf")
