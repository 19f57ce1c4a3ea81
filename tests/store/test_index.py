"""The on-disk index (manifest + FAISS + JSONL, no pickles) and incremental sync of a folder."""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexMissingError, RagError
from rag.ingest.split import Splitter, splitter_for
from rag.store.index import DocumentEntry, Index
from rag.store.sync import sync
from rag.types import Chunk

DIM = 8
EMBEDDER = {"name": "test", "dimension": DIM, "fingerprint": "abc"}
SPLITTING = {"max_tokens": 64, "overlap": 16}


def _vectors(n, seed):
    rows = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _chunks(source, texts):
    return [Chunk(id=-1, source=source, title=source, text=t, start=0, end=len(t), page=1) for t in texts]


def _add(index, source, texts, seed):
    vectors = _vectors(len(texts), seed)
    entry = DocumentEntry(sha256=f"sha-{source}", title=source, chunk_ids=[])
    index.add(source, entry, _chunks(source, texts), vectors)
    return vectors


@pytest.fixture
def index(tmp_path):
    return Index.create(tmp_path / "index", EMBEDDER, SPLITTING)


def test_add_and_search_finds_exact_vector(index):
    a = _add(index, "a.txt", ["alpha one", "alpha two"], seed=1)
    _add(index, "b.txt", ["beta one", "beta two", "beta three"], seed=2)
    assert len(index) == 5
    hits = index.search(a[1], k=3)
    assert hits[0].chunk.text == "alpha two" and hits[0].chunk.source == "a.txt"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert len(hits) == 3 and hits[0].score >= hits[1].score >= hits[2].score


def test_ids_are_unique_and_recorded(index):
    _add(index, "a.txt", ["x", "y"], seed=1)
    _add(index, "b.txt", ["z"], seed=2)
    ids = index.manifest.documents["a.txt"].chunk_ids + index.manifest.documents["b.txt"].chunk_ids
    assert sorted(ids) == sorted(index.chunks) and len(set(ids)) == 3


def test_search_empty_index(index):
    assert index.search(_vectors(1, 0)[0], k=5) == []


def test_remove_drops_chunks_and_vectors(index):
    a = _add(index, "a.txt", ["alpha"], seed=1)
    _add(index, "b.txt", ["beta"], seed=2)
    assert index.remove("a.txt") is True
    assert index.remove("a.txt") is False
    assert len(index) == 1 and index.vectors.ntotal == 1
    assert [p.chunk.source for p in index.search(a[0], k=5)] == ["b.txt"]  # a's vector finds only what is left


def test_re_adding_a_source_replaces_it(index):
    _add(index, "a.txt", ["old one", "old two"], seed=1)
    new = _add(index, "a.txt", ["new"], seed=3)
    assert len(index) == 1 and index.vectors.ntotal == 1
    assert index.search(new[0], k=5)[0].chunk.text == "new"


def test_vectors_of_returns_stored_vectors(index):
    a = _add(index, "a.txt", ["x", "y", "z"], seed=1)
    np.testing.assert_allclose(index.vectors_of("a.txt"), a, atol=1e-6)


def test_save_open_round_trip(index):
    a = _add(index, "a.txt", ["alpha one", "alpha two"], seed=1)
    _add(index, "b.txt", ["beta"], seed=2)
    index.remove("b.txt")
    _add(index, "c.txt", ["gamma"], seed=4)
    index.save()
    loaded = Index.open(index.folder)
    assert len(loaded) == 3
    assert set(loaded.manifest.documents) == {"a.txt", "c.txt"}
    assert loaded.manifest.embedder == EMBEDDER and loaded.manifest.splitting == SPLITTING
    assert loaded.manifest.next_id == index.manifest.next_id
    assert {c.text for c in loaded.chunks.values()} == {"alpha one", "alpha two", "gamma"}
    hit = loaded.search(a[0], k=1)[0]
    assert hit.chunk.text == "alpha one" and hit.chunk.page == 1
    # ids keep counting after reopening: no collision with existing chunks
    _add(loaded, "d.txt", ["delta"], seed=5)
    assert len(set(loaded.chunks)) == 4


