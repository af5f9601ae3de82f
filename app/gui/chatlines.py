"""The lines of a chat between its bubbles, as the bubble delegate paints them: the day
or time header, the "New messages" divider and a system line (a trust event, a timer
set: one centred line, cut in the middle when it is too long)."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter


def paint_header(painter: QPainter, area: QRect, text: str, font: QFont,
                 colour: QColor) -> None:
    """The day or time separator above a message."""
    painter.setFont(font)
    painter.setPen(colour)
    painter.drawText(area, Qt.AlignmentFlag.AlignCenter, text)


def paint_divider(painter: QPainter, area: QRect, label: str, font: QFont, colour: QColor,
                  side: int) -> None:
    """A line with ``label`` ("New messages") on it, ``side`` pixels in from the edges."""
    painter.setFont(font)
    painter.setPen(colour)
    label_w = QFontMetrics(font).horizontalAdvance(label) + 16
    mid = area.center().y()
    cx = area.center().x()
    painter.drawLine(area.left() + side, mid, cx - label_w // 2, mid)
    painter.drawLine(cx + label_w // 2, mid, area.right() - side, mid)
    painter.drawText(area, Qt.AlignmentFlag.AlignCenter, label)


def paint_system_line(painter: QPainter, area: QRect, text: str, font: QFont,
                      colour: QColor) -> None:
    """A system line: centred, cut in the middle to fit."""
    painter.setFont(font)
    painter.setPen(colour)
    shown = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideMiddle, area.width())
    painter.drawText(area, Qt.AlignmentFlag.AlignCenter, shown)
