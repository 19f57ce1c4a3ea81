"""Conversations kept per user: each question asked on the chat page with its checked answer (Answer.to_dict,
citations and all) and the collection it was asked of, so that a conversation survives a reload or a restart
and its follow-ups are read from what was kept.

Every call names the user, and every statement is bounded by it: a conversation id alone (a guessed one, or
one sent by a forged event) reaches nobody else's conversation.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.people.database import Database, open_database
from rag.types import Answer

TITLE_CHARS = 80

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_of_user ON conversations (user, updated DESC);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    collection TEXT NOT NULL,
    answer TEXT,
    error TEXT NOT NULL DEFAULT '',
    asked REAL NOT NULL,
    PRIMARY KEY (conversation, position)
);
"""


@dataclass(frozen=True)
class Turn:
    """One question and what came of it: the checked answer, or the error said instead (answer None)."""

    question: str
    collection: str
    answer: Answer | None
    error: str = ""
    asked: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Summary:
    """A conversation as the sidebar lists it."""

    id: str
    title: str
    created: float
    updated: float
    turns: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "created": when(self.created),
            "updated": when(self.updated),
            "turns": self.turns,
        }


@dataclass(frozen=True)
class Conversation:
    id: str
    user: str
    title: str
    created: float
    updated: float
    turns: list[Turn]


def when(seconds: float) -> str:
    """A time as JSON and Markdown exports give it: ISO 8601, UTC, to the second."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def title_of(question: str) -> str:
    """A new conversation's title: its first question, on one line, cut to TITLE_CHARS."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def _like(text: str) -> str:
    """A LIKE pattern finding `text` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Conversations:
    def __init__(self, database: Database) -> None:
        database.ensure(SCHEMA)
        self.db = database

    @classmethod
    def at(cls, folder: Path) -> Conversations:
        """The conversations kept in a data folder, opened once per process."""
        return _conversations_of(open_database(folder))

    def add(self, user: str, conversation: str | None, turn: Turn) -> str:
        """Keep one turn at the end of the user's conversation; a new conversation (titled by the question)
        when there is none, or when the one named is not this user's (deleted in another tab, or forged).
        Returns the conversation's id."""
        now = turn.asked
        kept = json.dumps(turn.answer.to_dict(), ensure_ascii=False) if turn.answer is not None else None
        with self.db.transaction() as db:
            owned = (
                conversation
                and db.execute("SELECT 1 FROM conversations WHERE id = ? AND user = ?", (conversation, user)).fetchone()
            )
            if not owned:
                conversation = uuid.uuid4().hex
                db.execute(
                    "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                    (conversation, user, title_of(turn.question), now, now),
                )
            position = db.execute(
                "SELECT coalesce(max(position) + 1, 0) FROM turns WHERE conversation = ?", (conversation,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation, position, turn.question, turn.collection, kept, turn.error, now),
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation))
        assert conversation is not None
        return conversation

    def summaries(self, user: str, search: str = "") -> list[Summary]:
        """The user's conversations, the latest used first; `search`: only those whose title, a question or an
        answer holds it (case aside)."""
        sql = (
            "SELECT c.id, c.title, c.created, c.updated, (SELECT count(*) FROM turns t WHERE t.conversation = c.id) "
            "AS turns FROM conversations c WHERE c.user = :user"
        )
        if search.strip():
            sql += (
                " AND (c.title LIKE :like ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns t WHERE t.conversation = c.id "
                "AND (t.question LIKE :like ESCAPE '\\' OR json_extract(t.answer, '$.answer') LIKE :like ESCAPE '\\')))"
            )
        rows = self.db.rows(sql + " ORDER BY c.updated DESC", {"user": user, "like": _like(search.strip())})
        return [Summary(r["id"], r["title"], r["created"], r["updated"], r["turns"]) for r in rows]

    def get(self, user: str, conversation: str | None) -> Conversation | None:
        """The user's conversation with every turn in order; None when it is not theirs (or not at all)."""
        found = self.db.rows("SELECT * FROM conversations WHERE id = ? AND user = ?", (conversation, user))
        if not found:
            return None
        rows = self.db.rows("SELECT * FROM turns WHERE conversation = ? ORDER BY position", (conversation,))
        turns = [
            Turn(
                r["question"],
                r["collection"],
                Answer.from_dict(json.loads(r["answer"])) if r["answer"] else None,
                r["error"],
                r["asked"],
            )
            for r in rows
        ]
        c = found[0]
        return Conversation(c["id"], c["user"], c["title"], c["created"], c["updated"], turns)

    def rename(self, user: str, conversation: str | None, title: str) -> bool:
        title = " ".join(title.split())[:200]
        if not title:
            return False
        with self.db.transaction() as db:
            changed = db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND user = ?", (title, conversation, user)
            )
            return bool(changed.rowcount)

    def delete(self, user: str, conversation: str | None) -> bool:
        with self.db.transaction() as db:
            gone = db.execute("DELETE FROM conversations WHERE id = ? AND user = ?", (conversation, user))
            return bool(gone.rowcount)

    def keep_first(self, user: str, conversation: str | None, turns: int) -> None:
        """Forget the turns after the first `turns` (a question asked again replaces its answer and what followed)."""
        with self.db.transaction() as db:
            db.execute(
                "DELETE FROM turns WHERE position >= ? AND conversation IN "
                "(SELECT id FROM conversations WHERE id = ? AND user = ?)",
                (turns, conversation, user),
            )

    def forget_user(self, user: str) -> int:
        """Delete every conversation of the user (their account was removed); returns how many."""
        with self.db.transaction() as db:
            return db.execute("DELETE FROM conversations WHERE user = ?", (user,)).rowcount


@functools.cache
def _conversations_of(database: Database) -> Conversations:
    return Conversations(database)
