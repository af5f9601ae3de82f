"""kith.storage.db and storage.migrations: schema, durability, refusal of foreign files, queries."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

import kith.storage.db
from kith.storage import (
    STATUS_DELIVERED,
    STATUS_READ,
    STATUS_RECEIVED,
    STATUS_SENDING,
    DatabaseCorrupt,
    DatabaseTooNew,
    EventRow,
    MessageRow,
    Store,
)
from kith.storage.migrations import LATEST, MIGRATIONS

REPO = Path(__file__).resolve().parents[3]
CONV = hashlib.blake2b(b"conv", digest_size=32).digest()
OTHER_CONV = hashlib.blake2b(b"other conv", digest_size=32).digest()
ALICE = b"\xaa" * 32
BOB = b"\xbb" * 32
USER = b"\x11" * 32

KITH_TABLES = {
    "events", "heads", "conversations", "members", "messages", "marks", "contacts", "devices",
    "peers", "settings", "drafts", "messages_fts",
}


def _event(conv: bytes, author: bytes, seq: int, *, size: int = 40) -> EventRow:
    raw = hashlib.blake2b(conv + author + seq.to_bytes(8, "big")).digest()
    raw = (raw * (size // len(raw) + 1))[:size]
    return EventRow(
        hashlib.blake2b(raw, digest_size=32).digest(), conv, author, seq, seq, 1000 + seq,
        "message", raw, b"body %d" % seq,
    )


def _log(conv: bytes, author: bytes, first: int, last: int, *, size: int = 40) -> list[EventRow]:
    return [_event(conv, author, s, size=size) for s in range(first, last + 1)]


def _message(
    conv: bytes, author: bytes, seq: int, lamport: int, text: str = "hi", *,
    outgoing: bool = False, time: int | None = None,
) -> MessageRow:
    event_id = hashlib.blake2b(conv + author + seq.to_bytes(8, "big"), digest_size=32).digest()
    return MessageRow(
        event_id, conv, author, USER, seq, lamport, seq if time is None else time, text, outgoing
    )


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "kith.db")
    yield s
    s.close()


def _fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _tables(s: Store) -> set[str]:
    return {r[0] for r in s.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


# -- opening, schema, migrations -------------------------------------------------------------


def test_fresh_database_has_latest_schema_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    try:
        assert LATEST == len(MIGRATIONS) >= 1
        assert s.schema_version == LATEST
        assert s.execute("PRAGMA user_version") == [(LATEST,)]
        assert s.execute("PRAGMA journal_mode") == [("wal",)]
        assert s.execute("PRAGMA synchronous") in ([(1,)], [(2,)])  # NORMAL or FULL, never OFF
        assert KITH_TABLES <= _tables(s)
        indexes = {r[0] for r in s.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"messages_order", "messages_log"} <= indexes
    finally:
        s.close()
    # the journal mode is persistent: a plain connection sees it too
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_new_databases_use_8k_pages_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    """Bigger pages make a history sync write less (see kith.storage.db.PAGE_SIZE); the WAL
    still gets checkpointed at 64 MiB whatever the page size."""
    fresh = Store(tmp_path / "new.db")
    try:
        assert fresh.execute("PRAGMA page_size") == [(8192,)]
        assert fresh.execute("PRAGMA wal_autocheckpoint") == [(8192,)]
    finally:
        fresh.close()
    old = tmp_path / "old.db"  # a database made before: 4 KiB pages, WAL
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA page_size=4096")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    s = Store(old)
    try:
        assert s.execute("PRAGMA page_size") == [(4096,)]
        assert s.execute("PRAGMA wal_autocheckpoint") == [(16384,)]
        assert s.schema_version == LATEST
    finally:
        s.close()


def test_background_checkpoint_copies_the_log_into_the_database(tmp_path: Path) -> None:
    """request_checkpoint() returns at once; a thread with its own connection copies the
    write-ahead log into the database file, and close() stops that thread."""
    import threading

    path = tmp_path / "kith.db"
    s = Store(path)

    def in_main_file() -> object:
        # immutable=1 reads the database file alone, ignoring the write-ahead log
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            return conn.execute("SELECT value FROM settings WHERE key = 'k'").fetchone()
        except sqlite3.OperationalError:  # not even the tables are in the file yet
            return None
        finally:
            conn.close()

    try:
        s.set_setting("k", "v")
        assert in_main_file() is None  # committed, but only in the log so far
        s.request_checkpoint()
        assert s.wait_checkpointed(timeout=10), "the background checkpoint did not happen"
        assert in_main_file() == ('"v"',)
        assert any(t.name == "kith-checkpoint" for t in threading.enumerate())
    finally:
        s.close()
    assert not any(t.name == "kith-checkpoint" for t in threading.enumerate())


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    s.insert_events(_log(CONV, ALICE, 1, 5) + _log(CONV, BOB, 1, 2))
    s.ensure_conversation(CONV, "direct", [(ALICE, "member"), (BOB, "member")], peer_user=BOB)
    s.insert_messages([_message(CONV, ALICE, 1, 1, "first"), _message(CONV, BOB, 1, 2, "second")])
    s.raise_mark(CONV, ALICE, 1, STATUS_READ)
    s.upsert_contact(BOB, name="Bob", state="accepted", verified=True)
    s.upsert_device(BOB, USER, "bob's laptop", 7, b"cert")
    s.set_setting("discoverable", {"on": True, "names": ["a", "ü"]})
    s.remember_peer("10.0.0.2:4242", BOB, manual=True)
    s.set_draft(CONV, "half a thought")
    s.close()

    s = Store(path)
    try:
        assert s.schema_version == LATEST
        assert s.count_events() == 7
        assert s.vector(CONV) == {ALICE: 5, BOB: 2}
        assert s.events_after(CONV, ALICE, 0) == [(e.head, e.body) for e in _log(CONV, ALICE, 1, 5)]
        assert s.conversation_peer(CONV) == BOB
        assert [m.text for m in s.messages(CONV)] == ["first", "second"]
        assert s.mark(CONV, ALICE) == (1, 1)
        contact = s.contact(BOB)
        assert contact is not None
        assert (contact.name, contact.state, contact.verified) == ("Bob", "accepted", True)
        device = s.device(BOB)
        assert device is not None
        assert (device.name, device.created, device.cert) == ("bob's laptop", 7, b"cert")
        assert s.get_setting("discoverable") == {"on": True, "names": ["a", "ü"]}
        [peer] = s.peers()
        assert (peer.address, peer.device_id, peer.manual) == ("10.0.0.2:4242", BOB, True)
        assert s.get_draft(CONV) == "half a thought"
    finally:
        s.close()


def _real_db_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "real" / "kith.db"
    path.parent.mkdir()
    s = Store(path)
    s.insert_events(_log(CONV, ALICE, 1, 300, size=300))
    s.insert_messages([_message(CONV, ALICE, i, i, f"message {i}") for i in range(1, 300)])
    s.close()
    data = path.read_bytes()
    assert len(data) > 8192
    return data


def _not_a_database(kind: str, tmp_path: Path) -> bytes:
    if kind == "random bytes":
        return random.Random(7).randbytes(5000)
    if kind == "truncated copy":
        return _real_db_bytes(tmp_path)[:1024]
    assert kind == "text file"
    return b"Dear diary,\nthis is not a database.\n" * 20


@pytest.mark.parametrize("kind", ["random bytes", "truncated copy", "text file"])
def test_not_a_database_is_refused_and_left_untouched(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "kith.db"
    path.write_bytes(_not_a_database(kind, tmp_path))
    before = _fingerprint(path)

    with pytest.raises(DatabaseCorrupt) as info:
        Store(path)

    message = str(info.value)
    assert str(path) in message
    assert "untouched" in message
    assert "backup" in message or "move it away" in message
    assert _fingerprint(path) == before


def test_one_byte_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    path.write_bytes(b"x")
    before = _fingerprint(path)
    try:
        with pytest.raises(DatabaseCorrupt):
            Store(path).close()
    finally:
        assert _fingerprint(path) == before


def test_foreign_sqlite_database_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (what TEXT, at INTEGER)")
    conn.execute("INSERT INTO events VALUES ('birthday', 1)")
    conn.commit()
    conn.close()
    before = _fingerprint(path)
    try:
        with pytest.raises(DatabaseCorrupt):
            Store(path).close()
    finally:
        assert _fingerprint(path) == before


def test_too_new_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    s.insert_events(_log(CONV, ALICE, 1, 3))
    s.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.commit()
    conn.close()
    before = _fingerprint(path)

    with pytest.raises(DatabaseTooNew) as info:
        Store(path)

    assert str(path) in str(info.value)
    assert "newer version" in str(info.value)
    assert _fingerprint(path) == before


def test_zero_byte_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    path.touch()
    s = Store(path)
    try:
        assert s.schema_version == LATEST
        assert KITH_TABLES <= _tables(s)
    finally:
        s.close()


def test_empty_version_0_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE scratch (x)")
    conn.execute("DROP TABLE scratch")
    conn.commit()
    conn.close()
    assert path.stat().st_size > 0
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"

    s = Store(path)
    try:
        assert s.schema_version == LATEST
        assert KITH_TABLES <= _tables(s)
        s.insert_events(_log(CONV, ALICE, 1, 2))
        assert s.vector(CONV) == {ALICE: 2}
    finally:
        s.close()


def test_new_migration_upgrades_an_old_database_keeping_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    s.insert_events(_log(CONV, ALICE, 1, 4))
    s.close()

    def v_next(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE stickers (event BLOB PRIMARY KEY, name TEXT NOT NULL)")

    monkeypatch.setattr(kith.storage.db, "MIGRATIONS", [*MIGRATIONS, v_next])
    monkeypatch.setattr(kith.storage.db, "LATEST", LATEST + 1)
    s = Store(path)
    try:
        assert s.schema_version == LATEST + 1
        assert "stickers" in _tables(s)
        assert s.vector(CONV) == {ALICE: 4}
    finally:
        s.close()


def test_failing_migration_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kith.db"
    Store(path).close()

    def v_broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE half_done (x)")
        db.execute("THIS IS NOT SQL")

    with monkeypatch.context() as m:
        m.setattr(kith.storage.db, "MIGRATIONS", [*MIGRATIONS, v_broken])
        m.setattr(kith.storage.db, "LATEST", LATEST + 1)
        with pytest.raises(DatabaseCorrupt):
            Store(path)

    s = Store(path)
    try:
        assert s.schema_version == LATEST
        assert "half_done" not in _tables(s)
    finally:
        s.close()


# -- transactions and crash safety -----------------------------------------------------------


def test_transaction_rolls_back_everything_on_exception(store: Store) -> None:
    store.insert_events(_log(CONV, ALICE, 1, 2))

    class Boom(Exception):
        pass

    def write_then_fail() -> None:
        with store.transaction():
            store.insert_events(_log(CONV, ALICE, 3, 10))
            store.insert_messages([_message(CONV, ALICE, 3, 3)])
            store.set_setting("k", 1)
            store.upsert_contact(BOB, name="Bob")
            raise Boom

    with pytest.raises(Boom):
        write_then_fail()

    assert store.count_events() == 2
    assert store.vector(CONV) == {ALICE: 2}
    assert store.messages(CONV) == []
    assert store.get_setting("k") is None
    assert store.contact(BOB) is None
    # the store is still usable
    store.insert_events(_log(CONV, ALICE, 3, 3))
    assert store.vector(CONV) == {ALICE: 3}


def test_nested_transactions_join_the_outer_one(store: Store) -> None:
    spy = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:

        def visible() -> int:
            return int(spy.execute("SELECT count(*) FROM events").fetchone()[0])

        with store.transaction():
            with store.transaction():
                store.insert_events(_log(CONV, ALICE, 1, 3))
            assert visible() == 0  # the inner block does not commit on its own
            store.insert_events(_log(CONV, ALICE, 4, 5))
        assert visible() == 5

        def fail_inside_nested() -> None:
            with store.transaction():
                store.insert_events(_log(CONV, ALICE, 6, 8))
                with store.transaction():
                    store.set_setting("x", 1)
                    raise KeyError("inner failure")

        with pytest.raises(KeyError):
            fail_inside_nested()
        assert visible() == 5
        assert store.vector(CONV) == {ALICE: 5}
        assert store.get_setting("x") is None
    finally:
        spy.close()


_CRASH_CHILD = textwrap.dedent(
    """
    import hashlib, os, signal, sys
    from kith.storage import EventRow, Store

    def log(first, last, size):
        rows = []
        for seq in range(first, last + 1):
            raw = (seq.to_bytes(8, "big") * (size // 8 + 1))[:size]
            rows.append(EventRow(hashlib.blake2b(raw, digest_size=32).digest(),
                                 b"c" * 32, b"a" * 32, seq, seq, 0, "message", raw, None))
        return rows

    store = Store(sys.argv[1])
    store.insert_events(log(1, 500, 100))
    with store.transaction():
        store.insert_events(log(501, 20500, 1000))  # ~20 MB: spills into the WAL
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_kill_during_a_transaction_keeps_committed_and_drops_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH_CHILD, str(path)],
        env=env, capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    wal = path.with_name(path.name + "-wal")
    # the uncommitted batch really reached the disk before the kill
    assert wal.exists() and wal.stat().st_size > 5_000_000

    s = Store(path)
    try:
        assert s.count_events() == 500
        assert s.vector(b"c" * 32) == {b"a" * 32: 500}
        assert s.execute("SELECT min(seq), max(seq) FROM events") == [(1, 500)]
        assert s.execute("PRAGMA integrity_check") == [("ok",)]
    finally:
        s.close()


# -- events ----------------------------------------------------------------------------------


def test_insert_events_is_idempotent_and_heads_only_move_forward(store: Store) -> None:
    run = _log(CONV, ALICE, 1, 5)
    store.insert_events(run)
    store.insert_events(run)
    store.insert_events([run[2]])
    assert store.count_events() == 5
    [head] = store.heads()
    assert (head.conv, head.author, head.seq, head.id, head.lamport) == (
        CONV, ALICE, 5, run[-1].id, run[-1].lamport,
    )

    store.insert_events(_log(CONV, ALICE, 2, 3))  # an older batch alone
    assert store.vector(CONV) == {ALICE: 5}

    store.insert_events(_log(CONV, ALICE, 4, 7))  # overlaps and continues
    assert store.count_events() == 7
    assert store.vector(CONV) == {ALICE: 7}
    expected_ids = {seq: _event(CONV, ALICE, seq).id for seq in (6, 7)}
    assert store.event_ids(CONV, ALICE, 6, 7) == expected_ids


def test_vector_is_per_conversation(store: Store) -> None:
    assert store.vector(CONV) == {}
    store.insert_events(
        _log(CONV, ALICE, 1, 3) + _log(CONV, BOB, 1, 9) + _log(OTHER_CONV, BOB, 1, 1)
    )
    assert store.vector(CONV) == {ALICE: 3, BOB: 9}
    assert store.vector(OTHER_CONV) == {BOB: 1}


def test_events_after_pages_in_seq_order(store: Store) -> None:
    run = _log(CONV, ALICE, 1, 25)
    store.insert_events(list(reversed(_log(CONV, BOB, 1, 5))) + run)  # another log mixed in
    assert store.events_after(CONV, ALICE, 0, limit=10) == [(e.head, e.body) for e in run[:10]]
    assert store.events_after(CONV, ALICE, 10, limit=10) == [(e.head, e.body) for e in run[10:20]]
    assert store.events_after(CONV, ALICE, 20, limit=10) == [(e.head, e.body) for e in run[20:]]
    assert store.events_after(CONV, ALICE, 25) == []
    assert store.events_after(OTHER_CONV, ALICE, 0) == []
    pages: list[bytes] = []
    for _ in range(10):
        page = store.events_after(CONV, ALICE, len(pages), limit=7)
        if not page:
            break
        pages.extend(page)
    assert pages == [(e.head, e.body) for e in run]


# -- messages --------------------------------------------------------------------------------


def _thousand_messages() -> list[MessageRow]:
    rng = random.Random(1234)
    authors = [bytes([i]) * 32 for i in (3, 1, 2, 9, 7)]
    clocks = dict.fromkeys(authors, 0)
    seqs = dict.fromkeys(authors, 0)
    rows = []
    for _ in range(1000):
        author = rng.choice(authors)
        clocks[author] += rng.randint(1, 3)  # lamports collide across authors
        seqs[author] += 1
        rows.append(_message(CONV, author, seqs[author], clocks[author], f"m{len(rows)}"))
    return rows


def test_messages_keyset_paging_is_complete_and_ordered(store: Store) -> None:
    rows = _thousand_messages()
    lamports = [r.lamport for r in rows]
    assert len(set(lamports)) < len(lamports)  # the tie-break on author matters
    store.insert_messages(random.Random(5).sample(rows, len(rows)))
    store.insert_messages([_message(OTHER_CONV, ALICE, i, i) for i in range(1, 200)])
    expected = [r.event_id for r in sorted(rows, key=lambda r: (r.lamport, r.author))]

    pages: list[list[MessageRow]] = []
    before = None
    for _ in range(100):  # bounded: a paging bug must fail the test, not hang it
        page = store.messages(CONV, limit=37, before=before)
        if not page:
            break
        assert len(page) <= 37
        pages.append(page)
        before = (page[0].lamport, page[0].author)
    else:
        pytest.fail("paging did not reach the oldest message")
    assert all(len(p) == 37 for p in pages[:-1])

    got = [m.event_id for p in reversed(pages) for m in p]
    assert len(got) == len(set(got)) == 1000
    assert got == expected
    assert store.count_messages(CONV) == 1000
    last = store.last_message(CONV)
    assert last is not None and last.event_id == expected[-1]


def test_messages_paging_uses_the_order_index_without_sorting(store: Store) -> None:
    store.insert_messages(_thousand_messages())
    store.execute("ANALYZE")
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        store.messages(CONV, limit=50)
        store.messages(CONV, limit=50, before=(300, b"\x02" * 32))
    finally:
        store.db.conn.set_trace_callback(None)
    selects = [s for s in statements if "FROM messages" in s]
    assert len(selects) == 2
    for sql in selects:
        assert "?" not in sql  # the trace shows the statement with its values bound
        plan = " | ".join(str(row[-1]) for row in store.execute("EXPLAIN QUERY PLAN " + sql))
        assert "USING INDEX messages_order" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_status_comes_from_marks_that_never_move_down(store: Store) -> None:
    store.insert_messages([_message(CONV, ALICE, s, s, outgoing=True) for s in range(1, 6)])
    store.insert_messages([_message(CONV, BOB, s, 10 + s) for s in range(1, 4)])

    def statuses(author: bytes) -> list[int]:
        return [m.status for m in store.messages(CONV) if m.author == author]

    assert statuses(ALICE) == [STATUS_SENDING] * 5
    assert statuses(BOB) == [STATUS_RECEIVED] * 3
    assert store.unread_count(CONV) == 3

    assert store.raise_mark(CONV, ALICE, 3, STATUS_DELIVERED) is True
    assert statuses(ALICE) == [STATUS_DELIVERED] * 3 + [STATUS_SENDING] * 2
    assert store.raise_mark(CONV, ALICE, 2, STATUS_DELIVERED) is False  # lower: no change
    assert store.raise_mark(CONV, ALICE, 3, STATUS_DELIVERED) is False  # same: no change
    assert store.mark(CONV, ALICE) == (3, 0)

    assert store.raise_mark(CONV, ALICE, 4, STATUS_READ) is True  # read implies delivered
    assert store.mark(CONV, ALICE) == (4, 4)
    assert statuses(ALICE) == [STATUS_READ] * 4 + [STATUS_SENDING]
    assert store.raise_mark(CONV, ALICE, 2, STATUS_DELIVERED) is False
    assert store.raise_mark(CONV, ALICE, 1, STATUS_READ) is False
    assert store.mark(CONV, ALICE) == (4, 4)

    assert store.raise_mark(CONV, BOB, 2, STATUS_READ) is True
    assert statuses(BOB) == [STATUS_READ, STATUS_READ, STATUS_RECEIVED]
    assert store.unread_count(CONV) == 1
    assert store.unread(CONV) == [(BOB, 3, 1)]

    with pytest.raises(ValueError, match="status"):
        store.raise_mark(CONV, ALICE, 5, STATUS_SENDING)


def test_unread_per_author_skips_my_devices_and_other_conversations(store: Store) -> None:
    other_conv = b"\x07" * 32
    carol, dave, laptop = b"\x0c" * 32, b"\x0d" * 32, b"\x0a" * 32
    store.insert_messages(
        [_message(CONV, ALICE, s, s, outgoing=True) for s in range(1, 4)]
        + [_message(CONV, laptop, s, 10 + s, outgoing=True) for s in range(1, 3)]
        + [_message(CONV, BOB, s, 20 + s) for s in range(1, 6)]
        + [_message(CONV, carol, s, 30 + s) for s in range(1, 3)]
        + [_message(CONV, dave, s, 40 + s) for s in range(1, 4)]
        + [_message(other_conv, BOB, s, 50 + s) for s in range(1, 9)]
    )
    store.raise_mark(CONV, BOB, 3, STATUS_READ)
    store.raise_mark(CONV, dave, 3, STATUS_READ)  # all of dave's read: not listed
    assert sorted(store.unread(CONV)) == sorted([(BOB, 5, 2), (carol, 2, 2)])
    assert store.unread_count(CONV) == 4
    assert store.unread(other_conv) == [(BOB, 8, 8)]
    assert store.unread(b"\x09" * 32) == []


# -- search ----------------------------------------------------------------------------------

TEXTS = [
    "Café au lait at nine?",
    "hello world",
    "Hello there, worldly friend",
    "the naïve approach",
    'she said "AND" NEAR the door - really',
    "completely unrelated",
]


@pytest.fixture
def searchable(store: Store) -> Store:
    store.insert_messages(
        [_message(CONV, ALICE, i, i, t, time=i) for i, t in enumerate(TEXTS, 1)]
    )
    return store


def _found(s: Store, query: str) -> list[str]:
    return sorted(m.text for m in s.search(query))


def test_search_prefix_and_all_words(searchable: Store) -> None:
    assert _found(searchable, "hel") == sorted(["hello world", "Hello there, worldly friend"])
    assert _found(searchable, "hello world") == sorted(
        ["hello world", "Hello there, worldly friend"]
    )
    assert _found(searchable, "hello wor friend") == ["Hello there, worldly friend"]
    assert _found(searchable, "hello nothing") == []
    assert _found(searchable, "  ") == []
    assert [m.text for m in searchable.search("hello")] == [  # newest first
        "Hello there, worldly friend", "hello world",
    ]
    assert len(searchable.search("hel", limit=1)) == 1


def test_search_ignores_diacritics_both_ways(searchable: Store) -> None:
    assert _found(searchable, "cafe") == ["Café au lait at nine?"]
    assert _found(searchable, "CAFÉ") == ["Café au lait at nine?"]
    assert _found(searchable, "naive") == ["the naïve approach"]
    assert _found(searchable, "naïv") == ["the naïve approach"]


@pytest.mark.parametrize(
    "query",
    ['"', "*", "AND", "OR", "NOT", "NEAR(", "-", "'", "^", ":", "x:y", "(", ")", "+", "{}",
     '""', '"AND', "col:value", "hello*", "a OR b", "NEAR(hello world, 2)", "\\", "-hello"],
)
def test_search_syntax_characters_do_not_raise(searchable: Store, query: str) -> None:
    searchable.search(query)


def test_search_treats_operators_as_words(searchable: Store) -> None:
    assert _found(searchable, "AND") == ['she said "AND" NEAR the door - really']
    assert _found(searchable, "NEAR(") == ['she said "AND" NEAR the door - really']
    assert _found(searchable, '"and" door') == ['she said "AND" NEAR the door - really']


@pytest.mark.parametrize("query", ["hello\x00", "hello \udcff"], ids=["nul", "surrogate"])
def test_search_with_unencodable_characters_does_not_raise(searchable: Store, query: str) -> None:
    searchable.search(query)


@pytest.fixture(scope="module")
def search_store(tmp_path_factory: pytest.TempPathFactory):
    s = Store(tmp_path_factory.mktemp("search") / "kith.db")
    s.insert_messages([_message(CONV, ALICE, i, i, t) for i, t in enumerate(TEXTS, 1)])
    yield s
    s.close()


@settings(database=None, max_examples=150, deadline=None)
@given(
    query=st.text(
        alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
        max_size=30,
    )
)
def test_search_never_raises_on_arbitrary_text(search_store: Store, query: str) -> None:
    found = search_store.search(query)
    assert all(m.conv == CONV for m in found)


# -- contacts, devices, peers, settings, drafts ---------------------------------------------


def test_contact_upsert_keeps_fields_not_given(store: Store) -> None:
    c = store.upsert_contact(BOB, name="Bob")
    assert (c.name, c.state, c.verified, c.key_changed, c.replaces) == (
        "Bob", "pending_in", False, False, None,
    )
    created = c.created

    c = store.upsert_contact(BOB, state="accepted")
    assert (c.name, c.state, c.verified) == ("Bob", "accepted", False)
    c = store.upsert_contact(BOB, verified=True, replaces=ALICE)
    assert (c.name, c.state, c.verified, c.replaces) == ("Bob", "accepted", True, ALICE)
    c = store.upsert_contact(BOB, name="Robert", key_changed=True)
    assert (c.name, c.state, c.verified, c.key_changed, c.replaces) == (
        "Robert", "accepted", True, True, ALICE,
    )
    c = store.upsert_contact(BOB, verified=False, key_changed=False)
    assert (c.verified, c.key_changed, c.name) == (False, False, "Robert")
    assert c.created == created
    assert store.contact(BOB) == c

    store.upsert_contact(ALICE, name="alice", state="pending_out")
    assert [x.name for x in store.contacts()] == ["alice", "Robert"]  # case-insensitive order
    store.delete_contact(BOB)
    assert store.contact(BOB) is None
    assert [x.name for x in store.contacts()] == ["alice"]


def test_device_upsert_keeps_the_newest_certificate(store: Store) -> None:
    store.upsert_device(ALICE, USER, "laptop", 100, b"cert-100")
    store.upsert_device(ALICE, USER, "old name", 50, b"cert-50")  # older: ignored
    d = store.device(ALICE)
    assert d is not None
    assert (d.user_id, d.name, d.created, d.cert, d.revoked, d.last_seen) == (
        USER, "laptop", 100, b"cert-100", False, None,
    )
    store.upsert_device(ALICE, USER, "renamed", 200, b"cert-200")
    d = store.device(ALICE)
    assert d is not None and (d.name, d.created, d.cert) == ("renamed", 200, b"cert-200")

    store.upsert_device(BOB, b"\x22" * 32, "phone", 10, b"c")
    assert [x.device_id for x in store.devices()] == [BOB, ALICE]  # by creation
    assert [x.device_id for x in store.devices(USER)] == [ALICE]
    store.touch_device(ALICE, 12345)
    d = store.device(ALICE)
    assert d is not None and d.last_seen == 12345
    assert store.device(b"\x00" * 32) is None


def test_claims_of_several_users_on_one_device_stay_apart(store: Store) -> None:
    mallory = b"\x66" * 32
    store.upsert_device(ALICE, mallory, "laptop", 10, b"forged")  # first come
    assert store.device(ALICE).user_id == mallory  # the only claim
    store.upsert_device(ALICE, USER, "laptop", 20, b"real")
    assert [c.user_id for c in store.device_claims(ALICE)] == [mallory, USER]  # oldest first
    assert store.device(ALICE) is None  # two unproven claims: neither decides alone
    assert store.device(ALICE, USER).cert == b"real"
    assert store.device(ALICE, mallory).cert == b"forged"
    store.upsert_device(ALICE, USER, "laptop", 20, b"real", proven=True)  # its handshake
    assert store.device(ALICE).user_id == USER
    assert [c.user_id for c in store.device_claims(ALICE)] == [USER, mallory]
    store.upsert_device(ALICE, USER, "laptop", 30, b"newer")  # relayed later: still proven
    assert store.device(ALICE).proven and store.device(ALICE).cert == b"newer"
    store.touch_device(ALICE, 5, user_id=mallory)
    assert store.device(ALICE, mallory).last_seen == 5
    assert store.device(ALICE, USER).last_seen is None


def test_remember_peer_merges_manual_flag_and_device(store: Store) -> None:
    store.remember_peer("192.168.1.5:7000")
    [p] = store.peers()
    assert (p.address, p.device_id, p.manual) == ("192.168.1.5:7000", None, False)
    assert p.last_seen is not None

    store.remember_peer("192.168.1.5:7000", manual=True)
    store.remember_peer("192.168.1.5:7000", ALICE)  # discovered again, not manual
    [p] = store.peers()
    assert (p.device_id, p.manual) == (ALICE, True)
    store.remember_peer("192.168.1.5:7000", None, manual=False)
    [p] = store.peers()
    assert (p.device_id, p.manual) == (ALICE, True)

    store.remember_peer("10.0.0.1:1", BOB)
    assert [(x.address, x.manual) for x in store.peers()] == [
        ("10.0.0.1:1", False), ("192.168.1.5:7000", True),
    ]


@pytest.mark.parametrize(
    "value",
    [True, 0, -3, 2.5, "text", "ünïcödé ✓", None, [1, "two", None], {"a": {"b": [1, 2]}}, []],
)
def test_settings_roundtrip_json(store: Store, value: object) -> None:
    assert store.get_setting("key", default="fallback") == "fallback"
    store.set_setting("key", value)
    assert store.get_setting("key", default="fallback") == value
    store.set_setting("key", "replaced")
    store.set_setting("other", value)
    assert store.settings() == {"key": "replaced", "other": value}


def test_drafts_set_replace_and_clear(store: Store) -> None:
    assert store.get_draft(CONV) == ""
    store.set_draft(CONV, "one")
    store.set_draft(CONV, "two")
    store.set_draft(OTHER_CONV, "elsewhere")
    assert store.get_draft(CONV) == "two"
    store.set_draft(CONV, "")
    assert store.get_draft(CONV) == ""
    assert store.execute("SELECT count(*) FROM drafts") == [(1,)]
    assert store.get_draft(OTHER_CONV) == "elsewhere"


def test_messages_after_pages_forward_without_gaps(tmp_path):
    from kith.storage import MessageRow, Store

    store = Store(tmp_path / "k.db")
    conv, a, b = b"c" * 32, b"a" * 32, b"b" * 32
    rows = [
        MessageRow(bytes([i % 256]) * 32, conv, (a, b)[i % 2], a, i // 2 + 1, i // 2 + 1,
                   0, f"m{i}", True)
        for i in range(101)
    ]
    store.insert_messages(rows)
    everything = store.messages(conv, limit=1000)
    seen, cursor = [], (0, b"")
    while page := store.messages_after(conv, cursor, limit=7):
        seen.extend(page)
        cursor = (page[-1].lamport, page[-1].author)
    assert [m.text for m in seen] == [m.text for m in everything]


def test_the_schema_check_knows_every_table_of_the_latest_schema(tmp_path: Path) -> None:
    from kith.storage.migrations import expected_schema, missing_from

    schema = expected_schema()
    assert {"events", "messages", "contacts", "files", "members"} <= set(schema)
    assert "own_name" in schema["contacts"]  # a column added by a later migration
    assert not any(t.startswith("messages_fts_") for t in schema)  # FTS5's own tables
    store = Store(tmp_path / "kith.db")
    assert missing_from(store.db) == []
    store.close()


def test_a_database_of_the_latest_version_lacking_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    Store(path).close()
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE cards")
    raw.execute("ALTER TABLE contacts DROP COLUMN named")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseCorrupt, match=r"lacks cards, contacts\.named"):
        Store(path)
    assert path.read_bytes() == before  # left untouched
