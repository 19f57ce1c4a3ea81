"""`rag users` and `rag chats` (rag/people/commands.py) through the `rag` command's own entry point."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from rag.api.access import Identity, Role
from rag.cli import main
from rag.people.accounts import Accounts
from rag.people.conversations import Conversations, Turn


def rag(folder: Path, *words: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main([*words, "--data-dir", str(folder)])


def test_users_are_added_with_a_password_from_stdin_listed_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
):
    assert (
        rag(
            tmp_path,
            "users",
            "add",
            "alice",
            "--admin",
            "--password-stdin",
            stdin="alice's pass\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert (
        rag(
            tmp_path,
            "users",
            "add",
            "bob",
            "--password-stdin",
            "--key",
            stdin="bob's password\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    key = capsys.readouterr().out.strip()
    accounts = Accounts.at(tmp_path)
    assert accounts.login("alice", "alice's pass") == Identity("alice", Role.ADMIN)
    assert accounts.key(key) == Identity("bob", Role.READER)

    assert rag(tmp_path, "users", "list", "--json", monkeypatch=monkeypatch) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["role"], u["api_keys"]) for u in listed] == [("alice", "admin", 0), ("bob", "reader", 1)]
    assert "password" not in json.dumps(listed)

    Conversations.at(tmp_path).add("bob", None, Turn("Mine?", "default", None, "x"))
    assert rag(tmp_path, "users", "remove", "bob", monkeypatch=monkeypatch) == 0
    assert "their 1 kept conversations" in capsys.readouterr().err
    assert accounts.key(key) is None and Conversations.at(tmp_path).summaries("bob") == []
    assert rag(tmp_path, "users", "remove", "bob", monkeypatch=monkeypatch) == 1
    assert "no user named bob" in capsys.readouterr().err


def test_a_password_is_never_an_argument_and_without_a_terminal_it_must_come_on_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
):
    assert rag(tmp_path, "users", "add", "alice", "hunter22hunter", monkeypatch=monkeypatch) == 2  # no such argument
    assert rag(tmp_path, "users", "add", "alice", monkeypatch=monkeypatch) == 1  # stdin is no terminal here
    assert "--password-stdin" in capsys.readouterr().err
    assert rag(tmp_path, "users", "add", "alice", "--password-stdin", stdin="short\n", monkeypatch=monkeypatch) == 1
    assert "at least 8" in capsys.readouterr().err and Accounts.at(tmp_path).all() == []


def test_roles_passwords_and_keys_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any):
    rag(tmp_path, "users", "add", "carol", "--password-stdin", stdin="first password\n", monkeypatch=monkeypatch)
    assert rag(tmp_path, "users", "role", "carol", "admin", monkeypatch=monkeypatch) == 0
    assert (
        rag(
            tmp_path, "users", "password", "carol", "--password-stdin", stdin="second password", monkeypatch=monkeypatch
        )
        == 0
    )
    assert rag(tmp_path, "users", "key", "carol", monkeypatch=monkeypatch) == 0
    key = capsys.readouterr().out.strip()
    accounts = Accounts.at(tmp_path)
    assert accounts.login("carol", "second password") == Identity("carol", Role.ADMIN)
    assert accounts.key(key) == Identity("carol", Role.ADMIN)
    assert rag(tmp_path, "users", "key", "carol", "--revoke", monkeypatch=monkeypatch) == 0
    assert accounts.key(key) is None


def test_chats_are_listed_and_exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any):
    kept = Conversations.at(tmp_path)
    mine = kept.add("alice", None, Turn("Which agreement does Beijing honor?", "default", None, "busy"))
    assert rag(tmp_path, "chats", "list", "--user", "alice", "--json", monkeypatch=monkeypatch) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == [mine]
    assert rag(tmp_path, "chats", "export", mine, "--user", "alice", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out.startswith("# Which agreement does Beijing honor?")
    assert rag(tmp_path, "chats", "export", mine, "--user", "alice", "--format", "json", monkeypatch=monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["id"] == mine
    assert rag(tmp_path, "chats", "export", mine, monkeypatch=monkeypatch) == 1  # the local user's, not alice's
