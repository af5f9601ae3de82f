"""Small widgets shared by the window's parts."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


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
