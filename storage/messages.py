"""Conversations, their members, and the messages view the app reads."""

from __future__ import annotations

import operator
import time
from collections.abc import Iterable, Sequence
from typing import Any

from kith.storage.base import StoreBase
from kith.storage.rows import STATUS_DELIVERED, STATUS_READ, MemberRow, MessageRow

_MESSAGE_SELECT = """
SELECT m.event_id, m.conv, m.author, m.sender, m.seq, m.lamport, m.time, m.text, m.outgoing,
    CASE WHEN m.outgoing THEN
        CASE WHEN m.seq <= coalesce(k.read, 0) THEN 3
             WHEN m.seq <= coalesce(k.delivered, 0) THEN 2 ELSE 0 END
    ELSE CASE WHEN m.seq <= coalesce(k.read, 0) THEN 3 ELSE 1 END END,
    m.rowid, m.reply_to, m.timer, m.expires_at, m.edits, m.unsent
FROM messages m LEFT JOIN marks k ON k.conv = m.conv AND k.author = m.author
"""


_columns = operator.attrgetter(
    "event_id", "conv", "author", "sender", "seq", "lamport", "time", "text", "outgoing",
    "reply_to", "timer",
)


# Messages are found by event id (the target of a reaction, an edit, an unsend, a reply).
# An id is a hash, so an index of ids takes every new message on a random page: a commit
# of 50 messages rewrote some 40 pages of the old index on ``ekey`` (schema 8), most of
# what the commit wrote and, encrypted, most of what it encrypted. Since schema 12 the
# keys (an id's last 8 bytes) live in ``message_keys`` and go in in batches: a new
# message is found through :meth:`MessagesPart.unkeyed` (id -> rowid in memory; on disk,
# every message above ``message_keys_upto``) until UNKEYED_ROWS of them are there, and
# then their keys go in at once, in key order, touching each page of the index at most
# once. (Giving the rows themselves their ``ekey`` later cost more than it saved: it
# rewrites every row.) Measured with tests/bench/bench_cipher.py --only store.
UNKEYED_ROWS = 8192

# The search index (FTS5) is filled in batches too. Indexing a message in its own commit
# writes a new index segment and its bookkeeping (4 of the 9 pages a one-message commit
# wrote, 12 -> 8 on the receiving side with its receipt; measured through the log's
# frame count, see tests/bench/bench_messages.py). New messages wait in
# ``search_pending`` until SEARCH_BATCH of them do (the live write that reaches it
# indexes them all, in its transaction) or until :meth:`MessagesPart.index_pending` is
# called: the node calls it when the chat has been quiet for a moment, and a search
# calls it first, so a search finds every message all the same.
SEARCH_BATCH = 256


def _message(r: Sequence[Any]) -> MessageRow:
    return MessageRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10],
        r[11], r[12], r[13], r[14], bool(r[15]),
    )


