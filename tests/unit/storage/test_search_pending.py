"""The search index filled in batches (storage.messages, schema 11).

A history sync's batches store their messages without indexing them
(``insert_messages(..., index=False)``); live writes leave theirs waiting too until
SEARCH_BATCH messages wait; ``index_pending`` indexes what waits in one go,
and a search does it first, so search always finds every stored message. What waits is
recorded in the batch's own transaction: a crash loses nothing of it. Deleting or editing
a message that waits must leave the index consistent.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

import kith.storage.db
from kith.storage import MessageRow, StorageError, Store, migrations
from kith.storage.actions import UNSENT
from kith.storage.messages import SEARCH_BATCH
from kith.storage.migrations import LATEST, SEARCH_PENDING_VERSION

CONV, DEVICE, USER = os.urandom(32), os.urandom(32), os.urandom(32)


def _row(i: int, text: str) -> MessageRow:
    return MessageRow(i.to_bytes(32, "big"), CONV, DEVICE, USER, i, i, 1_000_000 + i, text,
                      False)


def _texts(s: Store, query: str) -> list[str]:
    return sorted(m.text for m in s.search(query, limit=1000))


def _consistent(s: Store) -> None:
    """FTS5's own check of an external-content index against its content table."""
    s._conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "kith.db")
    yield s
    s.close()


def test_a_deferred_batch_is_found_by_the_next_search(store: Store) -> None:
    store.insert_messages([_row(i, f"w{i}z common") for i in range(1, 301)], index=False)
    assert store.search_pending()
    # (not in the index yet: FTS5 alone does not find it)
    (n,) = store._conn.execute(
        "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'common'").fetchone()
    assert n == 0
    assert len(_texts(store, "common")) == 300
    assert _texts(store, "w17z") == ["w17z common"]
    assert not store.search_pending()
    _consistent(store)


def test_deferred_batches_add_up_and_index_once(store: Store) -> None:
    store.insert_messages([_row(1, "first live")])  # (waits for a batch: SEARCH_BATCH)
    for start in (2, 202, 402):
        store.insert_messages([_row(i, f"bulk{i}z") for i in range(start, start + 200)],
                              index=False)
    assert store.index_pending() == 601
    assert store.index_pending() is None
    assert _texts(store, "first") == ["first live"]
    assert _texts(store, "bulk401z") == ["bulk401z"]
    _consistent(store)


def test_the_live_write_that_fills_a_batch_indexes_all_that_waits(store: Store) -> None:
    store.insert_messages([_row(i, f"old{i}z") for i in range(1, 201)], index=False)
    for i in range(201, SEARCH_BATCH):
        store.insert_messages([_row(i, f"live{i}z")])
        assert store.search_pending()
    store.insert_messages([_row(SEARCH_BATCH, "live last")])
    assert not store.search_pending()
    (n,) = store._conn.execute(
        "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
        (f"old150z OR live{SEARCH_BATCH - 1}z OR last",),
    ).fetchone()
    assert n == 3
    _consistent(store)


def test_a_history_batch_waits_however_big_it_is(store: Store) -> None:
    store.insert_messages([_row(i, f"h{i}z") for i in range(1, 2 * SEARCH_BATCH)],
                          index=False)
    assert store.search_pending()


def test_what_waits_survives_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    s.insert_messages([_row(i, f"kept{i}z") for i in range(1, 251)], index=False)
    s._conn.close()  # (no clean close, no index_pending: as a killed process)
    again = Store(path)
    try:
        assert again.search_pending()
        assert _texts(again, "kept250z") == ["kept250z"]
        _consistent(again)
    finally:
        again.close()


def test_a_failed_batch_defers_nothing(store: Store) -> None:
    def failing_batch() -> None:
        with store.transaction():
            store.insert_messages([_row(i, f"gone{i}z") for i in range(1, 201)], index=False)
            raise RuntimeError("the batch fails after its messages")

    with pytest.raises(RuntimeError):
        failing_batch()
    assert not store.search_pending()
    assert store.search("gone1z") == []
    _consistent(store)


