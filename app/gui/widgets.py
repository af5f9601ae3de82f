"""Small widgets shared by the window's parts."""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QSpacerItem,
    QWidget,
)

READABLE_CHARS = 52  # a message box's explanation wraps at about this many characters


class ElidedLabel(QLabel):
    """One line of plain text that ends in "…" when it does not fit, and never asks for
    more width than a few characters: a long name cannot push anything out of view.
    ``text()`` is the whole text (and the tooltip, when it is cut)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self._update_tooltip()

    def minimumSizeHint(self) -> QSize:
        # as tall as a QLabel with this text, as narrow as "…"
        return QSize(self.fontMetrics().horizontalAdvance("…") * 3,
                     super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self.text()) + 2,
                     super().sizeHint().height())

    def shown_text(self) -> str:
        """What is on screen: the text, elided to the width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                            self.contentsRect().width())

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        self.setToolTip(self.text() if self.shown_text() != self.text() else "")

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        align = (self.alignment() & Qt.AlignmentFlag.AlignHorizontal_Mask) \
            | Qt.AlignmentFlag.AlignVCenter
        self.style().drawItemText(p, self.contentsRect(), int(align.value), self.palette(),
                                  self.isEnabled(), self.shown_text(), self.foregroundRole())
        p.end()


def widen_message_box(box: QMessageBox, chars: int = READABLE_CHARS) -> None:
    """Let ``box``'s explanation (its informative text) run in lines of about ``chars``
    characters: a message box is as wide as its short main text asks and wraps the rest
    into a narrow column. A spacer under the text sets the width the text column may not
    go under. Call it after ``setInformativeText``."""
    layout = box.layout()
    body = next((lb for lb in box.findChildren(QLabel)
                 if lb.text() and lb.text() == box.informativeText()), None)
    if not isinstance(layout, QGridLayout) or body is None or layout.indexOf(body) < 0:
        return
    # (PySide6 types the position as object: it is (row, column, rows, columns))
    _row, column, _rows, columns = cast(tuple[int, int, int, int],
                                        layout.getItemPosition(layout.indexOf(body)))
    width = body.fontMetrics().averageCharWidth() * chars
    layout.addItem(QSpacerItem(width, 0, QSizePolicy.Policy.Minimum,
                               QSizePolicy.Policy.Minimum),
                   layout.rowCount(), column, 1, columns)

