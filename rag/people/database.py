"""The one SQLite file that keeps what belongs to people: accounts and their conversations.

WAL journal, so `rag users add` may write while `rag serve` reads. One connection per process and file,
shared by every thread under a lock: a statement takes microseconds, and the slow work (hashing a password,
answering) happens outside it.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import RagError

FILE_NAME = "rag.sqlite3"


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            # password hashes and conversations: for this machine's user only
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                path.touch(mode=0o600)
            self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._connection.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as error:
            raise RagError(f"cannot open the data file {path}: {error}") from None
        self._connection.execute("PRAGMA foreign_keys=ON")
        self._connection.row_factory = sqlite3.Row

    def ensure(self, schema: str) -> None:
        """Create what `schema` (CREATE ... IF NOT EXISTS statements) describes, where it is missing."""
        with self._lock:
            self._connection.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Statements that stand or fall together; the write lock is taken at once (no upgrade deadlock)."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def rows(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()


@functools.cache
def _opened(path: Path) -> Database:
    return Database(path)


def open_database(folder: Path) -> Database:
    """The data folder's database, opened once per process."""
    return _opened(Path(os.path.abspath(folder)) / FILE_NAME)
