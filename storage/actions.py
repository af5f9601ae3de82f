"""Message actions in the store: reactions, edits, tombstones (unsend, expiry, delete for
me), contact cards and disappearing-message timers.

Actions name their target message by event id and may arrive before it (from another
device of its author, or in a history sync of several logs in any order). So each action
is recorded as it comes, and :meth:`ActionsPart.settle` works out a message's state from
everything recorded about it: it runs for every target an action touches and for every
message as it arrives, inside the batch's transaction, and comes to the same result in
any order. A tombstone always wins: the text, its search entry, its earlier versions and
the bodies of its events are erased, also when the message itself arrives afterwards.
Everything that names a target counts only in the target's own conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from kith.storage.base import StoreBase
from kith.storage.messages import _MESSAGE_SELECT, _message
from kith.storage.rows import MessageRow

WINDOW_MS = 24 * 3600 * 1000  # edit and unsend: within 24 h of sending, by the author's clock
MAX_EDITS = 10
UNSENT, EXPIRED, HIDDEN = "unsent", "expired", "hidden"
GONE_REASONS = (UNSENT, EXPIRED, HIDDEN)

_ROW = (
    "SELECT rowid, conv, author, seq, sender, lamport, time, text, outgoing, timer, "
    "expires_at, edits, unsent FROM messages "
)


class _Row(NamedTuple):
    rowid: int
    conv: bytes
    author: bytes
    seq: int
    sender: bytes
    lamport: int
    time: int
    text: str
    outgoing: int
    timer: int
    expires_at: int | None
    edits: int
    unsent: int


class TimerRow(NamedTuple):
    event_id: bytes
    conv: bytes
    timer: int  # seconds; 0: off
    by_user: bytes
    time: int  # ms, the setter's clock
    lamport: int


class CardRow(NamedTuple):
    user_id: bytes
    name: str
    by_user: bytes


@dataclass
class Settled:
    """What settling changed: rows to read again, rows that went (expired or hidden),
    and why recorded actions were refused (for the log)."""

    changed: dict[bytes, bytes] = field(default_factory=dict)  # event id -> conv
    removed: dict[bytes, bytes] = field(default_factory=dict)  # event id -> conv
    refused: list[str] = field(default_factory=list)
    files: list[bytes] = field(default_factory=list)  # no message names them any more

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed or self.refused)


class ActionsPart(StoreBase):
    """Reactions, edits, tombstones, cards and timers, and how a message settles."""

    if TYPE_CHECKING:  # (storage.events.EventsPart, storage.chatcuts.ChatCutsPart,
        # storage.messages.MessagesPart, beside it in the Store)

        def erase_bodies(self, keys: Sequence[tuple[bytes, bytes, int]]) -> int: ...

        def in_search_index(self, rowid: int) -> bool: ...

        def chat_cut(self, conv: bytes) -> int: ...

        def unkeyed(self) -> dict[bytes, int]: ...

        def _where_id(self, event_id: bytes, alias: str = "") -> tuple[str, tuple[Any, ...]]: ...

    # -- recording ---------------------------------------------------------------------

    def put_reaction(
        self, target: bytes, conv: bytes, user: bytes, emoji: str, lamport: int,
        author: bytes, time: int,
    ) -> bool:
        """One reaction per person per message, the newest (lamport, author) winning;
        ``emoji`` "" removes it. True if it won."""
        with self.transaction():
            before = self._conn.total_changes
            self._conn.execute(
                "INSERT INTO reactions (target, user_id, conv, emoji, lamport, author, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, user_id) DO UPDATE SET "
                "conv = excluded.conv, emoji = excluded.emoji, lamport = excluded.lamport, "
                "author = excluded.author, time = excluded.time "
                "WHERE (excluded.lamport, excluded.author) > (reactions.lamport, reactions.author)",
                (target, user, conv, emoji, lamport, author, time),
            )
            return self._conn.total_changes > before

    def add_edit(
        self, edit_id: bytes, target: bytes, conv: bytes, author: bytes, seq: int,
        sender: bytes, lamport: int, time: int, text: str,
    ) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO edits "
            "(edit_id, target, conv, author, seq, sender, lamport, time, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (edit_id, target, conv, author, seq, sender, lamport, time, text),
        )

    def add_gone(self, target: bytes, reason: str, conv: bytes, by_user: bytes, time: int) -> None:
        """A tombstone: ``target`` was unsent (by ``by_user``), expired or hidden."""
        if reason not in GONE_REASONS:
            raise ValueError(f"not a tombstone reason: {reason!r}")
        self._conn.execute(
            "INSERT OR IGNORE INTO gone (target, reason, conv, by_user, time) "
            "VALUES (?, ?, ?, ?, ?)",
            (target, reason, conv, by_user, time),
        )

    def drop_unshown_attachments(self, keys: Iterable[tuple[bytes, bytes, int]]) -> list[bytes]:
        """Forget the attachments of these messages that are not shown (gone or unsent
        before they came); the files no message names any more (their rows go too)."""
        out = Settled()
        with self.transaction():
            for conv, author, seq in dict.fromkeys(keys):
                shown = self._conn.execute(
                    "SELECT 1 FROM messages WHERE conv = ? AND author = ? AND seq = ? "
                    "AND unsent = 0",
                    (conv, author, seq),
                ).fetchone()
                if not shown:
                    self._drop_attachments(conv, author, seq, out)
        return out.files

    def _drop_attachments(self, conv: bytes, author: bytes, seq: int, out: Settled) -> None:
        files = [r[0] for r in self._conn.execute(
            "SELECT DISTINCT file FROM attachments WHERE conv = ? AND author = ? AND seq = ?",
            (conv, author, seq),
        )]
        if not files:
            return
        self._conn.execute(
            "DELETE FROM attachments WHERE conv = ? AND author = ? AND seq = ?",
            (conv, author, seq),
        )
        self._forget_unnamed_files(files, out)

    def _forget_unnamed_files(self, files: Iterable[bytes], out: Settled) -> None:
        """The files no attachment names any more go (their rows), into ``out.files``."""
        for f in files:
            if not self._conn.execute(
                "SELECT 1 FROM attachments WHERE file = ? LIMIT 1", (f,)
            ).fetchone():
                self._conn.execute("DELETE FROM files WHERE id = ?", (f,))
                out.files.append(f)

    def add_card(
        self, event_id: bytes, conv: bytes, user: bytes, name: str, by_user: bytes
    ) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO cards (event_id, conv, user_id, name, by_user) "
            "VALUES (?, ?, ?, ?, ?)",
            (event_id, conv, user, name, by_user),
        )

    def add_timer(
        self, event_id: bytes, conv: bytes, timer: int, by_user: bytes, lamport: int,
        author: bytes, time: int,
    ) -> None:
        self.__dict__.pop("_timer_cache", None)  # (read again, also if this rolls back)
        self._conn.execute(
            "INSERT OR IGNORE INTO timers (event_id, conv, timer, by_user, lamport, author, "
            "time) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event_id, conv, timer, by_user, lamport, author, time),
        )

    def start_expiry(self, conv: bytes, author: bytes, up_to_seq: int, read_ms: int) -> int:
        """The user read every message of one log up to ``up_to_seq`` at ``read_ms``: the
        disappearing ones among them start counting (once). How many started."""
        with self.transaction():
            before = self._conn.total_changes
            self._conn.execute(
                "UPDATE messages SET expires_at = ? + timer * 1000 WHERE conv = ? AND "
                "author = ? AND seq <= ? AND timer > 0 AND expires_at IS NULL AND outgoing = 0",
                (read_ms, conv, author, up_to_seq),
            )
            return self._conn.total_changes - before

    # -- settling ----------------------------------------------------------------------

    def settle(self, targets: Iterable[bytes], now_ms: int) -> Settled:
        """Bring each target message in line with what is recorded about it."""
        out = Settled()
        with self.transaction():
            for t in dict.fromkeys(targets):
                self._settle(t, now_ms, out)
        return out

    def settle_arrivals(self, rows: Sequence[MessageRow], now_ms: int) -> Settled:
        """Settle messages just inserted: those with a timer, and those that actions (a
        tombstone, edits) reached before them. Cheap when there are none."""
        targets = [r.event_id for r in rows if r.timer]
        cuts = dict(self._conn.execute("SELECT conv, lamport FROM chat_cuts").fetchall())
        targets.extend(r.event_id for r in rows if r.lamport <= cuts.get(r.conv, 0))
        pending = self._conn.execute(
            "SELECT EXISTS (SELECT 1 FROM gone) OR EXISTS (SELECT 1 FROM edits)"
        ).fetchone()[0]
        if pending:
            ids = [r.event_id for r in rows]
            for i in range(0, len(ids), 400):
                chunk = ids[i : i + 400]
                marks = ",".join("?" * len(chunk))
                targets.extend(
                    r[0] for r in self._conn.execute(
                        f"SELECT target FROM gone WHERE target IN ({marks}) UNION "  # noqa: S608
                        f"SELECT target FROM edits WHERE target IN ({marks})",
                        chunk + chunk,
                    )
                )
        if not targets:
            return Settled()
        return self.settle(targets, now_ms)

    def expire(self, now_ms: int) -> Settled:
        """Erase every message whose time is up."""
        ids = [
            r[0] for r in self._conn.execute(
                "SELECT event_id FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (now_ms,),
            )
        ]
        return self.settle(ids, now_ms) if ids else Settled()

    def next_expiry(self) -> int | None:
        (when,) = self._conn.execute(
            "SELECT min(expires_at) FROM messages WHERE expires_at IS NOT NULL"
        ).fetchone()
        return None if when is None else int(when)

    def _settle(self, target: bytes, now: int, out: Settled) -> None:
        where, args = self._where_id(target)
        found = self._conn.execute(_ROW + "WHERE " + where, args).fetchone()
        if found is None:
            return  # not here (yet): what names it waits for it
        row = _Row(*found)
        if row.lamport <= self.chat_cut(row.conv):  # the chat was deleted after it
            self._remove(target, row, out)
            out.changed.pop(target, None)
            out.removed[target] = row.conv
            return
        gone = {
            r[0]: (r[1], r[2]) for r in self._conn.execute(
                "SELECT reason, by_user, time FROM gone WHERE target = ? AND conv = ?",
                (target, row.conv),
            )
        }
        if EXPIRED in gone or HIDDEN in gone:
            self._remove(target, row, out)
            out.removed[target] = row.conv
            return
        if UNSENT in gone:
            by_user, when = gone[UNSENT]
            if by_user == row.sender and when - row.time <= WINDOW_MS:
                if not row.unsent:
                    self._blank(target, row, out)
                    out.changed[target] = row.conv
                self._conn.execute("DELETE FROM reactions WHERE target = ?", (target,))
                return
            self._conn.execute(
                "DELETE FROM gone WHERE target = ? AND reason = ?", (target, UNSENT)
            )
            out.refused.append(
                "an unsend by someone other than the author" if by_user != row.sender
                else "an unsend more than 24 hours after sending"
            )
        if row.unsent:
            return
        self._settle_edits(target, row, out)
        self._settle_expiry(target, row, now, out)

    def _settle_edits(self, target: bytes, row: _Row, out: Settled) -> None:
        versions = self._conn.execute(
            "SELECT edit_id, sender, time, text, conv, author, seq FROM edits "
            "WHERE target = ? AND edit_id != ? ORDER BY lamport, author",
            (target, target),
        ).fetchall()
        if not versions and not row.edits:
            return
        valid: list[Any] = []
        for v in versions:
            reason = None
            if v[1] != row.sender or v[4] != row.conv:
                reason = "an edit by someone other than the author"
            elif v[2] - row.time > WINDOW_MS:
                reason = "an edit more than 24 hours after sending"
            elif len(valid) >= MAX_EDITS:
                reason = f"an edit past the {MAX_EDITS} a message may have"
            if reason is None:
                valid.append(v)
                continue
            out.refused.append(reason)
            self.erase_bodies([(v[4], v[5], v[6])])
            self._conn.execute("DELETE FROM edits WHERE edit_id = ?", (v[0],))
        if not valid:
            return
        self._conn.execute(
            "INSERT OR IGNORE INTO edits "
            "(edit_id, target, conv, author, seq, sender, lamport, time, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (target, target, row.conv, row.author, row.seq, row.sender, row.lamport,
             row.time, row.text),
        )
        text = valid[-1][3]
        if text != row.text or len(valid) != row.edits:
            if text != row.text:
                self._reindex(row.rowid, row.text, text)
            self._conn.execute(
                "UPDATE messages SET text = ?, edits = ? WHERE rowid = ?",
                (text, len(valid), row.rowid),
            )
            out.changed[target] = row.conv

    def _settle_expiry(self, target: bytes, row: _Row, now: int, out: Settled) -> None:
        if not row.timer:
            return
        expires = row.expires_at
        if expires is None:
            if row.outgoing:
                expires = row.time + row.timer * 1000  # the sender counts from sending
            else:
                (read,) = self._conn.execute(
                    "SELECT coalesce(max(read), 0) FROM marks WHERE conv = ? AND author = ?",
                    (row.conv, row.author),
                ).fetchone()
                if row.seq <= read:  # read (on another of my devices) before it came here
                    expires = now + row.timer * 1000
            if expires is not None:
                self._conn.execute(
                    "UPDATE messages SET expires_at = ? WHERE rowid = ?", (expires, row.rowid)
                )
                out.changed[target] = row.conv
        if expires is not None and expires <= now:
            self.add_gone(target, EXPIRED, row.conv, row.sender, now)
            self._remove(target, row, out)
            out.changed.pop(target, None)
            out.removed[target] = row.conv

    def _event_keys(self, target: bytes, row: _Row) -> list[tuple[bytes, bytes, int]]:
        keys = [(row.conv, row.author, row.seq)]
        keys.extend(
            (r[0], r[1], r[2]) for r in self._conn.execute(
                "SELECT conv, author, seq FROM edits WHERE target = ? AND edit_id != ?",
                (target, target),
            )
        )
        return keys

    def _forget(self, target: bytes, row: _Row, out: Settled) -> None:
        """Erase the bodies of the message and its edits, and what hangs on it (its
        attachments; the files no other message names go into ``out.files``)."""
        self.erase_bodies(self._event_keys(target, row))
        self._drop_attachments(row.conv, row.author, row.seq, out)
        for table, column in (("edits", "target"), ("reactions", "target"),
                              ("cards", "event_id")):
            self._conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (target,))  # noqa: S608

    def _blank(self, target: bytes, row: _Row, out: Settled) -> None:
        self._forget(target, row, out)
        self._reindex(row.rowid, row.text, "")
        self._conn.execute(
            "UPDATE messages SET text = '', unsent = 1, edits = 0, reply_to = NULL "
            "WHERE rowid = ?",
            (row.rowid,),
        )

    def _remove(self, target: bytes, row: _Row, out: Settled) -> None:
        self._forget(target, row, out)
        self._conn.execute("DELETE FROM messages WHERE rowid = ?", (row.rowid,))  # (+ FTS)

    def _reindex(self, rowid: int, old: str, new: str) -> None:
        """The search index follows the text (an external-content FTS5 table must be told
        the old text to forget it). One that waits for the index (a history sync's)
        gets its new text when it goes in."""
        if not self.in_search_index(rowid):
            return
        self._conn.execute(
            "INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', ?, ?)",
            (rowid, old),
        )
        self._conn.execute("INSERT INTO messages_fts (rowid, text) VALUES (?, ?)", (rowid, new))

    # -- reading -----------------------------------------------------------------------

    def message_by_id(self, event_id: bytes, conv: bytes | None = None) -> MessageRow | None:
        """A message by its event id (in ``conv`` only, if given)."""
        where, args = self._where_id(event_id, "m.")
        if conv is not None:
            where, args = where + " AND m.conv = ?", (*args, conv)
        found = self._conn.execute(_MESSAGE_SELECT + "WHERE " + where, args).fetchone()
        return None if found is None else _message(found)

    def find_message_ids(self, conv: bytes, hex_prefix: str, limit: int = 3) -> list[bytes]:
        """Event ids of the messages of ``conv`` whose hex starts with ``hex_prefix``."""
        prefix = hex_prefix.strip().lower()
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return []
        if len(prefix) == 64:
            row = self.message_by_id(bytes.fromhex(prefix), conv)
            return [] if row is None else [row.event_id]
        return [
            r[0] for r in self._conn.execute(
                "SELECT event_id FROM messages WHERE conv = ? AND hex(event_id) LIKE ? LIMIT ?",
                (conv, prefix.upper() + "%", limit),
            )
        ]

    def reactions(self, targets: Sequence[bytes]) -> dict[bytes, list[tuple[str, bytes]]]:
        """(emoji, user) of each target's reactions, oldest first (same conversation,
        not unsent)."""
        out: dict[bytes, list[tuple[str, bytes]]] = {}
        unkeyed = self.unkeyed()
        for i in range(0, len(targets), 400):
            chunk = list(targets[i : i + 400])
            marks = ",".join("?" * len(chunk))
            wanted = set(chunk)
            shown = {  # the targets here, not unsent, by conversation
                (r[0], r[1]) for r in self._conn.execute(
                    "SELECT event_id, conv FROM messages WHERE (rowid IN (SELECT msg FROM "  # noqa: S608
                    f"message_keys WHERE key IN ({marks})) OR rowid IN ({marks})) AND unsent = 0",
                    [t[-8:] for t in chunk] + [unkeyed.get(t, 0) for t in chunk],
                ) if r[0] in wanted
            }
            for target, emoji, user, conv in self._conn.execute(
                "SELECT target, emoji, user_id, conv FROM reactions "  # noqa: S608
                f"WHERE target IN ({marks}) AND emoji != '' ORDER BY lamport, author",
                chunk,
            ):
                if (target, conv) in shown:
                    out.setdefault(target, []).append((emoji, user))
        return out

    def my_reaction(self, target: bytes, user: bytes) -> str:
        row = self._conn.execute(
            "SELECT emoji FROM reactions WHERE target = ? AND user_id = ?", (target, user)
        ).fetchone()
        return "" if row is None else str(row[0])

    def versions(self, target: bytes) -> list[tuple[str, int]]:
        """(text, time ms) of every version of an edited message, the original first."""
        return [
            (r[0], r[1]) for r in self._conn.execute(
                "SELECT text, time FROM edits WHERE target = ? "
                "ORDER BY edit_id != ?, lamport, author",
                (target, target),
            )
        ]

    def gone_reason(self, target: bytes) -> str | None:
        row = self._conn.execute(
            "SELECT reason FROM gone WHERE target = ? ORDER BY reason LIMIT 1", (target,)
        ).fetchone()
        return None if row is None else str(row[0])

    def cards(self, ids: Sequence[bytes]) -> dict[bytes, CardRow]:
        out: dict[bytes, CardRow] = {}
        for i in range(0, len(ids), 400):
            chunk = list(ids[i : i + 400])
            marks = ",".join("?" * len(chunk))
            for r in self._conn.execute(
                f"SELECT event_id, user_id, name, by_user FROM cards WHERE event_id IN ({marks})",  # noqa: S608
                chunk,
            ):
                out[r[0]] = CardRow(r[1], r[2], r[3])
        return out

    def introduced_by(self, user: bytes) -> bytes | None:
        """Who first sent me a card of ``user`` (a contact "introduced by" them)."""
        row = self._conn.execute(
            "SELECT by_user FROM cards WHERE user_id = ? ORDER BY rowid LIMIT 1",
            (user,),
        ).fetchone()
        return None if row is None else row[0]

    def conversation_timer(self, conv: bytes) -> TimerRow | None:
        """The disappearing-message timer in force in ``conv`` (None: never set). Every
        message sent asks: the answers are kept until a timer is recorded."""
        cache: dict[bytes, TimerRow | None] = self.__dict__.setdefault("_timer_cache", {})
        if conv in cache:
            return cache[conv]
        row = self._conn.execute(
            "SELECT event_id, conv, timer, by_user, time, lamport FROM timers WHERE conv = ? "
            "ORDER BY lamport DESC, author DESC LIMIT 1",
            (conv,),
        ).fetchone()
        found = cache[conv] = None if row is None else TimerRow(*row)
        return found

    def timer_changes(self, conv: bytes) -> list[TimerRow]:
        return [
            TimerRow(*r) for r in self._conn.execute(
                "SELECT event_id, conv, timer, by_user, time, lamport FROM timers "
                "WHERE conv = ? AND lamport > coalesce((SELECT lamport FROM chat_cuts "
                "WHERE conv = ?), 0) ORDER BY lamport, author",
                (conv, conv),
            )
        ]
