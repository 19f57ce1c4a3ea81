"""Who may do what on `rag serve`.

Two kinds of role: an editor or an admin asks, searches, reads and changes documents (adds, removes); a reader
does all but change documents. `--auth USER:PASSWORD` makes editors, `--reader USER:PASSWORD` readers, and an API
key (`--api-key`, for tools and agents) reads. Accounts (`rag users`, rag/people/accounts.py) are admins or
readers, each with a password and API keys of their own. With no credential at all, on loopback only, the one
local user is an editor. A login on the page is kept in a signed cookie, so replicas need no shared store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.people.accounts import Accounts


class Role(StrEnum):
    READER = "reader"
    EDITOR = "editor"  # a --auth login
    ADMIN = "admin"  # an account that may change documents


CHANGERS = (Role.EDITOR, Role.ADMIN)  # the roles that may add and remove documents


@dataclass(frozen=True)
class Identity:
    name: str
    role: Role
    # an account's password as it stood at login (a digest of its hash): a session made before the password
    # changed ends (Credentials.current); "" for the flags' logins and keys
    stamp: str = field(default="", compare=False)

    @property
    def may_change_documents(self) -> bool:
        return self.role in CHANGERS


LOCAL = Identity("local", Role.EDITOR)  # loopback without credentials: the machine's own user


def parse_login(text: str, flag: str) -> tuple[str, str]:
    """USER:PASSWORD (the password may hold colons), or a one-line error naming the flag."""
    user, colon, password = text.partition(":")
    if not (user.strip() and colon and password):
        raise RagError(f"{flag} must be USER:PASSWORD")
    return user.strip(), password


@dataclass(frozen=True)
class Credentials:
    """Every login and key the server accepts (plain data: it travels to Ray replicas)."""

    editors: tuple[tuple[str, str], ...] = ()
    readers: tuple[tuple[str, str], ...] = ()
    api_keys: tuple[str, ...] = ()
    # the data folder whose accounts also log in (rag users); None: the flags' logins only
    accounts: Path | None = None
    # signs the page's sessions: random per `rag serve` (its replicas get it with the rest), so a cookie
    # reveals nothing to guess the passwords with offline, and a restart ends every session
    session_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    # set once a credential was seen: removing the last account later must not open the server to everyone
    _required: list[bool] = field(default_factory=lambda: [False], repr=False, compare=False)

    @property
    def configured(self) -> bool:
        """Whether a login is needed: a flag's credential, or an account that exists or has existed while
        this server ran (never back to no login once one was needed)."""
        if not self._required[0] and (self.editors or self.readers or self.api_keys or self.has_accounts):
            self._required[0] = True
        return self._required[0]

    @property
    def has_accounts(self) -> bool:
        """Whether any account exists (read each time: `rag users add` may run while the server does)."""
        accounts = self._accounts()
        return accounts is not None and accounts.exist()

    def login(self, user: str, password: str) -> Identity | None:
        """The identity of a user and password: a flag's login, else an account's; an API key given as the
        password (any user) is its owner."""
        found = None
        for role, logins in ((Role.EDITOR, self.editors), (Role.READER, self.readers)):
            for name, secret in logins:  # every entry compared, in constant time: no early exit to time
                if hmac.compare_digest(name.encode(), user.encode()) & _same(secret, password) and found is None:
                    found = Identity(name, role)
        accounts = self._accounts()
        if found is None and accounts is not None:
            found = accounts.login(user, password)
        return found or self.key(password)

    def key(self, token: str) -> Identity | None:
        """The owner of an API key: a --api-key key is "api-key-N" (its place among them: each key holder keeps
        their own conversations), else the account whose key it is."""
        matched = [_same(key, token) for key in self.api_keys]  # every key compared: no early exit to time
        if any(matched):
            return Identity(key_name(matched.index(True)), Role.READER)
        accounts = self._accounts()
        return accounts.key(token) if accounts is not None else None

    def current(self, who: Identity) -> Identity | None:
        """A session's identity as it stands now: an account removed since is nobody, and one whose role
        changed has its new role; the flags' logins last as long as the server."""
        flagged = {(name, Role.EDITOR) for name, _ in self.editors} | {(name, Role.READER) for name, _ in self.readers}
        flagged |= {(key_name(n), Role.READER) for n in range(len(self.api_keys))}
        if (who.name, who.role) in flagged:
            return who
        accounts = self._accounts()
        now = accounts.identity(who.name) if accounts is not None else None
        return now if now is not None and now.stamp == who.stamp else None  # a new password ends old sessions

    def _accounts(self) -> Accounts | None:
        if self.accounts is None:
            return None
        # imported here: the accounts module uses this one's Identity and Role
        from rag.people.accounts import Accounts

        return Accounts.at(self.accounts)


def key_name(n: int) -> str:
    """Who the n-th (0-based) --api-key key is: "api-key-1", "api-key-2", … (no account may be so named)."""
    return f"api-key-{n + 1}"


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class Sessions:
    """A login as a cookie value: name, role, expiry and the password's stamp, signed with HMAC-SHA256."""

    secret: bytes
    lifetime_s: float

    def issue(self, who: Identity, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.lifetime_s)
        body = base64.urlsafe_b64encode(f"{who.role.value}:{expires}:{who.stamp}:{who.name}".encode()).decode()
        return f"{body}.{self._sign(body)}"

    def read(self, token: str, now: float | None = None) -> Identity | None:
        body, _, signature = token.partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        try:
            role, expires, stamp, name = base64.urlsafe_b64decode(body).decode().split(":", 3)
            if int(expires) < (time.time() if now is None else now):
                return None
            return Identity(name, Role(role), stamp)
        except ValueError:
            return None

    def _sign(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()


MAX_ADDRESSES = 100_000  # addresses whose failures are remembered at once


@dataclass
class LoginThrottle:
    """Failed logins per client address: `attempts` within `window_s` and that address is refused until the
    oldest of them leaves the window."""

    attempts: int
    window_s: float
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def blocked(self, address: str, now: float | None = None) -> float:
        """Seconds until `address` may try again (0: it may)."""
        now = time.monotonic() if now is None else now
        failures = self._failures.get(address)
        if not failures:
            return 0.0
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return 0.0
        return failures[0] + self.window_s - now if len(failures) >= self.attempts else 0.0

    def failed(self, address: str, now: float | None = None) -> None:
        if address not in self._failures and len(self._failures) >= MAX_ADDRESSES:
            del self._failures[next(iter(self._failures))]  # the longest known: a flood of addresses stays bounded
        self._failures[address].append(time.monotonic() if now is None else now)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)
