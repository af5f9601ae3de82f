"""The background checkpointer (storage.db._Checkpointer): the log's room on disk, the
restart of the log, and the writer gate between the two threads.

Why (measured over tests/bench/bench_messages.py): commits that made the write-ahead log
longer than it ever was stalled for 10-50 ms behind the file system's journal, and under
steady traffic PASSIVE checkpoints never caught up, so the log kept growing to 64 MiB.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

import kith.storage.db
from kith.storage import Store
from kith.storage.db import LOG_RESERVE

WAIT = 20.0  # seconds: generous, for a busy machine


def _wal(path: Path) -> Path:
    return Path(f"{path}-wal")


def test_the_log_gets_its_room_and_a_crashed_copy_reads_every_commit(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    try:
        s.set_setting("first", 1)
        s.request_checkpoint()
        assert s.wait_checkpointed(WAIT)
        assert _wal(path).stat().st_size >= LOG_RESERVE
        for i in range(50):
            s.set_setting(f"k{i}", i)
        # A copy of the files as a kill -9 leaves them: the log holds the last commits,
        # followed by the reserved zeros, which SQLite must not take for frames.
        crashed = tmp_path / "crashed"
        crashed.mkdir()
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(f"{path}{suffix}", f"{crashed / 'kith.db'}{suffix}")
    finally:
        s.close()
    again = Store(crashed / "kith.db")
    try:
        assert again.get_setting("first") == 1
        assert [again.get_setting(f"k{i}") for i in range(50)] == list(range(50))
        assert again.execute("PRAGMA integrity_check") == [("ok",)]
    finally:
        again.close()


def test_the_log_stays_in_its_room_while_it_is_checkpointed(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    s = Store(path)
    try:
        s.set_setting("k", "")
        s.request_checkpoint()
        assert s.wait_checkpointed(WAIT)  # (the room is reserved)
        for n in range(6):  # six times a quarter of the room: restarted, never longer
            for i in range(LOG_RESERVE // 4 // 8192 // 2):  # (a page or two a commit)
                s.set_setting("k", f"{n}.{i}".ljust(6000))
            s.request_checkpoint()
            assert s.wait_checkpointed(WAIT)
        assert _wal(path).stat().st_size == LOG_RESERVE
    finally:
        s.close()


def test_a_log_that_gets_no_room_still_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(*_: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    caplog.set_level(logging.INFO, logger="kith.storage.db")
    monkeypatch.setattr(kith.storage.db.os, "pwrite", full)
    path = tmp_path / "kith.db"
    s = Store(path)
    try:
        s.set_setting("k", "v")
        s.request_checkpoint()
        assert s.wait_checkpointed(WAIT)
        assert "cannot reserve room for the write-ahead log" in caplog.text
        s.set_setting("k", "w")  # (commits go on)
        assert s.get_setting("k") == "w"
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:  # (the checkpoint copied the first commit into the database file)
            assert conn.execute("SELECT value FROM settings WHERE key = 'k'").fetchone()
        finally:
            conn.close()
    finally:
        s.close()


def test_the_restart_holds_the_writer_gate_and_a_commit_waits_for_it(tmp_path: Path) -> None:
    s = Store(tmp_path / "kith.db")
    try:
        s.set_setting("k", 0)
        s.request_checkpoint()
        assert s.wait_checkpointed(WAIT)  # (the room is reserved: that took the gate too)
        s.set_setting("k", 1)
        with s._writer_gate:  # as while the checkpointer restarts the log...
            s.request_checkpoint()
            # ...its own restart waits for the gate (a negative check: a slow machine
            # only makes it likelier to hold)
            assert not s.wait_checkpointed(0.3)
            done = threading.Event()

            def write() -> None:
                s.set_setting("k", 2)
                done.set()

            writer = threading.Thread(target=write)
            writer.start()
            assert not done.wait(0.3)  # ...and so does a commit
        assert s.wait_checkpointed(WAIT)
        assert done.wait(WAIT)
        writer.join()
        assert s.get_setting("k") == 2
    finally:
        s.close()
