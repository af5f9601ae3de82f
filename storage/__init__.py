"""Kith's persistent state: one SQLite database per profile (no networking, no Qt)."""

from kith.storage.db import Store
from kith.storage.rows import (
    STATUS_DELIVERED,
    STATUS_NAMES,
    STATUS_READ,
    STATUS_RECEIVED,
    STATUS_SENDING,
    STATUS_WAITING,
    ContactRow,
    DatabaseCorrupt,
    DatabaseTooNew,
    DeviceRow,
    EventRow,
    EventRowTuple,
    HeadRow,
    MemberRow,
    MessageRow,
    PeerRow,
    StorageError,
)

__all__ = [
    "STATUS_DELIVERED",
    "STATUS_NAMES",
    "STATUS_READ",
    "STATUS_RECEIVED",
    "STATUS_SENDING",
    "STATUS_WAITING",
    "ContactRow",
    "DatabaseCorrupt",
    "DatabaseTooNew",
    "DeviceRow",
    "EventRow",
    "EventRowTuple",
    "HeadRow",
    "MemberRow",
    "MessageRow",
    "PeerRow",
    "StorageError",
    "Store",
]
