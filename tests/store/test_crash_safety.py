"""An index on disk is always the old complete state or the new one, whenever its writer dies.

`rag index` is killed with SIGKILL at random moments of a large update, and at each step of a save;
after every kill the index must open, be self-consistent, and hold exactly the old or the new set of
documents. A second writer is refused while one works; readers are never blocked.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from rag.store.index import Index, writer_lock

pytestmark = pytest.mark.slow  # kills real `rag index` processes

ROOT = Path(__file__).resolve().parents[2]
WORDS = (
    "river harbour treaty border famine archive ledger census glacier orchard vaccine turbine satellite "
    "courthouse migrant tariff canal monsoon reactor library quarry vineyard lighthouse pension drought "
    "railway merchant protocol mineral estuary senate plateau cathedral telescope cooperative"
).split()
TRIALS = 20


def _document(seed: int) -> str:
    rng = random.Random(seed)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(12)]
    return f"Document {seed}. " + " ".join(sentences) + "\n"


def _rag(args: list[str], index: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rag.cli", *args, "--index", str(index)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _state(index: Path) -> frozenset[str]:
    """Open the index, check it is whole, and return its documents."""
    opened = Index.open(index)
    ids = sorted(i for entry in opened.manifest.documents.values() for i in entry.chunk_ids)
    assert ids == sorted(opened.chunks), "manifest and chunks disagree"
    assert opened.vectors.ntotal == len(opened.chunks)
    assert sorted(opened.keywords.chunk_ids.tolist()) == ids
    if ids:
        found = opened.search(opened.vectors.reconstruct(ids[-1]).astype(np.float32), 1)
        assert found and found[0].chunk.id == ids[-1]
    return frozenset(Path(source).name for source in opened.manifest.documents)


@pytest.fixture(scope="module")
def update(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An index of 60 documents (the old state) and a corpus changed by 150 new, 15 edited, 15 deleted."""
    root = tmp_path_factory.mktemp("crash")
    corpus = root / "corpus"
    corpus.mkdir()
    for n in range(60):
        (corpus / f"doc{n:03d}.txt").write_text(_document(n))
    old_index = root / "old-index"
    assert _rag(["index", str(corpus), "--json"], old_index).wait(timeout=600) == 0
    old = _state(old_index)
    for n in range(60, 210):
        (corpus / f"doc{n:03d}.txt").write_text(_document(n))
    for n in range(15):
        (corpus / f"doc{n:03d}.txt").write_text(_document(1000 + n))
    for n in range(45, 60):
        (corpus / f"doc{n:03d}.txt").unlink()
    new = frozenset(p.name for p in corpus.iterdir())
    # one uninterrupted update, to know how long one takes
    full = root / "full-index"
    shutil.copytree(old_index, full)
    started = time.perf_counter()
    process = _rag(["index", str(corpus), "--json"], full)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    report = json.loads(out)
    assert (len(report["added"]), len(report["updated"]), len(report["removed"])) == (150, 15, 15)
    assert _state(full) == new
    return {
        "root": root,
        "corpus": corpus,
        "old_index": old_index,
        "old": old,
        "new": new,
        "seconds": time.perf_counter() - started,
    }


def test_sigkill_at_random_moments_leaves_old_or_new_state(update: dict):
    rng = random.Random(2026)
    outcomes, killed = {"old": 0, "new": 0}, 0
    for trial in range(TRIALS):
        index = update["root"] / f"trial-{trial}"
        shutil.copytree(update["old_index"], index)
        process = _rag(["index", str(update["corpus"]), "--json"], index)
        time.sleep(rng.uniform(0.4, 1.05) * update["seconds"])  # the first ~40% is start-up
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        killed += process.returncode == -signal.SIGKILL  # else it had finished before the kill
        state = _state(index)
        assert state in (update["old"], update["new"]), f"trial {trial}: a mixed state"
        outcomes["old" if state == update["old"] else "new"] += 1
        # and the next update from there completes
        if trial % 5 == 0:
            assert _rag(["index", str(update["corpus"]), "--json"], index).wait(timeout=600) == 0
            assert _state(index) == update["new"]
    print(f"\n{TRIALS} SIGKILL trials: {outcomes['old']} left the old state, {outcomes['new']} the new one")
    # the test means something only if kills landed before the update was committed
    assert killed and outcomes["old"], f"no kill interrupted the update: {killed} killed, {outcomes}"


# Each step of a save, in order; the child kills itself with SIGKILL right after the named call.
STEPS = ["write_index", "keywords_save", "_fsync", "_write_atomically", "cleanup"]
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import faiss
    import rag.store.index as index_module
    from rag.store.keyword import KeywordIndex
    from rag import RAG

    step = sys.argv[1]
    def die_after(function):
        def wrapped(*args, **kwargs):
            result = function(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
            return result
        return wrapped
    if step == "write_index":
        index_module.faiss.write_index = die_after(faiss.write_index)
    elif step == "keywords_save":
        KeywordIndex.save = die_after(KeywordIndex.save)
    elif step == "_fsync":
        index_module._fsync = die_after(index_module._fsync)
    elif step == "_write_atomically":
        index_module._write_atomically = die_after(index_module._write_atomically)
    elif step == "cleanup":
        index_module.shutil.rmtree = die_after(index_module.shutil.rmtree)
    RAG(index_dir=Path(sys.argv[2])).build([Path(sys.argv[3])])
    """
)


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_step_of_a_save(update: dict, step: str):
    index = update["root"] / f"step-{step}"
    shutil.copytree(update["old_index"], index)
    process = subprocess.run(
        [sys.executable, "-c", CHILD, step, str(index), str(update["corpus"])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr[-2000:]
    expected = update["old"] if step in ("write_index", "keywords_save", "_fsync") else update["new"]
    assert _state(index) == expected
    # a later writer cleans up what the dead one left
    assert _rag(["index", str(update["corpus"]), "--json"], index).wait(timeout=600) == 0
    manifest = json.loads((index / "manifest.json").read_text())
    assert {p.name for p in index.iterdir()} - {"manifest.json", ".lock"} == set(manifest["files"].values())


def test_second_writer_is_refused_and_readers_are_not_blocked(update: dict, tmp_path: Path):
    index = tmp_path / "index"
    shutil.copytree(update["old_index"], index)
    with writer_lock(index):
        process = _rag(["index", str(update["corpus"])], index)
        _, err = process.communicate(timeout=300)
        assert process.returncode != 0
        assert err.strip().splitlines()[-1].startswith("rag: error: index at") and "being updated" in err
        assert _state(index) == update["old"]  # a reader opens it while the lock is held
