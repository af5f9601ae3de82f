"""Groups: what the membership fold derived (name, settings, roles), system lines, and
per-member receipt marks. The control events themselves are in ``events``; this is the
view the app and the CLI read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kith.storage.base import StoreBase


@dataclass(frozen=True, slots=True)
class GroupRow:
    conv: bytes
    name: str
    history: bool
    muted: bool
    left: bool  # I am no longer a member (removed or left)


@dataclass(frozen=True, slots=True)
class GroupLineRow:
    """A system line: a membership change as the chat shows it."""

    conv: bytes
    author: bytes  # device
    seq: int
    lamport: int
    time: int
    kind: str  # created | member_added | member_removed | member_left | renamed | role | history
    actor: bytes  # user
    targets: list[bytes]
    value: str


class GroupsPart(StoreBase):
    """Group rows, system lines and per-member marks."""

    if TYPE_CHECKING:  # (storage.events.EventsPart, beside this part in the Store)
        def erase_bodies(self, keys: Sequence[tuple[bytes, bytes, int]]) -> int: ...

    def control_events(self, conv: bytes, kinds: Sequence[str]) -> list[tuple[bytes, bytes | None]]:
        """(head, body) of every event of ``kinds`` in ``conv`` (the control events)."""
        marks = ",".join("?" * len(kinds))
        return [
            (r[0], r[1])
            for r in self._conn.execute(
                f"SELECT head, body FROM events WHERE conv = ? AND kind IN ({marks})",  # noqa: S608
                (conv, *kinds),
            )
        ]

    def seqs_up_to(self, conv: bytes, lamport: int) -> dict[bytes, int]:
        """Per log of ``conv``: the last seq at or below ``lamport``."""
        return {
            r[0]: int(r[1])
            for r in self._conn.execute(
                "SELECT author, max(seq) FROM events WHERE conv = ? AND lamport <= ? "
                "GROUP BY author", (conv, lamport),
            )
        }

    def save_group(
        self, conv: bytes, name: str, history: bool, left: bool,
        members: Sequence[tuple[bytes, str]],
    ) -> None:
        """The group as the fold stands: its row and its current members (roles)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO groups (conv, name, history, muted, left) VALUES (?, ?, ?, 0, ?) "
                "ON CONFLICT (conv) DO UPDATE SET name = excluded.name, "
                "history = excluded.history, left = excluded.left",
                (conv, name, int(history), int(left)),
            )
            self._conn.execute("DELETE FROM members WHERE conv = ?", (conv,))
            self._conn.executemany(
                "INSERT INTO members (conv, user_id, role) VALUES (?, ?, ?)",
                [(conv, u, r) for u, r in members],
            )

    def groups(self) -> list[GroupRow]:
        return [
            GroupRow(r[0], r[1], bool(r[2]), bool(r[3]), bool(r[4]))
            for r in self._conn.execute(
                "SELECT conv, name, history, muted, left FROM groups ORDER BY name, conv"
            )
        ]

    def group(self, conv: bytes) -> GroupRow | None:
        r = self._conn.execute(
            "SELECT conv, name, history, muted, left FROM groups WHERE conv = ?", (conv,)
        ).fetchone()
        return None if r is None else GroupRow(r[0], r[1], bool(r[2]), bool(r[3]), bool(r[4]))

    def set_group_muted(self, conv: bytes, muted: bool) -> None:
        with self.transaction():
            self._conn.execute("UPDATE groups SET muted = ? WHERE conv = ?", (int(muted), conv))

    def insert_group_lines(self, lines: Sequence[GroupLineRow]) -> None:
        if not lines:
            return
        with self.transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO group_lines "
                "(conv, author, seq, lamport, time, kind, actor, targets, value) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (x.conv, x.author, x.seq, x.lamport, x.time, x.kind, x.actor,
                     json.dumps([t.hex() for t in x.targets]), x.value)
                    for x in lines
                ],
            )

    def group_lines(self, conv: bytes) -> list[GroupLineRow]:
        return [
            GroupLineRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                         [bytes.fromhex(t) for t in json.loads(r[7])], r[8])
            for r in self._conn.execute(
                "SELECT conv, author, seq, lamport, time, kind, actor, targets, value "
                "FROM group_lines WHERE conv = ? ORDER BY lamport, author", (conv,)
            )
        ]

    def hide_incoming_before(self, conv: bytes, lamport: int) -> set[bytes]:
        """Un-show incoming messages at or before ``lamport``; their event ids."""
        with self.transaction():
            ids = {r[0] for r in self._conn.execute(
                "SELECT event_id FROM messages WHERE conv = ? AND lamport <= ? AND outgoing = 0",
                (conv, lamport),
            )}
            if ids:
                self._conn.execute(
                    "DELETE FROM messages WHERE conv = ? AND lamport <= ? AND outgoing = 0",
                    (conv, lamport),
                )
            return ids

    def erase_bodies_after(
        self, conv: bytes, author: bytes, seq: int, keep_kinds: Sequence[str]
    ) -> int:
        """Erase the bodies of one log's events past ``seq`` but those of ``keep_kinds``
        (the heads stay: the log still verifies and syncs); how many went."""
        marks = ",".join("?" * len(keep_kinds))
        rows = self._conn.execute(
            f"SELECT seq FROM events WHERE conv = ? AND author = ? AND seq > ? "  # noqa: S608
            f"AND body IS NOT NULL AND kind NOT IN ({marks})",
            (conv, author, seq, *keep_kinds),
        ).fetchall()
        return self.erase_bodies([(conv, author, int(r[0])) for r in rows]) if rows else 0

    def fill_bodies(self, bodies: Sequence[tuple[bytes, bytes, bytes, int]]) -> None:
        """Store the bodies of events held as heads only: (body, conv, author, seq)."""
        if not bodies:
            return
        with self.transaction():
            self._conn.executemany(
                "UPDATE events SET body = ? WHERE conv = ? AND author = ? AND seq = ? "
                "AND body IS NULL",
                bodies,
            )

    def events_of(
        self, conv: bytes, author: bytes, after: int, skip_kinds: Sequence[str]
    ) -> list[tuple[bytes, bytes | None]]:
        """(head, body) of one log's events past ``after`` but those of ``skip_kinds``."""
        marks = ",".join("?" * len(skip_kinds))
        return [
            (r[0], r[1])
            for r in self._conn.execute(
                f"SELECT head, body FROM events WHERE conv = ? AND author = ? AND seq > ? "  # noqa: S608
                f"AND kind NOT IN ({marks}) ORDER BY seq",
                (conv, author, after, *skip_kinds),
            )
        ]

    def heads_without_bodies(self, conv: bytes, skip_kinds: Sequence[str]) -> list[bytes]:
        """Heads of ``conv``'s events stored without their bodies (but ``skip_kinds``'),
        other than those a tombstone took (unsent, hidden, expired: never again)."""
        marks = ",".join("?" * len(skip_kinds))
        gone = {r[0] for r in self._conn.execute(
            "SELECT target FROM gone WHERE conv = ?", (conv,))}
        heads = [r[0] for r in self._conn.execute(
            f"SELECT head FROM events WHERE conv = ? AND body IS NULL "  # noqa: S608
            f"AND kind NOT IN ({marks}) ORDER BY lamport LIMIT 20000",
            (conv, *skip_kinds),
        )]
        if not gone:
            return heads
        return [h for h in heads if hashlib.blake2b(h, digest_size=32).digest() not in gone]

    def gone_of(self, ids: Sequence[bytes]) -> set[bytes]:
        """Of these event ids, those a tombstone took (unsent, hidden, expired)."""
        out: set[bytes] = set()
        for i in range(0, len(ids), 400):
            chunk = list(ids[i : i + 400])
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self._conn.execute(
                f"SELECT target FROM gone WHERE target IN ({marks})", chunk))  # noqa: S608
        return out

    def hide_messages_after(self, conv: bytes, author: bytes, seq: int) -> int:
        """Un-show the messages of one device past its cut-off; how many went."""
        with self.transaction():
            cur = self._conn.execute(
                "DELETE FROM messages WHERE conv = ? AND author = ? AND seq > ?",
                (conv, author, seq),
            )
            return cur.rowcount

    def hide_messages_of(self, conv: bytes, sender: bytes, keep: Sequence[bytes]) -> int:
        """Un-show the messages of ``sender``'s devices other than ``keep``."""
        with self.transaction():
            marks = ",".join("?" * len(keep))
            sql = "DELETE FROM messages WHERE conv = ? AND sender = ?"
            if keep:
                sql += f" AND author NOT IN ({marks})"
            cur = self._conn.execute(sql, (conv, sender, *keep))
            return cur.rowcount

    def raise_member_mark(
        self, conv: bytes, author: bytes, user: bytes, seq: int, read: bool
    ) -> bool:
        """One member's receipt for one log: delivered (and maybe read) up to ``seq``."""
        with self.transaction():
            old = self.member_marks(conv, author).get(user, (0, 0))
            if seq <= (old[1] if read else old[0]):
                return False
            self._conn.execute(
                "INSERT INTO group_marks (conv, author, user_id, delivered, read) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (conv, author, user_id) DO UPDATE SET "
                "delivered = max(delivered, excluded.delivered), read = max(read, excluded.read)",
                (conv, author, user, seq, seq if read else 0),
            )
            return True

    def member_marks(self, conv: bytes, author: bytes) -> dict[bytes, tuple[int, int]]:
        """Per member: (delivered, read) watermarks of one log."""
        return {
            r[0]: (int(r[1]), int(r[2]))
            for r in self._conn.execute(
                "SELECT user_id, delivered, read FROM group_marks WHERE conv = ? AND author = ?",
                (conv, author),
            )
        }
