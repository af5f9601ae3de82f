"""The profile database: events, the messages view, contacts, devices, peers, settings.

One SQLite file per profile in WAL mode. Writes happen in explicit transactions
(:meth:`Store.transaction`), so a batch of events and everything derived from it
commits together or not at all. ``synchronous=NORMAL`` in WAL mode keeps every
committed transaction across a process crash; a power cut may lose the newest
commits but never leaves half of one.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlite_utils

from kith.storage import cipher, integrity
from kith.storage.actions import ActionsPart
from kith.storage.chatcuts import ChatCutsPart
from kith.storage.events import EventsPart
from kith.storage.files import FilesPart
from kith.storage.groups import GroupsPart
from kith.storage.messages import MessagesPart
from kith.storage.migrations import LATEST, MIGRATIONS, missing_from
from kith.storage.people import PeoplePart
from kith.storage.rows import DatabaseCorrupt, DatabaseTooNew, StorageError
from kith.storage.waiting import WaitingPart

log = logging.getLogger(__name__)

WAL_AUTOCHECKPOINT_BYTES = 64 * 1024 * 1024  # a commit checkpoints itself past this
CHECKPOINT_INTERVAL = 0.5  # seconds between two background checkpoints (request_checkpoint)
# The background checkpoint's passes and when its last one restarts the log (_Checkpointer);
# the room the log gets on disk at the start (_Checkpointer._reserve_log).
CATCH_UP_PASSES = 6
RESTART_FRAMES = 64
LOG_RESERVE = 16 * 1024 * 1024
RESERVE_TRIES = 100
# New databases use 8 KiB pages (SQLite's default is 4 KiB): an event row is ~400 bytes,
# and with twice as many rows per page a history sync does less B-tree work and writes
# fewer log frames (measured: a million-message link sync 16.6 s with 4 KiB pages, about
# 14 s with 8 KiB). Small commits then log more bytes each, so the log fills twice as fast
# under chat traffic: one more reason checkpoints run in the background (see
# request_checkpoint). Existing databases keep their page size.
PAGE_SIZE = 8192

_SQLITE_HEADER = b"SQLite format 3\0"


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except OSError as e:
        raise StorageError(f"cannot read {path}: {e.strerror}") from e
    if head != _SQLITE_HEADER:
        raise DatabaseCorrupt(
            f"{path} is not a Kith database (not an SQLite file). It was left untouched; "
            "move it away to start fresh, or restore it from a backup."
        )


def _check_readable(path: Path) -> int:
    """Read the schema version without writing anything; raise on a foreign file."""
    uri = f"file:{path}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise DatabaseCorrupt(
            f"{path} is not a readable Kith database ({e}). It was left untouched; "
            "move it away to start fresh, or restore it from a backup."
        ) from e
    if int(version) == 0 and tables:
        raise DatabaseCorrupt(
            f"{path} is an SQLite database of another program, not Kith's. It was left "
            "untouched; choose another profile folder."
        )
    return int(version)


def _check_too_new(path: Path, version: int) -> None:
    if version > LATEST:
        raise DatabaseTooNew(
            f"{path} was written by a newer version of Kith (schema {version}, "
            f"this one knows {LATEST}). Update Kith; the file was left untouched."
        )


class Store(
    EventsPart, MessagesPart, PeoplePart, FilesPart, GroupsPart, ActionsPart, ChatCutsPart,
    WaitingPart,
):
    """All persistent state of one profile. Not thread-safe: use it from one thread.

    Its parts live in :mod:`storage.events`, :mod:`storage.messages` and
    :mod:`storage.people` (and :mod:`storage.actions`, :mod:`storage.chatcuts`); this
    class opens, migrates and checkpoints the database and keeps the settings and drafts.

    With a ``key`` (32 bytes, from ``p2p.keystore``) the database is encrypted with
    SQLCipher (:mod:`storage.cipher`); a plain one must be migrated first
    (``cipher.ensure_encrypted``), a wrong key raises ``cipher.WrongKey``. Without a key
    it is plain SQLite; an encrypted file then raises ``cipher.KeyRequired``."""

    def __init__(self, path: Path | str, key: bytes | None = None) -> None:
        self.path = Path(path)
        self._key = key
        if key is not None:
            cipher.clean_up(self.path)  # the rest of a migration cut short
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new and key is None:
            if cipher.is_encrypted(self.path):
                raise cipher.KeyRequired(
                    f"{self.path} is not a plain database: it is encrypted (then it opens "
                    "with the profile's key only) or not a Kith database. It was left "
                    "untouched; move it away to start fresh, or restore it from a backup."
                )
            _check_header(self.path)
            _check_too_new(self.path, _check_readable(self.path))
        conn = cipher.connect(self.path, key)
        if not new and key is not None:
            try:
                _check_too_new(self.path, int(conn.execute("PRAGMA user_version").fetchone()[0]))
            except BaseException:
                conn.close()
                raise
        self._conn = conn
        self.db = sqlite_utils.Database(conn)
        self._depth = 0
        self._writer_gate = threading.Lock()
        self._checkpointer: _Checkpointer | None = None
        try:
            # (SQLite's quick check first, after a session that did not close the file:
            # a damaged file is kept, not used)
            if not new and integrity.check_due(self.path):
                integrity.refuse_if_damaged(conn, self.path)
            if new and key is None:  # (only before the first write: journal_mode=WAL is)
                conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint of a large log costs tens of milliseconds; the node has them
            # run on a background thread (request_checkpoint()), and a commit only
            # checkpoints itself if the log grows past 64 MiB anyway.
            (page,) = conn.execute("PRAGMA page_size").fetchone()
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_BYTES // int(page)}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            integrity.mark_open(self.path)
        except cipher.DATABASE_ERRORS as e:
            conn.close()
            raise DatabaseCorrupt(f"{self.path} is damaged: {e}") from e
        except StorageError:
            conn.close()
            raise

    def _migrate(self) -> None:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        while version < LATEST:
            with self.transaction():
                MIGRATIONS[version](self.db)
                version += 1
                self._conn.execute(f"PRAGMA user_version = {version}")
        missing = missing_from(self.db, tuple(MIGRATIONS[:version]))
        if missing:
            raise DatabaseCorrupt(
                f"{self.path} says it is a Kith database of schema {version} but lacks "
                f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}: it was left "
                "untouched; restore it from a backup or move it away to start fresh."
            )

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database now (PASSIVE: never waits for
        readers). Blocks for the copy and two fsyncs; see :meth:`request_checkpoint`."""
        if not self._depth:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def request_checkpoint(self) -> None:
        """Have the write-ahead log copied into the database soon, on a background thread
        with its own connection (started on first use), at most once per
        :data:`CHECKPOINT_INTERVAL`: the caller's commits never wait for that copy and its
        fsyncs (30-100 ms for 64 MiB here). While it keeps up, the log stays well below
        the size at which a commit would checkpoint itself."""
        if self._checkpointer is None:
            self._checkpointer = _Checkpointer(self.path, self._key, self._writer_gate)
        self._checkpointer.request()

    def wait_checkpointed(self, timeout: float) -> bool:
        """Block until the background checkpoint asked for last has run; False on
        timeout. For tests and tools: the node never waits for a checkpoint."""
        return self._checkpointer is not None and self._checkpointer.wait(timeout)

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._conn.close()
        integrity.mark_closed(self.path)  # (closed cleanly: no quick check next time)

    # -- settings and drafts ---------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._conn.execute("SELECT key, value FROM settings")}

    def get_draft(self, conv: bytes) -> str:
        row = self._conn.execute("SELECT text FROM drafts WHERE conv = ?", (conv,)).fetchone()
        return "" if row is None else str(row[0])

    def set_draft(self, conv: bytes, text: str) -> None:
        with self.transaction():
            if text:
                self._conn.execute(
                    "INSERT INTO drafts (conv, text) VALUES (?, ?) "
                    "ON CONFLICT (conv) DO UPDATE SET text = excluded.text",
                    (conv, text),
                )
            else:
                self._conn.execute("DELETE FROM drafts WHERE conv = ?", (conv,))

    def execute(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only escape hatch for tests and tools."""
        return [tuple(r) for r in self._conn.execute(sql, tuple(args))]


_OPEN_ERRORS: tuple[type[Exception], ...] = (*cipher.DB_ERRORS, StorageError)
_RESERVE_ERRORS: tuple[type[Exception], ...] = (OSError, *cipher.DB_ERRORS)


class _Checkpointer:
    """A thread that checkpoints the write-ahead log on its own connection when asked, at
    most once per CHECKPOINT_INTERVAL. SQLite lets a checkpoint run while another
    connection writes (it copies what was committed when it started), and Python's
    sqlite3 releases the GIL while it runs, so the event loop goes on meanwhile."""

    def __init__(self, path: Path, key: bytes | None, gate: threading.Lock) -> None:
        self._path = path
        self._key = key
        self._gate = gate
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._done = threading.Condition()
        self._requested = 0  # requests so far
        self._served = 0  # requests covered by a finished checkpoint
        self._thread = threading.Thread(target=self._run, name="kith-checkpoint", daemon=True)
        self._thread.start()

    def request(self) -> None:
        with self._done:
            self._requested += 1
        self._wake.set()

    def wait(self, timeout: float) -> bool:
        """Until a checkpoint started after the last request has finished (or failed)."""
        with self._done:
            return self._done.wait_for(lambda: self._served >= self._requested, timeout)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join()

    def _checkpoint(self, conn: Any) -> None:
        """Copy the log into the database and have the next commit write it over from
        its start. A PASSIVE checkpoint never makes a commit wait, but commits that land
        while it copies and syncs (20-90 ms for megabytes of log here) leave it behind,
        and SQLite starts a log over only once all of it is copied: under steady traffic
        the log then grew to 64 MiB, allocating blocks as it went (see _reserve_log). So
        passes follow while they catch up, and the last few frames are copied by a
        RESTART checkpoint, which holds off commits for its short while; it holds the
        store's writer gate meanwhile, so a commit that waits for it wakes when it ends."""
        for _ in range(CATCH_UP_PASSES):
            ((_, logged, copied),) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if logged - copied <= RESTART_FRAMES:
                with self._gate:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                return

    def _reserve_log(self, conn: Any) -> None:
        """Give the write-ahead log its room on disk, once per start. A commit that makes
        the log longer than it ever was allocates blocks, and such a write waits for the
        file system's journal: the commits that stalled for 10-50 ms were those (measured
        with a probe over tests/bench/bench_messages.py). A log written over in place
        never does. SQLite reads a log only up to its last valid frame, so zeros past
        that are never read. Written while holding the write lock (no commit can append
        meanwhile), synced after."""
        wal = Path(f"{self._path}-wal")
        try:
            for _ in range(RESERVE_TRIES):  # (a commit may be under way: its lock is brief)
                with self._gate:  # (a commit meanwhile waits here, not in SQLite's sleeps)
                    try:
                        conn.execute("BEGIN IMMEDIATE")
                    except cipher.DB_ERRORS:
                        pass
                    else:
                        try:
                            if not self._write_zeros(wal):
                                return
                        finally:
                            conn.execute("COMMIT")
                        break
                if self._stopping.wait(0.002):
                    return
            else:
                log.info("no room reserved for the write-ahead log: the database stayed busy")
                return
            fd = os.open(wal, os.O_WRONLY)
            try:
                os.fdatasync(fd)
            finally:
                os.close(fd)
        except _RESERVE_ERRORS as e:  # (a full disk: commits go on as ever)
            log.info("cannot reserve room for the write-ahead log: %s", e)

    @staticmethod
    def _write_zeros(wal: Path) -> bool:
        """Extend the log to LOG_RESERVE bytes with zeros (under the write lock); False
        if it is that long already."""
        size = wal.stat().st_size
        if size >= LOG_RESERVE:
            return False
        fd = os.open(wal, os.O_WRONLY)
        try:
            zeros = bytes(1 << 20)
            for offset in range(size, LOG_RESERVE, len(zeros)):
                os.pwrite(fd, zeros[: LOG_RESERVE - offset], offset)
        finally:
            os.close(fd)
        return True

    def _run(self) -> None:
        try:
            conn = cipher.connect(self._path, self._key, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout=0").fetchall()
            self._reserve_log(conn)
        except _OPEN_ERRORS as e:
            log.warning("cannot open %s for checkpoints: %s", self._path, e)
            return
        try:
            while True:
                self._wake.wait()
                if self._stopping.is_set():
                    return
                self._wake.clear()
                with self._done:
                    covered = self._requested
                try:
                    self._checkpoint(conn)
                except cipher.DB_ERRORS as e:  # busy, disk full: the next request tries again
                    log.warning("checkpoint failed: %s", e)
                with self._done:
                    self._served = covered
                    self._done.notify_all()
                if self._stopping.wait(CHECKPOINT_INTERVAL):
                    return
        finally:
            conn.close()
