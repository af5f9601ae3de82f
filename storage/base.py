"""What every part of the store shares: one connection and its transactions."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator


class StoreBase:
    """The connection and the transaction of one profile database; the store's feature
    parts (events, messages, people) are mixins on top of it."""

    _conn: sqlite3.Connection
    _depth: int
    # Taken to begin a write: the background checkpointer holds it while it restarts the
    # write-ahead log (storage.db), so a write waiting for that wakes the moment it ends
    # (SQLite's own busy wait sleeps 1, 2, 5, 10 ms... between its tries).
    _writer_gate: threading.Lock

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
        with self._writer_gate:
            self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            self._rolled_back()
            raise
        self._depth = 0
        self._conn.execute("COMMIT")

    def _rolled_back(self) -> None:
        """A transaction was rolled back: the parts drop what they keep in memory of
        rows it wrote (each part extends this)."""
