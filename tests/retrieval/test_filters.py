"""Document filters: parsed as users type them, turned into the chunk ids they keep, applied inside dense and
keyword search (the top k are the best of the kept chunks), and an answer that abstains when none is kept.

No model is loaded: a hashing embedder and a scripted generator (tests/fakes.py).
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import faiss
import numpy as np
import pytest
from fakes import FakeEmbedder, ScriptedGenerator

from rag.errors import RagError
from rag.pipeline import RAG
from rag.retrieval.filters import NO_MATCH, DocumentFilter, FilterError, glob_pattern
from rag.retrieval.retrieve import search
from rag.store import vector_store
from rag.store.keyword import KeywordIndex
from rag.types import Answer, Chunk

OTTERS = "Sea otters hold hands while they sleep so they do not drift apart."
# written so that, unfiltered, the otter notes fill the top: the one report on otters is worded apart
NOTES = {f"notes/otters-{n}.txt": f"{OTTERS} Note {n}." for n in range(6)}
REPORT = "reports/2024/otters.pdf.txt"  # a .txt whose name holds "pdf": the type is the suffix, not a substring
FILES = {
    **NOTES,
    "reports/2024/review.md": "Otters in the bay sleep holding hands. The review counted forty of them.",
    REPORT: "A report on otters: their fur is the densest of any animal.",
    "reports/2023/bees.md": "Honey bees dance to tell each other where flowers are.",
}
DAY = {"reports/2023/bees.md": datetime(2023, 6, 1, 12), "reports/2024/review.md": datetime(2024, 3, 1, 12)}


@pytest.fixture
def rag(tmp_path: Path) -> RAG:
    for name, text in FILES.items():
        path = tmp_path / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        moment = DAY.get(name, datetime(2025, 1, 15, 12)).timestamp()
        os.utime(path, (moment, moment))
    model = ScriptedGenerator("Sea otters hold hands while they sleep.")
    pipeline = RAG(index_dir=tmp_path / "index").use(embedder=FakeEmbedder(), generator=model)
    pipeline.build([tmp_path / "docs"])
    return pipeline


def kept_sources(rag: RAG, only: DocumentFilter) -> set[str]:
    ids = only.chunk_ids(rag.index)
    every = {c.source for c in rag.index.chunks.values()}
    return every if ids is None else {rag.index.chunks[int(i)].source for i in ids}


# --- parsing -----------------------------------------------------------------------------------------------------


def test_parse_reads_values_as_users_type_them():
    only = DocumentFilter.parse(
        sources="reports/**/*.pdf", folders=["./reports/", "notes"], types=[".PDF", "md"], modified_after="2025-01-01"
    )
    assert only.sources == ("reports/**/*.pdf",) and only.folders == ("reports", "notes")
    assert only.types == ("pdf", "md") and only.modified_after == date(2025, 1, 1) and only.modified_before is None
    timed = DocumentFilter.parse(modified_before="2025-01-01T09:30")
    assert timed.modified_before == datetime(2025, 1, 1, 9, 30)
    assert DocumentFilter.parse(types="pdf") == DocumentFilter(types=("pdf",))  # hashable, compared by value
    assert DocumentFilter.from_dict({"types": ["pdf"], "modified_after": None}) == DocumentFilter(types=("pdf",))


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({}, "the filter is empty"),
        ({"modified_after": "2025-13-01"}, "bad date '2025-13-01'"),
        ({"modified_before": "last week"}, "use YYYY-MM-DD"),
        ({"sources": ["*.pdf", " "]}, "filter sources: an empty value"),
        ({"types": "."}, "filter types"),
        ({"folders": "./"}, "filter folders"),
        ({"types": 3}, "a string or a list of strings"),
        ({"modified_after": "2025-02-01", "modified_before": "2025-01-01"}, "is not before"),
        ({"sources": "[z-a].pdf"}, "bad glob"),
    ],
)
def test_a_bad_filter_is_a_one_line_rag_error(given: dict, said: str):
    with pytest.raises(RagError) as raised:
        DocumentFilter.parse(**given)
    assert said in str(raised.value) and "\n" not in str(raised.value)


def test_from_dict_refuses_what_is_not_a_filter_object():
    with pytest.raises(FilterError, match="unknown filter key 'type'.*types"):
        DocumentFilter.from_dict({"type": "pdf"})
    with pytest.raises(FilterError, match="must be an object"):
        DocumentFilter.from_dict("*.pdf")


def test_globs_keep_stars_within_a_folder_and_double_stars_across():
    def matches(glob: str, source: str) -> bool:
        return bool(glob_pattern(glob).match(source))

    assert matches("reports/*.pdf", "reports/a.pdf") and not matches("reports/*.pdf", "reports/2024/a.pdf")
    assert matches("reports/**/*.pdf", "reports/a.pdf") and matches("reports/**/*.pdf", "reports/2024/q1/a.pdf")
    assert matches("reports/**", "reports/2024/a.txt") and not matches("reports/**", "notes/reports/a.txt")
    assert matches("*.pdf", "deep/down/a.pdf") and not matches("*.pdf", "a.pdf.txt")  # no "/": the file name
    assert matches("report-?.md", "x/report-1.md") and not matches("report-?.md", "x/report-12.md")
    assert matches("[ab]*.md", "a1.md") and not matches("[!ab]*.md", "a1.md")
    assert matches("/home/me/**/*.md", "/home/me/notes/a.md") and matches("a+b (1).txt", "a+b (1).txt")


# --- the chunk ids kept --------------------------------------------------------------------------------------------


def test_each_kind_keeps_the_documents_it_names(rag: RAG, tmp_path: Path):
    assert kept_sources(rag, DocumentFilter.parse(types="pdf")) == set()  # REPORT is a .txt
    assert kept_sources(rag, DocumentFilter.parse(types=["md", "txt"])) == {f"docs/{n}" for n in FILES}
    assert kept_sources(rag, DocumentFilter.parse(folders="docs/reports/2024")) == {
        "docs/reports/2024/review.md",
        f"docs/{REPORT}",
    }
    absolute = DocumentFilter.parse(folders=str(tmp_path / "docs" / "reports"))  # as a path: as sources name it
    assert kept_sources(rag, absolute) == {f"docs/{n}" for n in FILES if n.startswith("reports/")}
    assert kept_sources(rag, DocumentFilter.parse(sources="docs/reports/*/*.md")) == {
        "docs/reports/2023/bees.md",
        "docs/reports/2024/review.md",
    }
    between = DocumentFilter.parse(modified_after="2024-01-01", modified_before="2025-01-01")
    assert kept_sources(rag, between) == {"docs/reports/2024/review.md"}
    after = DocumentFilter.parse(modified_after=date(2024, 3, 1))  # the day itself counts: from its midnight
    assert "docs/reports/2024/review.md" in kept_sources(rag, after)
    both = DocumentFilter.parse(folders="docs/reports", types="md", modified_before="2024-01-01")
    assert kept_sources(rag, both) == {"docs/reports/2023/bees.md"}  # every kind must hold


def test_chunk_ids_are_sorted_int64_none_when_all_are_kept_and_cached(rag: RAG, tmp_path: Path):
    everything = DocumentFilter.parse(folders="docs")
    assert everything.chunk_ids(rag.index) is None  # the unfiltered search runs
    notes = DocumentFilter.parse(folders="docs/notes")
    ids = notes.chunk_ids(rag.index)
    assert ids is not None and ids.dtype == np.int64 and list(ids) == sorted(ids)
    expected = sorted(i for e in rag.index.manifest.documents.values() for i in e.chunk_ids)
    assert [int(i) for i in ids] == [i for i in expected if rag.index.chunks[i].source.startswith("docs/notes/")]
    assert notes.chunk_ids(rag.index) is ids  # computed once per filter and index state
    assert DocumentFilter.parse(folders=["docs/notes"]).chunk_ids(rag.index) is ids  # an equal filter shares it
    extra = tmp_path / "docs" / "notes" / "walrus.txt"
    extra.write_text("Walruses haul out on ice floes.", encoding="utf-8")
    rag.build([tmp_path / "docs"])
    again = notes.chunk_ids(rag.index)
    assert again is not ids and len(again) == len(ids) + 1  # the index changed: worked out again


# --- inside retrieval ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dense", "keyword", "hybrid"])
def test_the_top_k_are_the_best_of_the_kept_chunks_not_what_survives_the_unfiltered_top_k(rag: RAG, method: str):
    question = "Do sea otters hold hands while they sleep?"
    variant = rag.variant(retrieval=method, candidates=3)  # a small head: filtering after it would leave nothing
    unfiltered = variant.retrieve(question, 3)
    assert unfiltered and {p.chunk.source for p in unfiltered} <= {f"docs/{n}" for n in NOTES}
    reports = DocumentFilter.parse(folders="docs/reports")
    found = variant.retrieve(question, 3, filter=reports)
    assert found and all(p.chunk.source.startswith("docs/reports/") for p in found)
    assert found[0].chunk.source == "docs/reports/2024/review.md"  # the best report on the question, first
    if method != "keyword":  # a dense search scores every kept chunk; BM25 only those sharing a word
        assert len(found) == 3


def test_search_with_an_empty_allowed_set_finds_nothing(rag: RAG):
    query = rag.embedder.encode(["otters"])[0]
    none = np.zeros(0, dtype=np.int64)
    assert search(rag.index, query, "otters", 5, rag.settings.search, allowed=none) == []


def brute_force(data: np.ndarray, ids: np.ndarray, query: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    kept = np.isin(ids, allowed)
    scores = data[kept] @ query
    return ids[kept][np.argsort(-scores)[:k]].tolist()


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    data = rng.normal(size=(n, d)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_dense_search_among_allowed_ids_matches_brute_force(kind: str):
    rng = np.random.default_rng(3)
    data = unit_rows(rng, 3000, 32)
    ids = np.arange(3000, dtype=np.int64) * 3 + 7  # chunk ids are not positions
    if kind == "flat":
        vectors = vector_store.flat(32)
        vectors.add_with_ids(data, ids)
    else:
        vectors, _ = vector_store.build_ivf(ids, data)
        vectors.nprobe = vectors.nlist  # every list probed: exact whatever the filter keeps
    for share in (0.003, 0.3):
        allowed = np.sort(rng.choice(ids, size=int(len(ids) * share), replace=False))
        for query in unit_rows(rng, 5, 32):
            scores, found = vector_store.search(vectors, query, 10, allowed)
            assert [i for i in found.tolist() if i >= 0] == brute_force(data, ids, query, allowed, 10)  # -1: none
            assert list(scores[found >= 0]) == sorted(scores[found >= 0], reverse=True)
    assert vector_store.search(vectors, data[0], 5, np.zeros(0, dtype=np.int64))[1].tolist() == [-1] * 5


@pytest.mark.parametrize("kept", [8, 40])  # 8: fewer than a quarter of what one list holds; 40: more
def test_an_ivf_probing_one_list_still_finds_the_best_of_few_allowed_chunks(kept: int):
    """Few allowed chunks: every list is probed (as cheap, and exact); more, yet too few of them in the probed
    lists: probed again, every list."""
    rng = np.random.default_rng(4)
    data = unit_rows(rng, 4000, 16)
    ids = np.arange(4000, dtype=np.int64)
    vectors, _ = vector_store.build_ivf(ids, data)
    vectors.nprobe = 1
    assert isinstance(vectors, faiss.IndexIVF) and vectors.ntotal / vectors.nlist / 4 < 40
    allowed = np.sort(rng.choice(ids, size=kept, replace=False))
    for query in unit_rows(rng, 5, 16):
        _, found = vector_store.search(vectors, query, 10, allowed)
        assert [i for i in found.tolist() if i >= 0] == brute_force(data, ids, query, allowed, 10)


def test_keyword_search_scores_only_allowed_chunks():
    chunks = {i: Chunk(i, f"s{i}", "", text, 0, 1) for i, text in enumerate([OTTERS, OTTERS, "Otters swim.", "Bees."])}
    keywords = KeywordIndex.build(chunks)
    assert {i for i, _ in keywords.search("otters", 5)} == {0, 1, 2}
    assert [i for i, _ in keywords.search("otters", 5, np.array([2, 3]))] == [2]
    assert keywords.search("otters", 5, np.array([3])) == []
    assert keywords.search("otters", 5, np.array([99])) == []  # an id it does not hold: no error, nothing
    assert dict(keywords.search("otters", 5, np.array([0, 1, 2, 3]))) == dict(keywords.search("otters", 5))
    assert keywords.search("the and of", 5, np.array([0, 1])) == []  # stop words alone: no term to score


# --- answers -------------------------------------------------------------------------------------------------------


def test_a_filter_that_keeps_nothing_abstains_saying_so_without_a_model(rag: RAG):
    embedder, model = rag.embedder, rag.generator
    embedded = len(embedder.encoded)  # type: ignore[attr-defined]
    answer = rag.ask("How do otters sleep?", filter=DocumentFilter.parse(types="pdf"))
    assert answer.abstained and answer.abstain_reason == NO_MATCH and answer.passages == []
    assert [c.name for c in answer.checks] == ["filter"]
    items = list(rag.stream("How do otters sleep?", filter=DocumentFilter.parse(modified_after="2030-01-01")))
    assert isinstance(items[-1], Answer) and items[-1].abstain_reason == NO_MATCH
    assert model.streamed == 0 and len(embedder.encoded) == embedded  # type: ignore[attr-defined]
    assert rag.retrieve("How do otters sleep?", filter=DocumentFilter.parse(types="pdf")) == []


def test_an_answer_with_a_filter_cites_only_kept_documents(rag: RAG):
    only = DocumentFilter.parse(sources="docs/reports/**")
    answer = rag.ask("Do sea otters hold hands while they sleep?", filter=only)
    assert answer.passages and all(p.chunk.source.startswith("docs/reports/") for p in answer.passages)
    assert answer.citations and all(c.source.startswith("docs/reports/") for c in answer.citations)
    streamed = list(rag.stream("Do sea otters hold hands while they sleep?", strictness="lenient", filter=only))
    assert all(p.chunk.source.startswith("docs/reports/") for p in streamed[-1].passages)
