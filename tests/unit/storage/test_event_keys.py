"""storage/messages.py: new messages are found by event id before their keys are in
``message_keys``, are keyed in batches, and stay found through rollbacks, deletions and a reopen; a
database of the previous release (schema 11, every message keyed) keeps working."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

import kith.storage.messages
from kith.storage import MessageRow, Store
from kith.storage.actions import UNSENT
from kith.storage.migrations import LATEST

CONV, DEVICE, USER = os.urandom(32), os.urandom(32), os.urandom(32)
FIXTURE_V11 = Path(__file__).resolve().parents[2] / "fixtures" / "store-v11" / "kith.db"


def _row(seq: int, text: str = "", **kw: object) -> MessageRow:
    return MessageRow(os.urandom(32), CONV, DEVICE, USER, seq, seq, 1_000_000 + seq,
                      text or f"message {seq}", False, **kw)  # type: ignore[arg-type]


def _unkeyed(s: Store) -> int:
    return int(s.execute(
        "SELECT count(*) FROM messages WHERE rowid > (SELECT upto FROM message_keys_upto)"
    )[0][0])


def _keys(s: Store) -> set[tuple[bytes, int]]:
    return {(r[0], r[1]) for r in s.execute("SELECT key, msg FROM message_keys")}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(kith.storage.messages, "UNKEYED_ROWS", 5)
    return Store(tmp_path / "kith.db")


def test_messages_are_found_before_and_after_they_are_keyed(store: Store) -> None:
    rows = [_row(i) for i in range(1, 5)]
    store.insert_messages(rows)
    assert _unkeyed(store) == 4  # (below UNKEYED_ROWS: no key yet)
    for r in rows:
        found = store.message_by_id(r.event_id, CONV)
        assert found is not None and found.text == r.text
    more = [_row(i) for i in range(5, 8)]
    store.insert_messages(more)  # 7 without a key: all of them keyed in one go
    assert _unkeyed(store) == 0
    rowids = {r.event_id: rowid for r in rows + more
              for (rowid,) in store.execute("SELECT rowid FROM messages WHERE event_id = ?",
                                            (r.event_id,))}
    assert _keys(store) == {(e[-8:], rowid) for e, rowid in rowids.items()}
    for r in rows + more:
        found = store.message_by_id(r.event_id)
        assert found is not None and found.text == r.text
    assert store.message_by_id(os.urandom(32)) is None
    assert store.message_by_id(rows[0].event_id, os.urandom(32)) is None  # another chat


def test_reactions_and_settling_find_keyed_and_unkeyed_targets(store: Store) -> None:
    old = [_row(i) for i in range(1, 6)]
    store.insert_messages(old)  # keyed
    new = _row(6)
    store.insert_messages([new])  # not keyed
    assert _unkeyed(store) == 1
    for target in (old[2], new):
        store.put_reaction(target.event_id, CONV, USER, "\U0001f44d", 10, DEVICE, 0)
    got = store.reactions([old[2].event_id, new.event_id, old[0].event_id])
    assert got == {old[2].event_id: [("\U0001f44d", USER)],
                   new.event_id: [("\U0001f44d", USER)]}
    for target in (old[3], new):
        store.add_gone(target.event_id, UNSENT, CONV, USER, target.time + 1)
        store.settle([target.event_id], 2_000_000)
        row = store.message_by_id(target.event_id)
        assert row is not None and row.unsent and row.text == ""


def test_a_rolled_back_write_leaves_lookups_right(store: Store) -> None:
    kept = _row(1)
    store.insert_messages([kept])
    lost = _row(2)

    def refused_write() -> None:
        with store.transaction():
            store.insert_messages([lost, *(_row(i) for i in range(3, 8))])  # keys them all
            raise RuntimeError("the disk refused")

    with pytest.raises(RuntimeError):
        refused_write()
    assert store.message_by_id(lost.event_id) is None
    found = store.message_by_id(kept.event_id)
    assert found is not None and found.text == kept.text
    assert _unkeyed(store) == 1  # (the keying went with the rollback)


def test_a_deleted_message_whose_rowid_comes_back_is_not_found(store: Store) -> None:
    gone, other = _row(1), _row(2)
    store.insert_messages([other, gone])
    with store.transaction():
        store._conn.execute("DELETE FROM messages WHERE event_id = ?", (gone.event_id,))
    newer = _row(3)
    store.insert_messages([newer])  # takes the deleted row's rowid
    assert store.message_by_id(gone.event_id) is None
    found = store.message_by_id(newer.event_id)
    assert found is not None and found.text == newer.text
    (rowid,) = store.execute("SELECT rowid FROM messages WHERE event_id = ?",
                             (newer.event_id,))[0]
    store.key_messages()
    assert (newer.event_id[-8:], rowid) in _keys(store)  # (its own key beside the other's)
    assert store.message_by_id(gone.event_id) is None
    assert store.message_by_id(newer.event_id) is not None


def test_unkeyed_messages_are_found_after_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    rows = [_row(i) for i in range(1, 4)]
    s.insert_messages(rows)
    s.close()
    s = Store(path)
    try:
        assert _unkeyed(s) == 3
        for r in rows:
            assert s.message_by_id(r.event_id) is not None
    finally:
        s.close()


def test_a_database_of_the_previous_release_keeps_finding_its_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # made by tests/fixtures/make_store_v11.py with the code of schema 11
    monkeypatch.setattr(kith.storage.messages, "UNKEYED_ROWS", 50)
    path = tmp_path / "kith.db"
    shutil.copy(FIXTURE_V11, path)
    def mid(i: int) -> bytes:
        return hashlib.blake2b(b"head %d" % i, digest_size=32).digest()

    s = Store(path)
    try:
        assert s.schema_version == LATEST == 12
        assert _unkeyed(s) == 0
        for i in (1, 60, 120):
            row = s.message_by_id(mid(i))
            assert row is not None and row.text == f"message number{i}x of the fixture"
        bob = hashlib.blake2b(repr(("bob",)).encode(), digest_size=32).digest()
        assert s.reactions([mid(5)]) == {mid(5): [("\U0001f44d", bob)]}
        edited = s.message_by_id(mid(7))
        assert edited is not None and edited.text == "message number7x edited"
        unsent = s.message_by_id(mid(9))
        assert unsent is not None and unsent.unsent
        reply = s.message_by_id(mid(11))
        assert reply is not None and reply.reply_to == mid(3)
        # new messages beside the old ones: found, then keyed with them
        conv = reply.conv
        new = [MessageRow(os.urandom(32), conv, reply.author, reply.sender, 1000 + i,
                          1000 + i, 2_000_000 + i, f"new {i}", False) for i in range(60)]
        s.insert_messages(new[:30])
        assert _unkeyed(s) == 30
        assert all(s.message_by_id(m.event_id, conv) is not None for m in new[:30])
        s.insert_messages(new[30:])
        assert _unkeyed(s) == 0
        assert all(s.message_by_id(m.event_id, conv) is not None for m in new)
        assert s.message_by_id(mid(120), conv) is not None
        assert [m.text for m in s.search("number60x")] == ["message number60x of the fixture"]
    finally:
        s.close()


def test_a_rowid_taken_again_below_the_keyed_ones_is_keyed_at_once(store: Store) -> None:
    rows = [_row(i) for i in range(1, 6)]
    store.insert_messages(rows)  # keyed: every rowid up to 5
    assert _unkeyed(store) == 0
    with store.transaction():
        store._conn.execute("DELETE FROM messages WHERE event_id = ?", (rows[-1].event_id,))
    newer = _row(6)
    store.insert_messages([newer])  # takes rowid 5 again, at or below what is keyed
    assert store.execute("SELECT rowid FROM messages WHERE event_id = ?",
                         (newer.event_id,)) == [(5,)]
    assert (newer.event_id[-8:], 5) in _keys(store)
    store._unkeyed = None  # (as after a reopen)
    found = store.message_by_id(newer.event_id)
    assert found is not None and found.text == newer.text
    assert store.message_by_id(rows[-1].event_id) is None


def test_a_repaired_database_finds_every_message_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kith.storage import integrity

    monkeypatch.setattr(kith.storage.messages, "UNKEYED_ROWS", 5)
    path = tmp_path / "kith.db"
    s = Store(path)
    rows = [_row(i) for i in range(1, 8)]  # five keyed, two not
    s.insert_messages(rows[:5])
    s.insert_messages(rows[5:])
    s.close()
    integrity.repair(path, None)
    s = Store(path)
    try:
        assert _unkeyed(s) == 0  # (the repair made every key again)
        for r in rows:
            found = s.message_by_id(r.event_id)
            assert found is not None and found.text == r.text
    finally:
        s.close()
