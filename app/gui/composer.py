"""The composer: a rounded field that grows with its text up to about six lines, and
the Send button (an icon) beside it. Features put their buttons into the field with
:meth:`ComposerField.add_tool` (attach at the start; emoji and the timer before Send), so
every button has the same size and none squeezes the text."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from kith.app.gui import theme

MAX_LINES = 6


class Composer(QPlainTextEdit):
    """Multi-line message field: Enter sends, Shift+Enter starts a new line.

    Signals:
        submitted()
    """

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAccessibleName(self.tr("Message"))
        self.full_placeholder = ""
        self.setPlaceholderText(self.tr("Message"))
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.document().contentsChanged.connect(self._fit)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit()

    def setPlaceholderText(self, text: str) -> None:  # noqa: N802
        """The hint, on one line: elided to the field's width (a long name wrapped it
        to a second line that the one-line field cut in half)."""
        self.full_placeholder = text
        self._elide_placeholder()

    def _elide_placeholder(self) -> None:
        margin = int(self.document().documentMargin() * 2) + 4
        width = max(0, self.viewport().width() - margin)
        super().setPlaceholderText(self.fontMetrics().elidedText(
            self.full_placeholder, Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self._elide_placeholder()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            e.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.submitted.emit()
            return
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.insertPlainText("\n")
            return
        super().keyPressEvent(e)

    def _fit(self) -> None:
        line = self.fontMetrics().lineSpacing()
        lines = max(1, min(MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(lines * line + frame + 4)



class ComposerField(QFrame):
    """The composer in a rounded field (painted from the palette, so it follows a theme
    change), with the Send icon button at its right."""

    RADIUS = 18.0

    def __init__(self, composer: Composer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerField")
        self.composer = composer
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 5, 5, 5)
        row.setSpacing(2)
        row.addWidget(composer, 1)
        self._row = row
        self._leading = 0  # tools before the text
        self.send_button = theme.IconButton("send", "➤")
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip(self.tr("Send (Enter)"))
        self.send_button.setAccessibleName(self.tr("Send"))
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        # the text edit is transparent: the field is its ground
        composer.viewport().setAutoFillBackground(False)
        composer.setAutoFillBackground(False)

    def add_tool(self, icon: str, fallback: str, name: str, tip: str, *,
                  leading: bool = False) -> QToolButton:
        """A button of a feature in the field: ``leading`` ones before the text (attach),
        the others after it, before Send, in the order added; icon from
        ``resources/icons`` (``fallback`` text without it)."""
        b = theme.IconButton(icon, fallback)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.setAccessibleName(tip)
        b.setFixedSize(self.TOOL, self.TOOL)
        b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        if leading:
            self._row.insertWidget(self._leading, b, 0, Qt.AlignmentFlag.AlignBottom)
            self._leading += 1
            self._row.setContentsMargins(5, 5, 5, 5)
        else:
            self._row.insertWidget(self._row.indexOf(self.send_button), b, 0,
                                   Qt.AlignmentFlag.AlignBottom)
        return b

    TOOL = 30  # px, every tool button of the field

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = min(self.RADIUS, r.height() / 2)
        p.drawRoundedRect(r, radius, radius)
        p.end()
