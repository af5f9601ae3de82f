"""storage.cipher: SQLCipher with a raw key, wrong keys, and the migration of a plain
database (checked row by row, swapped in atomically, survives kill -9 at any step)."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kith.storage import DatabaseCorrupt, EventRow, MessageRow, Store, cipher

REPO = Path(__file__).resolve().parents[3]
KEY = bytes(range(32))
CONV = hashlib.blake2b(b"conv", digest_size=32).digest()
ALICE, BOB = b"\xaa" * 32, b"\xbb" * 32
SECRET_TEXT = "the treasure lies under the third larch"
CONTACT_NAME = "Philippa Quartermaine"


def populate(store: Store, n: int) -> None:
    """A conversation of ``n`` messages, their events and a contact."""
    store.upsert_contact(BOB, name=CONTACT_NAME, state="accepted")
    store.ensure_conversation(CONV, "direct", [(ALICE, "member"), (BOB, "member")], peer_user=BOB)
    events, messages = [], []
    for seq in range(1, n + 1):
        eid = hashlib.blake2b(seq.to_bytes(8, "big"), digest_size=32).digest()
        text = f"{SECRET_TEXT} #{seq}"
        events.append(EventRow(eid, CONV, ALICE, seq, seq, 1000 + seq, "message",
                               b"head %d" % seq, text.encode()))
        messages.append(MessageRow(eid, CONV, ALICE, ALICE, seq, seq, 1000 + seq, text, True))
    for i in range(0, n, 1000):
        store.insert_events(events[i : i + 1000])
        store.insert_messages(messages[i : i + 1000])


def snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {
        "events": store.execute("SELECT * FROM events ORDER BY conv, author, seq"),
        "messages": store.execute("SELECT * FROM messages ORDER BY rowid"),
        "contacts": store.execute("SELECT * FROM contacts ORDER BY user_id"),
        "search": store.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'larch'"),
    }


def raw_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


@pytest.fixture
def plain_db(tmp_path: Path) -> tuple[Path, dict[str, list[tuple[object, ...]]]]:
    path = tmp_path / "profile" / "kith.db"
    path.parent.mkdir()
    s = Store(path)
    populate(s, 3000)
    snap = snapshot(s)
    s.close()
    return path, snap


# -- connecting --------------------------------------------------------------------------------


def test_encrypted_store_round_trip_with_search(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path, key=KEY)
    populate(s, 50)
    before = snapshot(s)
    assert s.execute("PRAGMA cipher_version")[0][0]
    s.close()

    assert cipher.is_encrypted(path)
    s = Store(path, key=KEY)
    try:
        assert snapshot(s) == before
        assert len(s.search("larch")) == 50  # FTS5 inside SQLCipher
        assert s.execute("PRAGMA journal_mode") == [("wal",)]
    finally:
        s.close()
    assert SECRET_TEXT.encode() not in raw_bytes(tmp_path)
    assert CONTACT_NAME.encode() not in raw_bytes(tmp_path)


def test_checkpointer_thread_uses_the_key(tmp_path: Path) -> None:
    s = Store(tmp_path / "kith.db", key=KEY)
    try:
        populate(s, 100)
        assert (tmp_path / "kith.db-wal").stat().st_size > 0
        s.request_checkpoint()
        assert s.wait_checkpointed(30)
        s.insert_messages([])  # the main connection still works after the thread's
    finally:
        s.close()
    conn = cipher.connect(tmp_path / "kith.db", KEY)
    try:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (100,)
    finally:
        conn.close()


def test_wrong_key_is_a_clear_error_and_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path, key=KEY)
    populate(s, 10)
    s.close()
    before = path.read_bytes()

    with pytest.raises(cipher.WrongKey) as info:
        Store(path, key=bytes(32))
    assert "key does not open" in str(info.value)
    assert "file is not a database" not in str(info.value)
    assert path.read_bytes() == before
    with pytest.raises(cipher.WrongKey):
        cipher.connect(path, os.urandom(32))


def test_encrypted_file_without_key_and_plain_file_with_key(
    tmp_path: Path, plain_db: tuple[Path, object]
) -> None:
    enc = tmp_path / "enc.db"
    Store(enc, key=KEY).close()
    with pytest.raises(cipher.KeyRequired, match="encrypted") as info:
        Store(enc)
    assert isinstance(info.value, DatabaseCorrupt)

    path, _ = plain_db
    with pytest.raises(cipher.NotEncrypted, match="migrated"):
        Store(path, key=KEY)
    with pytest.raises(ValueError, match="32 bytes"):
        cipher.connect(path, b"short")


def test_is_encrypted(tmp_path: Path, plain_db: tuple[Path, object]) -> None:
    assert not cipher.is_encrypted(plain_db[0])
    assert not cipher.is_encrypted(tmp_path / "missing.db")
    (tmp_path / "empty.db").write_bytes(b"")
    assert not cipher.is_encrypted(tmp_path / "empty.db")
    Store(tmp_path / "enc.db", key=KEY).close()
    assert cipher.is_encrypted(tmp_path / "enc.db")


# -- migration ---------------------------------------------------------------------------------


def test_migration_keeps_every_row_and_leaves_no_plaintext(
    plain_db: tuple[Path, dict[str, list[tuple[object, ...]]]],
) -> None:
    path, before = plain_db
    assert SECRET_TEXT.encode() in raw_bytes(path.parent)  # the test can see plaintext
    seen: list[tuple[str, int, int]] = []

    assert cipher.ensure_encrypted(path, KEY, lambda *p: seen.append(p))

    assert cipher.is_encrypted(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["kith.db"]
    assert SECRET_TEXT.encode() not in raw_bytes(path.parent)
    assert CONTACT_NAME.encode() not in raw_bytes(path.parent)
    s = Store(path, key=KEY)
    try:
        assert snapshot(s) == before
    finally:
        s.close()
    stages = [stage for stage, _, _ in seen]
    assert stages[0] == "copy" and "check" in stages and stages[-1] == "swap"
    assert stages == sorted(stages, key=["copy", "check", "swap"].index)
    for stage in ("copy", "check", "swap"):
        done = [d for s_, d, _ in seen if s_ == stage]
        total = {t for s_, _, t in seen if s_ == stage}
        assert done == sorted(done) and len(total) == 1 and done[-1] == total.pop()
    assert not cipher.ensure_encrypted(path, KEY)  # once only


def test_migration_to_another_file(plain_db: tuple[Path, object], tmp_path: Path) -> None:
    path, before = plain_db
    dst = path.with_name("encrypted.db")
    cipher.migrate_plain(path, dst, KEY)
    assert not path.exists()
    s = Store(dst, key=KEY)
    try:
        assert snapshot(s) == before
    finally:
        s.close()


def test_a_copy_that_differs_is_refused_and_the_plain_file_kept(
    plain_db: tuple[Path, dict[str, list[tuple[object, ...]]]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, before = plain_db
    real_export = cipher._export

    def lossy_export(src: Path, tmp: Path, key: bytes, report: cipher.Progress) -> None:
        real_export(src, tmp, key, report)
        conn = cipher.connect(tmp, key)
        conn.execute("UPDATE messages SET text = 'changed' WHERE rowid = 1234")
        conn.close()

    monkeypatch.setattr(cipher, "_export", lossy_export)
    with pytest.raises(cipher.MigrationFailed, match="messages"):
        cipher.migrate_plain(path, path, KEY)
    monkeypatch.undo()

    assert not cipher.is_encrypted(path)
    s = Store(path)
    try:
        assert snapshot(s) == before
    finally:
        s.close()
    cipher.ensure_encrypted(path, KEY)  # and a later try works
    assert cipher.is_encrypted(path)


def test_a_missing_row_is_refused(
    plain_db: tuple[Path, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = plain_db
    real_export = cipher._export

    def lossy_export(src: Path, tmp: Path, key: bytes, report: cipher.Progress) -> None:
        real_export(src, tmp, key, report)
        conn = cipher.connect(tmp, key)
        conn.execute("DELETE FROM events WHERE seq = 77")
        conn.close()

    monkeypatch.setattr(cipher, "_export", lossy_export)
    with pytest.raises(cipher.MigrationFailed, match="events"):
        cipher.migrate_plain(path, path, KEY)
    assert not cipher.is_encrypted(path)


def test_a_failed_copy_leaves_the_plain_database_and_no_partial_copy(
    plain_db: tuple[Path, dict[str, list[tuple[object, ...]]]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, before = plain_db

    def disk_full(src: Path, tmp: Path, key: bytes, report: cipher.Progress) -> None:
        tmp.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cipher, "_export", disk_full)
    with pytest.raises(cipher.MigrationFailed, match="No space left"):
        cipher.migrate_plain(path, path, KEY)
    assert sorted(p.name for p in path.parent.iterdir()) == ["kith.db"]
    s = Store(path)
    try:
        assert snapshot(s) == before
    finally:
        s.close()


def test_migration_refuses_while_the_database_is_in_use(
    plain_db: tuple[Path, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = plain_db
    monkeypatch.setattr(cipher, "BUSY_SECONDS", 0.2)  # (it gives up after 5 s, not 0.2)
    s = Store(path)
    try:
        s.execute("SELECT 1")
        s._conn.execute("BEGIN IMMEDIATE")  # a node writing right now
        with pytest.raises(cipher.MigrationFailed, match="left as it is"):
            cipher.migrate_plain(path, path, KEY)
        s._conn.execute("ROLLBACK")
    finally:
        s.close()
    assert not cipher.is_encrypted(path)


def test_wipe_file_overwrites_but_spares_hard_linked_data(tmp_path: Path) -> None:
    lone, shared, other = tmp_path / "lone", tmp_path / "shared", tmp_path / "other"
    lone.write_bytes(b"secret" * 1000)
    shared.write_bytes(b"keep me")
    os.link(shared, other)
    fd = os.open(lone, os.O_RDONLY)
    try:
        cipher.wipe_file(lone)
        assert not lone.exists()
        assert os.read(fd, 10) == bytes(10)  # the data itself was overwritten
    finally:
        os.close(fd)
    cipher.wipe_file(shared)
    assert other.read_bytes() == b"keep me"


# -- kill -9 at every step of the migration ----------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from kith.storage import cipher
    stage, at = sys.argv[2], int(sys.argv[3])

    def progress(s, done, total):
        if s == stage and done >= at:
            os.kill(os.getpid(), signal.SIGKILL)

    cipher.migrate_plain(sys.argv[1], sys.argv[1], bytes(range(32)), progress)
    """
)


