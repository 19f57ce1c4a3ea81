"""rag.models.calibration: fits keyed by the model's fingerprint, the user's before the shipped, and what a model
with no fit gets."""

from __future__ import annotations

import json

from rag.models.calibration import CONSERVATIVE, fingerprint, load_fit, model_identity, save_fit, user_folder
from rag.settings import Settings

POINTS = {
    name: {"min_retrieval_score": r, "min_answer_check": c, "target_reached": True, "figures": {}}
    for name, r, c in (("lenient", 0.1, 0.2), ("balanced", 0.2, 0.4), ("strict", 0.3, 0.8))
}


def test_each_thing_that_moves_the_numbers_changes_the_fingerprint(tmp_path):
    base = model_identity("qwen-1.5b", "", "transformers", "bfloat16", "minilm")
    others = [
        model_identity("qwen-0.5b", "", "transformers", "bfloat16", "minilm"),
        model_identity("qwen-1.5b", "", "transformers", "float32", "minilm"),
        model_identity("qwen-1.5b", "", "llama.cpp", "bfloat16", "minilm"),
        model_identity("qwen-1.5b", "", "transformers", "bfloat16", "mpnet"),
        model_identity("qwen-1.5b", "http://localhost:8080/v1", "transformers", "bfloat16", "minilm"),
    ]
    assert len({fingerprint(i) for i in [base, *others]}) == 6
    # a model server's model is its name, wherever the server listens; llama.cpp has no dtype
    assert fingerprint(model_identity("m", "http://a:1/v1", "llama.cpp", "float32", "minilm")) == fingerprint(
        model_identity("m", "http://b:2/v1", "transformers", "bfloat16", "minilm")
    )
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"x" * 10)
    first = fingerprint(model_identity(str(gguf), "", "llama.cpp", "float32", "minilm"))
    gguf.write_bytes(b"x" * 11)  # another file under the same name
    assert fingerprint(model_identity(str(gguf), "", "llama.cpp", "float32", "minilm")) != first


def test_a_model_with_a_fit_reads_its_points_and_the_users_fit_comes_first(tmp_path):
    settings = Settings(generator="smollm2", runtime="llama.cpp", cache_dir=tmp_path)
    assert settings.calibration is None and "rag calibrate" in settings.uncalibrated_warning()
    assert settings.min_answer_check == CONSERVATIVE["balanced"]["min_answer_check"]
    path = save_fit(settings.model_identity(), {"points": POINTS}, user_folder(tmp_path))
    assert json.loads(path.read_text())["model"]["generator"] == "smollm2"
    for name, point in POINTS.items():
        chosen = Settings(generator="smollm2", runtime="llama.cpp", cache_dir=tmp_path, strictness=name)
        assert (chosen.min_retrieval_score, chosen.min_answer_check) == (
            point["min_retrieval_score"],
            point["min_answer_check"],
        )
        assert chosen.calibration == path and chosen.uncalibrated_warning() is None
    # a threshold given by the user wins over the fit, and a fully given set needs no calibration
    given = Settings(
        generator="qwen-0.5b", cache_dir=tmp_path, min_answer_check=0.6, min_retrieval_score=0.3, strictness="strict"
    )
    assert given.min_answer_check == 0.6 and given.uncalibrated_warning() is None
    # the user's refit of a shipped model is read before the shipped fit
    shipped = Settings(cache_dir=tmp_path)
    assert shipped.calibration is not None and shipped.calibration.parent.name == "calibration"
    mine = save_fit(shipped.model_identity(), {"points": POINTS}, user_folder(tmp_path))
    assert Settings(cache_dir=tmp_path).calibration == mine and Settings(cache_dir=tmp_path).min_answer_check == 0.4


def test_an_unreadable_fit_is_passed_over(tmp_path):
    identity = Settings(generator="smollm2", runtime="llama.cpp", cache_dir=tmp_path).model_identity()
    folder = user_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / f"{fingerprint(identity)}.json").write_text("{not json")
    assert load_fit(identity, tmp_path) is None
