"""What the Node gives its users: the events listeners receive and the values its API
returns (the CLI, the control socket and the app read these; nothing here does work)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kith.storage import STATUS_NAMES, MessageRow

ACCEPTED, PENDING_IN, PENDING_OUT, DECLINED = "accepted", "pending_in", "pending_out", "declined"


# -- what listeners receive -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessagesAdded:
    conv: bytes
    messages: list[MessageRow]


@dataclass(frozen=True, slots=True)
class StatusChanged:
    conv: bytes
    author: bytes
    up_to_seq: int
    status: int


@dataclass(frozen=True, slots=True)
class ContactChanged:
    user_id: bytes


@dataclass(frozen=True, slots=True)
class GroupChanged:
    """A group's membership, name or settings changed (p2p.groups); ``lines``: the
    system lines (storage.groups.GroupLineRow) it added, if any."""

    conv: bytes
    lines: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class PeersChanged:
    pass


@dataclass(frozen=True, slots=True)
class TypingChanged:
    conv: bytes
    user_id: bytes
    active: bool


@dataclass(frozen=True, slots=True)
class DevicesChanged:
    """One of my devices was linked, seen or removed (or this device was removed)."""


@dataclass(frozen=True, slots=True)
class SettingChanged:
    key: str


@dataclass(frozen=True, slots=True)
class HandoffOffer:
    """Another of my devices has a chat open (with ``user``) and maybe a draft in it."""

    device_id: bytes
    device_name: str
    user: bytes | None  # None: that device closed its chat
    draft: str


@dataclass(frozen=True, slots=True)
class FileChanged:
    """A file's state or progress changed (p2p.files): ``have`` bytes of ``size`` are
    verified here; ``rate`` in bytes/s and ``eta`` in seconds while it downloads."""

    file: bytes
    state: str
    have: int
    size: int
    rate: float = 0.0
    eta: float | None = None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class MessagesChanged:
    """Messages already shown changed (reactions, an edit, unsent) or went (expired,
    deleted for me): read each of ``ids`` again (``store.message_by_id``; None: gone)."""

    conv: bytes
    ids: list[bytes]


@dataclass(frozen=True, slots=True)
class TimerChanged:
    """The disappearing-message timer of ``conv`` was set (``store.conversation_timer``)."""

    conv: bytes


NodeEvent = (
    MessagesAdded | StatusChanged | ContactChanged | PeersChanged | TypingChanged
    | DevicesChanged | SettingChanged | HandoffOffer | FileChanged | GroupChanged
    | MessagesChanged | TimerChanged
)


# -- what the API returns -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerInfo:
    name: str
    user_id: bytes | None
    device_id: bytes | None
    addresses: list[str]
    contact: str | None
    key_changed: bool
    connected: bool
    # Every device of this entry: one for Node.peers(), all of the person's for
    # Node.people() (``device_id`` is then one of them, a connected one if any).
    devices: list[bytes] = field(default_factory=list)
    # What keeps us from talking to it, for the user ("bob runs an older version of Kith").
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user_id": self.user_id.hex() if self.user_id else None,
            "device_id": self.device_id.hex() if self.device_id else None,
            "devices": [d.hex() for d in self.devices],
            "addresses": self.addresses,
            "contact": self.contact,
            "key_changed": self.key_changed,
            "connected": self.connected,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class ContactInfo:
    name: str
    user_id: bytes
    state: str
    verified: bool
    key_changed: bool
    online: bool  # a live session with one of their devices, here
    replaced_by: bytes | None = None  # the person's new key, confirmed by the user
    reachable: bool = False  # online here, or through another device of mine (presence)
    own_name: str = ""  # what they call themselves, when not ``name`` (the one I know)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user_id": self.user_id.hex(),
            "state": self.state,
            "verified": self.verified,
            "key_changed": self.key_changed,
            "online": self.online,
            "reachable": self.reachable,
            "own_name": self.own_name or None,
            "replaced_by": self.replaced_by.hex() if self.replaced_by else None,
        }


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_id: bytes
    name: str
    this_device: bool
    last_seen: int | None
    removed: bool
    online: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id.hex(),
            "name": self.name,
            "this_device": self.this_device,
            "last_seen": self.last_seen,
            "removed": self.removed,
            "online": self.online,
        }


def message_json(m: MessageRow, my_user: bytes, names: dict[bytes, str]) -> dict[str, Any]:
    return {
        "id": m.event_id.hex(),
        "from": "me" if m.sender == my_user else names.get(m.sender, m.sender.hex()[:12]),
        "from_user": m.sender.hex(),
        "conv": m.conv.hex(),
        "text": m.text,
        "time": m.time / 1000,
        "status": STATUS_NAMES.get(m.status, "unknown"),
        "outgoing": m.outgoing,
        "reply_to": m.reply_to.hex() if m.reply_to else None,
        "edited": m.edits,
        "unsent": m.unsent,
        "expires_at": m.expires_at / 1000 if m.expires_at is not None else None,
    }
