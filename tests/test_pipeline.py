"""The pipeline keeps a saved index up to date: corpus edits, settings changes, removals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import RAG
from rag.errors import RagError

pytestmark = pytest.mark.slow  # builds real indexes with the real embedder

FACTS = "Sea otters hold hands while they sleep. " * 3 + "They live in the North Pacific. " * 3


def _corpus(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "otters.txt").write_text(FACTS)
    (corpus / "moon.md").write_text("# Moon\n\nThe Moon orbits the Earth every 27 days.")
    return corpus, tmp_path / "index"


def _manifest(index: Path) -> dict:
    return json.loads((index / "manifest.json").read_text())


def test_opening_never_re_embeds_an_unchanged_index(tmp_path: Path, monkeypatch):
    corpus, index = _corpus(tmp_path)
    RAG(index_dir=index, corpus=[corpus]).build()
    generation = _manifest(index)["generation"]
    rag = RAG(index_dir=index)
    calls = []
    original = rag.embedder.encode
    monkeypatch.setattr(rag.embedder, "encode", lambda texts, progress=False: calls.append(texts) or original(texts))
    assert len(rag.index) == 2
    assert sum(len(texts) for texts in calls) == 0 and _manifest(index)["generation"] == generation


def test_changed_corpus_is_synced_on_open(tmp_path: Path):
    corpus, index = _corpus(tmp_path)
    RAG(index_dir=index, corpus=[corpus]).build()
    (corpus / "moon.md").write_text("# Moon\n\nThe Moon is about 384,400 km from the Earth.")
    (corpus / "otters.txt").unlink()
    (corpus / "mars.txt").write_text("Mars has two small moons, Phobos and Deimos.")
    rag = RAG(index_dir=index)
    texts = " ".join(c.text for c in rag.index.chunks.values())
    assert "384,400" in texts and "27 days" not in texts and "Phobos" in texts and "otters" not in texts
    assert sorted(Path(s).name for s in rag.documents()) == ["mars.txt", "moon.md"]


def test_changed_splitting_rebuilds(tmp_path: Path):
    corpus, index = _corpus(tmp_path)
    RAG(index_dir=index, corpus=[corpus]).build()
    before = len(RAG(index_dir=index).index)
    rag = RAG(index_dir=index, chunk_tokens=16, chunk_overlap=4)
    assert len(rag.index) > before
    assert _manifest(index)["splitting"] == {"chunk_tokens": 16, "chunk_overlap": 4, "title_in_chunks": True}


def test_remove_one_document(tmp_path: Path):
    corpus, index = _corpus(tmp_path)
    rag = RAG(index_dir=index, corpus=[corpus])
    rag.build()
    assert rag.remove(str(corpus / "moon.md"))
    assert [Path(s).name for s in RAG(index_dir=index).documents()] == ["otters.txt"]
    assert not rag.remove("no-such-document.txt")
    rag.add([corpus / "moon.md"])  # named explicitly: wanted again
    assert sorted(Path(s).name for s in RAG(index_dir=index).documents()) == ["moon.md", "otters.txt"]


def test_variant_shares_what_its_settings_leave_alone(seed_rag, tmp_path):
    """A variant with other retrieval settings reuses the loaded embedder and index; another index does not."""
    retrieval = seed_rag.variant(retrieval="keyword", top_k=3)
    assert retrieval.settings.retrieval == "keyword" and retrieval.settings.top_k == 3
    assert retrieval.embedder is seed_rag.embedder and retrieval.index is seed_rag.index
    assert retrieval.library is seed_rag.library  # the same folder, writer lock included
    elsewhere = seed_rag.variant(index_dir=tmp_path / "other")
    assert elsewhere.embedder is seed_rag.embedder and elsewhere.library is not seed_rag.library
    assert elsewhere.library.folder == tmp_path / "other"
    assert seed_rag.variant(embedder="other-model").library is not seed_rag.library  # its index is another's


def test_variant_shares_a_part_while_what_it_is_made_from_is_unchanged(tmp_path, monkeypatch):
    """Nothing is loaded here: the parts are given, and a variant either shares each one or makes its own."""
    monkeypatch.setattr("rag.pipeline.Embedder", lambda *args, **kwargs: "a new embedder")
    monkeypatch.setattr("rag.pipeline.generator_for", lambda *args: "a new generator")
    generator, embedder = object(), object()
    base = RAG(index_dir=tmp_path / "index").use(embedder=embedder, generator=generator)  # type: ignore[arg-type]
    same = {"top_k": 3, "retrieval": "keyword", "min_support": 0.5, "max_new_tokens": 9, "rerank_candidates": 4}
    for name, value in same.items():  # answering, search and checks settings: every part shared
        other = base.variant(**{name: value})
        assert (other.embedder, other.generator, other.library) == (embedder, generator, base.library), name
    for name, value in {"generator": "smollm2", "context_tokens": 1024, "threads": 1}.items():
        other = base.variant(**{name: value})  # the rest of the models group: only the generator is made again
        assert (other.embedder, other.generator) == (embedder, "a new generator"), name
        assert other.library is base.library
    for name, value in {"chunk_tokens": 32, "title_in_chunks": False, "corpus": [tmp_path]}.items():
        other = base.variant(**{name: value})  # ingest and paths: the library (the models are shared)
        assert (other.embedder, other.generator) == (embedder, generator) and other.library is not base.library
    other = base.variant(embedder="mpnet")  # the embedder, and so the library; the generator stays
    assert (other.embedder, other.generator) == ("a new embedder", generator) and other.library is not base.library


def test_an_update_does_not_disturb_an_answer_in_flight(tmp_path: Path):
    """An answer that started on the old index finishes on it; the next question sees the new one."""
    from rag.types import Answer

    corpus, index = _corpus(tmp_path)
    rag = RAG(index_dir=index, corpus=[corpus], generator="smollm2", max_new_tokens=24)
    rag.build()
    before = rag.index
    stream = rag.stream("Where do sea otters live?")
    first = next(stream)  # retrieval is done and generation has begun
    (corpus / "volcano.txt").write_text("Mount Etna erupted in 2021, covering Catania in ash.")
    report = rag.build()
    assert report.added and rag.index is not before  # swapped in, not changed in place
    assert len(before) == 2 and len(rag.index) == 3
    rest = list(stream)
    answer = rest[-1]
    assert isinstance(first, str) and isinstance(answer, Answer)
    assert answer.passages and all(p.chunk.source.endswith(("otters.txt", "moon.md")) for p in answer.passages)
    assert rag.retrieve("When did Mount Etna erupt?", k=1)[0].chunk.source.endswith("volcano.txt")


def test_a_read_only_pipeline_refuses_to_change_its_index(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Mirabel is the capital of Freedonia.")
    rag = RAG(index_dir=tmp_path / "index", read_only=True)
    from rag.web.uploads import add_uploads

    changes = (
        lambda: rag.build([tmp_path]),
        lambda: rag.remove("a.txt"),
        lambda: add_uploads(rag, [str(tmp_path / "a.txt")]),
    )
    for change in changes:
        with pytest.raises(RagError, match="read-only"):
            change()
    assert not (tmp_path / "index").exists() and not (tmp_path / "uploads").exists()  # refused before any write
    assert rag.variant(top_k=3).read_only  # a variant serves the same index the same way
