"""Our messages that wait for this device's history to be known (p2p.restore), in the chat.

After a start (and after a restore from a backup) a message written before one of my
devices or the contact has said where this device's part of the conversation ends waits:
it is kept, shown at once with a waiting mark where the sending/delivered marks go, and
becomes a normal sent message once it is written (the node then reports the written row,
under a new id if it was numbered anew). The model asks this module; nothing here keeps
state of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from kith.p2p.messages import MessageBody
from kith.storage import STATUS_WAITING, MessageRow
from kith.storage.files import AttachmentRow

if TYPE_CHECKING:
    from kith.app.gui.bridge import Bridge
    from kith.app.gui.models import MessageModel
    from kith.p2p.node import Node


def is_waiting(r: MessageRow) -> bool:
    return r.status == STATUS_WAITING


def status_text() -> str:
    return QCoreApplication.translate("Waiting", "Waiting")


def tooltip(name: str) -> str:
    """Why it waits; ``name``: the contact's (empty in a group)."""
    if name:
        return QCoreApplication.translate(
            "Waiting", "Waiting to learn where this device's history ends — it is sent "
            "when one of your devices or {name} is back").format(name=name)
    return QCoreApplication.translate(
        "Waiting", "Waiting to learn where this device's history ends — it is sent when "
        "one of your devices or a member of the group is back")


def rows(bridge: Bridge, conv: bytes) -> list[MessageRow]:
    """Our messages of ``conv`` that wait, oldest first (after everything written)."""
    return bridge.node.core.messages.waiting_rows(conv)


def written(bridge: Bridge, loaded: list[MessageRow]) -> dict[bytes, MessageRow]:
    """Of the loaded rows that waited, those written now: waiting id -> the stored row."""
    out = {}
    messages = bridge.node.core.messages
    for r in loaded:
        if is_waiting(r):
            stored = messages.current(r)
            if stored.seq:
                out[r.event_id] = stored
    return out


def settle(model: MessageModel, rows: list[MessageRow]) -> list[MessageRow]:
    """Before ``rows`` are added to the chat: ours that waited and are written now leave
    as waiting rows and come back, written, with the rows returned."""
    loaded = [model.row(i) for i in range(model.rowCount())]
    done = written(model.bridge, [r for r in loaded if is_waiting(r)])
    if not done:
        return rows
    model.update_rows(dict.fromkeys(done))  # (None: the waiting row goes)
    ids = {r.event_id for r in rows}
    return [*rows, *(r for r in done.values() if r.event_id not in ids)]


def attachments(node: Node, r: MessageRow) -> list[AttachmentRow]:
    """The files of our waiting message ``r`` (app.gui.filebubbles shows them)."""
    for e, body in node.core.log.held_events(r.conv):
        if e.id == r.event_id and isinstance(body, MessageBody):
            return node.files.waiting_attachments(e, body)
    return []
