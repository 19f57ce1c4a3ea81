"""The vector index's type follows the collection's size, and a large index opens memory-mapped."""

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.errors import RagError
from rag.store import vector_store
from rag.store.chunk_store import SavedChunks
from rag.store.index import DocumentEntry, Index
from rag.types import Chunk

DIM = 32
EMBEDDER = {"name": "test", "dimension": DIM, "fingerprint": "abc"}
SPLITTING = {"max_tokens": 64, "overlap": 16}


def clustered(n: int, seed: int, clusters: int = 40) -> np.ndarray:
    """Vectors that gather around topics, as real embeddings do (uniform noise would have no neighbours)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM))
    rows = centres[rng.integers(clusters, size=n)] + 0.35 * rng.normal(size=(n, DIM))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def add_document(index: Index, source: str, vectors: np.ndarray) -> None:
    chunks = [
        Chunk(id=-1, source=source, title=source, text=f"{source} part {i}", start=0, end=1, page=1)
        for i in range(len(vectors))
    ]
    index.add(source, DocumentEntry(f"sha-{source}", source, []), chunks, vectors)


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(vector_store, "EXACT_LIMIT", 1500)
    monkeypatch.setattr(vector_store, "MAP_BYTES", 0)  # every saved index opens memory-mapped


def test_large_collection_gets_a_tuned_ivf_recorded_in_the_manifest(tmp_path, small_limits):
    index = Index.create(tmp_path / "index", EMBEDDER, SPLITTING)
    data, queries = np.split(clustered(4100, seed=1), [4000])
    for n, start in enumerate(range(0, 4000, 500)):
        add_document(index, f"doc{n}.txt", data[start : start + 500])
    index.save()
    entry = json.loads((index.folder / "manifest.json").read_text())["vector_index"]
    assert entry["type"] == "ivf" and entry["nlist"] == 64 and entry["trained_on"] == 4000
    assert entry["sample_recall_at_10"] >= vector_store.RECALL_TARGET and 1 <= entry["nprobe"] < entry["nlist"]

    reopened = Index.open(index.folder)
    assert isinstance(reopened.vectors, faiss.IndexIVF) and reopened.vectors.nprobe == entry["nprobe"]
    assert isinstance(reopened.chunks, SavedChunks)  # nothing read yet but the offsets table
    exact = faiss.IndexFlatIP(DIM)
    exact.add(data)
    _, truth = exact.search(queries, 10)
    found = [[p.chunk.id for p in reopened.search(q, 10)] for q in queries]
    assert vector_store.recall_at(np.array(found), truth) >= 0.95  # chunk ids were given in data order
    hit = reopened.search(data[1234], 1)[0]
    assert hit.chunk.text == "doc2.txt part 234" and hit.score == pytest.approx(1.0, abs=1e-5)


def test_a_mapped_index_is_read_whole_before_it_changes_and_shrinks_back_to_exact(tmp_path, small_limits):
    index = Index.create(tmp_path / "index", EMBEDDER, SPLITTING)
    data = clustered(2000, seed=3)
    add_document(index, "big.txt", data[:1000])
    add_document(index, "other.txt", data[1000:])
    index.save()
    reopened = Index.open(index.folder)
    assert reopened.manifest.vector_index["type"] == "ivf"
    assert np.allclose(reopened.vectors_of("other.txt")[5], data[1005], atol=1e-6)  # direct map survives a save

    assert reopened.remove("big.txt")  # memory-mapped lists cannot change: read whole first
    reopened.save()
    again = Index.open(index.folder)
    assert again.manifest.vector_index == {"type": "flat"} and len(again) == 1000
    assert again.search(data[1500], 1)[0].chunk.text == "other.txt part 500"


def test_a_grown_ivf_keeps_its_centroids_until_it_quadruples(tmp_path, small_limits):
    index = Index.create(tmp_path / "index", EMBEDDER, SPLITTING)
    data = clustered(9000, seed=4)
    add_document(index, "a.txt", data[:2000])
    index.save()
    add_document(index, "b.txt", data[2000:7000])
    index.save()
    assert index.manifest.vector_index["trained_on"] == 2000  # 7000 <= 4 x 2000
    add_document(index, "c.txt", data[7000:])
    index.save()
    assert index.manifest.vector_index["trained_on"] == 9000 and len(Index.open(index.folder)) == 9000


def test_a_truncated_chunks_file_is_reported_as_damage(tmp_path):
    index = Index.create(tmp_path / "index", EMBEDDER, SPLITTING)
    add_document(index, "a.txt", clustered(20, seed=5))
    index.save()
    chunks_file = index.folder / "chunks.1.jsonl"
    chunks_file.write_bytes(chunks_file.read_bytes()[:40])
    with pytest.raises(RagError, match="damaged"):
        Index.open(index.folder)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc/self/maps")
def test_a_large_index_is_really_memory_mapped_and_a_small_one_read(tmp_path, monkeypatch):
    """What rag serve --ray's replicas rely on (they set MAP_BYTES = 0): the vectors file is mapped, not copied,
    so replicas on one node share its pages."""
    index = Index.create(tmp_path / "index", EMBEDDER, SPLITTING)
    add_document(index, "a.txt", clustered(300, seed=5))
    index.save()
    vectors_file = next(index.folder.glob("vectors.*.faiss")).resolve()

    def mapped_files() -> str:
        return Path("/proc/self/maps").read_text()

    monkeypatch.setattr(vector_store, "MAP_BYTES", 1 << 40)
    read_whole = Index.open(index.folder)
    assert read_whole.search(clustered(1, seed=5)[0], 1) and str(vectors_file) not in mapped_files()
    monkeypatch.setattr(vector_store, "MAP_BYTES", 0)
    mapped = Index.open(index.folder)
    assert mapped.search(clustered(1, seed=5)[0], 1) and str(vectors_file) in mapped_files()
