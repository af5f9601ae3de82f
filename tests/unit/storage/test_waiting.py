"""The ``waiting`` table (schema 10): our events that wait for their log's true head."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from kith.storage import Store
from kith.storage.migrations import LATEST

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "profile-v9"
A, B = b"a" * 32, b"b" * 32


def _add(s: Store, n: int, conv: bytes = A) -> bytes:
    event_id = bytes([n]) * 32
    s.add_waiting(event_id, conv, "msg", b"body%d" % n, 1000 + n, b"head%d" % n,
                  files=[b"f" * 32] if n == 2 else ())
    return event_id


def test_waiting_rows_keep_their_order_and_what_the_user_asked(tmp_path: Path) -> None:
    with closing(Store(tmp_path / "kith.db")) as s:
        for n in (3, 1, 2):
            _add(s, n, A if n != 1 else B)
        assert [r.event_id[0] for r in s.waiting()] == [3, 1, 2]  # as written, not by id
        assert [r.event_id[0] for r in s.waiting(A)] == [3, 2]
        row = s.waiting(A)[1]
        assert (row.conv, row.kind, row.body, row.time, row.head, row.files) == (
            A, "msg", b"body2", 1002, b"head2", b"f" * 32)


def test_rows_survive_a_close_without_a_clean_stop(tmp_path: Path) -> None:
    s = Store(tmp_path / "kith.db")
    _add(s, 1)
    # (no close: the connection is dropped as by a kill; the row was committed already)
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in tmp_path.glob("kith.db*"):
        shutil.copy(p, copy / p.name)
    with closing(Store(copy / "kith.db")) as again:
        assert [r.event_id[0] for r in again.waiting()] == [1]
    s.close()


def test_dropping_rows_and_a_failed_transaction_keeps_them(tmp_path: Path) -> None:
    with closing(Store(tmp_path / "kith.db")) as s:
        one, two = _add(s, 1), _add(s, 2)
        def failed_write() -> None:
            with s.transaction():
                s.drop_waiting([one])
                raise RuntimeError("the write failed")

        with pytest.raises(RuntimeError):
            failed_write()
        assert len(s.waiting()) == 2
        s.drop_waiting([one])
        assert [r.event_id for r in s.waiting()] == [two]
        s.drop_waiting([])
        _add(s, 2)  # (the same event twice: kept once)
        assert len(s.waiting()) == 1


def test_a_schema_9_profile_migrates_and_keeps_its_messages(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "alice" / "kith.db", tmp_path / "kith.db")
    conn = sqlite3.connect(tmp_path / "kith.db")
    assert conn.execute("PRAGMA user_version").fetchone() == (9,)
    conn.close()
    with closing(Store(tmp_path / "kith.db")) as s:
        assert s.schema_version == LATEST >= 10
        assert s.waiting() == []
        convs = {r[0] for r in s.execute("SELECT DISTINCT conv FROM messages")}
        texts = [m.text for c in convs for m in s.messages(c)]
        assert sorted(texts) == ["one", "three", "two"]
        _add(s, 1)
        assert len(s.waiting()) == 1
