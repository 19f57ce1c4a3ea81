"""Distributed ingestion and serving replicas (rag.scale) on a local two-node Ray cluster.

The Ray-built index must be the single-process one (chunks, ids, hashes, BM25, vectors within float
tolerance, the same answers), incremental runs must decide as sync() does, a killed ingestion worker must
be retried (or the run fail with the old index left), and a killed serving replica must be replaced.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")  # a guard for installs without the extra; CI installs it (.[test])

import fakes  # noqa: E402
from conftest import free_port  # noqa: E402
from fakes import ScriptedGenerator  # noqa: E402
from ray import cloudpickle  # noqa: E402

from rag import RAG  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.scale import ray_ingest, ray_serve  # noqa: E402
from rag.settings import DEFAULT_CORPUS  # noqa: E402
from rag.store import vector_store  # noqa: E402
from rag.store.index import Index  # noqa: E402

# every test here starts Ray and loads the embedder; Ray 2.60's own deprecation warnings are not ours to fix
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

QUESTION = "What is the capital of Freedonia?"
REPLY = "The capital of Freedonia is Mirabel."
WORKER = {"workers": 2, "cpus_per_worker": 0.5, "batch_files": 3}


@pytest.fixture(scope="module")
def cluster():
    """A head and one more node on this machine, one CPU each; shut down after the module."""
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, logging_level="ERROR", log_to_driver=False)
    # the test's own worker classes and the scripted generator travel by value (workers cannot import tests/)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cloudpickle.register_pickle_by_value(fakes)
    try:
        yield nodes
    finally:
        from ray import serve

        serve.shutdown()
        ray.shutdown()
        nodes.shutdown()


def _corpus(folder: Path) -> Path:
    """The shipped article, 9 reshuffled variants, a copy (its vectors are reused), the Freedonia passage (asked
    about) and an empty file (skipped)."""
    folder.mkdir(parents=True)
    original = next(DEFAULT_CORPUS.glob("*.txt"))
    shutil.copy(original, folder / original.name)
    sentences = original.read_text(encoding="utf-8").split(". ")
    for n in range(9):
        order = sentences[:]
        random.Random(n).shuffle(order)
        (folder / f"variant-{n}.md").write_text(f"# Variant {n}\n\n" + ". ".join(order), encoding="utf-8")
    shutil.copy(folder / "variant-0.md", folder / "copy-of-0.md")
    (folder / "freedonia.txt").write_text(fakes.FREEDONIA, encoding="utf-8")
    (folder / "empty.txt").write_text("")
    return folder


def _report(report) -> dict:
    data = report.to_dict()
    data.pop("seconds")
    return data


def assert_same_index(a: Path, b: Path) -> None:
    ma, mb = (json.loads((folder / "manifest.json").read_text()) for folder in (a, b))
    assert ma["documents"] == mb["documents"]  # names, content hashes, titles, sizes, mtimes, chunk ids
    for key in ("embedder", "splitting", "roots", "excluded", "next_id", "vector_index"):
        assert ma[key] == mb[key], key
    assert (a / ma["files"]["chunks"]).read_bytes() == (b / mb["files"]["chunks"]).read_bytes()
    ia, ib = Index.open(a), Index.open(b)
    (ids_a, va), (ids_b, vb) = vector_store.stored(ia.vectors), vector_store.stored(ib.vectors)
    assert ids_a.tolist() == ids_b.tolist()
    assert np.allclose(va, vb, atol=1e-5)  # other batches, other padding: float noise only
    for query in ("economic migrants", "refugee status border"):
        assert [(c, round(s, 4)) for c, s in ia.keywords.search(query, 10)] == [
            (c, round(s, 4)) for c, s in ib.keywords.search(query, 10)
        ]


def _rounded(value):
    """Scores to 4 decimals: vectors from other batches differ in the 7th."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return [_rounded(item) for item in value] if isinstance(value, list) else value


def _answer(index: Path, embedder) -> dict:
    rag = RAG(index_dir=index).use(embedder=embedder, generator=ScriptedGenerator(REPLY), index=Index.open(index))
    data = rag.ask(QUESTION).to_dict()
    data.pop("timings_ms")
    return _rounded(data)


@pytest.fixture(scope="module")
def built(cluster, embedder, tmp_path_factory):
    """The same corpus indexed by `rag index` and by the Ray path: (root, single index, Ray index, reports)."""
    root = tmp_path_factory.mktemp("ray")
    corpus = _corpus(root / "corpus")
    single, distributed = RAG(index_dir=root / "single").use(embedder), RAG(index_dir=root / "ray").use(embedder)
    reports = single.build([corpus]), ray_ingest.build(distributed, [corpus], **WORKER)
    return root, root / "single", root / "ray", reports


def test_ray_index_is_the_single_process_index(built, embedder):
    root, single, distributed, (report_single, report_ray) = built
    assert _report(report_ray) == _report(report_single)
    assert len(report_ray.added) == 12 and [s["path"] for s in report_ray.skipped] == ["corpus/empty.txt"]
    assert_same_index(single, distributed)
    answer = _answer(distributed, embedder)
    assert answer == _answer(single, embedder)
    assert not answer["abstained"] and answer["citations"]  # a real answer, not two identical abstentions


