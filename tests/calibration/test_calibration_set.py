"""The calibration set: named by ids in the package, read from the public files, the seed part always there."""

from __future__ import annotations

import json

import pytest

from rag.calibration.calibration_set import MANIFEST, calibration_parts
from rag.settings import DEFAULT_CORPUS
from tests.helpers import SHARED_DATA


def test_without_the_public_data_the_seed_part_is_used_and_the_rest_is_named(tmp_path):
    sets, missing = calibration_parts(tmp_path)
    assert [s.name for s in sets] == ["seed"]
    assert len(missing) == 2 and all(str(tmp_path) in line for line in missing)
    seed = sets[0]
    assert any(q.id == "seed-001" for q in seed.questions)  # the mission question, which balanced keeps answered
    assert [d.source for d in seed.corpus] and all(str(DEFAULT_CORPUS) in d.source for d in seed.corpus)


def test_a_file_other_than_the_one_the_set_was_built_from_is_refused(tmp_path):
    manifest = json.loads(MANIFEST.read_text())
    (tmp_path / "squad-v2.0").mkdir()
    (tmp_path / "squad-v2.0" / "tune-v2.0.json").write_text('{"version": "v2.0", "data": []}')
    _, missing = calibration_parts(tmp_path)
    assert any("sha256 differs" in line for line in missing)
    assert manifest["must_answer"] == ["seed-001"]


@pytest.mark.skipif(not (SHARED_DATA / "squad-v2.0").is_dir(), reason="needs ../shared/eval-data (SQuAD)")
def test_the_shipped_set_is_built_from_training_material_only():
    sets, missing = calibration_parts(SHARED_DATA)
    assert not missing
    by_name = {s.name: s for s in sets}
    assert set(by_name) == {"squad2-tune", "squad1-tune-removed-gold", "seed"}
    for name in ("squad2-tune", "squad1-tune-removed-gold"):
        answerable = [q.answerable for q in by_name[name].questions]
        assert answerable.count(True) == answerable.count(False) == 20
    removed = by_name["squad1-tune-removed-gold"]
    kept = {d.source for d in removed.corpus}
    titles = {d.title for d in removed.corpus}
    assert len(titles) <= 10  # the tune split's articles only
    for q in removed.questions:  # an unanswerable question's own paragraph is gone; an answerable one's is there
        assert (q.gold_sources[0] in kept) if q.answerable else not q.gold_sources
