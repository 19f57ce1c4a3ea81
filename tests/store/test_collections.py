"""Named collections: where each lives, how the CLI makes and lists them, and their errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_one_line_error

from rag.collections import Collections, UnknownCollectionError, collection_names
from rag.settings import DEFAULT_INDEX, Settings


def run(*args: str, collections_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAG_COLLECTIONS_DIR": str(collections_dir)}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, timeout=600)


def test_a_collection_picks_its_folder_and_an_index_flag_still_wins(tmp_path: Path):
    assert Settings().index_dir == DEFAULT_INDEX
    named = Settings(collection="news", collections_dir=tmp_path)
    assert named.index_dir == tmp_path / "news" / "index"
    assert named.with_overrides(collection="default").index_dir == DEFAULT_INDEX  # re-resolved, not kept
    assert Settings(collection="news", index_dir=tmp_path / "mine").index_dir == tmp_path / "mine"


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 65])
def test_a_collection_name_that_is_not_a_plain_folder_name_is_refused(name: str):
    with pytest.raises(ValueError, match="collection names"):
        Settings(collection=name)


@pytest.mark.slow
def test_index_into_a_collection_list_it_and_ask_a_missing_one(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harvest.txt").write_text("The Ostrava orchard cooperative harvested 412 tonnes of plums in 2025.")
    (docs / "staff.md").write_text("# Staff\n\nJana Novak chairs the Ostrava orchard cooperative.")
    made = run("index", str(docs), "--collection", "orchard", "--json", collections_dir=tmp_path / "c")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["documents"] == 2
    assert (tmp_path / "c" / "orchard" / "index" / "manifest.json").is_file()

    listed = run("collections", "--json", collections_dir=tmp_path / "c")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert list(rows) == ["default", "orchard"]
    assert rows["orchard"]["documents"] == 2 and rows["orchard"]["chunks"] >= 2 and rows["orchard"]["built"]

    plain = run("collections", collections_dir=tmp_path / "c")
    assert "orchard  2 documents" in plain.stdout

    missing = run("ask", "Who chairs it?", "--collection", "nothere", collections_dir=tmp_path / "c")
    assert_one_line_error(missing, "no collection 'nothere'", "rag index PATH --collection nothere")
    bad = run("ask", "Who chairs it?", "--collection", "../up", collections_dir=tmp_path / "c")
    assert_one_line_error(bad, "collection names")


def test_collections_share_the_loaded_models_and_refuse_unknown_names(seed_rag, tmp_path: Path):
    base = seed_rag.variant(collections_dir=tmp_path)
    other = base.variant(collection="notes", index_dir=tmp_path / "notes" / "index")
    docs = tmp_path / "notes-docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The reading room opens at nine.")
    other.build([docs])
    assert collection_names(base.settings.paths) == ["default", "notes"]
    collections = Collections(base)
    notes = collections.get("notes")
    assert notes.embedder is base.embedder  # one model in memory, whatever the number of collections
    assert [Path(s).name for s in notes.documents()] == ["a.txt"]
    assert notes.settings.index_dir == tmp_path / "notes" / "index"
    assert collections.get() is base
    with pytest.raises(UnknownCollectionError, match="the collections: default, notes"):
        collections.get("nothere")
