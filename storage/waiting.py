"""Our own events that wait for their log's true head (p2p.restore), kept on disk.

After a start, a new event of ours in a conversation whose log may be behind what its
other holders have waits until one of them has told where the log ends. Each waiting
event is a row of ``waiting`` (schema 10), written when the request returns, so a crash
or a kill loses nothing: what the user asked (conversation, kind, body, when, the files
it refers to) and the provisional signed event (its head: the id the app shows it by).
On the next start the rows wait again, in order; once the log opens they are numbered
after the true head and written, and their rows go in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from kith.storage.base import StoreBase


class WaitingRow(NamedTuple):
    """One waiting event of ours; ``pos`` orders them (oldest first)."""

    pos: int
    event_id: bytes  # the provisional event's id
    conv: bytes
    kind: str
    body: bytes  # the encoded body: what the user asked
    time: int  # ms since the epoch: when the user wrote it
    head: bytes  # the provisional event's signed head
    files: bytes  # the ids of the files it refers to, 32 bytes each


class WaitingPart(StoreBase):
    """The ``waiting`` table."""

    def add_waiting(
        self, event_id: bytes, conv: bytes, kind: str, body: bytes, time: int, head: bytes,
        files: Iterable[bytes] = (),
    ) -> None:
        """Keep one waiting event (committed before this returns, unless inside an
        outer transaction)."""
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO waiting (event_id, conv, kind, body, time, head, files) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event_id, conv, kind, body, time, head, b"".join(files)),
            )

    def waiting(self, conv: bytes | None = None) -> list[WaitingRow]:
        """The waiting events (of ``conv``, or all), oldest first."""
        sql = "SELECT pos, event_id, conv, kind, body, time, head, files FROM waiting"
        if conv is None:
            cur = self._conn.execute(sql + " ORDER BY pos")
        else:
            cur = self._conn.execute(sql + " WHERE conv = ? ORDER BY pos", (conv,))
        return [WaitingRow(*r) for r in cur]

    def drop_waiting(self, event_ids: Iterable[bytes]) -> None:
        """These waiting events were written (or are gone): their rows go."""
        ids = [(i,) for i in event_ids]
        if ids:
            with self.transaction():
                self._conn.executemany("DELETE FROM waiting WHERE event_id = ?", ids)
