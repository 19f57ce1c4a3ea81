"""`rag eval` as a user runs it: the three formats, the report folder, the cache, Ctrl-C and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import SEED_GOLD, SHARED_DATA, assert_one_line_error, make_beir, run, write_lines

pytestmark = pytest.mark.slow  # runs `rag eval` with the real models


def run_env(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=900, env={**os.environ, **env}
    )


def test_beir_report_and_cached_index(tmp_path: Path):
    data, cache = make_beir(tmp_path / "beir"), tmp_path / "cache"
    result = run_env("eval", str(data), "--json", "--report", str(tmp_path / "run"), env={"RAG_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["retrieval"]["recall@1"] == 1.0 and metrics["retrieval"]["n"] == 2
    assert "answers" not in metrics  # BEIR is retrieval only
    run_dir = tmp_path / "run"
    assert len((run_dir / "results.jsonl").read_text().splitlines()) == 2
    config = json.loads((run_dir / "config.json").read_text())
    assert config["dataset"]["kind"] == "beir" and len(config["git_commit"]) >= 7
    assert config["models"]["embedder"].startswith("minilm: ")
    assert (run_dir / "recall_at_k.png").stat().st_size > 1000
    assert "## Retrieval" in (run_dir / "summary.md").read_text()

    (manifest,) = list(cache.glob("eval-indexes/beir-*/manifest.json"))
    built = json.loads(manifest.read_text())["updated"]
    again = run_env("eval", str(data), "--json", env={"RAG_CACHE_DIR": str(cache)})
    assert again.returncode == 0 and json.loads(again.stdout)["retrieval"] == metrics["retrieval"]
    assert json.loads(manifest.read_text())["updated"] == built  # opened, not embedded again


def test_seed_gold_all_metric_groups(tmp_path: Path):
    result = run(
        "eval",
        str(SEED_GOLD),
        "--limit",
        "5",
        "--generator",
        "smollm2",
        "--judge",
        "score",
        "--json",
        "--report",
        str(tmp_path / "run"),
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    for group in ("retrieval", "answers", "citations", "abstention", "latency_ms"):
        assert group in metrics, group
    assert metrics["questions"] == 5
    assert 0.0 <= metrics["citations"]["precision"] <= 1.0
    assert metrics["latency_ms"]["total"]["p50"] <= metrics["latency_ms"]["total"]["p95"]
    records = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert len(records) == 5 and all("timings_ms" in r for r in records)
    # what the abstention thresholds read, per question: relevance always, the check once a draft was checked
    assert all(-1.0 <= r["relevance"] <= 1.0 for r in records)
    assert all(r["answer_check"] is None or 0.0 <= r["answer_check"] <= 1.0 for r in records)
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "How far to trust these" in summary and "kappa" in summary

    compared = run("eval", "--compare", str(tmp_path / "run"), str(tmp_path / "run" / "metrics.json"))
    assert compared.returncode == 0 and "retrieval.ndcg@10" in compared.stdout and "+0" in compared.stdout


def test_ctrl_c_keeps_what_was_done(tmp_path: Path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "rag",
        "eval",
        str(SEED_GOLD),
        "--generator",
        "smollm2",
        "--judge",
        "none",
        "--report",
        str(run_dir),
    ]
    # A job started in the background (CI, `cmd &`) inherits SIGINT as ignored; give the child the
    # default back, as a terminal would, so Ctrl-C reaches it.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    results = run_dir / "results.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (results.exists() and len(results.read_text().splitlines()) >= 2):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    kept = len(results.read_text().splitlines())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["questions"] == kept and 2 <= kept < 52
    assert "Interrupted" in (run_dir / "summary.md").read_text()


def test_malformed_data_set_is_one_line_naming_file_and_line(tmp_path: Path):
    bad = write_lines(tmp_path / "gold.jsonl", ['{"question": "fine?"}', '{"question": 7}'])
    assert_one_line_error(run("eval", str(bad)), f"{bad}:2:", "'question'")
    assert_one_line_error(run("eval"), "name a data set")
    assert_one_line_error(run("eval", str(bad), "--limit", "0"), "--limit")
    assert_one_line_error(run("eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b")), "no evaluation run")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is not on this machine (RAG_EVAL_DATA)")
def test_squad_retrieval_on_the_real_file(tmp_path: Path):
    squad = SHARED_DATA / "squad-v1.1" / "dev-v1.1.json"
    result = run_env(
        "eval",
        str(squad),
        "--limit",
        "40",
        "--retrieval-only",
        "--json",
        env={"RAG_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["questions"] == 40
    # paragraph retrieval over 2,067 paragraphs: plain BM25 reaches R@10 0.945 on this data (eval-data README)
    assert metrics["retrieval"]["recall@10"] > 0.7


def test_the_report_places_each_operating_point_and_the_plain_baseline_on_the_risk_coverage_plane(tmp_path: Path):
    from test_eval_datasets import make_squad

    data = make_squad(tmp_path / "squad.json", articles=12)
    common = ("--split", "tune", "--limit", "6", "--remove-gold", "0.5", "--generator", "smollm2", "--json")
    env = {"RAG_CACHE_DIR": str(tmp_path / "cache")}
    checked = run_env(
        "eval", str(data), *common, "--every-check", "--judge", "none", "--report", str(tmp_path / "a"), env=env
    )
    assert checked.returncode == 0, checked.stderr
    assert "rag: warning: no calibration for smollm2" in checked.stderr  # said once, before the run
    rc = json.loads(checked.stdout)["risk_coverage"]
    assert set(rc["points"]) == {"as run", "lenient", "balanced", "strict"} and rc["curve"]
    strict, lenient = rc["points"]["strict"], rc["points"]["lenient"]
    assert strict["min_answer_check"] > lenient["min_answer_check"] and strict["coverage"] <= lenient["coverage"]
    assert all(0 <= p["coverage"] <= 1 for p in rc["curve"])
    summary = (tmp_path / "a" / "summary.md").read_text()
    assert "## Operating points" in summary and (tmp_path / "a" / "risk_coverage.png").stat().st_size > 1000
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["dataset"]["remove_gold"] == 0.5 and config["pipeline"] == "rag"

    plain = run_env("eval", str(data), *common, "--plain", "--report", str(tmp_path / "b"), env=env)
    assert plain.returncode == 0, plain.stderr
    metrics = json.loads(plain.stdout)
    assert metrics["risk_coverage"]["points"]["as run"]["coverage"] == 1.0  # nothing withheld
    assert metrics["abstention"]["abstained_when_unanswerable"] == 0.0 and "answers" in metrics
    assert json.loads((tmp_path / "b" / "config.json").read_text())["pipeline"].startswith("plain")
    refused = run_env("eval", str(data), "--plain", "--retrieval-only", env=env)
    assert_one_line_error(refused, "--plain")
