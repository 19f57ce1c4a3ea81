"""`rag users` (accounts: add, remove, list, password, role, key) and `rag chats` (a user's kept conversations:
list, export), on the data folder's database. A password is never an argument (a command line is seen by
every process of the machine and kept in shell histories): it is typed at a prompt, or read from standard
input with --password-stdin."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.api.access import LOCAL, Role
from rag.errors import RagError
from rag.people.accounts import Accounts
from rag.people.conversations import Conversations
from rag.people.export import FORMATS, export


def _folder_flags(parser: argparse.ArgumentParser, as_json: bool = False) -> None:
    from rag.settings import PathSettings

    parser.add_argument("--config", help="settings file (TOML); also RAG_CONFIG")
    parser.add_argument(
        "--data-dir", dest="data_dir", type=Path, help=PathSettings.model_fields["data_dir"].description
    )
    if as_json:
        parser.add_argument("--json", action="store_true", help="print JSON")


def add_commands(commands: Any) -> None:
    """`users` and `chats` under the `rag` command's subcommands."""
    users = commands.add_parser("users", help="accounts of rag serve: add, remove, list, password, role, key")
    actions = users.add_subparsers(dest="action", required=True)

    def action(name: str, about: str, named: bool = True) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=about)
        if named:
            parser.add_argument("name", help="the account's name: letters, digits and . _ @ -")
        _folder_flags(parser, as_json=not named)
        return parser

    add = action("add", "a new account (its password is asked for, or read with --password-stdin)")
    add.add_argument("--admin", action="store_true", help="may add and remove documents (default: a reader)")
    add.add_argument("--key", action="store_true", help="also print a new API key for the account")
    password = action("password", "set an account's password")
    for asks in (add, password):
        asks.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    action("remove", "remove an account, its API keys and its kept conversations")
    action("role", "make an account an admin or a reader").add_argument(
        "role", choices=[Role.ADMIN.value, Role.READER.value]
    )
    key = action("key", "print a new API key for the account (for /v1 and /mcp)")
    key.add_argument("--revoke", action="store_true", help="revoke every API key of the account instead")
    action("list", "the accounts, their roles and API keys", named=False)

    chats = commands.add_parser("chats", help="a user's kept conversations: list, export")
    kinds = chats.add_subparsers(dest="action", required=True)
    listed = kinds.add_parser("list", help="the user's conversations, newest first")
    listed.add_argument("--search", default="", help="only those holding this text")
    exported = kinds.add_parser("export", help="one conversation as Markdown or JSON, on standard output")
    exported.add_argument("id", help="the conversation's id (rag chats list)")
    exported.add_argument("--format", choices=FORMATS, default="md", help="md (default) or json")
    for action in (listed, exported):
        action.add_argument(
            "--user", default=LOCAL.name, help=f"whose (default: {LOCAL.name}, the user without accounts)"
        )
        _folder_flags(action, as_json=action is listed)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise RagError("no terminal to ask the password at: give it on standard input with --password-stdin")
    typed = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("the same again: ") != typed:
        raise RagError("the two passwords differ")
    return typed


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def users(args: argparse.Namespace, data_dir: Path) -> int:
    accounts = Accounts.at(data_dir)
    if args.action == "add":
        accounts.add(args.name, _password(args), Role.ADMIN if args.admin else Role.READER)
        print(f"rag: added {args.name} ({'admin' if args.admin else 'reader'})", file=sys.stderr)
        if args.key:
            print(accounts.new_key(args.name))
    elif args.action == "password":
        accounts.set_password(args.name, _password(args))
        print(f"rag: the password of {args.name} is changed", file=sys.stderr)
    elif args.action == "role":
        accounts.set_role(args.name, Role(args.role))
        print(f"rag: {args.name} is now {args.role}", file=sys.stderr)
    elif args.action == "key":
        if args.revoke:
            print(f"rag: revoked {accounts.revoke_keys(args.name)} API keys of {args.name}", file=sys.stderr)
        else:
            print(accounts.new_key(args.name))  # shown this once: only its digest is kept
    elif args.action == "remove":
        if not accounts.remove(args.name):
            raise RagError(f"no user named {args.name}")
        gone = Conversations.at(data_dir).forget_user(args.name)
        print(f"rag: removed {args.name} and their {gone} kept conversations", file=sys.stderr)
    else:
        everyone = accounts.all()
        if args.json:
            print(json.dumps([account.to_dict() for account in everyone], indent=1))
        for account in [] if args.json else everyone:
            print(f"{account.name}\t{account.role.value}\t{account.keys} API keys\tsince {_when(account.created)}")
    return 0


def chats(args: argparse.Namespace, data_dir: Path) -> int:
    kept = Conversations.at(data_dir)
    if args.action == "export":
        conversation = kept.get(args.user, args.id)
        if conversation is None:
            raise RagError(f"{args.user} has no conversation {args.id}")
        sys.stdout.write(export(conversation, args.format))
        return 0
    summaries = kept.summaries(args.user, args.search)
    if args.json:
        print(json.dumps([summary.to_dict() for summary in summaries], ensure_ascii=False, indent=1))
    for summary in [] if args.json else summaries:
        print(f"{summary.id}\t{_when(summary.updated)}\t{summary.turns} questions\t{summary.title}")
    return 0
