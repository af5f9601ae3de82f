"""The profile database: events, the messages view, contacts, devices, peers, settings.

One SQLite file per profile in WAL mode. Writes happen in explicit transactions
(:meth:`Store.transaction`), so a batch of events and everything derived from it
commits together or not at all. ``synchronous=NORMAL`` in WAL mode keeps every
committed transaction across a process crash; a power cut may lose the newest
commits but never leaves half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import operator
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils

from storage.migrations import LATEST, MIGRATIONS

log = logging.getLogger(__name__)

WAL_AUTOCHECKPOINT_BYTES = 64 * 1024 * 1024  # a commit checkpoints itself past this
CHECKPOINT_INTERVAL = 0.5  # seconds between two background checkpoints (request_checkpoint)
# New databases use 8 KiB pages (SQLite's default is 4 KiB): an event row is ~400 bytes,
# and with twice as many rows per page a history sync does less B-tree work and writes
# fewer log frames (measured: a million-message link sync 16.6 s with 4 KiB pages, about
# 14 s with 8 KiB). Small commits then log more bytes each, so the log fills twice as fast
# under chat traffic: one more reason checkpoints run in the background (see
# request_checkpoint). Existing databases keep their page size.
PAGE_SIZE = 8192
STATUS_SENDING = 0
STATUS_RECEIVED = 1
STATUS_DELIVERED = 2
STATUS_READ = 3
STATUS_NAMES = {
    STATUS_SENDING: "sending",
    STATUS_RECEIVED: "received",
    STATUS_DELIVERED: "delivered",
    STATUS_READ: "read",
}


class StorageError(Exception):
    """The database cannot be used; ``str(e)`` tells the user what to do."""


class DatabaseCorrupt(StorageError):
    pass


class DatabaseTooNew(StorageError):
    pass


class EventRow(NamedTuple):
    """An event as stored; the field order is the column order of the insert."""

    id: bytes
    conv: bytes
    author: bytes
    seq: int
    lamport: int
    time: int
    kind: str
    raw: bytes


# What insert_events takes: an EventRow, or (on the hot path) a plain tuple in its order.
EventRowTuple = tuple[bytes, bytes, bytes, int, int, int, str, bytes]


# Not frozen (treat it as immutable all the same; dataclasses.replace makes changed
# copies): a frozen dataclass's __init__ costs three times as much, and a history sync
# creates a million of these. unsafe_hash keeps it hashable, as it was.
@dataclass(slots=True, unsafe_hash=True)
class MessageRow:
    event_id: bytes
    conv: bytes
    author: bytes  # device
    sender: bytes  # user
    seq: int
    lamport: int
    time: int
    text: str
    outgoing: bool
    status: int = STATUS_SENDING  # derived from the marks when read back
    rowid: int = 0

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, "unknown")


@dataclass(frozen=True, slots=True)
class ContactRow:
    user_id: bytes
    name: str
    state: str  # pending_in | pending_out | accepted | declined
    verified: bool
    key_changed: bool
    replaces: bytes | None
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: bytes
    user_id: bytes
    name: str
    created: int
    cert: bytes
    revoked: bool
    last_seen: int | None


@dataclass(frozen=True, slots=True)
class PeerRow:
    address: str
    device_id: bytes | None
    manual: bool
    last_seen: int | None


@dataclass(frozen=True, slots=True)
class HeadRow:
    conv: bytes
    author: bytes
    seq: int
    id: bytes
    lamport: int


_MESSAGE_SELECT = """
SELECT m.event_id, m.conv, m.author, m.sender, m.seq, m.lamport, m.time, m.text, m.outgoing,
    CASE WHEN m.outgoing THEN
        CASE WHEN m.seq <= coalesce(k.read, 0) THEN 3
             WHEN m.seq <= coalesce(k.delivered, 0) THEN 2 ELSE 0 END
    ELSE CASE WHEN m.seq <= coalesce(k.read, 0) THEN 3 ELSE 1 END END,
    m.rowid
