"""System lines in a chat for trust events (verified, verification removed, key changed,
new key accepted), with their time.

The core does not record these, so this device does, as it sees each contact change
(whichever device or command made it): a list per conversation in the settings table.
In the chat they are rows like messages (``MessageRow`` with ``SYSTEM_AUTHOR``), sorted
right after the message that was the newest when they happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication

from kith.p2p.node import ContactInfo
from kith.storage import STATUS_READ, MessageRow, Store

SYSTEM_AUTHOR = b"\xff" * 32  # sorts after every real device with the same lamport
MAX_LINES = 200  # kept per conversation


@dataclass(frozen=True)
class TrustState:
    verified: bool
    key_changed: bool
    replaced_by: bytes | None

    @classmethod
    def of(cls, c: ContactInfo) -> TrustState:
        return cls(c.verified, c.key_changed, c.replaced_by)


def changes(before: TrustState | None, after: ContactInfo, how: str | None) -> list[str]:
    """What the user should read in the chat about this change of ``after``."""
    name = after.name
    if before is None:
        return [QCoreApplication.translate(
            "trustlog", "⚠ A different key than the {name} you know").format(name=name)
            ] if after.key_changed else []
    out = []
    if after.key_changed and not before.key_changed:
        out.append(QCoreApplication.translate(
            "trustlog", "⚠ {name}'s key is not the one you know: it may be someone else").format(
            name=name))
    if before.key_changed and not after.key_changed and not after.verified:
        out.append(QCoreApplication.translate(
            "trustlog", "You accepted this key as {name}'s").format(name=name))
    if after.replaced_by is not None and before.replaced_by is None:
        out.append(QCoreApplication.translate(
            "trustlog", "You took a new key as {name}'s: this old one takes no new "
            "messages").format(name=name))
    if after.verified and not before.verified:
        if how == "number":
            text = QCoreApplication.translate(
                "trustlog", "✔ You marked {name} as verified (safety number compared)")
        elif how == "emoji":
            text = QCoreApplication.translate(
                "trustlog", "✔ You marked {name} as verified (emoji compared)")
        else:
            text = QCoreApplication.translate("trustlog", "✔ You marked {name} as verified")
        out.append(text.format(name=name))
    if before.verified and not after.verified:
        out.append(QCoreApplication.translate(
            "trustlog", "{name} is no longer verified").format(name=name))
    return out


def _key(conv: bytes) -> str:
    return f"trust_log:{conv.hex()}"


def record(db: Store, conv: bytes, text: str, now_ms: int | None = None) -> MessageRow:
    """Keep a line for ``conv``; returns it as a chat row."""
    when = now_ms if now_ms is not None else int(time.time() * 1000)
    last = db.last_message(conv)
    lamport = last.lamport if last is not None else 0
    lines = list(db.get_setting(_key(conv), []) or [])
    lines.append([when, lamport, text])
    db.set_setting(_key(conv), lines[-MAX_LINES:])
    return _row(conv, len(lines) - 1, when, lamport, text)


def lines(db: Store, conv: bytes) -> list[MessageRow]:
    """The conversation's trust lines as chat rows, oldest first."""
    raw = db.get_setting(_key(conv), []) or []
    out = []
    for i, item in enumerate(raw):
        try:
            when, lamport, text = int(item[0]), int(item[1]), str(item[2])
        except (TypeError, ValueError, IndexError):
            continue  # a damaged entry: skip it, keep the others
        out.append(_row(conv, i, when, lamport, text))
    return out


def _row(conv: bytes, i: int, when: int, lamport: int, text: str) -> MessageRow:
    return MessageRow(
        b"trust-line:" + conv[:8] + i.to_bytes(4, "big") + when.to_bytes(8, "big"),
        conv, SYSTEM_AUTHOR, SYSTEM_AUTHOR, 0, lamport, when, text, False, STATUS_READ)


def is_system(row: MessageRow) -> bool:
    return row.author == SYSTEM_AUTHOR
