"""Encrypted profiles made by the first encrypted release open and keep every message.

The fixture ``tests/fixtures/profile-encrypted-1`` was written by that release's code
(``tests/fixtures/make_profile_encrypted_1.py``): alice and bob with data keys under the
protection "none", accepted contacts, four texts both ways and 150 numbered messages from
alice, read both ways. Its databases are SQLCipher 4 with 4096-byte pages, HMAC-SHA256
and the data key as a raw key: whatever a later release changes in storage.cipher's
settings, these files must keep opening (with those settings recorded, or found).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlcipher3.dbapi2 as sqlcipher
from nodekit import until

from kith.p2p.keystore import KeyStore
from kith.p2p.profile import DB_FILE
from kith.storage import STATUS_READ, Store, cipher
from kith.storage.migrations import LATEST

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "profile-encrypted-1"
TEXTS = [
    ("alice", "Hello Bob, this profile is encrypted"),
    ("bob", "Hi Alice, mine too!"),
    ("alice", "Unicode survives: café, 日本語, 🎉"),
    ("bob", "See you at 8"),
]
NUMBERED = 150
# (who wrote it, its text), oldest first: every message of the fixture's conversation
HISTORY = TEXTS + [
    ("alice", f"numbered message {i} of the encrypted fixture, bring the tickets")
    for i in range(1, NUMBERED + 1)
]


@pytest.fixture
def old_profiles(tmp_path: Path) -> Path:
    for name in ("alice", "bob"):
        shutil.copytree(FIXTURE / name, tmp_path / name)
    return tmp_path


def data_key(profile: Path) -> bytes:
    return KeyStore(profile).unlock()


def test_the_fixture_is_of_the_first_encrypted_release(old_profiles: Path) -> None:
    """The files are in the format that release wrote (opened here by sqlcipher3 itself,
    with those settings spelled out), so that the tests below test something. (A copy:
    even a read-only open of a database in WAL mode makes its -shm file.)"""
    for name in ("alice", "bob"):
        path = old_profiles / name / DB_FILE
        assert cipher.is_encrypted(path)
        conn = sqlcipher.connect(str(path))
        try:
            conn.execute(f"PRAGMA key = \"x'{data_key(old_profiles / name).hex()}'\"")
            conn.execute("PRAGMA cipher_page_size = 4096")
            conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA256")
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            assert conn.execute("PRAGMA cipher_integrity_check").fetchall() == []
        finally:
            conn.close()
        assert version == 9 <= LATEST


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_every_message_of_the_fixture_reads(old_profiles: Path, name: str) -> None:
    profile = old_profiles / name
    s = Store(profile / DB_FILE, key=data_key(profile))
    try:
        assert s.schema_version == LATEST
        (conv,) = [r[0] for r in s.execute("SELECT id FROM conversations")]
        messages = s.messages(conv, limit=len(HISTORY) + 10)
        assert [(m.outgoing, m.text) for m in messages] == [
            (who == name, text) for who, text in HISTORY
        ]
        assert all(m.status == STATUS_READ for m in messages if m.outgoing)
        assert [m.text for m in s.search("日本語")] == [TEXTS[2][1]]
        assert len(s.search("tickets", limit=500)) == NUMBERED
        assert s.execute("PRAGMA integrity_check") == [("ok",)]
    finally:
        s.close()
    # and again, as a second start does (the settings are found the same way each time)
    s = Store(profile / DB_FILE, key=data_key(profile))
    try:
        assert s.count_messages(conv) == len(HISTORY)
    finally:
        s.close()


async def test_an_encrypted_profile_of_that_release_keeps_everything_and_syncs_on(
    nodes, old_profiles: Path
) -> None:
    alice = await nodes("alice", data_key=data_key(old_profiles / "alice"))
    bob = await nodes("bob", data_key=data_key(old_profiles / "bob"))
    assert [(c.name, c.state) for c in alice.contacts()] == [("bob", "accepted")]
    conv = alice.conv_with(bob.user_id)
    assert [(m.outgoing, m.text) for m in alice.db.messages(conv, limit=500)] == [
        (who == "alice", text) for who, text in HISTORY
    ]
    await alice.connect("127.0.0.1", bob.port)
    row = await alice.send_message("bob", "written after the upgrade")
    assert await alice.wait_status(row, 2, 10)
    await until(lambda: bob.db.count_messages(conv) == len(HISTORY) + 1, alice, bob)
    assert bob.db.messages(conv, limit=1)[-1].text == "written after the upgrade"
