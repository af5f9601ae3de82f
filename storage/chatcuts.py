"""Delete chat in the store: a conversation's cut (``chat_cuts``, the highest wins) and
removing every message up to it at once, as settling removes one.

What arrives later up to the cut is removed as it settles (:mod:`storage.actions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from kith.storage.actions import Settled
from kith.storage.base import StoreBase

# an attachment ``a`` of a message up to its conversation's cut (delete chat)
_CUT_SHOWN = (
    "EXISTS (SELECT 1 FROM messages m WHERE m.conv = a.conv AND m.author = a.author AND "
    "m.seq = a.seq AND m.lamport <= (SELECT lamport FROM chat_cuts WHERE conv = ?))"
)


class ChatCutsPart(StoreBase):
    """Delete chat: where a conversation is cut, and removing what is up to the cut."""

    if TYPE_CHECKING:  # (storage.events.EventsPart, storage.actions.ActionsPart, beside it
        # in the Store)

        def erase_bodies(self, keys: Sequence[tuple[bytes, bytes, int]]) -> int: ...

        def _forget_unnamed_files(self, files: Iterable[bytes], out: Settled) -> None: ...

    def cut_chat(self, conv: bytes, lamport: int, by_user: bytes, time: int) -> bool:
        """Delete chat: everything of ``conv`` up to ``lamport`` is gone (the highest
        cut wins). True if this cut is the one in force now."""
        with self.transaction():
            before = self._conn.total_changes
            self._conn.execute(
                "INSERT INTO chat_cuts (conv, lamport, by_user, time) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (conv) DO UPDATE SET lamport = excluded.lamport, "
                "by_user = excluded.by_user, time = excluded.time "
                "WHERE excluded.lamport > chat_cuts.lamport",
                (conv, lamport, by_user, time),
            )
            return self._conn.total_changes > before

    def chat_cut(self, conv: bytes) -> int:
        """The lamport up to which ``conv`` was deleted (0: never)."""
        row = self._conn.execute(
            "SELECT lamport FROM chat_cuts WHERE conv = ?", (conv,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def chat_lamport(self, conv: bytes) -> int:
        """The newest lamport of what ``conv`` shows (messages, timer and group lines):
        where deleting it now cuts. (Not the log's clock: my receipts move that, and a
        message sent before its author saw them would fall under the cut.)"""
        (found,) = self._conn.execute(
            "SELECT max(l) FROM (SELECT max(lamport) AS l FROM messages WHERE conv = ? "
            "UNION ALL SELECT max(lamport) FROM timers WHERE conv = ? "
            "UNION ALL SELECT max(lamport) FROM group_lines WHERE conv = ?)",
            (conv, conv, conv),
        ).fetchone()
        return int(found or 0)

    def remove_up_to_cut(self, conv: bytes, out: Settled) -> None:
        """Remove every message of ``conv`` up to its cut at once, as settling removes
        one (text, index, edits, reactions, cards, bodies, attachments), into ``out``."""
        cut = "(SELECT lamport FROM chat_cuts WHERE conv = ?)"
        with self.transaction():
            rows = self._conn.execute(
                f"SELECT event_id, author, seq FROM messages WHERE conv = ? AND lamport <= {cut}",  # noqa: S608
                (conv, conv),
            ).fetchall()
            if not rows:
                return
            ids = [r[0] for r in rows]
            keys = [(conv, r[1], r[2]) for r in rows]
            for i in range(0, len(ids), 400):
                chunk = ids[i : i + 400]
                marks = ",".join("?" * len(chunk))
                keys.extend(
                    (r[0], r[1], r[2]) for r in self._conn.execute(
                        f"SELECT conv, author, seq FROM edits WHERE target IN ({marks}) "  # noqa: S608
                        "AND edit_id != target",
                        chunk,
                    )
                )
                for table, column in (("edits", "target"), ("reactions", "target"),
                                      ("cards", "event_id")):
                    self._conn.execute(
                        f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk  # noqa: S608
                    )
            self.erase_bodies(keys)
            files = [r[0] for r in self._conn.execute(
                f"SELECT DISTINCT file FROM attachments a WHERE a.conv = ? AND {_CUT_SHOWN}",  # noqa: S608
                (conv, conv),
            )]
            if files:
                self._conn.execute(
                    f"DELETE FROM attachments AS a WHERE a.conv = ? AND {_CUT_SHOWN}",  # noqa: S608
                    (conv, conv),
                )
                self._forget_unnamed_files(files, out)
            self._conn.execute(
                f"DELETE FROM messages WHERE conv = ? AND lamport <= {cut}", (conv, conv)  # noqa: S608
            )
            for event_id in ids:
                out.changed.pop(event_id, None)
                out.removed[event_id] = conv
