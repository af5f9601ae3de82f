"""A group's avatar, drawn from its members as Messages does: up to three members'
initials in small circles of their colours inside one round avatar.

The sidebar's model hands the delegate an avatar's text (``ConvRole.Initials``); for a
group that text is :func:`group_key` (the members' ids and initials), which
:func:`paint_group` draws. The chat header and the group info panel show a
:class:`GroupAvatar`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

from kith.app.gui import theme

SEP = "\x1f"  # between members in a group's avatar key
MAX_SHOWN = 3


def _initial(name: str) -> str:
    for ch in name.strip():
        if ch.isalnum():
            return ch.upper()
    return "?"


def group_members(bridge: object, conv: bytes) -> list[tuple[bytes, str]]:
    """The members an avatar shows: up to three other than me, by name (just me, if I
    am alone in it)."""
    from kith.app.gui.bridge import Bridge

    assert isinstance(bridge, Bridge)
    node = bridge.node
    groups = node.core.groups
    g = groups.get(conv)
    if g is None:
        return []
    people = sorted(((u, groups.name_of(u, g)) for u in g.state.members if u != node.user_id),
                    key=lambda x: (x[1].casefold(), x[0]))
    return people[:MAX_SHOWN] or [(node.user_id, node.core.name)]


def group_key(members: list[tuple[bytes, str]]) -> str:
    """What the sidebar's model hands its delegate for a group's avatar."""
    return SEP.join(f"{u.hex()}:{_initial(n)}" for u, n in members[:MAX_SHOWN])


def is_group_key(text: str) -> bool:
    return ":" in text and all(len(p.split(":", 1)[0]) == 64 for p in text.split(SEP))


def _parse(text: str) -> list[tuple[bytes, str]]:
    out = []
    for part in text.split(SEP)[:MAX_SHOWN]:
        uid, _, letter = part.partition(":")
        try:
            out.append((bytes.fromhex(uid), letter[:1] or "?"))
        except ValueError:
            continue
    return out


def circles(rect: QRectF, n: int) -> list[QRectF]:
    """Where the members' circles go inside ``rect``: one in the middle; two on a
    diagonal; three in a triangle. Each stays inside the round avatar."""
    if n <= 0:
        return []
    w = rect.width()
    if n == 1:
        d = w * 0.62
        return [QRectF(rect.center().x() - d / 2, rect.center().y() - d / 2, d, d)]
    d = w * (0.5 if n == 2 else 0.44)
    r = (w / 2 - d / 2) * (0.78 if n == 2 else 0.84)  # distance of each centre from the middle
    start = -3 * math.pi / 4 if n == 2 else -math.pi / 2
    out = []
    for i in range(n):
        a = start + i * 2 * math.pi / n
        cx = rect.center().x() + r * math.cos(a)
        cy = rect.center().y() + r * math.sin(a)
        out.append(QRectF(cx - d / 2, cy - d / 2, d, d))
    return out


def paint_group(painter: QPainter, rect: QRectF, key: str, font: QFont,
                ground: QColor | None = None) -> None:
    """A group's avatar: a round ground, and in it a small circle per member shown (up
    to three), each in the member's colour with their initial."""
    members = _parse(key)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(ground or QColor("#c9ced6"))
    painter.drawEllipse(rect)
    spots = circles(rect, len(members))
    f = QFont(font)
    f.setBold(True)
    for (user, letter), spot in zip(members, spots, strict=True):
        painter.setBrush(theme.avatar_colour(user))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(spot)
        painter.setPen(QColor(255, 255, 255))
        f.setPixelSize(max(7, int(spot.height() * 0.5)))
        painter.setFont(f)
        painter.drawText(spot, Qt.AlignmentFlag.AlignCenter, letter)
    painter.restore()


class GroupAvatar(QWidget):
    """A group's avatar as a widget (the chat header, the group info panel)."""

    def __init__(self, size: int = 36, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("groupAvatar")
        self.setFixedSize(size, size)
        self.key = ""
        self.hide()

    def set_members(self, members: list[tuple[bytes, str]]) -> None:
        self.key = group_key(members)
        self.setAccessibleName(", ".join(n for _, n in members))
        self.update()

    def sizeHint(self) -> QSize:
        return self.size()

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        ground = self.palette().color(QPalette.ColorRole.Mid)
        paint_group(p, QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), self.key,
                    self.font(), ground)
        p.end()
