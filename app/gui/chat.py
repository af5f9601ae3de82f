"""The chat pane: header, key-change / request banner, message list, typing bubble, composer."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPoint, QRect, QRectF, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.delegates import BubbleDelegate
from app.gui.models import MessageModel, MsgRole

TYPING_POLL_MS = 1000  # while the bubble shows, ask the core whether they still type
TYPING_RESEND_MS = 3000  # while typing, tell the peer again this often


class ChatView(QListView):
    """The message list: bottom-anchored, pages older messages in at the top.

    Signals:
        linkActivated(url: str)
        retryRequested(): "Retry" under an undelivered message was clicked
    """

    linkActivated = Signal(str)
    retryRequested = Signal()

    def __init__(self, model: MessageModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageList")
        self.open_links = True
        self.setModel(model)
        self.bubbles = BubbleDelegate(self)
        self.setItemDelegate(self.bubbles)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self.on_context_menu)
        self._from_bottom = 0  # pixels between the visible bottom and the content's end
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self.on_scrolled)
        bar.rangeChanged.connect(self.on_range_changed)
        model.modelReset.connect(self.on_model_reset)
        self._fetch_pending = False
        self._keep_value: int | None = None  # hold the scroll value while newer rows land

    def message_model(self) -> MessageModel:
        model = self.model()
        assert isinstance(model, MessageModel)
        return model

    # -- scrolling ---------------------------------------------------------------------------

    def on_model_reset(self) -> None:
        self._from_bottom = 0
        self._keep_value = None
        self.bubbles.clear_cache()

    def on_range_changed(self, _minimum: int, maximum: int) -> None:
        # Keep the content's bottom where it was: new pages above do not move the view,
        # and a view at the bottom stays there as messages arrive or the window resizes.
        if self._keep_value is not None:  # rows came in below: the top stays put
            self.verticalScrollBar().setValue(self._keep_value)
            self._from_bottom = maximum - self._keep_value
            return
        self.verticalScrollBar().setValue(max(0, maximum - self._from_bottom))

    def on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if self._keep_value is not None and value != self._keep_value:
            self._keep_value = None  # the user scrolls on
        self._from_bottom = bar.maximum() - value
        if value <= bar.minimum() and self.message_model().has_older() and not self._fetch_pending:
            self._fetch_pending = True
            QTimer.singleShot(0, self.fetch_older)
        elif (value >= bar.maximum() and self.message_model().has_newer()
              and not self._fetch_pending):
            self._fetch_pending = True
            QTimer.singleShot(0, self.fetch_newer)

    def fetch_newer(self) -> None:
        self._fetch_pending = False
        self._keep_value = self.verticalScrollBar().value()
        if not self.message_model().load_newer():
            self._keep_value = None

    def fetch_older(self) -> None:
        self._fetch_pending = False
        model = self.message_model()
        model.at_top = True
        if model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
        model.at_top = False

    def at_bottom(self) -> bool:
        return self._from_bottom <= 4

    def scroll_to_row(self, row: int) -> None:
        index = self.model().index(row, 0)
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.setCurrentIndex(index)
        self._from_bottom = self.verticalScrollBar().maximum() - self.verticalScrollBar().value()

    def resizeEvent(self, e) -> None:  # noqa: ANN001
        self.bubbles.clear_cache()
        super().resizeEvent(e)

    # -- links, copy ---------------------------------------------------------------------------

    def _anchor_at(self, pos: QPoint) -> str:
        index = self.indexAt(pos)
        if not index.isValid():
            return ""
        return self.bubbles.anchor_at(index, self.visualRect(index), pos)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        link = self._anchor_at(e.position().toPoint())
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor if link
                                  else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(e)

    def retry_rect(self, row: int) -> QRect:
        """Where "Retry" is under message ``row`` (viewport coordinates), or empty."""
        index = self.model().index(row, 0)
        return self.bubbles.retry_rect(index, self.visualRect(index))

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if e.button() == Qt.MouseButton.LeftButton:
            pos = e.position().toPoint()
            index = self.indexAt(pos)
            if index.isValid() and self.retry_rect(index.row()).contains(pos):
                self.retryRequested.emit()
                return
            link = self._anchor_at(pos)
            if link:
                self.activate_link(link)
        super().mouseReleaseEvent(e)

    def activate_link(self, link: str) -> None:
        self.linkActivated.emit(link)
        if self.open_links:
            QDesktopServices.openUrl(QUrl(link))

    def selected_text(self) -> str:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        model = self.message_model()
        return "\n".join(str(model.index(r).data(MsgRole.Text)) for r in rows)

    def copy_selection(self) -> None:
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
            return
        super().keyPressEvent(e)

    def on_context_menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if index.isValid() and not self.selectionModel().isSelected(index):
            self.setCurrentIndex(index)
        menu = QMenu(self)
        menu.setObjectName("messageMenu")
        copy = menu.addAction("Copy")
        copy.setObjectName("copyAction")
        copy.setEnabled(bool(self.selectionModel().selectedIndexes()))
        copy.triggered.connect(self.copy_selection)
        link = self._anchor_at(pos)
        if link:
            act = menu.addAction("Copy link")
            act.triggered.connect(lambda: QGuiApplication.clipboard().setText(link))
            act = menu.addAction("Open link")
            act.triggered.connect(lambda: self.activate_link(link))
        menu.addAction("Select all", self.selectAll)
        menu.popup(self.viewport().mapToGlobal(pos))


class Composer(QPlainTextEdit):
    """Multi-line message field: Enter sends, Shift+Enter starts a new line.

    Signals:
        submitted()
    """

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setPlaceholderText("Message")
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.document().contentsChanged.connect(self._fit)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit()

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
        lines = max(1, min(6, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(lines * line + frame + 4)


class TypingBubble(QWidget):
    """An incoming-style bubble with three dots, shown while the other person types.

    Whether someone types is the core's answer (``Node.typing``, which forgets a typist
    who went quiet); while shown, the bubble asks again every ``TYPING_POLL_MS``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("typingIndicator")
        self.setFixedHeight(40)
        self.setAccessibleName("typing")
        self.source: Callable[[], bool] = lambda: False
        self.timer = QTimer(self)
        self.timer.setInterval(TYPING_POLL_MS)
        self.timer.timeout.connect(self.update_state)
        self.hide()

    def update_state(self) -> None:
        self.set_active(self.source())

    def set_active(self, active: bool) -> None:
        if active:
            if not self.timer.isActive():
                self.timer.start()
            self.show()
        else:
            self.timer.stop()
            self.hide()

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))  # continue the list's ground
        bubble = QRectF(BubbleDelegate.SIDE, 4, 58, 32)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.incoming_bubble(pal))
        p.drawRoundedRect(bubble, 16, 16)
        dot = QColor(theme.muted_text(pal))
        p.setBrush(dot)
        for i in range(3):
            p.drawEllipse(QRectF(bubble.left() + 14 + i * 11, bubble.center().y() - 4, 8, 8))
        p.end()

    def sizeHint(self) -> QSize:
        return QSize(100, 40)


class Banner(QFrame):
    """A coloured strip above the messages with a text and buttons."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        self.label = QLabel()
        self.label.setObjectName(name + "Text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.buttons = QHBoxLayout()
        layout.addLayout(self.buttons)
        self.hide()

    def add_button(self, text: str, name: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        self.buttons.addWidget(b)
        return b

    def set_warning(self, warning: bool) -> None:
        pal = self.palette()
        base = self.window().palette() if self.window() else pal
        if warning:
            colour = QColor("#5a3a10") if theme.is_dark(base) else QColor("#fff1d6")
        else:
            colour = base.color(QPalette.ColorRole.AlternateBase)
        pal.setColor(QPalette.ColorRole.Window, colour)
        self.setPalette(pal)


class ChatHeader(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 10, 10, 10)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        self.name = QLabel()
        self.name.setObjectName("chatTitle")
        f = self.name.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.name.setFont(f)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("chatSubtitle")
        texts.addWidget(self.name)
        texts.addWidget(self.subtitle)
        layout.addLayout(texts, 1)
        self.info = QToolButton()
        self.info.setObjectName("contactInfoButton")
        self.info.setText("Contact info")
        self.info.setToolTip("Safety number, QR code and verification")
        layout.addWidget(self.info)