def test_deleting_and_editing_what_waits_keeps_the_index_consistent(store: Store) -> None:
    rows = [_row(i, f"t{i}z shared") for i in range(1, 201)]
    store.insert_messages([_row(1000, "indexed before")])
    store.insert_messages(rows, index=False)
    with store.transaction():
        # an edit of a waiting message, an unsend (blanked), an expiry-like removal
        store.add_edit(os.urandom(32), rows[0].event_id, CONV, DEVICE, 900, USER, 900,
                       rows[0].time + 1, "edited shared")
        store.add_gone(rows[1].event_id, UNSENT, CONV, USER, rows[1].time)
        store.settle([rows[0].event_id, rows[1].event_id], 0)
        store._conn.execute("DELETE FROM messages WHERE event_id = ?", (rows[2].event_id,))
    assert store.search_pending()
    assert _texts(store, "edited") == ["edited shared"]
    assert store.search("t1z") == []  # (its old text)
    assert store.search("t2z") == []  # unsent: blank
    assert store.search("t3z") == []  # deleted
    assert _texts(store, "t4z") == ["t4z shared"]
    assert len(_texts(store, "shared")) == 198  # 200, less the unsent and the deleted one
    _consistent(store)
    # and an indexed message still leaves the index when deleted
    store._conn.execute("DELETE FROM messages WHERE text = 'indexed before'")
    assert store.search("indexed") == []
    _consistent(store)


def test_the_marker_is_one_row(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store._conn.execute("INSERT INTO search_pending (one, after) VALUES (2, 0)")


def test_changing_what_waits_in_an_empty_index_is_no_damage(store: Store) -> None:
    # (telling FTS5 to forget a row it never had is what damages it: with nothing in the
    # index yet, SQLite says "database disk image is malformed")
    rows = [_row(i, f"e{i}z only") for i in range(1, 201)]
    store.insert_messages(rows, index=False)
    with store.transaction():
        store.add_edit(os.urandom(32), rows[0].event_id, CONV, DEVICE, 900, USER, 900,
                       rows[0].time + 1, "changed only")
        store.settle([rows[0].event_id], 0)
    store._conn.execute("DELETE FROM messages WHERE event_id = ?", (rows[1].event_id,))
    assert _texts(store, "changed") == ["changed only"]
    assert store.search("e2z") == [] and store.search("e1z") == []
    assert len(_texts(store, "only")) == 199
    _consistent(store)


FIXTURE_V9 = Path(__file__).resolve().parents[2] / "fixtures" / "store-v9" / "kith.db"


def test_a_schema_9_database_migrates_and_keeps_every_message_searchable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kith.db"
    shutil.copyfile(FIXTURE_V9, path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (9,)
    before = conn.execute(
        "SELECT rowid, event_id, text, edits, unsent FROM messages ORDER BY rowid").fetchall()
    conn.close()
    s = Store(path)
    try:
        assert s.schema_version == LATEST >= SEARCH_PENDING_VERSION
        after = s.execute(
            "SELECT rowid, event_id, text, edits, unsent FROM messages ORDER BY rowid")
        assert after == [tuple(r) for r in before] and len(after) == 300
        assert not s.search_pending()
        for _, _, text, _, unsent in after:
            if not unsent:
                word = text.split()[1] if text.startswith("message") else text.split()[-1]
                assert text in [m.text for m in s.search(word)]
        assert _texts(s, "second edit") == ["second edit of number10x"]
        assert s.search("first edit") == [] and s.search("number20x") == []
        assert s.get_draft(s.conversations()[0][0]) == "a draft"
        _consistent(s)
        # the migrated trigger: a deferred batch, then a delete of one of its messages
        s.insert_messages([_row(10_000 + i, f"late{i}z") for i in range(200)], index=False)
        s._conn.execute("DELETE FROM messages WHERE text = 'late7z'")
        s._conn.execute("DELETE FROM messages WHERE text LIKE 'message number3x %'")
        assert s.search("late7z") == [] and s.search("number3x") == []
        assert _texts(s, "late8z") == ["late8z"]
        _consistent(s)
    finally:
        s.close()


def test_the_migration_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration cut short (here: failing after all of its statements) leaves the file
    at the version before it, as it was, and the next open migrates it."""
    path = tmp_path / "kith.db"
    shutil.copyfile(FIXTURE_V9, path)
    original = migrations.MIGRATIONS[SEARCH_PENDING_VERSION - 1]

    def cut_short(db: sqlite_utils.Database) -> None:
        original(db)
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    monkeypatch.setattr(kith.storage.db, "MIGRATIONS", [
        *migrations.MIGRATIONS[: SEARCH_PENDING_VERSION - 1], cut_short])
    with pytest.raises(StorageError):
        Store(path)
    monkeypatch.undo()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SEARCH_PENDING_VERSION - 1,)
    assert conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'search_pending'").fetchone() == (0,)
    conn.close()
    s = Store(path)
    try:
        assert s.schema_version == LATEST
        assert s.count_messages(s.conversations()[0][0]) == 300
    finally:
        s.close()
