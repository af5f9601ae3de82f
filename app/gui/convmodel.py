"""The sidebar's conversation list as a Qt item model (accepted contacts and sent
requests), with its roles; the conversation delegate paints from them."""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    Qt,
)

from kith.app.gui.bridge import Bridge, Conversation
from kith.app.gui.qtypes import AnyIndex
from kith.app.gui.timefmt import short_time
from kith.p2p.membership import is_group_id


def initials(name: str) -> str:
    """Up to two letters for an avatar: "Bob Smith" is BS, "alice" is AL."""
    parts = [p for p in name.replace("_", " ").replace(".", " ").split() if p]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper() if len(parts[0]) > 1 else parts[0].upper()
    return (parts[0][0] + parts[-1][0]).upper()


class ConvRole(enum.IntEnum):
    UserId = Qt.ItemDataRole.UserRole + 1
    Name = enum.auto()
    Initials = enum.auto()
    Preview = enum.auto()
    Time = enum.auto()
    Unread = enum.auto()
    Verified = enum.auto()
    KeyChanged = enum.auto()
    Online = enum.auto()
    State = enum.auto()
    Conv = enum.auto()
    KeyHint = enum.auto()  # the key, shown when another key goes by the same name
    Muted = enum.auto()
    MarkedUnread = enum.auto()  # "Mark as unread": a dot, no count


class ConversationModel(QAbstractListModel):
    """The sidebar's conversations (accepted contacts and sent requests)."""

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge
        self._items: list[Conversation] = []

    def refresh(self) -> None:
        items = self.bridge.conversations()
        if [c.user_id for c in items] == [c.user_id for c in self._items]:
            self._items = items
            if items:
                self.dataChanged.emit(self.index(0), self.index(len(items) - 1))
            return
        self.beginResetModel()
        self._items = items
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def item(self, row: int) -> Conversation:
        return self._items[row]

    def row_of(self, user: bytes) -> int:
        for i, c in enumerate(self._items):
            if c.user_id == user:
                return i
        return -1

    def roleNames(self) -> dict[int, QByteArray]:
        return {r.value: QByteArray(r.name.encode()) for r in ConvRole}

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        c = self._items[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, ConvRole.Name):
            return c.name
        if role == Qt.ItemDataRole.AccessibleTextRole:
            unread = self.tr(", %n unread", None, c.unread) if c.unread else ""
            key = (self.tr(", key {key}").format(key=c.key_hint) if c.key_hint else "")
            mark = (self.tr(", different key") if c.key_changed
                    else (self.tr(", verified") if c.verified else ""))
            return f"{c.name}{key}{mark}{unread}"
        if role == Qt.ItemDataRole.ToolTipRole:  # (a collapsed sidebar shows no names)
            return c.name + (f" ({c.key_hint})" if c.key_hint else "")
        if role == ConvRole.KeyHint:
            return c.key_hint
        if role == ConvRole.Muted:
            return c.muted
        if role == ConvRole.UserId:
            return c.user_id
        if role == ConvRole.Conv:
            return c.conv
        if role == ConvRole.Initials:
            if is_group_id(c.conv):  # drawn from its members (app.gui.avatars)
                from kith.app.gui.avatars import group_key, group_members

                return group_key(group_members(self.bridge, c.conv))
            return initials(c.name)
        if role == ConvRole.Preview:
            if c.replaced:
                return self.tr("Old key: they use a new one now")
            if c.state == "pending_out":
                return self.tr("Request sent. Waiting for them to accept…")
            if c.last is None:
                return self.tr("No messages yet. Say hello!")
            if c.last.unsent:  # (message actions: the text is gone)
                return (self.tr("You unsent a message") if c.last.outgoing
                        else self.tr("A message was unsent"))
            text = " ".join(c.last.text.split()) or self.tr("📎 File")  # (files without a caption)
            return self.tr("You: {text}").format(text=text) if c.last.outgoing else text
        if role == ConvRole.Time:
            return short_time(c.last.time) if c.last else ""
        if role == ConvRole.Unread:
            return c.unread
        if role == ConvRole.MarkedUnread:
            return c.marked_unread
        if role == ConvRole.Verified:
            return c.verified
        if role == ConvRole.KeyChanged:
            return c.key_changed
        if role == ConvRole.Online:
            return c.online
        if role == ConvRole.State:
            return c.state
        return None
