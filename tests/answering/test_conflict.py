"""Conflicting sources: kept through duplicate collapse, and the answer says they disagree, citing both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.retrieval.retrieve import collapse
from rag.text import disagree

DOCS = {
    "city-guide.txt": "The Ostrava steel bridge over the Oder opened to traffic in 1932. It carries two lanes.",
    "heritage-register.txt": "The heritage register records that the Ostrava steel bridge over the Oder opened to "
    "traffic in 1934. Its engineer was Karel Novak.",
    "council-minutes.txt": "The council confirmed that the old tram depot is not a listed building. Repairs start "
    "in spring.",
    "tram-history.txt": "The old tram depot is a listed building, protected since 1988. Trams left it in 1975.",
}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("The bridge opened in 1932.", "The bridge opened in 1934.", True),
        ("The depot is a listed building.", "The depot is not a listed building.", True),
        ("The bridge opened in 1,932.", "The bridge opened in 1932.", False),
        ("The bridge opened in 1932.", "The bridge carries two lanes.", False),
    ],
)
def test_disagreement(a: str, b: str, expected: bool):
    assert disagree(a, b) is expected


def test_collapse_keeps_near_duplicates_that_disagree():
    vectors = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]])
    assert collapse([0, 1, 2], vectors, 0.8, 3) == [0, 2]
    assert collapse([0, 1, 2], vectors, 0.8, 3, lambda a, b: {a, b} == {0, 1}) == [0, 1, 2]


@pytest.fixture(scope="module")
def conflicting_rag(tmp_path_factory: pytest.TempPathFactory):
    from rag import RAG

    root = tmp_path_factory.mktemp("conflict")
    for name, text in DOCS.items():
        (root / name).write_text(text)
    rag = RAG(index_dir=root / "index", corpus=[root])
    rag.build()
    return rag


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("When did the Ostrava steel bridge open?", {"city-guide.txt", "heritage-register.txt"}),
        ("Is the old tram depot a listed building?", {"council-minutes.txt", "tram-history.txt"}),
    ],
)
def test_answer_says_the_sources_disagree_and_cites_both(conflicting_rag, question: str, sides: set[str]):
    answer = conflicting_rag.ask(question)
    assert not answer.abstained
    note = next(s for s in answer.sentences if s.text.startswith("The sources disagree"))
    cited = {Path(c.source).name for c in answer.citations if c.n in note.citations}
    assert cited == sides


@pytest.mark.slow
def test_no_disagreement_is_claimed_when_the_sources_agree_on_the_point(conflicting_rag):
    answer = conflicting_rag.ask("Who was the engineer of the Ostrava bridge?")
    assert "Novak" in answer.answer and "disagree" not in answer.answer
