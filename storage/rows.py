"""What the store returns: row types, statuses and errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

# Our message waits for its log's true head after a start (p2p.restore): not written
# yet, nothing sent; shown, and numbered and sent once a holder of the log is back.
STATUS_WAITING = -1
STATUS_SENDING = 0
STATUS_RECEIVED = 1
STATUS_DELIVERED = 2
STATUS_READ = 3
STATUS_NAMES = {
    STATUS_WAITING: "waiting",
    STATUS_SENDING: "sending",
    STATUS_RECEIVED: "received",
    STATUS_DELIVERED: "delivered",
    STATUS_READ: "read",
}


def event_key(event_id: bytes) -> int:
    """The messages table's index key of an event id: its last 8 bytes, as an integer
    (an id is a hash; ids made up in tests and benchmarks count up in their last bytes)."""
    return int.from_bytes(event_id[-8:], "big", signed=True)


class StorageError(Exception):
    """The database cannot be used; ``str(e)`` tells the user what to do."""


class DatabaseCorrupt(StorageError):
    pass


class DatabaseTooNew(StorageError):
    pass


class EventRow(NamedTuple):
    """An event as stored; the field order is the column order of the insert. ``head``
    is the signed head; ``body`` the body kept apart (None: erased, or a format-1 event,
    whose body is inside its head). ``id`` is the BLAKE2b-256 of ``head``; rows the node
    writes leave it empty (the store computes it where it is read)."""

    id: bytes
    conv: bytes
    author: bytes
    seq: int
    lamport: int
    time: int
    kind: str
    head: bytes
    body: bytes | None


# What insert_events takes: an EventRow, or (on the hot path) a plain tuple in its order.
EventRowTuple = tuple[bytes, bytes, bytes, int, int, int, str, bytes, bytes | None]


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
    # Message actions (storage/actions.py): the event replied to, the disappearing timer
    # (seconds; 0: none), when it disappears (ms since the epoch), how often it was
    # edited, and whether its author unsent it (the text is then empty).
    reply_to: bytes | None = None
    timer: int = 0
    expires_at: int | None = None
    edits: int = 0
    unsent: bool = False

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
    own_name: str = ""  # what they call themselves now, when not ``name`` ("" = the same)
    named: bool = False  # I chose ``name`` myself (their renames do not change it)


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: bytes
    user_id: bytes
    name: str
    created: int
    cert: bytes
    revoked: bool
    last_seen: int | None
    proven: bool = False  # seen in a handshake with the device itself


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


@dataclass(frozen=True, slots=True)
class MemberRow:
    user_id: bytes
    role: str


def contact_from_row(r: Sequence[Any]) -> ContactRow:
    return ContactRow(r[0], r[1], r[2], bool(r[3]), bool(r[4]), r[5], r[6], r[7], r[8],
                      bool(r[9]))


def device_from_row(r: Sequence[Any]) -> DeviceRow:
    return DeviceRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], bool(r[7]))