FROM messages m LEFT JOIN marks k ON k.conv = m.conv AND k.author = m.author
"""


_message_columns = operator.attrgetter(
    "event_id", "conv", "author", "sender", "seq", "lamport", "time", "text", "outgoing"
)


def _message(r: Sequence[Any]) -> MessageRow:
    return MessageRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10]
    )


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


class Store:
    """All persistent state of one profile. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if self.path.exists() and self.path.stat().st_size > 0:
            _check_header(self.path)
            version = _check_readable(self.path)
            if version > LATEST:
                raise DatabaseTooNew(
                    f"{self.path} was written by a newer version of Kith (schema {version}, "
                    f"this one knows {LATEST}). Update Kith; the file was left untouched."
                )
        new = not self.path.exists() or self.path.stat().st_size == 0
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn = conn
        self.db = sqlite_utils.Database(conn)
        self._depth = 0
        self._checkpointer: _Checkpointer | None = None
        try:
            if new:  # (only before the first write, which journal_mode=WAL is)
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
        except sqlite3.DatabaseError as e:
            conn.close()
            raise DatabaseCorrupt(f"{self.path} is damaged: {e}") from e

    def _migrate(self) -> None:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        while version < LATEST:
            with self.transaction():
                MIGRATIONS[version](self.db)
                version += 1
                self._conn.execute(f"PRAGMA user_version = {version}")

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
            self._checkpointer = _Checkpointer(self.path)
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

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write; nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self._conn.execute("COMMIT")

    # -- events ---------------------------------------------------------------------

    def insert_events(self, rows: Sequence[EventRowTuple]) -> None:
        """Store events and move the per-log heads; rows of one log must be in seq order.
        A row is an :class:`EventRow` or a plain tuple in its field order."""
        if not rows:
            return
        with self.transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO events (id, conv, author, seq, lamport, time, kind, raw) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            tips: dict[tuple[bytes, bytes], EventRowTuple] = {}
            for r in rows:
                tips[(r[1], r[2])] = r
            self._conn.executemany(
                "INSERT INTO heads (conv, author, seq, id, lamport) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (conv, author) DO UPDATE SET seq = excluded.seq, id = excluded.id,"
                " lamport = excluded.lamport WHERE excluded.seq > heads.seq",
                [(r[1], r[2], r[3], r[0], r[4]) for r in tips.values()],
            )

    def heads(self) -> list[HeadRow]:
        return [
            HeadRow(*r)
            for r in self._conn.execute("SELECT conv, author, seq, id, lamport FROM heads")
        ]

    def vector(self, conv: bytes) -> dict[bytes, int]:
        return dict(
            self._conn.execute("SELECT author, seq FROM heads WHERE conv = ?", (conv,)).fetchall()
        )

    def events_after(
        self, conv: bytes, author: bytes, after_seq: int, limit: int = 1000
    ) -> list[bytes]:
        """Raw events of one log with seq > after_seq, oldest first."""
        return [
            r[0]
            for r in self._conn.execute(
                "SELECT raw FROM events WHERE conv = ? AND author = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (conv, author, after_seq, limit),
            )
        ]

    def event_ids(self, conv: bytes, author: bytes, first: int, last: int) -> dict[int, bytes]:
        """seq -> id of the stored events of one log with first <= seq <= last."""
        return {
            r[0]: r[1]
            for r in self._conn.execute(
                "SELECT seq, id FROM events WHERE conv = ? AND author = ? AND seq BETWEEN ? AND ?",
                (conv, author, first, last),
            )
        }

    def count_events(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM events").fetchone()[0])

    # -- conversations and messages ----------------------------------------------------

    def ensure_conversation(self, conv: bytes, kind: str, peer_user: bytes | None) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO conversations (id, kind, peer_user, created) "
                "VALUES (?, ?, ?, ?)",
                (conv, kind, peer_user, int(time.time())),
            )

    def conversation_peer(self, conv: bytes) -> bytes | None:
        row = self._conn.execute(
            "SELECT peer_user FROM conversations WHERE id = ?", (conv,)
        ).fetchone()
        return None if row is None else row[0]

    def insert_messages(self, rows: Sequence[MessageRow]) -> None:
        """Store messages (the view the UI reads); their status comes from the marks."""
        if not rows:
            return
        with self.transaction():
            (last,) = self._conn.execute("SELECT coalesce(max(rowid), 0) FROM messages").fetchone()
            self._conn.executemany(
                "INSERT OR IGNORE INTO messages "
                "(event_id, conv, author, sender, seq, lamport, time, text, outgoing) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                map(_message_columns, rows),  # (outgoing: a bool is stored as 0/1)
            )
            self._conn.execute(
                "INSERT INTO messages_fts (rowid, text) SELECT rowid, text FROM messages "
                "WHERE rowid > ?",
                (last,),
            )

    def raise_mark(self, conv: bytes, author: bytes, up_to_seq: int, status: int) -> bool:
        """Every message of one log up to ``up_to_seq`` reached ``status`` (delivered or
        read; read implies delivered). Marks never move down. True if anything moved."""
        if status not in (STATUS_DELIVERED, STATUS_READ):
            raise ValueError(f"not a receipt status: {status}")
        read = up_to_seq if status == STATUS_READ else 0
        with self.transaction():
            old = self.mark(conv, author)
            if up_to_seq <= (old[1] if status == STATUS_READ else old[0]):
                return False
            self._conn.execute(
                "INSERT INTO marks (conv, author, delivered, read) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (conv, author) DO UPDATE SET "
                "delivered = max(delivered, excluded.delivered), read = max(read, excluded.read)",
                (conv, author, up_to_seq, read),
            )
            return True

    def mark(self, conv: bytes, author: bytes) -> tuple[int, int]:
        """(delivered, read) watermarks of one log."""
        row = self._conn.execute(
            "SELECT delivered, read FROM marks WHERE conv = ? AND author = ?", (conv, author)
        ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def message_at(self, conv: bytes, author: bytes, seq: int) -> MessageRow | None:
        row = self._conn.execute(
            _MESSAGE_SELECT + "WHERE m.conv = ? AND m.author = ? AND m.seq = ?",
            (conv, author, seq),
        ).fetchone()
        return None if row is None else _message(row)

    def messages(
        self,
        conv: bytes,
        *,
        limit: int = 50,
        before: tuple[int, bytes] | None = None,
    ) -> list[MessageRow]:
        """The newest ``limit`` messages older than ``before`` = (lamport, author),
        oldest first. Keyset paging on the (conv, lamport, author) index: no OFFSET."""
        if before is None:
            cur = self._conn.execute(
                _MESSAGE_SELECT
                + "WHERE m.conv = ? ORDER BY m.lamport DESC, m.author DESC LIMIT ?",
                (conv, limit),
            )
        else:
            cur = self._conn.execute(
                _MESSAGE_SELECT + "WHERE m.conv = ? AND (m.lamport, m.author) < (?, ?) "
                "ORDER BY m.lamport DESC, m.author DESC LIMIT ?",
                (conv, before[0], before[1], limit),
            )
        rows = [_message(r) for r in cur]
        rows.reverse()
        return rows

    def messages_after(
        self, conv: bytes, after: tuple[int, bytes], *, limit: int = 50
    ) -> list[MessageRow]:
        """The oldest ``limit`` messages newer than ``after`` = (lamport, author), oldest
        first: keyset paging forward (e.g. from a search hit towards the present)."""
        cur = self._conn.execute(
            _MESSAGE_SELECT + "WHERE m.conv = ? AND (m.lamport, m.author) > (?, ?) "
            "ORDER BY m.lamport, m.author LIMIT ?",
            (conv, after[0], after[1], limit),
        )
        return [_message(r) for r in cur]

    def last_message(self, conv: bytes) -> MessageRow | None:
        rows = self.messages(conv, limit=1)
        return rows[0] if rows else None

    def count_messages(self, conv: bytes) -> int:
        row = self._conn.execute("SELECT count(*) FROM messages WHERE conv = ?", (conv,))
        return int(row.fetchone()[0])

    def unread(self, conv: bytes) -> list[tuple[bytes, int, int]]:
        """Per author of incoming messages: (author, newest seq, how many unread).

        Index ranges only, so the cost follows the number of authors and of unread
        messages, not the length of the conversation: the authors are found by skipping
        along the (conv, author, seq) index, and each one's unread messages are the range
        above its read mark (an author's messages are all incoming or all outgoing)."""
        return [
            (r[0], r[1], r[2])
            for r in self._conn.execute(
                "WITH RECURSIVE authors(author) AS ("
                " SELECT (SELECT min(author) FROM messages WHERE conv = :c)"
                " UNION ALL"
                " SELECT (SELECT min(author) FROM messages WHERE conv = :c AND author > a.author)"
                " FROM authors a WHERE a.author IS NOT NULL) "
                "SELECT author, newest, unread FROM ("
                " SELECT a.author AS author,"
                "  (SELECT max(seq) FROM messages WHERE conv = :c AND author = a.author) AS newest,"
                "  (SELECT count(*) FROM messages WHERE conv = :c AND author = a.author AND seq >"
                "   coalesce((SELECT read FROM marks WHERE conv = :c AND author = a.author), 0))"
                "   AS unread"
                " FROM authors a WHERE a.author IS NOT NULL AND"
                "  (SELECT outgoing FROM messages WHERE conv = :c AND author = a.author"
                "   LIMIT 1) = 0"
                ") WHERE unread > 0",
                {"c": conv},
            )
        ]

    def unread_count(self, conv: bytes) -> int:
        return sum(n for _, _, n in self.unread(conv))

    def search(self, query: str, limit: int = 50) -> list[MessageRow]:
        """Full-text search over message text; every word of ``query`` must match (prefix)."""
        # NUL and lone surrogates cannot reach SQLite's FTS parser; they match nothing.
        cleaned = query.replace("\0", " ").encode("utf-8", "ignore").decode("utf-8")
        words = [w for w in cleaned.split() if w]
        if not words:
            return []
        match = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
        cur = self._conn.execute(
            _MESSAGE_SELECT + "JOIN messages_fts f ON f.rowid = m.rowid "
            "WHERE f.messages_fts MATCH ? ORDER BY m.time DESC LIMIT ?",
            (match, limit),
        )
        return [_message(r) for r in cur]

    # -- contacts ------------------------------------------------------------------------

    def upsert_contact(
        self,
        user_id: bytes,
        *,
        name: str | None = None,
        state: str | None = None,
        verified: bool | None = None,
        key_changed: bool | None = None,
        replaces: bytes | None = None,
    ) -> ContactRow:
        now = int(time.time())
        with self.transaction():
            old = self.contact(user_id)
            if old is None:
                self._conn.execute(
                    "INSERT INTO contacts (user_id, name, state, verified, key_changed, replaces,"
                    " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user_id, name or "", state or "pending_in", int(bool(verified)),
                        int(bool(key_changed)), replaces, now, now,
                    ),
                )
            else:
                self._conn.execute(
                    "UPDATE contacts SET name = ?, state = ?, verified = ?, key_changed = ?,"
                    " replaces = ?, updated = ? WHERE user_id = ?",
                    (
                        old.name if name is None else name,
                        old.state if state is None else state,
                        int(old.verified if verified is None else verified),
                        int(old.key_changed if key_changed is None else key_changed),
                        old.replaces if replaces is None else replaces,
                        now,
                        user_id,
                    ),
                )
            new = self.contact(user_id)
            assert new is not None
            return new

    def contact(self, user_id: bytes) -> ContactRow | None:
        row = self._conn.execute(
            "SELECT user_id, name, state, verified, key_changed, replaces, created, updated "
            "FROM contacts WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        return None if row is None else _contact(row)

    def contacts(self) -> list[ContactRow]:
        return [
            _contact(r)
            for r in self._conn.execute(
                "SELECT user_id, name, state, verified, key_changed, replaces, created, updated "
                "FROM contacts ORDER BY name COLLATE NOCASE, user_id"
            )
        ]

    def delete_contact(self, user_id: bytes) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM contacts WHERE user_id = ?", (user_id,))

    # -- devices -------------------------------------------------------------------------

    def upsert_device(
        self, device_id: bytes, user_id: bytes, name: str, created: int, cert: bytes
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO devices (device_id, user_id, name, created, cert) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                "name = excluded.name, created = excluded.created, cert = excluded.cert "
                "WHERE excluded.created >= devices.created",
                (device_id, user_id, name, created, cert),
            )
            # A revocation may arrive before the certificate it revokes.
            self._conn.execute(
                "UPDATE devices SET revoked = 1 WHERE device_id = ? AND revoked = 0 AND "
                "EXISTS (SELECT 1 FROM revocations WHERE device_id = ? AND user_id = ?)",
                (device_id, device_id, user_id),
            )

    def device(self, device_id: bytes) -> DeviceRow | None:
        row = self._conn.execute(
            "SELECT device_id, user_id, name, created, cert, revoked, last_seen "
            "FROM devices WHERE device_id = ?",
            (device_id,),
        ).fetchone()
        return None if row is None else _device(row)

    def devices(self, user_id: bytes | None = None) -> list[DeviceRow]:
        sql = "SELECT device_id, user_id, name, created, cert, revoked, last_seen FROM devices"
        args: tuple[Any, ...] = ()
        if user_id is not None:
            sql += " WHERE user_id = ?"
            args = (user_id,)
        return [_device(r) for r in self._conn.execute(sql + " ORDER BY created", args)]

    def touch_device(self, device_id: bytes, when: int | None = None) -> None:
        with self.transaction():
            self._conn.execute(
                "UPDATE devices SET last_seen = ? WHERE device_id = ?",
                (int(time.time()) if when is None else when, device_id),
            )

    def revoke_device(self, device_id: bytes, user_id: bytes, created: int, raw: bytes) -> None:
        """Store a (verified) revocation and flag the device; a device never comes back."""
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO revocations (device_id, user_id, created, raw) "
                "VALUES (?, ?, ?, ?)",
                (device_id, user_id, created, raw),
            )
            self._conn.execute(
                "UPDATE devices SET revoked = 1 WHERE device_id = ? AND user_id = ?",
                (device_id, user_id),
            )

    def revocations(self) -> list[tuple[bytes, bytes, bytes]]:
        """(device_id, user_id, raw revocation) of every revoked device we know."""
        return [
            (r[0], r[1], r[2])
            for r in self._conn.execute(
                "SELECT device_id, user_id, raw FROM revocations ORDER BY created"
            )
        ]

    # -- last-writer-wins clocks --------------------------------------------------------

    def lww_newer(self, key: str, lamport: int, author: bytes) -> bool:
        """Record (lamport, author) for ``key`` if it beats the stored clock; True if so."""
        with self.transaction():
            row = self._conn.execute(
                "SELECT lamport, author FROM lww WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and (int(row[0]), bytes(row[1])) >= (lamport, author):
                return False
            self._conn.execute(
                "INSERT INTO lww (key, lamport, author) VALUES (?, ?, ?) ON CONFLICT (key) "
                "DO UPDATE SET lamport = excluded.lamport, author = excluded.author",
                (key, lamport, author),
            )
            return True

    # -- remembered peers ------------------------------------------------------------------

    def remember_peer(
        self, address: str, device_id: bytes | None = None, *, manual: bool = False
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO peers (address, device_id, manual, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET "
                "device_id = coalesce(excluded.device_id, peers.device_id), "
                "manual = max(peers.manual, excluded.manual), last_seen = excluded.last_seen",
                (address, device_id, int(manual), int(time.time())),
            )

    def peers(self) -> list[PeerRow]:
        return [
            PeerRow(r[0], r[1], bool(r[2]), r[3])
            for r in self._conn.execute(
                "SELECT address, device_id, manual, last_seen FROM peers ORDER BY address"
            )
        ]

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


class _Checkpointer:
    """A thread that checkpoints the write-ahead log on its own connection when asked, at
    most once per CHECKPOINT_INTERVAL. SQLite lets a checkpoint run while another
    connection writes (it copies what was committed when it started), and Python's
    sqlite3 releases the GIL while it runs, so the event loop goes on meanwhile."""

    def __init__(self, path: Path) -> None:
        self._path = path
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

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as e:
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
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as e:  # busy, disk full: the next request tries again
                    log.warning("checkpoint failed: %s", e)
                with self._done:
                    self._served = covered
                    self._done.notify_all()
                if self._stopping.wait(CHECKPOINT_INTERVAL):
                    return
        finally:
            conn.close()


def _contact(r: Sequence[Any]) -> ContactRow:
    return ContactRow(r[0], r[1], r[2], bool(r[3]), bool(r[4]), r[5], r[6], r[7])


def _device(r: Sequence[Any]) -> DeviceRow:
    return DeviceRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6])
