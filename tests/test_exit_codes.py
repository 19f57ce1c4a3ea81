"""The `rag` command's contract with scripts, in process and without real models: --version, a help text on every
option, the exit statuses of docs/cli.md, and errors as one JSON object on stdout under --json."""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from helpers import make_beir

from rag import RAG, cli, exit_codes
from rag.evaluation import runner
from rag.evaluation.datasets import Question


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _json_error(out: str) -> dict:
    error = json.loads(out)
    assert set(error) == {"error", "exit_code"}, error
    return error


def test_version_is_the_installed_one(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"rag {metadata.version('rag')}\n"


def test_every_option_and_argument_says_what_it_is_for():
    parser = cli.build_parser()
    silent = [
        f"rag {name} {action.dest}"
        for name, sub in {"": parser, **_subcommands(parser)}.items()
        for action in sub._actions
        if not (action.help or "").strip() and not isinstance(action, argparse._SubParsersAction)
    ]
    assert silent == []


def test_a_usage_error_exits_2_and_is_json_on_stdout_under_json(capsys):
    assert cli.main(["ask", "--top-k", "many", "Why?", "--json"]) == exit_codes.USAGE
    captured = capsys.readouterr()
    error = _json_error(captured.out)
    assert error["exit_code"] == 2 and "--top-k" in error["error"] and "rag ask --help" in error["error"]
    assert "rag: error: argument --top-k" in captured.err and "Traceback" not in captured.err

    assert cli.main(["ask", "--top-k", "many", "Why?"]) == exit_codes.USAGE
    assert capsys.readouterr().out == ""  # without --json nothing goes to stdout


@pytest.mark.parametrize("name", sorted(_subcommands(cli.build_parser())))
def test_every_subcommand_with_json_says_a_bad_flag_as_json(name: str, capsys):
    if "--json" not in _subcommands(cli.build_parser())[name]._option_string_actions:
        pytest.skip(f"rag {name} has no --json")
    assert cli.main([name, "--json", "--no-such-flag"]) == exit_codes.USAGE
    assert _json_error(capsys.readouterr().out)["exit_code"] == exit_codes.USAGE


def test_a_flag_value_another_module_refuses_is_a_usage_error(capsys):
    assert cli.main(["serve", "--auth", "no-colon", "--json"]) == exit_codes.USAGE
    assert "USER:PASSWORD" in _json_error(capsys.readouterr().out)["error"]


def test_a_runtime_error_exits_1(tmp_path: Path, capsys):
    assert cli.main(["ask", "Why?", "--index", str(tmp_path / "nowhere"), "--json"]) == exit_codes.FAILED
    captured = capsys.readouterr()
    assert _json_error(captured.out) == {"error": captured.err.removeprefix("rag: error: ").strip(), "exit_code": 1}
    assert "no index at" in captured.err


def test_an_unforeseen_error_and_ctrl_c_are_json_too(monkeypatch, capsys):
    monkeypatch.delenv("RAG_DEBUG", raising=False)

    def fails(args: argparse.Namespace) -> RAG:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "_pipeline", fails)
    assert cli.main(["collections", "--json"]) == exit_codes.FAILED
    captured = capsys.readouterr()
    assert _json_error(captured.out)["error"] == "unexpected error: RuntimeError: disk on fire"
    assert captured.err.startswith("rag: unexpected error: RuntimeError: disk on fire")

    def interrupted(args: argparse.Namespace) -> RAG:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_pipeline", interrupted)
    assert cli.main(["collections", "--json"]) == exit_codes.INTERRUPTED
    assert _json_error(capsys.readouterr().out) == {"error": "interrupted", "exit_code": 130}


def test_index_with_a_file_it_could_not_read_is_partial_success(tmp_path: Path, monkeypatch, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("Penguins live in the southern hemisphere.")
    (docs / "notes.xyz").write_text("a kind of file that is not read")
    pipeline = RAG(index_dir=tmp_path / "index").use(embedder=FakeEmbedder())
    monkeypatch.setattr(cli, "_pipeline", lambda args: pipeline)

    assert cli.main(["index", str(docs), "--json"]) == exit_codes.OK  # a folder's kinds not read: listed, no failure
    assert json.loads(capsys.readouterr().out)["documents"] == 1

    (docs / "bad.pdf").write_bytes(b"%PDF-1.7 this is not really a pdf")
    assert cli.main(["index", str(docs), "--json"]) == exit_codes.PARTIAL
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # the report, not an error: the rest was indexed
    assert report["documents"] == 1 and {Path(s["path"]).name for s in report["skipped"]} == {"bad.pdf", "notes.xyz"}
    assert "rag: skipped:" in captured.err and "bad.pdf" in captured.err


def test_eval_with_a_failed_question_is_partial_success(tmp_path: Path, monkeypatch, capsys):
    data = make_beir(tmp_path / "beir")
    pipeline = RAG(cache_dir=tmp_path / "cache", index_dir=tmp_path / "index").use(embedder=FakeEmbedder())
    monkeypatch.setattr(cli, "_pipeline", lambda args: pipeline)
    assert cli.main(["eval", str(data), "--json"]) == exit_codes.OK
    assert json.loads(capsys.readouterr().out)["errors"] == 0

    score = runner.score_question

    def fails_once(rag: RAG, question: Question, *args: object) -> dict:
        if question.id == "q2":
            raise RuntimeError("out of memory")
        return score(rag, question, *args)

    monkeypatch.setattr(runner, "score_question", fails_once)
    assert cli.main(["eval", str(data), "--json"]) == exit_codes.PARTIAL
    captured = capsys.readouterr()
    assert json.loads(captured.out)["errors"] == 1 and "1 questions failed" in captured.err
