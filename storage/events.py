"""The event logs: signed heads and their bodies, per (conversation, author) log."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from kith.storage.base import StoreBase
from kith.storage.rows import EventRowTuple, HeadRow


class EventsPart(StoreBase):
    """Events and the per-log heads."""

    def insert_events(self, rows: Sequence[EventRowTuple]) -> None:
        """Store events and move the per-log heads; rows of one log must be in seq order.
        A row is an :class:`EventRow` or a plain tuple in its field order."""
        if not rows:
            return
        with self.transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO events "
                "(id, conv, author, seq, lamport, time, kind, head, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            tips: dict[tuple[bytes, bytes], EventRowTuple] = {}
            for r in rows:
                tips[(r[1], r[2])] = r
            self._conn.executemany(
                "INSERT INTO heads (conv, author, seq, id, lamport) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (conv, author) DO UPDATE SET seq = excluded.seq, id = excluded.id,"
                " lamport = excluded.lamport WHERE excluded.seq > heads.seq",
                [(r[1], r[2], r[3], r[0] or _event_id(r[7]), r[4]) for r in tips.values()],
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
    ) -> list[tuple[bytes, bytes | None]]:
        """(head, body) of the events of one log with seq > after_seq, oldest first."""
        return self._conn.execute(
            "SELECT head, body FROM events WHERE conv = ? AND author = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (conv, author, after_seq, limit),
        ).fetchall()

    def event(self, conv: bytes, author: bytes, seq: int) -> tuple[bytes, bytes | None] | None:
        """(head, body) of one stored event."""
        row = self._conn.execute(
            "SELECT head, body FROM events WHERE conv = ? AND author = ? AND seq = ?",
            (conv, author, seq),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def erase_bodies(self, keys: Sequence[tuple[bytes, bytes, int]]) -> int:
        """Erase the bodies of the (conv, author, seq) events given; their heads stay, so
        the logs still verify and sync (a format-1 event has no separate body: nothing
        to erase). With ``secure_delete`` on, the bytes are overwritten on disk too.
        Returns how many bodies went."""
        self._conn.execute("PRAGMA secure_delete = ON")
        try:
            return self._erase(keys)
        finally:
            self._conn.execute("PRAGMA secure_delete = OFF")

    def _erase(self, keys: Sequence[tuple[bytes, bytes, int]]) -> int:
        with self.transaction():
            before = self._conn.total_changes
            self._conn.executemany(
                "UPDATE events SET body = NULL WHERE conv = ? AND author = ? AND seq = ? "
                "AND body IS NOT NULL",
                keys,
            )
            return self._conn.total_changes - before

    def event_ids(self, conv: bytes, author: bytes, first: int, last: int) -> dict[int, bytes]:
        """seq -> id of the stored events of one log with first <= seq <= last. An event's
        id is the BLAKE2b-256 of its head; rows written since schema 3 leave the ``id``
        column empty (32 bytes a row saved) and the id is computed here, the one reader."""
        return {
            r[0]: r[1] or _event_id(r[2])
            for r in self._conn.execute(
                "SELECT seq, id, head FROM events WHERE conv = ? AND author = ? "
                "AND seq BETWEEN ? AND ?",
                (conv, author, first, last),
            )
        }

    def count_events(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM events").fetchone()[0])


def _event_id(head: bytes) -> bytes:
    """An event's id: the BLAKE2b-256 of its head (for rows that leave ``id`` empty)."""
    return hashlib.blake2b(head, digest_size=32).digest()
