"""Versioned schema migrations.

``PRAGMA user_version`` holds the schema version. Each migration moves the schema one
version up inside the caller's transaction; a database newer than :data:`LATEST` is
refused before anything is written. Add migrations at the end; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import sqlite_utils

from kith.storage.rows import event_key


def _v1(db: sqlite_utils.Database) -> None:
    # Events are clustered by log: appends go to the end of each log's key range, and
    # reading a log in seq order (sync) is one range scan. No index on the random id:
    # duplicates are found by (conv, author, seq), which is how logs are addressed.
    db.execute(
        """
        CREATE TABLE events (
            id BLOB NOT NULL,
            conv BLOB NOT NULL,
            author BLOB NOT NULL,
            seq INTEGER NOT NULL,
            lamport INTEGER NOT NULL,
            time INTEGER NOT NULL,
            kind TEXT NOT NULL,
            raw BLOB NOT NULL,
            PRIMARY KEY (conv, author, seq)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE heads (
            conv BLOB NOT NULL,
            author BLOB NOT NULL,
            seq INTEGER NOT NULL,
            id BLOB NOT NULL,
            lamport INTEGER NOT NULL,
            PRIMARY KEY (conv, author)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE conversations (
            id BLOB PRIMARY KEY,
            kind TEXT NOT NULL,
            peer_user BLOB,
            created INTEGER NOT NULL,
            read_lamport INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        """
        CREATE TABLE messages (
            rowid INTEGER PRIMARY KEY,
            event_id BLOB NOT NULL,
            conv BLOB NOT NULL,
            author BLOB NOT NULL,
            sender BLOB NOT NULL,
            seq INTEGER NOT NULL,
            lamport INTEGER NOT NULL,
            time INTEGER NOT NULL,
            text TEXT NOT NULL,
            outgoing INTEGER NOT NULL
        )
        """
    )
    # Delivery and read state as per-log watermarks: receipts are cumulative ("every
    # message of this author up to seq"), so one row per (conversation, author) holds
    # the status of every message, and a receipt costs one upsert however many
    # messages it covers.
    db.execute(
        """
        CREATE TABLE marks (
            conv BLOB NOT NULL,
            author BLOB NOT NULL,
            delivered INTEGER NOT NULL DEFAULT 0,
            read INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (conv, author)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX messages_order ON messages (conv, lamport, author)")
    db.execute("CREATE UNIQUE INDEX messages_log ON messages (conv, author, seq)")
    db.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5("
        "text, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')"
    )
    # No AFTER INSERT trigger: Store.insert_messages indexes each batch with one
    # INSERT ... SELECT, which is five times faster than a per-row trigger.
    db.execute(
        """
        CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.rowid, old.text);
        END
        """
    )
    db.execute(
        """
        CREATE TABLE contacts (
            user_id BLOB PRIMARY KEY,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            verified INTEGER NOT NULL DEFAULT 0,
            key_changed INTEGER NOT NULL DEFAULT 0,
            replaces BLOB,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE devices (
            device_id BLOB PRIMARY KEY,
            user_id BLOB NOT NULL,
            name TEXT NOT NULL,
            created INTEGER NOT NULL,
            cert BLOB NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0,
            last_seen INTEGER
        )
        """
    )
    db.execute("CREATE INDEX devices_user ON devices (user_id)")
    db.execute(
        """
        CREATE TABLE peers (
            address TEXT PRIMARY KEY,
            device_id BLOB,
            manual INTEGER NOT NULL DEFAULT 0,
            last_seen INTEGER
        )
        """
    )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE drafts (conv BLOB PRIMARY KEY, text TEXT NOT NULL)")


def _v2(db: sqlite_utils.Database) -> None:
    # Linked devices. Per-user state that syncs between a user's own devices (contact
    # state, verification, settings) is last-writer-wins by (lamport, author device) of
    # the event that set it; this table remembers the winning clock per key.
    db.execute(
        """
        CREATE TABLE lww (
            key TEXT PRIMARY KEY,
            lamport INTEGER NOT NULL,
            author BLOB NOT NULL
        )
        """
    )
    # Device revocations, signed by the user's identity key; kept to pass them on.
    db.execute(
        """
        CREATE TABLE revocations (
            device_id BLOB PRIMARY KEY,
            user_id BLOB NOT NULL,
            created INTEGER NOT NULL,
            raw BLOB NOT NULL
        )
        """
    )


def _v3(db: sqlite_utils.Database) -> None:
    # Protocol 2: an event is a signed head and a body kept apart, so a body can be
    # erased (unsend, disappearing messages) while the head still verifies and syncs.
    # Format-1 events keep their body inside the head (``body`` stays NULL for them).
    # Renaming and adding a column rewrite nothing: the upgrade is instant.
    db.execute("ALTER TABLE events RENAME COLUMN raw TO head")
    db.execute("ALTER TABLE events ADD COLUMN body BLOB")
    # Conversations have members with roles; a direct conversation has two (the node
    # adds its own user at start, which the schema does not know).
    db.execute(
        """
        CREATE TABLE members (
            conv BLOB NOT NULL,
            user_id BLOB NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (conv, user_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX members_user ON members (user_id)")
    db.execute(
        "INSERT INTO members (conv, user_id, role) "
        "SELECT id, peer_user, 'member' FROM conversations WHERE peer_user IS NOT NULL"
    )


def _v4(db: sqlite_utils.Database) -> None:
    # A device certificate is a claim by the user it names (the identity key's signature
    # over the device key). Anyone can sign such a claim for any device id, so a device
    # row is keyed by (device, user): a stranger's claim never locks a device to the
    # stranger (first come), and a claim seen in a handshake with the device itself
    # (which proves it holds the device key) is ``proven``. Devices met directly before
    # (``last_seen``) count as proven.
    db.execute(
        """
        CREATE TABLE devices_v4 (
            device_id BLOB NOT NULL,
            user_id BLOB NOT NULL,
            name TEXT NOT NULL,
            created INTEGER NOT NULL,
            cert BLOB NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0,
            last_seen INTEGER,
            proven INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (device_id, user_id)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        "INSERT INTO devices_v4 (device_id, user_id, name, created, cert, revoked, last_seen,"
        " proven) SELECT device_id, user_id, name, created, cert, revoked, last_seen,"
        " last_seen IS NOT NULL FROM devices"
    )
    db.execute("DROP TABLE devices")
    db.execute("ALTER TABLE devices_v4 RENAME TO devices")
    db.execute("CREATE INDEX devices_user ON devices (user_id)")


def _v5(db: sqlite_utils.Database) -> None:
    # A contact's name is the one I know them by; what they call themselves now is kept
    # apart (``own_name``, "" when the same), so a contact who renames itself to another
    # contact's name cannot take that name here; ``named``: I chose the name myself.
    db.execute("ALTER TABLE contacts ADD COLUMN own_name TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE contacts ADD COLUMN named INTEGER NOT NULL DEFAULT 0")


def _v6(db: sqlite_utils.Database) -> None:
    # Attachments (issue 11): a file is stored once, named by its content id; the
    # attachments that name it are its references. A file's manifest and the bitmap of
    # its verified blocks are kept here, the bytes in the profile's files/ folder.
    db.execute(
        """
        CREATE TABLE files (
            id BLOB PRIMARY KEY,
            size INTEGER NOT NULL,
            block_size INTEGER NOT NULL,
            manifest BLOB,
            bitmap BLOB,
            state TEXT NOT NULL,
            problem TEXT NOT NULL DEFAULT '',
            created INTEGER NOT NULL
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE attachments (
            conv BLOB NOT NULL,
            author BLOB NOT NULL,
            seq INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            event_id BLOB NOT NULL,
            file BLOB NOT NULL,
            sender BLOB NOT NULL,
            descriptor BLOB NOT NULL,
            outgoing INTEGER NOT NULL,
            PRIMARY KEY (conv, author, seq, idx)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX attachments_file ON attachments (file)")


def _v7(db: sqlite_utils.Database) -> None:
    # Groups: what the membership fold derived (the control events are in ``events``),
    # system lines for the chat, and receipt marks per member (a group message is
    # delivered when each member's devices hold it, read by n of m).
    db.execute(
        """
        CREATE TABLE groups (
            conv BLOB PRIMARY KEY,
            name TEXT NOT NULL,
            history INTEGER NOT NULL DEFAULT 0,
            muted INTEGER NOT NULL DEFAULT 0,
            left INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        """
        CREATE TABLE group_lines (
            conv BLOB NOT NULL,
            author BLOB NOT NULL,
            seq INTEGER NOT NULL,
            lamport INTEGER NOT NULL,
            time INTEGER NOT NULL,
            kind TEXT NOT NULL,
            actor BLOB NOT NULL,
            targets TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (conv, author, seq)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE group_marks (
            conv BLOB NOT NULL,
            author BLOB NOT NULL,
            user_id BLOB NOT NULL,
            delivered INTEGER NOT NULL DEFAULT 0,
            read INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (conv, author, user_id)
        ) WITHOUT ROWID
        """
    )


def _v8(db: sqlite_utils.Database) -> None:
    # Message actions (storage/actions.py): replies, reactions, edits, unsend, delete for
    # me, contact cards, disappearing messages. Adding columns rewrites nothing.
    for column in (
        "reply_to BLOB", "timer INTEGER NOT NULL DEFAULT 0", "expires_at INTEGER",
        "edits INTEGER NOT NULL DEFAULT 0", "unsent INTEGER NOT NULL DEFAULT 0",
    ):
        db.execute(f"ALTER TABLE messages ADD COLUMN {column}")
    # Actions name their target by event id: found through ``ekey``, the id's last 8
    # bytes as an integer (an index of the 32-byte blobs doubled the cost of inserting
    # messages; one of integers adds half as much). Rows of older releases get theirs now.
    db.execute("ALTER TABLE messages ADD COLUMN ekey INTEGER")
    db.conn.create_function("kith_ekey", 1, event_key, deterministic=True)
    db.execute("UPDATE messages SET ekey = kith_ekey(event_id)")
    db.execute("CREATE INDEX messages_event ON messages (ekey)")
    db.execute(
        "CREATE INDEX messages_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL"
    )
    # Disappearing messages not yet read: a read mark starts their clocks.
    db.execute(
        "CREATE INDEX messages_timed ON messages (conv, author, seq) "
        "WHERE timer > 0 AND expires_at IS NULL"
    )
    # One reaction per person per message: the newest (lamport, author device) wins; an
    # empty emoji is a removed reaction (its clock still counts).
    db.execute(
        """
        CREATE TABLE reactions (
            target BLOB NOT NULL, user_id BLOB NOT NULL, conv BLOB NOT NULL,
            emoji TEXT NOT NULL, lamport INTEGER NOT NULL, author BLOB NOT NULL,
            time INTEGER NOT NULL,
            PRIMARY KEY (target, user_id)
        ) WITHOUT ROWID
        """
    )
    # Every version of an edited message; the original is kept as the edit whose id is
    # the message's own.
    db.execute(
        """
        CREATE TABLE edits (
            edit_id BLOB PRIMARY KEY, target BLOB NOT NULL, conv BLOB NOT NULL,
            author BLOB NOT NULL, seq INTEGER NOT NULL, sender BLOB NOT NULL,
            lamport INTEGER NOT NULL, time INTEGER NOT NULL, text TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX edits_target ON edits (target)")
    # Tombstones: unsent (by its author), expired, hidden (delete for me). They outlive
    # the message, so that the text never comes back with a re-sync.
    db.execute(
        """
        CREATE TABLE gone (
            target BLOB NOT NULL, reason TEXT NOT NULL, conv BLOB NOT NULL,
            by_user BLOB NOT NULL, time INTEGER NOT NULL,
            PRIMARY KEY (target, reason)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE cards (
            event_id BLOB PRIMARY KEY, conv BLOB NOT NULL, user_id BLOB NOT NULL,
            name TEXT NOT NULL, by_user BLOB NOT NULL
        )
        """
    )
    # Disappearing-message timers per conversation, every change kept (the chat shows
    # who set what); the newest (lamport, author device) is in force.
    db.execute(
        """
        CREATE TABLE timers (
            event_id BLOB PRIMARY KEY, conv BLOB NOT NULL, timer INTEGER NOT NULL,
            by_user BLOB NOT NULL, lamport INTEGER NOT NULL, author BLOB NOT NULL,
            time INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX timers_conv ON timers (conv, lamport, author)")


def _v9(db: sqlite_utils.Database) -> None:
    # Delete chat (p2p.actions.deletion): per conversation, everything up to this lamport
    # is gone from my devices; the highest cut wins, and it outlives the messages, so
    # that what arrives later (a device that was away, a relay) never shows.
    db.execute(
        """
        CREATE TABLE chat_cuts (
            conv BLOB PRIMARY KEY, lamport INTEGER NOT NULL, by_user BLOB NOT NULL,
            time INTEGER NOT NULL
        ) WITHOUT ROWID
        """
    )


def _v10(db: sqlite_utils.Database) -> None:
    # Our own events that wait for their log's true head after a start (p2p.restore,
    # storage.waiting): kept on disk so that a crash loses none; ``pos`` keeps their order.
    db.execute(
        """
        CREATE TABLE waiting (
            pos INTEGER PRIMARY KEY, event_id BLOB NOT NULL UNIQUE, conv BLOB NOT NULL,
            kind TEXT NOT NULL, body BLOB NOT NULL, time INTEGER NOT NULL,
            head BLOB NOT NULL, files BLOB NOT NULL DEFAULT x''
        )
        """
    )



# The schema version of the deferred search index (issue 9): one constant, one function.
SEARCH_PENDING_VERSION = 11


def _search_pending(db: sqlite_utils.Database) -> None:
    # A history sync fills the search index after its batches, in one go, instead of
    # with each batch (p2p.messages; the index is about a quarter of what inserting a
    # message costs SQLite, tests/bench/bench_storage_floor.py). The one
    # row here says which messages are not in the index yet: every rowid above
    # ``after``; no row, none. It is written in the transaction of the batch it
    # defers, so a crash keeps the two in step, and the messages are indexed at the
    # next write of the index or the next search (Store.index_pending). Deleting a
    # message that is not in the index must not tell the index to forget it (an
    # external-content FTS5 table would be damaged by a 'delete' of a row it lacks).
    db.execute(
        """
        CREATE TABLE search_pending (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            after INTEGER NOT NULL
        )
        """
    )
    db.execute("DROP TRIGGER messages_ad")
    db.execute(
        """
        CREATE TRIGGER messages_ad AFTER DELETE ON messages
        WHEN old.rowid <= coalesce((SELECT after FROM search_pending), old.rowid) BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.rowid, old.text);
        END
        """
    )


def _message_keys(db: sqlite_utils.Database) -> None:
    # Messages are found by event id through ``message_keys`` (an id's last 8 bytes ->
    # rowid), filled in batches (storage/messages.py, UNKEYED_ROWS): the messages above
    # ``upto`` have no key there yet. It replaces the index on ``messages.ekey``, which
    # took every new message on a random page of itself; that column is no longer
    # written (rows of earlier releases keep their values). Keys of deleted messages may
    # stay behind: a key only leads to a row, the id decides.
    db.execute(
        """
        CREATE TABLE message_keys (
            key BLOB NOT NULL,
            msg INTEGER NOT NULL,
            PRIMARY KEY (key, msg)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        "INSERT INTO message_keys (key, msg) "
        "SELECT substr(event_id, -8), rowid FROM messages ORDER BY 1, 2"
    )
    db.execute(
        "CREATE TABLE message_keys_upto (one INTEGER PRIMARY KEY CHECK (one = 1), "
        "upto INTEGER NOT NULL)"
    )
    db.execute(
        "INSERT INTO message_keys_upto (one, upto) "
        "SELECT 1, coalesce(max(rowid), 0) FROM messages"
    )
    db.execute("DROP INDEX messages_event")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _search_pending, _message_keys,
]
LATEST = len(MIGRATIONS)


Migration = Callable[[sqlite_utils.Database], None]


def expected_schema(
    migrations: tuple[Migration, ...] | None = None,
) -> dict[str, frozenset[str]]:
    """Every table of the schema the migrations build (all of them by default) with its
    columns, as they build it on an empty in-memory database (once per process)."""
    return _built(tuple(MIGRATIONS) if migrations is None else migrations)


@cache
def _built(migrations: tuple[Migration, ...]) -> dict[str, frozenset[str]]:
    db = sqlite_utils.Database(memory=True)
    for migrate in migrations:
        migrate(db)
    return _schema_of(db)


def _schema_of(db: sqlite_utils.Database) -> dict[str, frozenset[str]]:
    # sqlite-utils' introspection; the FTS5 index's own shadow tables are its business
    shadow = {f"{t}_{s}" for t in db.table_names(fts5=True)
              for s in ("config", "content", "data", "docsize", "idx")}
    return {
        name: frozenset(db[name].columns_dict)
        for name in db.table_names() if name not in shadow
    }


def missing_from(
    db: sqlite_utils.Database, migrations: tuple[Migration, ...] | None = None
) -> list[str]:
    """What a database lacks of the schema the migrations build: tables and ``table.column``
    names, sorted (empty when it has all). A database whose version says it is current but
    that lacks a table (another program's file, a bad restore) is refused with this list
    rather than failing later in the middle of a write."""
    have = _schema_of(db)
    gaps = []
    for table, columns in expected_schema(migrations).items():
        if table not in have:
            gaps.append(table)
        else:
            gaps += [f"{table}.{c}" for c in sorted(columns - have[table])]
    return sorted(gaps)