def test_incremental_update_decides_as_sync(built, embedder):
    root, single, distributed, _ = built
    corpus = root / "corpus"
    (corpus / "variant-1.md").write_text("# Variant 1\n\nThe river Ost runs through Mirabel.", encoding="utf-8")
    (corpus / "new.txt").write_text("Mirabel has three bridges over the river Ost.", encoding="utf-8")
    (corpus / "variant-2.md").unlink()
    later = time.time() + 5
    os.utime(corpus / "variant-3.md", (later, later))  # touched: read again, not re-embedded
    a, b = RAG(index_dir=single).use(embedder), RAG(index_dir=distributed).use(embedder)
    report_single, report_ray = a.build([corpus]), ray_ingest.build(b, [corpus], **WORKER)
    assert _report(report_ray) == _report(report_single)
    assert report_ray.added == ["corpus/new.txt"] and report_ray.updated == ["corpus/variant-1.md"]
    assert report_ray.removed == ["corpus/variant-2.md"] and "corpus/variant-3.md" in report_ray.unchanged
    assert_same_index(single, distributed)


class DiesOnce(ray_ingest.EmbedWorker):
    """Killed (SIGKILL, as the OOM killer or a lost node would) in the middle of its first batch, once per run:
    the first worker to claim the marker file dies."""

    marker = ""

    def __call__(self, batch):
        try:
            os.unlink(self.marker)  # atomic: exactly one worker of the run wins it
        except FileNotFoundError:
            return super().__call__(batch)
        os.kill(os.getpid(), signal.SIGKILL)


def test_killed_worker_is_retried_and_gives_the_same_index(built, embedder, tmp_path):
    root, single, _, _ = built
    marker = tmp_path / "kill-one-worker"
    marker.touch()
    DiesOnce.marker = str(marker)
    rag = RAG(index_dir=tmp_path / "index").use(embedder)
    ray_ingest.build(rag, [root / "corpus"], worker=DiesOnce, **WORKER)
    assert not marker.exists()  # a worker was killed
    # the single-process index of the same files, built now (the corpus changed in the test above)
    again = RAG(index_dir=tmp_path / "again").use(embedder)
    again.build([root / "corpus"])
    assert_same_index(tmp_path / "again", tmp_path / "index")


class AlwaysDies(ray_ingest.EmbedWorker):
    def __call__(self, batch):
        os.kill(os.getpid(), signal.SIGKILL)


def test_worker_dying_every_time_fails_cleanly_and_keeps_the_old_index(built, embedder):
    root, _, distributed, _ = built
    before = {path.name: path.read_bytes() for path in distributed.iterdir() if path.is_file()}
    (root / "corpus" / "another.txt").write_text("Ost is a river of Freedonia.", encoding="utf-8")
    rag = RAG(index_dir=distributed).use(embedder)
    try:
        with pytest.raises(RagError, match="distributed indexing failed, the saved index is unchanged"):
            ray_ingest.build(rag, [root / "corpus"], worker=AlwaysDies, retries=1, **WORKER)
    finally:
        (root / "corpus" / "another.txt").unlink()
    assert {path.name: path.read_bytes() for path in distributed.iterdir() if path.is_file()} == before
    assert Index.open(distributed).manifest.generation == json.loads(before["manifest.json"])["generation"]


def test_cli_index_on_the_cluster(cluster, tmp_path, capsys):
    from rag.cli import main

    corpus = tmp_path / "corpus"
    shutil.copytree(DEFAULT_CORPUS, corpus)
    args = ["index", str(corpus), "--index", str(tmp_path / "index"), "--json"]
    assert main([*args, "--ray", cluster.address, "--workers", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == [f"corpus/{next(DEFAULT_CORPUS.glob('*.txt')).name}"] and report["chunks"] > 0
    assert main([*args, "--ray", cluster.address]) == 0  # again: nothing new, nothing embedded
    assert json.loads(capsys.readouterr().out)["unchanged"] == report["added"]


def _ask(url: str) -> tuple[str, dict]:
    body = json.dumps({"model": "default", "messages": [{"role": "user", "content": QUESTION}]}).encode()
    request = urllib.request.Request(f"{url}v1/chat/completions", body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers["x-rag-replica"], json.loads(response.read())


def test_replicas_share_the_load_and_a_killed_one_is_replaced(built, embedder):
    _, single, distributed, _ = built
    from rag.settings import Settings

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    settings = Settings().with_overrides(index_dir=distributed)
    ray_serve.start_replicas(
        settings, replicas=2, port=port, cpus_per_replica=0.25, generator=ScriptedGenerator(REPLY), health_check_s=1
    )
    assert ray_serve.running_replicas() == 2
    expected = _answer(distributed, embedder)
    answered = {}
    for _ in range(8):
        replica, reply = _ask(url)
        answered[replica] = reply
    assert len(answered) == 2  # spread over both replicas
    for reply in answered.values():
        assert reply["choices"][0]["message"]["content"].startswith(expected["answer"])
        assert [c["source"] for c in reply["rag"]["citations"]] == [c["source"] for c in expected["citations"]]
    with urllib.request.urlopen(url, timeout=30) as page:
        assert page.status == 200 and b"gradio" in page.read().lower()  # the chat page is served too

    victim = sorted(answered)[0]
    os.kill(int(victim.rsplit(":", 1)[1]), signal.SIGKILL)
    failures = 0
    for _ in range(6):  # the survivor answers meanwhile
        try:
            assert _ask(url)[0] != victim
        except urllib.error.HTTPError:
            failures += 1  # a request already routed to the dead replica
    assert failures <= 1
    deadline = time.time() + 90
    while time.time() < deadline and ray_serve.running_replicas() < 2:
        time.sleep(1)
    assert ray_serve.running_replicas() == 2
    # the replacement answers too: running is not yet routed to (under load the router learns of it seconds
    # later), so ask until both have answered rather than a fixed number of times
    replicas: set[str] = set()
    deadline = time.time() + 180
    while time.time() < deadline and len(replicas) < 2:
        replicas.add(_ask(url)[0])
    assert victim not in replicas and len(replicas) == 2
