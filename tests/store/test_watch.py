"""Watched folders: files added, changed, renamed and deleted reach the index through the same update as
`rag index`, each quiet group of changes as one update (the real watcher, real files, a stand-in embedder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from rag.settings import Settings
from rag.store.library import Library
from rag.store.watch import FolderWatch

WAIT_S = 30  # generous: CI machines are shared; the waits end on the update itself, not on a clock


@pytest.fixture
def watched(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "first.md").write_text("# Harbour\n\nThe harbour opens at dawn.\n")
    settings = Settings(index_dir=tmp_path / "docs" / "index", corpus=[docs])  # the index inside the folder
    embedder = FakeEmbedder()
    library = Library(settings.paths, settings.ingest, lambda: embedder)
    library.build([docs])
    watch = FolderWatch(library, [docs], quiet_ms=100).start()
    yield library, docs, watch
    watch.stop()


def _sources(library: Library) -> list[str]:
    return sorted(Path(source).name for source in library.documents())


def _changed(watch: FolderWatch, change) -> None:  # noqa: ANN001 - a function making the change
    """Make a change and wait for the update it causes."""
    before = watch.state.updates
    change()
    assert watch.wait_for_update(before, WAIT_S), f"no update within {WAIT_S} s ({watch.state.error})"


def test_added_changed_renamed_and_deleted_files_reach_the_index(watched):
    library, docs, watch = watched
    _changed(watch, lambda: (docs / "second.txt").write_text("The ferry leaves at noon."))
    assert _sources(library) == ["first.md", "second.txt"]
    assert "noon" in " ".join(c.text for c in library.index.chunks.values())

    _changed(watch, lambda: (docs / "second.txt").write_text("The ferry leaves at midnight."))
    texts = " ".join(c.text for c in library.index.chunks.values())
    assert "midnight" in texts and "noon" not in texts

    encoded = len(library.embedder.encoded)
    _changed(watch, lambda: (docs / "second.txt").rename(docs / "renamed.txt"))
    assert _sources(library) == ["first.md", "renamed.txt"]
    assert len(library.embedder.encoded) == encoded  # a rename takes its vectors by content: nothing embedded

    _changed(watch, lambda: (docs / "renamed.txt").unlink())
    assert _sources(library) == ["first.md"]
    assert watch.state.last is not None and watch.state.last.removed == ["renamed.txt"]


def test_two_hundred_files_copied_at_once_end_in_one_consistent_index(watched, tmp_path: Path):
    library, docs, watch = watched
    batch = tmp_path / "batch"
    batch.mkdir()
    for n in range(200):
        (batch / f"note{n:03d}.txt").write_text(f"Note {n} records tide number {n}.")
    before = watch.state.updates

    def copied_in() -> None:
        shutil.copytree(batch, docs / "batch")

    _changed(watch, copied_in)
    # later groups of the same copy may follow; wait until everything is in, then check the index whole
    while len(library.documents()) < 201:
        assert watch.wait_for_update(watch.state.updates, WAIT_S), "the copy never finished indexing"
    assert watch.state.updates - before <= 3  # grouped, not one update per file
    index = library.index
    assert len(index.manifest.documents) == 201
    chunk_ids = [i for entry in index.manifest.documents.values() for i in entry.chunk_ids]
    assert sorted(chunk_ids) == sorted(index.chunks) and len(index) == len(chunk_ids)


def test_hidden_scratch_and_index_files_wake_nothing(watched):
    library, docs, watch = watched
    before = watch.state.updates
    (docs / ".hidden.txt").write_text("secret")
    (docs / "~$report.docx").write_bytes(b"lock")
    (docs / "draft.md~").write_text("backup")
    library.build([docs])  # the index inside the folder is saved: its files change
    assert not watch.wait_for_update(before, 2.0)  # a short wait: here nothing must happen
    assert _sources(library) == ["first.md"]
