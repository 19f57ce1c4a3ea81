"""Accounts (rag/people/accounts.py) on a real SQLite file, and the gate's credentials that read them
(rag/api/access.py): who logs in, with which role, by password or API key, and for how long."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.api.access import Credentials, Identity, Role, Sessions
from rag.errors import RagError
from rag.people.accounts import Accounts
from rag.people.database import FILE_NAME, Database

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    made = Accounts.at(tmp_path)
    made.add("alice", PASSWORD, Role.ADMIN)
    made.add("bob", "bob's long password")
    return made


def test_a_password_logs_in_with_its_role_and_nothing_else_does(accounts: Accounts):
    assert accounts.login("alice", PASSWORD) == Identity("alice", Role.ADMIN)
    assert accounts.login("bob", "bob's long password") == Identity("bob", Role.READER)
    for name, password in (("alice", "wrong password"), ("alice", ""), ("ALICE", PASSWORD), ("carol", PASSWORD)):
        assert accounts.login(name, password) is None
    assert Identity("alice", Role.ADMIN).may_change_documents and not Identity("bob", Role.READER).may_change_documents


def test_passwords_are_kept_as_argon2id_hashes_only(accounts: Accounts, tmp_path: Path):
    stored = accounts.db.rows("SELECT password FROM users WHERE name = 'alice'")[0]["password"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    accounts.db.rows("PRAGMA wal_checkpoint(TRUNCATE)")  # everything written into the file itself
    assert PASSWORD.encode() not in (tmp_path / FILE_NAME).read_bytes()
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o077 == 0, "the data file is its owner's alone"


def test_names_passwords_and_duplicates_are_checked(accounts: Accounts):
    for name in ("local", "api-key", "", "two words", "x" * 65, "../etc"):
        with pytest.raises(RagError, match="user name"):
            accounts.add(name, PASSWORD)
    with pytest.raises(RagError, match="at least 8"):
        accounts.add("carol", "short")
    with pytest.raises(RagError, match="exists already"):
        accounts.add("alice", PASSWORD)
    with pytest.raises(RagError, match="no user named"):
        accounts.set_password("carol", PASSWORD)


def test_an_api_key_is_shown_once_kept_as_a_digest_and_can_be_revoked(accounts: Accounts):
    key = accounts.new_key("bob")
    assert key.startswith("rag-") and accounts.key(key) == Identity("bob", Role.READER)
    digests = [row["digest"] for row in accounts.db.rows("SELECT digest FROM api_keys")]
    assert key not in digests and len(digests) == 1
    assert accounts.key(key + "x") is None and accounts.key("") is None
    assert accounts.revoke_keys("bob") == 1 and accounts.key(key) is None
    with pytest.raises(RagError, match="no user named"):
        accounts.new_key("carol")


def test_removing_an_account_drops_its_keys_and_a_role_change_shows_at_once(accounts: Accounts):
    key = accounts.new_key("alice")
    accounts.set_role("bob", Role.ADMIN)
    assert accounts.identity("bob") == Identity("bob", Role.ADMIN)
    assert accounts.remove("alice") and not accounts.remove("alice")
    assert accounts.key(key) is None and accounts.login("alice", PASSWORD) is None
    assert accounts.identity("alice") is None
    assert [a.name for a in accounts.all()] == ["bob"]


def test_a_new_password_replaces_the_old(accounts: Accounts):
    accounts.set_password("bob", "a brand new password")
    assert accounts.login("bob", "bob's long password") is None
    assert accounts.login("bob", "a brand new password") == Identity("bob", Role.READER)


def test_accounts_survive_reopening_the_file(accounts: Accounts, tmp_path: Path):
    reopened = Accounts(Database(tmp_path / FILE_NAME))  # another process, or the server after a restart
    assert reopened.login("alice", PASSWORD) == Identity("alice", Role.ADMIN)


def test_the_gate_reads_accounts_beside_the_flags(accounts: Accounts, tmp_path: Path, tmp_path_factory):
    empty = Credentials(accounts=tmp_path_factory.mktemp("empty"))
    assert not empty.configured, "no account and no flag: the loopback-only open server"
    gate = Credentials(editors=(("ed", "ed-pass"),), api_keys=("k1",), accounts=tmp_path)
    assert Credentials(accounts=tmp_path).configured and gate.configured
    assert gate.login("alice", PASSWORD) == Identity("alice", Role.ADMIN)
    assert gate.login("ed", "ed-pass") == Identity("ed", Role.EDITOR)
    key = accounts.new_key("bob")
    assert gate.key(key) == Identity("bob", Role.READER) and gate.key("k1") == Identity("api-key-1", Role.READER)
    assert gate.login("anyone", key) == Identity("bob", Role.READER), "a key given as the password"
    assert gate.login("alice", "wrong password") is None and gate.key("rag-forged") is None


def test_a_session_ends_when_its_account_goes_and_follows_its_role(accounts: Accounts, tmp_path: Path):
    gate = Credentials(editors=(("ed", "ed-pass"),), accounts=tmp_path)
    alice = gate.login("alice", PASSWORD)  # as a login makes her session
    assert alice is not None and gate.current(alice) == alice
    accounts.set_role("alice", Role.READER)
    assert gate.current(alice) == Identity("alice", Role.READER), "a cookie's old role is not kept"
    accounts.remove("alice")
    assert gate.current(alice) is None
    assert gate.current(Identity("ed", Role.EDITOR)) == Identity("ed", Role.EDITOR)
    assert gate.current(Identity("ed", Role.ADMIN)) is None, "a flag's login has the flag's role only"


def test_a_new_password_ends_the_sessions_made_with_the_old_one(accounts: Accounts, tmp_path: Path):
    gate = Credentials(accounts=tmp_path)
    sessions = Sessions(b"k" * 32, 3600)
    cookie = sessions.issue(gate.login("bob", "bob's long password"))
    assert gate.current(sessions.read(cookie)) == Identity("bob", Role.READER)
    accounts.set_password("bob", "a brand new password")
    assert gate.current(sessions.read(cookie)) is None, "the old password's session lives on"
    again = sessions.issue(gate.login("bob", "a brand new password"))
    assert gate.current(sessions.read(again)) == Identity("bob", Role.READER)


def test_removing_the_last_account_never_opens_the_server(accounts: Accounts, tmp_path: Path):
    """A server that needed a login goes on needing one: with no account left, nobody gets in, never everybody."""
    gate = Credentials(accounts=tmp_path)
    assert gate.configured and gate.login("alice", PASSWORD) is not None
    for name in [account.name for account in accounts.all()]:
        accounts.remove(name)
    assert gate.configured, "the last account removed: still a login needed"
    assert gate.login("alice", PASSWORD) is None


def test_each_api_key_holder_is_their_own_user(tmp_path: Path):
    """Holders of two --api-key keys keep their own conversations: they are not one shared "api-key" user."""
    gate = Credentials(api_keys=("k1", "k2"))
    first, second = gate.key("k1"), gate.key("k2")
    assert first is not None and second is not None and first.name != second.name
    assert gate.current(first) == first and gate.current(second) == second
    with pytest.raises(RagError):
        Accounts.at(tmp_path).add("api-key-2", PASSWORD)  # no account may pass for a key
