"""A profile made by the first release opens, migrates, keeps everything and syncs.

The fixture ``tests/fixtures/profile-v1`` was written by the first release's own code
(``tests/fixtures/make_profile_v1.py``): alice with two devices and bob, accepted
contacts, alice has verified bob, four messages read both ways, a per-user setting on
alice's devices, a declined stranger. Its events are all in format 1; what this release
writes is format 2, in the same logs.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from nodekit import add_device, befriend, until

from kith.p2p import events as ev
from kith.p2p.profile import DB_FILE
from kith.storage import STATUS_DELIVERED, STATUS_READ
from kith.storage.migrations import LATEST

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "profile-v1"
TEXTS = [
    ("alice", "Hello Bob, this is the first release"),
    ("bob", "Hi Alice!"),
    ("alice", "Unicode survives: café, 日本語, 🎉"),
    ("bob", "See you at 8"),
]


@pytest.fixture
def old_profiles(tmp_path: Path) -> Path:
    for name in ("alice", "alice-laptop", "bob"):
        shutil.copytree(FIXTURE / name, tmp_path / name)
    return tmp_path


def chain_formats(node, conv: bytes, author: bytes) -> list[int]:
    """The formats of one stored log, after checking that the whole log verifies."""
    run = [ev.decode(h, b) for h, b in node.db.events_after(conv, author, 0, 10_000)]
    ev.verify_chain(None, run)
    return [e.event.format for e in run]


def test_the_fixture_is_of_the_first_release() -> None:
    for name in ("alice", "alice-laptop", "bob"):
        conn = sqlite3.connect(f"file:{FIXTURE / name / DB_FILE}?mode=ro", uri=True)
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            columns = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
        finally:
            conn.close()
        assert version == 2 < LATEST
        assert "raw" in columns and "body" not in columns


async def test_a_first_release_profile_keeps_everything(nodes, old_profiles: Path) -> None:
    alice = await nodes("alice")
    assert alice.db.schema_version == LATEST
    assert [(c.name, c.state, c.verified) for c in alice.contacts()] == [
        ("bob", "accepted", True), ("mallory", "declined", False),
    ]
    bob_user = next(c.user_id for c in alice.contacts() if c.name == "bob")
    conv = alice.conv_with(bob_user)
    history = alice.history("bob")
    assert [(m.outgoing, m.text) for m in history] == [
        (who == "alice", text) for who, text in TEXTS
    ]
    assert all(m.status == STATUS_READ for m in history if m.outgoing)
    assert alice.db.get_setting("typing_indicators") is False
    assert [d.name for d in alice.devices()] == ["alice", "alice-laptop"]
    # The direct conversation now has both of its members.
    assert {m.user_id for m in alice.db.members(conv)} == {alice.user_id, bob_user}
    assert set(chain_formats(alice, conv, alice.device_id)) == {1}


async def test_a_first_release_profile_syncs_on(nodes, old_profiles: Path) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    laptop = await nodes("alice", profile="alice-laptop")
    await alice.connect("127.0.0.1", bob.port)
    await laptop.connect("127.0.0.1", alice.port)
    await until(lambda: alice.online(bob.user_id), alice, bob)

    row = await alice.send_message("bob", "written by this release")
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    reply = await bob.send_message("alice", "and read by it")
    conv = alice.conv_with(bob.user_id)
    await until(
        lambda: [m.text for m in laptop.history("bob")][-2:]
        == ["written by this release", "and read by it"],
        alice, bob, laptop,
    )
    assert await bob.wait_status(reply, STATUS_DELIVERED, 10)
    # One log, two formats: the first release's events, then this one's, one chain.
    for node in (alice, bob, laptop):
        for author in (alice.device_id, bob.device_id):
            formats = chain_formats(node, conv, author)
            assert formats[0] == 1 and formats[-1] == 2 and formats == sorted(formats)

    # A device linked now gets the whole history, both formats, from the old profile.
    phone = await nodes("bob", profile=add_device(old_profiles, "bob", "bob-phone"))
    await phone.connect("127.0.0.1", bob.port)
    await until(lambda: [(c.name, c.state) for c in phone.contacts()] == [("alice", "accepted")],
                phone, bob)
    await until(lambda: len(phone.history("alice")) == len(TEXTS) + 2, phone, bob)

    # And a new profile meets the old one as anyone would.
    carol = await nodes("carol")
    await befriend(carol, alice)
    row = await carol.send_message("alice", "hello from a new profile")
    assert await carol.wait_status(row, STATUS_DELIVERED, 10)
    assert [m.text for m in alice.history("carol")] == ["hello from a new profile"]
