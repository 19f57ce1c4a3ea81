"""`rag calibrate` (rag/calibration/calibrate.py) end to end: a small calibration set asked of SmolLM2 in process and
through a real llama.cpp server on loopback, the fit stored under the model's fingerprint and read by the settings
from then on; and its one-line errors for a server that gives no token probabilities or cannot be reached.

The fast tests use the fake embedder and a server stand-in (no model); the others are marked slow one by one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run
from models.test_server import THREADS, llama_server, no_logprobs_server  # noqa: F401 - fixtures of the server tests

from rag import RAG
from rag.calibration.calibrate import Calibration, calibrate
from rag.calibration.calibration_set import MANIFEST
from rag.calibration.fit import STRICTNESS
from rag.errors import RagError
from rag.models.calibration import user_folder
from rag.settings import Settings

SEED_IDS = ["seed-001", "seed-003", "seed-019", "seed-040", "seed-041", "seed-046"]  # three answerable, three not
CLOSED = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there


def small_manifest(folder: Path) -> Path:
    """The shipped manifest with its seed part only, six of its questions, the mission question to be answered."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    seed = next(part for part in manifest["parts"] if part["kind"] == "seed")
    path = folder / "calibration_set.json"
    path.write_text(json.dumps({**manifest, "parts": [{**seed, "ids": SEED_IDS}], "must_answer": ["seed-001"]}))
    return path


def fits_in(cache_dir: Path) -> list[Path]:
    """The fit files in the user's calibration folder (the answers recorded lie in folders beside them)."""
    return sorted(user_folder(cache_dir).glob("*.json"))


def assert_a_fit_of_the_small_set(result: Calibration, cache_dir: Path) -> dict:
    """The fit file written where the settings look, holding the three points in order of caution; its content."""
    assert fits_in(cache_dir) == [result.path]
    assert (Path(result.fit["records"]) / "seed").is_dir()  # the answers it recorded, kept for a refit
    assert result.missing == [] and result.fit["calibration_set"] == {"seed": len(SEED_IDS)}
    assert result.fit["errors"] == 0 and result.fit["must_answer"] == ["seed-001"]
    saved = json.loads(result.path.read_text(encoding="utf-8"))
    assert tuple(saved["points"]) == STRICTNESS
    answer_check = [saved["points"][name]["min_answer_check"] for name in STRICTNESS]
    assert answer_check == sorted(answer_check), answer_check  # lenient <= balanced <= strict
    assert all(0.0 <= value < 1.0 for value in answer_check)
    return saved


@pytest.mark.slow
def test_calibrating_smollm2_in_process_writes_the_fit_the_settings_then_read(tmp_path: Path, embedder):
    settings = {"generator": "smollm2", "runtime": "llama.cpp", "threads": THREADS, "cache_dir": tmp_path}
    assert Settings(**settings).calibration is None  # never calibrated: conservative thresholds until now
    warned: list[str] = []
    result = calibrate(RAG(**settings).use(embedder=embedder), manifest=small_manifest(tmp_path), warn=warned.append)
    assert warned == []  # the seed part is always there
    saved = assert_a_fit_of_the_small_set(result, tmp_path)
    assert saved["model"] == {"generator": "smollm2", "runs_on": "llama.cpp", "dtype": None, "embedder": "minilm"}
    after = Settings(**settings)
    balanced = saved["points"]["balanced"]
    assert after.calibration == result.path and after.uncalibrated_warning() is None
    assert (after.min_retrieval_score, after.min_answer_check) == (
        balanced["min_retrieval_score"],
        balanced["min_answer_check"],
    )


@pytest.mark.slow
def test_calibrating_through_a_model_server_keys_the_fit_by_the_served_model(
    llama_server: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    embedder,
):
    rag = RAG(generator_url=llama_server, generator="smollm2", cache_dir=tmp_path).use(embedder=embedder)
    result = calibrate(rag, manifest=small_manifest(tmp_path))
    saved = assert_a_fit_of_the_small_set(result, tmp_path)
    assert saved["model"] == {"generator": "smollm2", "runs_on": "server", "dtype": None, "embedder": "minilm"}
    # the served model is its name, wherever the server listens: a server elsewhere reads the same fit
    elsewhere = Settings(generator_url="http://127.0.0.1:8080/v1", generator="smollm2", cache_dir=tmp_path)
    assert elsewhere.calibration == result.path and elsewhere.uncalibrated_warning() is None
    assert elsewhere.min_answer_check == saved["points"]["balanced"]["min_answer_check"]
    # the same GGUF run in process is another model to the calibration
    assert Settings(generator="smollm2", runtime="llama.cpp", cache_dir=tmp_path).calibration is None


@pytest.mark.slow
def test_rag_calibrate_on_a_server_without_token_probabilities_is_a_one_line_error(
    no_logprobs_server: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
):
    """The whole shipped seed part (52 questions) asked of a stand-in that answers at once, with no logprobs."""
    result = run(
        "calibrate",
        "--generator-url",
        no_logprobs_server,
        "--generator",
        "stand-in",
        "--cache-dir",
        str(tmp_path),
        "--eval-data",
        str(tmp_path / "no-eval-data"),  # the SQuAD parts absent: only the seed part runs
    )
    assert_one_line_error(result, "calibration needs the model's token probabilities")
    assert "calibration set part not found" in result.stderr  # the absent parts said, not passed over silently
    assert fits_in(tmp_path) == []


@pytest.mark.slow
def test_rag_calibrate_with_an_unreachable_server_is_a_one_line_error(tmp_path: Path):
    result = run(
        "calibrate", "--generator-url", CLOSED, "--cache-dir", str(tmp_path), "--eval-data", str(tmp_path / "none")
    )
    assert_one_line_error(result, f"cannot reach the model server at {CLOSED}")
    assert fits_in(tmp_path) == []


# --- fast: the fake embedder and no model ------------------------------------------------------------


def test_calibrate_with_an_unreachable_server_stops_before_any_question(tmp_path: Path, fake_embedder):
    rag = RAG(generator_url=CLOSED, generator="smollm2", cache_dir=tmp_path).use(embedder=fake_embedder)
    with pytest.raises(RagError, match=f"cannot reach the model server at {CLOSED}"):
        calibrate(rag, manifest=small_manifest(tmp_path))
    assert fits_in(tmp_path) == []
    recorded = [line for f in user_folder(tmp_path).rglob("results.jsonl") for line in f.read_text().splitlines()]
    assert recorded == []  # the server is reached when the model loads, before the first question


def test_calibrate_on_a_server_without_token_probabilities_writes_no_fit(
    no_logprobs_server: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    fake_embedder,
):
    rag = RAG(generator_url=no_logprobs_server, generator="stand-in", cache_dir=tmp_path).use(embedder=fake_embedder)
    with pytest.raises(RagError, match="calibration needs the model's token probabilities"):
        calibrate(rag, manifest=small_manifest(tmp_path))
    assert fits_in(tmp_path) == []
