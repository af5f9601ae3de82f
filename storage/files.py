"""Attachments and the files they name: descriptors per message, and per file its
manifest, the bitmap of verified blocks and the state of its download.

A file is stored once however many messages name it (its id is its content id); the
attachments that name it are its references, and a file nobody references any more is
forgotten (:meth:`FilesPart.unreferenced`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kith.storage.base import StoreBase

# The states of a file, as `kith files` shows them.
FILE_REMOTE = "remote"  # not here (not asked for yet, or removed from disk)
FILE_DOWNLOADING = "downloading"
FILE_PAUSED = "paused"
FILE_COMPLETE = "complete"
FILE_FAILED = "failed"
FILE_STATES = (FILE_REMOTE, FILE_DOWNLOADING, FILE_PAUSED, FILE_COMPLETE, FILE_FAILED)


@dataclass(frozen=True, slots=True)
class FileRow:
    id: bytes
    size: int
    block_size: int
    manifest: bytes | None  # the encoded manifest, once known
    bitmap: bytes | None  # verified blocks (None: none yet)
    state: str
    problem: str  # why it is paused or failed ("" if nothing is wrong)
    created: int


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    conv: bytes
    author: bytes  # device
    seq: int
    idx: int  # the attachment's place in its message
    event_id: bytes
    file: bytes
    sender: bytes  # user
    descriptor: bytes  # the encoded descriptor, as it travelled
    outgoing: bool


_FILE_COLUMNS = "id, size, block_size, manifest, bitmap, state, problem, created"
_SELECT_FILES = f"SELECT {_FILE_COLUMNS} FROM files "  # noqa: S608 - constant columns
_ATT_COLUMNS = "conv, author, seq, idx, event_id, file, sender, descriptor, outgoing"
_SELECT_ATT = f"SELECT {_ATT_COLUMNS} FROM attachments "  # noqa: S608 - constant columns


def _file(r: Sequence[Any]) -> FileRow:
    return FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])


def _attachment(r: Sequence[Any]) -> AttachmentRow:
    return AttachmentRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))


class FilesPart(StoreBase):
    """The attachments of messages and the files they name."""

    def insert_attachments(self, rows: Sequence[AttachmentRow], sizes: dict[bytes, int],
                           block_sizes: dict[bytes, int]) -> list[bytes]:
        """Store attachments (duplicates ignored) and a ``remote`` file row for each file
        not known yet; the ids of the new file rows."""
        now = int(time.time())
        new: list[bytes] = []
        with self.transaction():
            self._conn.executemany(
                f"INSERT OR IGNORE INTO attachments ({_ATT_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(a.conv, a.author, a.seq, a.idx, a.event_id, a.file, a.sender, a.descriptor,
                  int(a.outgoing)) for a in rows],
            )
            for file in dict.fromkeys(a.file for a in rows):
                cur = self._conn.execute(
                    "INSERT OR IGNORE INTO files (id, size, block_size, state, created) "
                    "VALUES (?, ?, ?, 'remote', ?)",
                    (file, sizes[file], block_sizes[file], now),
                )
                if cur.rowcount:
                    new.append(file)
        return new

    def file(self, file: bytes) -> FileRow | None:
        r = self._conn.execute(
            _SELECT_FILES + "WHERE id = ?", (file,)
        ).fetchone()
        return None if r is None else _file(r)

    def files_by_prefix(self, prefix: str) -> list[FileRow]:
        """Files whose id's hex starts with ``prefix`` (lower case hex)."""
        return [
            _file(r) for r in self._conn.execute(
                _SELECT_FILES + "WHERE hex(id) LIKE ? LIMIT 2",
                (prefix.upper() + "%",),
            )
        ]

    def files_in_state(self, *states: str) -> list[FileRow]:
        marks = ", ".join("?" * len(states))
        return [
            _file(r) for r in self._conn.execute(
                _SELECT_FILES + f"WHERE state IN ({marks})", states
            )
        ]

    def update_file(self, file: bytes, **values: Any) -> None:
        """Set columns of a file row (manifest, bitmap, state, problem)."""
        allowed = {"manifest", "bitmap", "state", "problem"}
        if not values or not set(values) <= allowed:
            raise ValueError(f"cannot set {sorted(values)} of a file")
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction():
            self._conn.execute(
                f"UPDATE files SET {sets} WHERE id = ?",  # noqa: S608 - names checked above
                (*values.values(), file),
            )

    def attachments(self, conv: bytes) -> list[AttachmentRow]:
        """Every attachment in ``conv``, oldest message first."""
        cols = ", ".join(f"a.{c}" for c in _ATT_COLUMNS.split(", "))
        return [
            _attachment(r) for r in self._conn.execute(
                f"SELECT {cols} FROM attachments a LEFT JOIN messages m ON m.conv = a.conv "  # noqa: S608
                "AND m.author = a.author AND m.seq = a.seq WHERE a.conv = ? "
                "ORDER BY m.lamport, a.author, a.seq, a.idx", (conv,),
            )
        ]

    def message_attachments(self, conv: bytes, author: bytes, seq: int) -> list[AttachmentRow]:
        return [
            _attachment(r) for r in self._conn.execute(
                _SELECT_ATT + "WHERE conv = ? AND author = ? "
                "AND seq = ? ORDER BY idx", (conv, author, seq),
            )
        ]

    def attachments_of(self, file: bytes) -> list[AttachmentRow]:
        """The attachments that name ``file`` (its references)."""
        return [
            _attachment(r) for r in self._conn.execute(
                _SELECT_ATT + "WHERE file = ?", (file,)
            )
        ]

    def delete_attachments(self, conv: bytes) -> list[bytes]:
        """Forget the attachments of ``conv`` (the chat is deleted); the files that no
        attachment names any more, whose rows are deleted too (the caller removes them
        from disk)."""
        with self.transaction():
            files = [r[0] for r in self._conn.execute(
                "SELECT DISTINCT file FROM attachments WHERE conv = ?", (conv,)
            )]
            self._conn.execute("DELETE FROM attachments WHERE conv = ?", (conv,))
            gone = [f for f in files if not self._conn.execute(
                "SELECT 1 FROM attachments WHERE file = ? LIMIT 1", (f,)
            ).fetchone()]
            self._conn.executemany("DELETE FROM files WHERE id = ?", [(f,) for f in gone])
        return gone

    def put_file(self, file: bytes, size: int, block_size: int, manifest: bytes,
                 bitmap: bytes, state: str) -> None:
        """Store a file's row with its manifest (a local file brought in, or one whose
        row we had without its bytes)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO files (id, size, block_size, manifest, bitmap, state, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "manifest = excluded.manifest, bitmap = excluded.bitmap, "
                "state = excluded.state, problem = ''",
                (file, size, block_size, manifest, bitmap, state, int(time.time())),
            )
