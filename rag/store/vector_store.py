"""The FAISS index of the vectors, its type chosen by size: exact search while it is fast, IVF beyond.

Exact inner-product search (flat) is used up to EXACT_LIMIT vectors, where a query takes ~5 ms on
2 cores (bench/search_scale.py). Beyond it, an inverted-file index (IVF): about √n centroids trained
on a sample, and `nprobe`, the lists searched per query, doubled until recall@10 against exact search
on sample queries reaches RECALL_TARGET. IVF rather than HNSW because it supports removing a
document's vectors and opens memory-mapped without copying. Either type keeps the chunk ids and can
give back a stored vector.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np

EXACT_LIMIT = 100_000
# Tuned on synthetic queries (below); the margin over the 0.95 promised keeps real questions above it:
# on 1M vectors, 0.98 here gave 0.976 for SciFact's test claims (bench/search_scale.py).
RECALL_TARGET = 0.98
TUNING_QUERIES = 200
QUERY_NOISE = 1.6  # the noise's length, relative to a stored (unit) vector
# An IVF is retrained when the collection has grown this much since its centroids were fitted.
REGROW_FACTOR = 4
# Files this large open memory-mapped (vectors) or are read on demand (chunks): pages are read when a
# search touches them. Smaller ones are read whole: it takes milliseconds and makes lookups cheapest.
MAP_BYTES = 64 * 1024 * 1024


def flat(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


FLAT = {"type": "flat"}


def stored(vectors: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of everything in the index."""
    if isinstance(vectors, faiss.IndexIVF):
        invlists = vectors.invlists
        ids = np.concatenate(
            [faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy() for i in range(vectors.nlist)]
            + [np.zeros(0, dtype=np.int64)]
        )
        return ids, (vectors.reconstruct_batch(ids) if len(ids) else np.zeros((0, vectors.d), dtype=np.float32))
    ids = faiss.vector_to_array(vectors.id_map).astype(np.int64)
    return ids, (vectors.index.reconstruct_n(0, vectors.ntotal) if len(ids) else np.zeros((0, vectors.d), "float32"))


def search(
    vectors: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, chunk ids) of the k nearest vectors, best first, ids -1 past the end. `allowed`: sorted chunk ids,
    the only ones looked at (FAISS skips the others as it scans), so these are the best k of them."""
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if allowed is None:
        scores, ids = vectors.search(query, k)
        return scores[0], ids[0]
    # a bitmap of the allowed ids: one bit test per vector scanned, made in a millisecond at 1M chunks
    bits = np.zeros(int(allowed[-1]) + 1 if len(allowed) else 0, dtype=bool)
    bits[allowed] = True
    bitmap = np.packbits(bits, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
    if not isinstance(vectors, faiss.IndexIVF):
        scores, ids = vectors.search(query, k, params=faiss.SearchParameters(sel=selector))
        return scores[0], ids[0]
    # An IVF probes `nprobe` lists, about ntotal * nprobe / nlist vectors. Allowed chunks no more than a quarter
    # of those: every list is probed, which costs about as much (a bit test per vector, a product per allowed
    # one) and is exact, where the probed lists alone might hold few of them.
    scanned = vectors.ntotal * vectors.nprobe / vectors.nlist
    nprobe = vectors.nlist if len(allowed) <= scanned / 4 else vectors.nprobe
    scores, ids = vectors.search(query, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=nprobe))
    if nprobe < vectors.nlist and (ids[0] >= 0).sum() < min(k, len(allowed)):  # the probed lists held too few
        scores, ids = vectors.search(query, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=vectors.nlist))
    return scores[0], ids[0]


def fit_to_size(vectors: faiss.Index, meta: dict[str, Any]) -> tuple[faiss.Index, dict[str, Any]]:
    """The index to save for this many vectors, and its manifest entry: the same index while its type
    still fits, else rebuilt as the type that does."""
    n = vectors.ntotal
    is_ivf = isinstance(vectors, faiss.IndexIVF)
    if n <= EXACT_LIMIT:
        if not is_ivf:
            return vectors, dict(FLAT)
        ids, data = stored(vectors)
        rebuilt = flat(vectors.d)
        rebuilt.add_with_ids(data, ids)
        return rebuilt, dict(FLAT)
    if is_ivf and n <= REGROW_FACTOR * int(meta.get("trained_on") or n):
        return vectors, meta
    return build_ivf(*stored(vectors))


def build_ivf(
    ids: np.ndarray, data: np.ndarray, target: float = RECALL_TARGET, seed: int = 0
) -> tuple[faiss.IndexIVF, dict[str, Any]]:
    """An IVF index of `data`, its nprobe the smallest power of two reaching `target` recall@10."""
    n, dimension = data.shape
    nlist = 2 ** max(4, round(math.log2(math.sqrt(n))))
    rng = np.random.default_rng(seed)
    sample = data[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
    ivf = faiss.index_factory(dimension, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    ivf.train(np.ascontiguousarray(sample))
    ivf.add_with_ids(np.ascontiguousarray(data), ids)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct(chunk id) for collapse and copies
    queries = tuning_queries(data, rng)
    ivf.nprobe, recall = tune_nprobe(ivf, data, ids, queries, target)
    return ivf, {"type": "ivf", "nlist": nlist, "nprobe": ivf.nprobe, "trained_on": n, "sample_recall_at_10": recall}


def tuning_queries(data: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stored vectors moved far off themselves by noise (cosine ~0.53 to where they started): a stored
    vector would find itself first and make tuning look easy. Real questions sit off the passages'
    clusters (SciFact claims: nearest passage at cosine ~0.70, yet needing 4-8x the nprobe that
    mildly moved vectors need), so the noise is large."""
    picked = data[rng.choice(len(data), size=min(len(data), TUNING_QUERIES), replace=False)]
    noise = rng.normal(size=picked.shape)
    noise *= QUERY_NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
    queries = picked + noise
    return np.ascontiguousarray(queries / np.linalg.norm(queries, axis=1, keepdims=True), dtype=np.float32)


def tune_nprobe(
    ivf: faiss.IndexIVF, data: np.ndarray, ids: np.ndarray, queries: np.ndarray, target: float
) -> tuple[int, float]:
    exact = faiss.IndexFlatIP(data.shape[1])
    exact.add(data)
    _, truth = exact.search(queries, 10)
    truth_ids = ids[truth]
    nprobe, recall = 1, 0.0
    while True:
        ivf.nprobe = nprobe
        _, found = ivf.search(queries, 10)
        recall = recall_at(found, truth_ids)
        if recall >= target or nprobe >= ivf.nlist:
            return nprobe, round(recall, 4)
        nprobe *= 2


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the true neighbours that were found, over all queries."""
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def read(path: Path, meta: dict[str, Any], mapped: bool) -> faiss.Index:
    """Open a saved index, memory-mapped and read-only if `mapped` (see `is_large`). MMAP_IFC maps
    the flat codes and the IVF lists in place (zero copy): searches run as fast as on an index read
    into memory, where IO_FLAG_MMAP's on-disk lists took twice as long."""
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mapped else 0
    vectors = faiss.read_index(str(path), flags)
    if isinstance(vectors, faiss.IndexIVF):
        vectors.nprobe = int(meta.get("nprobe", vectors.nprobe))
    return vectors


def is_large(path: Path) -> bool:
    return path.stat().st_size >= MAP_BYTES