@pytest.mark.parametrize(
    ("stage", "at"),
    [
        ("copy", 0),  # the log folded in, nothing copied yet
        ("copy", 1),  # part of the encrypted copy written
        ("check", 0),  # the copy complete, not checked
        ("check", 5000),  # halfway through the check
        ("swap", 0),  # checked and fsynced, before the swap
        ("swap", 1),  # the plain file linked aside, not yet replaced
        ("swap", 2),  # the encrypted copy in place, the plain one not yet wiped
    ],
)
def test_kill_during_migration_loses_nothing(
    plain_db: tuple[Path, dict[str, list[tuple[object, ...]]]], stage: str, at: int
) -> None:
    path, before = plain_db
    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO)), str(path), stage, str(at)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr

    # Whatever state it died in, the profile opens as what it is, with every row.
    encrypted = cipher.is_encrypted(path)
    assert encrypted == (stage == "swap" and at == 2)
    s = Store(path, key=KEY if encrypted else None)
    try:
        assert snapshot(s) == before
    finally:
        s.close()
    # The next start finishes the job.
    cipher.ensure_encrypted(path, KEY)
    s = Store(path, key=KEY)
    try:
        assert snapshot(s) == before
    finally:
        s.close()
    left = {p.name for p in path.parent.iterdir()}
    assert "kith.db" in left and left <= {"kith.db", "kith.db-wal", "kith.db-shm"}
    assert SECRET_TEXT.encode() not in raw_bytes(path.parent)


def test_blobs_and_nulls_bind_as_such(tmp_path: Path) -> None:
    """storage.cipher registers pass-through adapters for bytes and None (speed)."""

    class Tagged(bytes):
        pass

    conn = cipher.connect(tmp_path / "enc.db", KEY)
    try:
        conn.execute("CREATE TABLE t (a, b, c, d)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                         [(b"\x00blob", None, Tagged(b"sub"), b"")] * 3)
        rows = conn.execute("SELECT typeof(a), a, b IS NULL, typeof(c), c, typeof(d) FROM t")
        assert rows.fetchall() == [("blob", b"\x00blob", 1, "blob", b"sub", "blob")] * 3
    finally:
        conn.close()


def test_plain_connection_of_stdlib_is_used_without_key(tmp_path: Path) -> None:
    conn = cipher.connect(tmp_path / "plain.db", None)
    try:
        assert isinstance(conn, sqlite3.Connection)
    finally:
        conn.close()