class MessagesPart(StoreBase):
    """Conversations with members, messages with their full-text index, receipt marks."""

    # The messages above ``message_keys_upto`` (id -> rowid), and that mark; None: not
    # read yet (or a rollback made them doubtful).
    _unkeyed: dict[bytes, int] | None = None
    _keyed_upto = 0


    def ensure_conversation(
        self,
        conv: bytes,
        kind: str,
        members: Sequence[tuple[bytes, str]] = (),
        *,
        peer_user: bytes | None = None,
    ) -> bool:
        """Create a conversation of ``kind`` with ``members`` [(user id, role)] if it is
        new, else add the members it lacks; True if anything was written. ``peer_user``:
        the other user of a direct conversation."""
        with self.transaction():
            before = self._conn.total_changes
            self._conn.execute(
                "INSERT OR IGNORE INTO conversations (id, kind, peer_user, created) "
                "VALUES (?, ?, ?, ?)",
                (conv, kind, peer_user, int(time.time())),
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO members (conv, user_id, role) VALUES (?, ?, ?)",
                [(conv, user, role) for user, role in members],
            )
            return self._conn.total_changes > before

    def conversations(self) -> list[tuple[bytes, str]]:
        """(id, type) of every conversation."""
        return [(r[0], r[1]) for r in self._conn.execute("SELECT id, kind FROM conversations")]

    def members(self, conv: bytes) -> list[MemberRow]:
        return [
            MemberRow(r[0], r[1])
            for r in self._conn.execute(
                "SELECT user_id, role FROM members WHERE conv = ? ORDER BY user_id", (conv,)
            )
        ]

    def all_members(self) -> list[tuple[bytes, bytes, str]]:
        """(conv, user id, role) of every membership."""
        return [
            (r[0], r[1], r[2])
            for r in self._conn.execute("SELECT conv, user_id, role FROM members")
        ]

    def join_everywhere(self, user: bytes, kind: str) -> None:
        """Make ``user`` a member of every conversation of ``kind`` (the node's own user
        in its direct conversations, which a migration from the first release lacks)."""
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO members (conv, user_id, role) "
                "SELECT id, ?, 'member' FROM conversations WHERE kind = ?",
                (user, kind),
            )

    def conversation_peer(self, conv: bytes) -> bytes | None:
        """The other user of a direct conversation."""
        row = self._conn.execute(
            "SELECT peer_user FROM conversations WHERE id = ?", (conv,)
        ).fetchone()
        return None if row is None else row[0]

    def insert_messages(self, rows: Sequence[MessageRow], *, index: bool = True) -> None:
        """Store messages (the view the UI reads); their status comes from the marks.
        They wait for the search index (see SEARCH_BATCH): a live write (``index``)
        indexes what waits once SEARCH_BATCH messages do; a history sync's batches
        (``index`` False) leave it all for later, in one go (:meth:`index_pending`)."""
        if not rows:
            return
        with self.transaction():
            (last,) = self._conn.execute("SELECT coalesce(max(rowid), 0) FROM messages").fetchone()
            before = self._conn.total_changes
            self._conn.executemany(
                "INSERT OR IGNORE INTO messages "
                "(event_id, conv, author, sender, seq, lamport, time, text, outgoing, "
                "reply_to, timer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                map(_columns, rows),  # (outgoing: a bool is stored as 0/1)
            )
            added: Iterable[tuple[bytes, int]]
            if self._conn.total_changes - before == len(rows):  # (none was there: their
                added = zip((m.event_id for m in rows), range(last + 1, last + 1 + len(rows)),
                            strict=True)
            else:  # rowids follow each other from the last one)
                added = self._conn.execute(
                    "SELECT event_id, rowid FROM messages WHERE rowid > ?", (last,)
                ).fetchall()
            self._add_unkeyed(added)
            # (what is above ``after`` waits; it may wait already, from earlier)
            self._conn.execute(
                "INSERT OR IGNORE INTO search_pending (one, after) VALUES (1, ?)", (last,)
            )
            if index:
                (after,) = self._conn.execute("SELECT after FROM search_pending").fetchone()
                if last + len(rows) - after >= SEARCH_BATCH:
                    self.index_pending()

    def unkeyed(self) -> dict[bytes, int]:
        """Event id -> rowid of the messages whose keys are not in ``message_keys`` yet
        (read once; an entry may name a row deleted since: the lookups check the id)."""
        if self._unkeyed is None:
            (self._keyed_upto,) = self._conn.execute(
                "SELECT upto FROM message_keys_upto"
            ).fetchone()
            self._unkeyed = dict(self._conn.execute(
                "SELECT event_id, rowid FROM messages WHERE rowid > ?", (self._keyed_upto,)
            ).fetchall())
        return self._unkeyed

    def _add_unkeyed(self, added: Iterable[tuple[bytes, int]]) -> None:
        unkeyed = self.unkeyed()
        upto = self._keyed_upto
        added = list(added)
        if added and min(r for _, r in added) > upto:
            unkeyed.update(added)
        else:  # (a rowid taken again after the newest rows were deleted: keyed at once)
            unkeyed.update((e, r) for e, r in added if r > upto)
            self._conn.executemany(
                "INSERT OR IGNORE INTO message_keys (key, msg) VALUES (?, ?)",
                [(e[-8:], r) for e, r in added if r <= upto],
            )
        if len(unkeyed) >= UNKEYED_ROWS:
            self.key_messages()

    def key_messages(self, *, again: bool = False) -> int:
        """Put the keys of every message not keyed yet into ``message_keys``, in key
        order (one transaction; the caller's if there is one); how many. ``again``: of
        every message, the keys there before dropped (``kith check --repair``)."""
        with self.transaction():
            if again:
                self._conn.execute("DELETE FROM message_keys")
                # (the mark's row may be what the damage took)
                self._conn.execute("INSERT OR REPLACE INTO message_keys_upto VALUES (1, 0)")
                self._unkeyed = None
            self.unkeyed()  # (reads the mark)
            added = self._conn.execute(
                "INSERT OR IGNORE INTO message_keys (key, msg) "
                "SELECT substr(event_id, -8), rowid FROM messages WHERE rowid > ? "
                "ORDER BY 1, 2",
                (self._keyed_upto,),
            ).rowcount
            self._conn.execute(
                "UPDATE message_keys_upto SET upto = "
                "max(upto, (SELECT coalesce(max(rowid), 0) FROM messages))"
            )
            (self._keyed_upto,) = self._conn.execute(
                "SELECT upto FROM message_keys_upto"
            ).fetchone()
            self._unkeyed = {}
        return int(added)

    def _where_id(self, event_id: bytes, alias: str = "") -> tuple[str, tuple[Any, ...]]:
        """The condition that finds the message of ``event_id`` through an index (a key
        may also name a row deleted since, or another id with the same last bytes: the
        id itself decides)."""
        rowid = self.unkeyed().get(event_id)
        if rowid is not None:
            return f"{alias}rowid = ? AND {alias}event_id = ?", (rowid, event_id)
        return (f"{alias}rowid IN (SELECT msg FROM message_keys WHERE key = ?) "  # noqa: S608
                f"AND {alias}event_id = ?", (event_id[-8:], event_id))

    def _rolled_back(self) -> None:
        super()._rolled_back()
        self._unkeyed = None  # (read again: it may hold rows that are not there, or lack some)

    def index_pending(self) -> int | None:
        """Put the messages that wait for the search index into it (one statement, in
        the caller's transaction if there is one); how many, or None if none waited."""
        with self.transaction():
            row = self._conn.execute("SELECT after FROM search_pending").fetchone()
            if row is None:
                return None
            added = self._conn.execute(
                "INSERT INTO messages_fts (rowid, text) SELECT rowid, text FROM messages "
                "WHERE rowid > ?",
                (row[0],),
            ).rowcount
            self._conn.execute("DELETE FROM search_pending")
            return int(added)

    def search_pending(self) -> bool:
        """Do messages wait for the search index?"""
        return self._conn.execute("SELECT 1 FROM search_pending").fetchone() is not None

    def in_search_index(self, rowid: int) -> bool:
        """Is the message of ``rowid`` in the search index (not waiting for it)?"""
        row = self._conn.execute("SELECT after FROM search_pending").fetchone()
        return row is None or rowid <= row[0]

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

    def seq_up_to(self, conv: bytes, author: bytes, lamport: int) -> int:
        """The newest seq of ``author``'s messages in ``conv`` at or before ``lamport``
        (0 if none): what a reader saw when the newest message on screen had it."""
        (seq,) = self._conn.execute(
            "SELECT coalesce(max(seq), 0) FROM messages "
            "WHERE conv = ? AND author = ? AND lamport <= ?",
            (conv, author, lamport),
        ).fetchone()
        return int(seq)

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
        self.index_pending()  # (what a history sync left for later: found all the same)
        cur = self._conn.execute(
            _MESSAGE_SELECT + "JOIN messages_fts f ON f.rowid = m.rowid "
            "WHERE f.messages_fts MATCH ? ORDER BY m.time DESC LIMIT ?",
            (match, limit),
        )
        return [_message(r) for r in cur]