def test_save_writes_generation_files_and_removes_old_ones(index):
    _add(index, "a.txt", ["alpha"], seed=1)
    index.save()
    folder = index.folder
    generation_1 = {"vectors.1.faiss", "chunks.1.jsonl", "chunks.1.offsets.npy", "bm25.1"}
    assert {p.name for p in folder.iterdir()} == {"manifest.json", *generation_1}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == {
        "vectors": "vectors.1.faiss",
        "chunks": "chunks.1.jsonl",
        "offsets": "chunks.1.offsets.npy",
        "keywords": "bm25.1",
    }
    assert manifest["vector_index"] == {"type": "flat"}
    assert manifest["documents"]["a.txt"]["title"] == "a.txt"
    lines = (folder / "chunks.1.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["alpha"]

    _add(index, "b.txt", ["beta"], seed=2)
    index.save()
    generation_2 = {"vectors.2.faiss", "chunks.2.jsonl", "chunks.2.offsets.npy", "bm25.2"}
    assert {p.name for p in folder.iterdir()} == {"manifest.json", *generation_2}
    reopened = Index.open(folder)
    assert len(reopened) == 2
    hits = [chunk_id for chunk_id, _ in reopened.keywords.search("beta", 5)]
    assert hits == reopened.manifest.documents["b.txt"].chunk_ids  # keyword search saved with the index


def test_save_removes_temp_files_a_killed_writer_left(index):
    """A writer killed before its manifest rename leaves `.manifest.json.<pid>.tmp`: the next one removes it."""
    _add(index, "a.txt", ["alpha"], seed=1)
    index.save()
    for name in (".manifest.json.4242.tmp", "chunks.9.jsonl.tmp"):
        (index.folder / name).write_text("partial")
    _add(index, "b.txt", ["beta"], seed=2)
    index.save()
    assert not list(index.folder.glob("*.tmp"))
    assert len(Index.open(index.folder)) == 2


def test_nothing_is_pickled(index):
    _add(index, "a.txt", ["alpha"], seed=1)
    index.save()
    index.save()
    for path in index.folder.rglob("*"):
        assert path.is_dir() or path.read_bytes()[:1] != b"\x80", path.name


def test_open_missing_folder(tmp_path):
    with pytest.raises(IndexMissingError, match="no index"):
        Index.open(tmp_path / "nothing-here")


def test_open_damaged_manifest(index):
    _add(index, "a.txt", ["alpha"], seed=1)
    index.save()
    (index.folder / "manifest.json").write_text("{not json at all", encoding="utf-8")
    with pytest.raises(RagError, match="damaged"):
        Index.open(index.folder)


def test_open_missing_chunks_file(index):
    _add(index, "a.txt", ["alpha"], seed=1)
    index.save()
    (index.folder / "chunks.1.jsonl").unlink()
    with pytest.raises(RagError, match="damaged"):
        Index.open(index.folder)


def test_open_chunks_and_vectors_disagree(index):
    _add(index, "a.txt", ["alpha", "beta"], seed=1)
    index.save()
    path = index.folder / "chunks.1.jsonl"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(RagError, match="damaged"):
        Index.open(index.folder)


class _ConstantEmbedder:
    """Enough of an embedder for sync: a unit vector per text."""

    def encode(self, texts, progress=False):
        return np.full((len(texts), DIM), DIM**-0.5, dtype=np.float32)


def test_sync_skips_a_file_name_that_is_not_utf8(tmp_path):
    """One such name used to abort the whole run (its name cannot be written in the index's UTF-8 JSON)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("The harbour ledger is kept here.", encoding="utf-8")
    descriptor = os.open(os.fsencode(docs) + b"/caf\xe9.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(descriptor, b"A file with a Latin-1 name.")
    os.close(descriptor)
    splitter = Splitter(lambda t: len(t.split()), lambda t: [m.span() for m in re.finditer(r"\S+", t)], 64, 16)
    index = Index.create(tmp_path / "index", EMBEDDER, SPLITTING)
    for _ in range(2):  # the first index run, then the update that `rag ask` makes when it opens the index
        report = sync(index, _ConstantEmbedder(), splitter, [docs])
        index.save()
        assert _names(index.manifest.documents) == ["good.txt"]
        assert report.skipped == [
            {
                "path": "docs/caf\\xe9.txt",
                "error": "docs/caf\\xe9.txt: file name is not valid UTF-8: rename it",
                "reason": "unreadable",
            }
        ]
        json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")  # prints as JSON
        index = Index.open(index.folder)
    assert [c.text for c in index.chunks.values()] == ["The harbour ledger is kept here."]


# --- sync with the real embedder ----------------------------------------------------------------


@pytest.fixture
def counted(embedder, monkeypatch):
    """The embedder, recording how many texts each encode call receives."""
    calls = []
    encode = embedder.encode

    def counting(texts, progress=False):
        calls.append(len(texts))
        return encode(texts, progress=progress)

    monkeypatch.setattr(embedder, "encode", counting)
    return embedder, calls


TEXTS = {
    "apples.txt": "Apples grow on trees in orchards. They are harvested in autumn.",
    "rivers.txt": "The Nile is a long river in Africa. It flows north into the sea.",
    "engines.txt": "A diesel engine ignites fuel by compression. It needs no spark plug.",
}


def _sync(tmp_path, embedder):
    index_folder = tmp_path / "index"
    index = Index.open(index_folder) if (index_folder / "manifest.json").exists() else None
    if index is None:
        index = Index.create(index_folder, {"name": "minilm", "dimension": embedder.dimension}, SPLITTING)
    report = sync(index, embedder, splitter_for(embedder, 64, 16), [tmp_path / "docs"])
    index.save()
    return index, report


def _names(sources):
    return sorted(os.path.basename(s) for s in sources)


def test_sync_incremental(tmp_path, counted):
    embedder, calls = counted
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TEXTS.items():
        (docs / name).write_text(text, encoding="utf-8")

    index, report = _sync(tmp_path, embedder)
    assert _names(report.added) == sorted(TEXTS)
    assert report.documents == 3 and report.chunks == len(index) >= 3
    assert sum(calls) == len(index)  # the count sees what sync embeds: the zero counts below mean something
    assert index.search(embedder.encode(["Which river flows through Africa?"])[0], k=1)[0].chunk.source.endswith(
        "rivers.txt"
    )

    calls.clear()
    index, report = _sync(tmp_path, embedder)
    assert _names(report.unchanged) == sorted(TEXTS)
    assert report.added == report.updated == report.removed == []
    assert sum(calls) == 0

    (docs / "apples.txt").write_text("Pears are softer than apples. They ripen after picking.", encoding="utf-8")
    index, report = _sync(tmp_path, embedder)
    assert _names(report.updated) == ["apples.txt"] and report.added == []
    assert any("Pears" in c.text for c in index.chunks.values())
    assert not any("orchards" in c.text for c in index.chunks.values())

    (docs / "engines.txt").unlink()
    index, report = _sync(tmp_path, embedder)
    assert _names(report.removed) == ["engines.txt"]
    assert not any(c.source.endswith("engines.txt") for c in index.chunks.values())
    assert report.documents == 2

    calls.clear()
    shutil.copy(docs / "rivers.txt", docs / "rivers-copy.txt")
    index, report = _sync(tmp_path, embedder)
    assert _names(report.added) == ["rivers-copy.txt"]
    assert sum(calls) == 0  # same content: vectors reused, nothing embedded
    source = next(s for s in index.manifest.documents if s.endswith("rivers-copy.txt"))
    original = next(s for s in index.manifest.documents if s.endswith("rivers.txt"))
    np.testing.assert_allclose(index.vectors_of(source), index.vectors_of(original), atol=1e-6)


def test_sync_skips_corrupt_pdf(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TEXTS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf")
    index, report = _sync(tmp_path, embedder)
    assert _names(report.added) == sorted(TEXTS)
    assert len(report.skipped) == 1
    assert report.skipped[0]["path"].endswith("broken.pdf")
    assert "corrupt PDF" in report.skipped[0]["error"]
    assert not any(s.endswith("broken.pdf") for s in index.manifest.documents)


def test_sync_copy_of_content_that_changed_in_the_same_run(tmp_path, embedder):
    """b.txt takes a.txt's old text while a.txt changes: b must get vectors of its own text."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(TEXTS["apples.txt"])
    _sync(tmp_path, embedder)
    (docs / "a.txt").write_text("The Nile is a long river in Africa.")
    (docs / "b.txt").write_text(TEXTS["apples.txt"])
    index, report = _sync(tmp_path, embedder)
    assert _names(report.updated) == ["a.txt"] and _names(report.added) == ["b.txt"]
    b_source = next(s for s in index.manifest.documents if s.endswith("b.txt"))
    own = embedder.encode([TEXTS["apples.txt"]])[0]
    assert float(index.vectors_of(b_source)[0] @ own) > 0.99


def test_index_folder_holds_nothing_that_needs_unpickling(seed_index: Path, seed_rag):
    """Opening an index must never run code: JSON, FAISS and numpy arrays read with pickle refused."""
    files = [p for p in seed_index.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert path.suffix in {".json", ".jsonl", ".faiss", ".npy", ""}, path
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)
        elif path.suffix in {".json"}:
            json.loads(path.read_text(encoding="utf-8"))
