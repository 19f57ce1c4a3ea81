"""A document read by an older revision of its reader is read again, though its file did not change: an index
built before PDF lines were run on into paragraphs gets the new text on its next update, and nothing else is
read again."""

from __future__ import annotations

from pathlib import Path

from fakes import FakeEmbedder
from fpdf import FPDF

from rag.ingest.formats import revision_of
from rag.ingest.split import splitter_for
from rag.store.index import Index
from rag.store.sync import sync


def test_only_documents_of_a_changed_reader_are_read_again(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The harbour bridge opened in 1932 and carries eight lanes.", encoding="utf-8")
    pdf = FPDF(format=(120, 200))
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "The tunnel under the river was finished in 1987 by the Kessler company. " * 3)
    pdf.output(str(docs / "report.pdf"))
    embedder = FakeEmbedder()
    splitter = splitter_for(embedder, 64, 16)
    index = Index.create(tmp_path / "index", {"name": "fake", "dimension": embedder.dimension}, {})
    sync(index, embedder, splitter, [docs])
    entries = index.manifest.documents
    pdf_source = next(s for s in entries if s.endswith(".pdf"))
    assert entries[pdf_source].revision == revision_of(docs / "report.pdf") == 2

    # as an index saved by the reader before: revision 1, its text another
    for entry in entries.values():
        entry.revision = 1
    entries[pdf_source].sha256 = "the text as the old reader gave it"
    report = sync(index, embedder, splitter, [docs])
    assert [Path(s).name for s in report.updated] == ["report.pdf"]
    assert [Path(s).name for s in report.unchanged] == ["notes.txt"]
    assert entries[pdf_source].revision == 2 and entries[pdf_source].sha256 != "the text as the old reader gave it"

    # read by today's reader: not read again while its file is unchanged
    entries[pdf_source].sha256 = "another text"
    report = sync(index, embedder, splitter, [docs])
    assert report.updated == [] and len(report.unchanged) == 2
