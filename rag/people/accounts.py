"""The accounts of `rag serve` (`rag users`): a name, a role and a password, and API keys for programs.

Passwords are kept as Argon2id hashes (argon2-cffi), so a copied data file gives no password back. An API key
is 256 random bits, shown once and kept as its SHA-256 digest: a key cannot be guessed, so a fast hash is
enough, and it lets a key be looked up rather than tried against every hash.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rag.api.access import Identity, Role
from rag.errors import RagError
from rag.people.database import Database, open_database

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
# who rag serve says asked when nobody logged in, or a --api-key key did ("api-key-1", …: rag.api.access.key_name)
RESERVED = re.compile(r"local|api-key(-\d+)?")
MIN_PASSWORD = 8
KEY_PREFIX = "rag-"
ROLES = (Role.ADMIN, Role.READER)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'reader')),
    password TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    digest TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    created: float
    keys: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role.value, "created": self.created, "api_keys": self.keys}


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _stamp(stored: str) -> str:
    """What a session keeps of the password it was made with: changed with the password, telling nothing of it."""
    return hashlib.sha256(stored.encode()).hexdigest()[:16]


class Accounts:
    def __init__(self, database: Database) -> None:
        database.ensure(SCHEMA)
        self.db = database
        self.hasher = PasswordHasher()
        # what an unknown name's password is checked against, so that it takes as long as a known one's
        self._decoy = self.hasher.hash(secrets.token_hex(16))

    @classmethod
    def at(cls, folder: Path) -> Accounts:
        """The accounts of a data folder, opened once per process."""
        return _accounts_of(open_database(folder))

    def add(self, name: str, password: str, role: Role = Role.READER) -> None:
        if not NAME.fullmatch(name) or RESERVED.fullmatch(name):
            raise RagError("a user name is letters, digits and . _ @ - (at most 64), not local nor api-key-N")
        if role not in ROLES:
            raise RagError(f"an account's role is {' or '.join(ROLES)}")
        hashed = self._hash(password)
        with self.db.transaction() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise RagError(f"user {name} exists already")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?)", (name, role.value, hashed, time.time()))

    def set_password(self, name: str, password: str) -> None:
        hashed = self._hash(password)
        with self.db.transaction() as db:
            if not db.execute("UPDATE users SET password = ? WHERE name = ?", (hashed, name)).rowcount:
                raise RagError(f"no user named {name}")

    def set_role(self, name: str, role: Role) -> None:
        with self.db.transaction() as db:
            if not db.execute("UPDATE users SET role = ? WHERE name = ?", (Role(role).value, name)).rowcount:
                raise RagError(f"no user named {name}")

    def remove(self, name: str) -> bool:
        """Forget the user and their API keys (their sessions end at their next request)."""
        with self.db.transaction() as db:
            return bool(db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount)

    def all(self) -> list[Account]:
        rows = self.db.rows(
            "SELECT name, role, created, (SELECT count(*) FROM api_keys WHERE user = name) AS keys "
            "FROM users ORDER BY name"
        )
        return [Account(row["name"], Role(row["role"]), row["created"], row["keys"]) for row in rows]

    def exist(self) -> bool:
        return bool(self.db.rows("SELECT 1 FROM users LIMIT 1"))

    def new_key(self, name: str) -> str:
        """A new API key for the user, returned this once: only its digest is kept."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.transaction() as db:
            if not db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise RagError(f"no user named {name}")
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?)", (_digest(key), name, time.time()))
        return key

    def revoke_keys(self, name: str) -> int:
        with self.db.transaction() as db:
            return db.execute("DELETE FROM api_keys WHERE user = ?", (name,)).rowcount

    def login(self, name: str, password: str) -> Identity | None:
        rows = self.db.rows("SELECT role, password FROM users WHERE name = ?", (name,))
        stored = rows[0]["password"] if rows else self._decoy
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if not rows:
            return None
        if self.hasher.check_needs_rehash(stored):  # hashed with weaker parameters than today's
            stored = self.hasher.hash(password)
            self.db.rows("UPDATE users SET password = ? WHERE name = ?", (stored, name))
        return Identity(name, Role(rows[0]["role"]), _stamp(stored))

    def key(self, token: str) -> Identity | None:
        if not token.startswith(KEY_PREFIX):
            return None
        rows = self.db.rows(
            "SELECT users.name, users.role FROM api_keys JOIN users ON users.name = api_keys.user WHERE digest = ?",
            (_digest(token),),
        )
        return Identity(rows[0]["name"], Role(rows[0]["role"])) if rows else None

    def identity(self, name: str) -> Identity | None:
        """Who `name` is now (None: no longer an account): a session made before a change follows it."""
        rows = self.db.rows("SELECT role, password FROM users WHERE name = ?", (name,))
        return Identity(name, Role(rows[0]["role"]), _stamp(rows[0]["password"])) if rows else None

    def _hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise RagError(f"a password has at least {MIN_PASSWORD} characters")
        return self.hasher.hash(password)


@functools.cache
def _accounts_of(database: Database) -> Accounts:
    return Accounts(database)
