"""storage/actions.py: schema 4 on a database of the previous release, and settling a
message against what is recorded about it, in any order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kith.storage.db
from kith.storage import MessageRow, Store
from kith.storage.actions import EXPIRED, UNSENT, WINDOW_MS
from kith.storage.migrations import MIGRATIONS

CONV, DEVICE, USER = os.urandom(32), os.urandom(32), os.urandom(32)


def _row(i: int, text: str, **kw: object) -> MessageRow:
    return MessageRow(bytes([i]) * 32, CONV, DEVICE, USER, i, i, 1_000_000 + i, text, False,
                      **kw)  # type: ignore[arg-type]


def test_a_database_of_the_previous_release_upgrades_and_finds_its_messages_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kith.db"
    monkeypatch.setattr(kith.storage.db, "MIGRATIONS", MIGRATIONS[:3])
    monkeypatch.setattr(kith.storage.db, "LATEST", 3)
    old = Store(path)
    old._conn.executemany(
        "INSERT INTO messages (event_id, conv, author, sender, seq, lamport, time, text, "
        "outgoing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
        [(bytes([i]) * 32, CONV, DEVICE, USER, i, i, i, f"old {i}") for i in (1, 2)],
    )
    old.close()
    monkeypatch.undo()
    s = Store(path)
    try:
        assert s.schema_version == len(MIGRATIONS)
        row = s.message_by_id(bytes([2]) * 32)
        assert row is not None and (row.text, row.reply_to, row.edits, row.unsent) == (
            "old 2", None, 0, False)
        s.put_reaction(row.event_id, CONV, USER, "\U0001f44d", 5, DEVICE, 0)
        assert s.reactions([row.event_id]) == {row.event_id: [("\U0001f44d", USER)]}
    finally:
        s.close()


def test_settling_comes_to_the_same_state_in_any_order(tmp_path: Path) -> None:
    msg = _row(1, "first draft")
    orders = [("message", "edit", "unsend"), ("unsend", "edit", "message"),
              ("edit", "message", "unsend")]
    for n, order in enumerate(orders):
        s = Store(tmp_path / f"{n}.db")
        try:
            for step in order:
                with s.transaction():
                    if step == "message":
                        s.insert_messages([msg])
                        s.settle_arrivals([msg], 2_000_000)
                    elif step == "edit":
                        s.add_edit(os.urandom(32), msg.event_id, CONV, DEVICE, 7, USER, 9,
                                   msg.time + 10, "second draft")
                        s.settle([msg.event_id], 2_000_000)
                    else:
                        s.add_gone(msg.event_id, UNSENT, CONV, USER, msg.time + WINDOW_MS - 1)
                        s.settle([msg.event_id], 2_000_000)
            row = s.message_by_id(msg.event_id)
            assert row is not None and (row.text, row.unsent, row.edits) == ("", True, 0), order
            assert s.search("draft") == [] and s.versions(msg.event_id) == []
        finally:
            s.close()


def test_an_expired_message_goes_and_stays_gone(tmp_path: Path) -> None:
    s = Store(tmp_path / "k.db")
    try:
        msg = _row(3, "ephemeral", timer=60)
        with s.transaction():
            s.insert_messages([msg])
            s.settle_arrivals([msg], 0)
        s.start_expiry(CONV, DEVICE, 3, 5_000)
        assert s.next_expiry() == 65_000
        assert not s.expire(64_999) and s.message_by_id(msg.event_id) is not None
        assert s.expire(65_000).removed == {msg.event_id: CONV}
        assert s.message_by_id(msg.event_id) is None and s.gone_reason(msg.event_id) == EXPIRED
        with s.transaction():  # it comes again (a device that still had it)
            s.insert_messages([msg])
            settled = s.settle_arrivals([msg], 70_000)
        assert msg.event_id in settled.removed and s.search("ephemeral") == []
        assert s.next_expiry() is None
    finally:
        s.close()


def test_the_fts_index_stays_consistent_through_edits_and_unsend(tmp_path: Path) -> None:
    s = Store(tmp_path / "k.db")
    try:
        msg = _row(4, "alpha")
        with s.transaction():
            s.insert_messages([msg])
            for i, text in enumerate(("beta", "gamma")):
                s.add_edit(os.urandom(32), msg.event_id, CONV, DEVICE, 10 + i, USER, 10 + i,
                           msg.time + i, text)
            s.settle([msg.event_id], 0)
        assert [m.text for m in s.search("gamma")] == ["gamma"]
        assert s.search("alpha") == [] and s.search("beta") == []
        s._conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
        with s.transaction():
            s.add_gone(msg.event_id, UNSENT, CONV, USER, msg.time)
            s.settle([msg.event_id], 0)
        assert s.search("gamma") == []
        s._conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
    finally:
        s.close()

