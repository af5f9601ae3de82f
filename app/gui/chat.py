"""The chat pane: header, key-change / request banner, message list, typing bubble, composer."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
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
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QListView,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui import theme
from kith.app.gui.delegates import BubbleDelegate
from kith.app.gui.models import MAX_ROWS, PAGE, MessageModel, MsgRole
from kith.app.gui.widgets import ElidedLabel

TYPING_POLL_MS = 1000  # while the bubble shows, ask the core whether they still type
TYPING_RESEND_MS = 3000  # while typing, tell the peer again this often
TYPING_FRAME_MS = 60  # the dots' animation: one frame this often
TYPING_FRAMES = 24  # frames per cycle (about 1.4 s)


class ChatView(QListView):
    """The message list: bottom-anchored, pages older messages in near the top (and newer
    ones near the bottom when it does not show the present), keeping a bounded window of
    rows loaded.

    Where the view stays when rows come, go or change size: at the bottom if it was there
    (new messages scroll into view), else on the row at its top edge, at the same pixel
    (a page loading above or below, or a window resize, does not move what the user reads).

    Signals:
        linkActivated(url: str)
        retryRequested(): "Retry" under an undelivered message was clicked
        atBottomChanged(at_bottom: bool): the newest message came into view, or left it
        jumpRequested(): the "↓ N new" button was clicked
    """

    linkActivated = Signal(str)
    retryRequested = Signal()
    atBottomChanged = Signal(bool)
    jumpRequested = Signal()

    def __init__(self, model: MessageModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # (first: the setters below already call doItemsLayout, which reads these)
        self._from_bottom = 0  # pixels between the visible bottom and the content's end
        self._newer_unloaded = False  # the model did not reach the present, last we looked
        # the row at the top edge and its y, as of the last scroll or layout
        self._top: tuple[QPersistentModelIndex, int] | None = None
        self._in_layout = False
        self._fetch_pending = False
        self._trim_pending = False
        self._was_at_bottom = True
        self.setObjectName("messageList")
        self.setAccessibleName(self.tr("Messages"))
        self.open_links = True
        self.menu_hooks: list[Callable[[QMenu, QModelIndex], None]] = []
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
        # the space above a short chat (see _settle_at_bottom) is the list's ground too
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self.on_context_menu)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self.on_scrolled)
        bar.rangeChanged.connect(self.on_range_changed)
        model.modelReset.connect(self.on_model_reset)
        # "↓ 3 new": while scrolled up, back to the newest message
        self.jump_button = QToolButton(self)
        self.jump_button.setObjectName("jumpToNewButton")
        self.jump_button.setToolTip(self.tr("Go to the newest message"))
        self.jump_button.setAccessibleName(self.tr("Go to the newest message"))
        self.jump_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.jump_button.clicked.connect(self.jumpRequested.emit)
        self.jump_button.hide()
        self._new_count = 0
        self.empty_state = ChatEmptyState(self)
        self.empty_state.hide()
        for sig in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            sig.connect(self._place_empty_state)

    def message_model(self) -> MessageModel:
        model = self.model()
        assert isinstance(model, MessageModel)
        return model

    # -- scrolling ---------------------------------------------------------------------------

    def on_model_reset(self) -> None:
        # another chat, or the present after a window far back: start at the bottom
        self._from_bottom = 0
        self._newer_unloaded = self.message_model().has_newer()
        self._top = None
        self.bubbles.clear_cache()

    def _sticks_to_bottom(self) -> bool:
        return self._from_bottom <= 4 and not self._newer_unloaded

    def _remember(self) -> None:
        """Note where the view is, for the next layout to keep it there."""
        bar = self.verticalScrollBar()
        self._from_bottom = bar.maximum() - bar.value()
        self._newer_unloaded = self.message_model().has_newer()
        index = self.indexAt(QPoint(0, 0))
        self._top = (QPersistentModelIndex(index), self.visualRect(index).top()) \
            if index.isValid() else None
        at = self.shows_newest()
        if at != self._was_at_bottom:
            self._was_at_bottom = at
            self._place_jump_button()
            self.atBottomChanged.emit(at)

    def shows_newest(self) -> bool:
        """The newest message is loaded and on screen."""
        return self.at_bottom() and not self._newer_unloaded

    def set_new_count(self, n: int) -> None:
        """How many unread messages the "↓" button announces."""
        self._new_count = n
        self._place_jump_button()

    def _place_empty_state(self) -> None:
        empty = self.model().rowCount() == 0 and self.message_model().conv is not None
        self.empty_state.setVisible(empty)
        if empty:
            vp = self.viewport().geometry()
            width = min(vp.width() - 32, 420)
            height = self.empty_state.heightForWidth(width)
            height = max(height, self.empty_state.sizeHint().height())
            self.empty_state.setGeometry(vp.left() + (vp.width() - width) // 2,
                                         vp.top() + max(0, (vp.height() - height) // 2),
                                         width, height)

    def _place_jump_button(self) -> None:
        b = self.jump_button
        b.setText(self.tr("↓ {count} new").format(count=self._new_count)
                  if self._new_count else "↓")
        b.adjustSize()
        vp = self.viewport().geometry()
        b.move(vp.right() - b.width() - 16, vp.bottom() - b.height() - 12)
        b.setVisible(not self.shows_newest())
        b.raise_()

    def doItemsLayout(self) -> None:
        """Lay the rows out (Qt calls this after rows came or went, or a resize), then put
        the view back where it was (see the class docstring)."""
        if self._in_layout:
            super().doItemsLayout()
            return
        stick, top = self._sticks_to_bottom(), self._top
        self._in_layout = True
        try:
            super().doItemsLayout()
        finally:
            self._in_layout = False
        bar = self.verticalScrollBar()
        if stick:
            bar.setValue(bar.maximum())
        elif top is not None and top[0].isValid():
            index, y = top
            moved = self.visualRect(self.model().index(index.row(), 0)).top() - y
            if moved:
                bar.setValue(bar.value() + moved)
        self._remember()
        self._settle_at_bottom()
        self._maybe_fetch()
        if self.model().rowCount() > MAX_ROWS + PAGE and not self._trim_pending:
            self._trim_pending = True  # many messages came in: forget the farthest
            QTimer.singleShot(0, self, self._trim)

    def _settle_at_bottom(self) -> None:
        """A chat shorter than the view sits at its bottom, next to the composer and the
        typing bubble, as in other messengers: the space above it is a top margin (which
        shrinks to nothing once the chat fills the view)."""
        margin = self.viewportMargins().top()
        total = self.viewport().height() + margin
        content = self.contentsSize().height() if self.model().rowCount() else total
        wanted = max(0, total - content)
        if wanted != margin:
            self.setViewportMargins(0, wanted, 0, 0)  # lays out again, then settles

    def _trim(self) -> None:
        self._trim_pending = False
        if not self.isVisible():
            return
        model = self.message_model()
        excess = model.rowCount() - MAX_ROWS
        if excess <= 0:
            return
        first, last = self._visible_rows()
        above, below = first - PAGE, model.rowCount() - 1 - last - PAGE
        if above >= below:
            model.drop_oldest(min(excess, above))
        else:
            model.drop_newest(min(excess, below))

    def on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._in_layout:
            return  # doItemsLayout puts the view back once the layout is complete
        if self._sticks_to_bottom():
            self.verticalScrollBar().setValue(maximum)
        self._remember()

    def on_scrolled(self, _value: int) -> None:
        if self._in_layout:
            return
        self._remember()
        self._maybe_fetch()

    def _maybe_fetch(self) -> None:
        """Load the next page before the user reaches the end of what is loaded: within
        a screen of the top (older) or of the bottom of a window that does not reach the
        present (newer)."""
        if self._fetch_pending:
            return
        bar = self.verticalScrollBar()
        model = self.message_model()
        margin = self.viewport().height()
        if model.has_older() and bar.value() - bar.minimum() <= margin:
            self._fetch_pending = True
            QTimer.singleShot(0, self, self._prepare_older)
        elif model.has_newer() and bar.maximum() - bar.value() <= margin:
            self._fetch_pending = True
            QTimer.singleShot(0, self, self._prepare_newer)

    # A page comes in two loop turns, each well within a frame: read it and lay out its
    # texts, then insert it (which lays out the whole view again).

    def _prepare_older(self) -> None:
        if self.isVisible():
            self.bubbles.warm(self.message_model().peek_older())
        QTimer.singleShot(0, self, self.fetch_older)

    def _prepare_newer(self) -> None:
        if self.isVisible():
            self.bubbles.warm(self.message_model().peek_newer())
        QTimer.singleShot(0, self, self.fetch_newer)

    def _visible_rows(self) -> tuple[int, int]:
        """First and last row on screen (0 and the last row if it shows none)."""
        rect = self.viewport().rect()
        first = self.indexAt(QPoint(0, 0))
        last = self.indexAt(QPoint(0, rect.height() - 1))
        n = self.model().rowCount()
        return (first.row() if first.isValid() else 0,
                last.row() if last.isValid() else n - 1)

    def fetch_older(self) -> None:
        self._fetch_pending = False
        if not self.isVisible():  # closed meanwhile (the node may be gone too)
            return
        model = self.message_model()
        if not model.has_older():
            return
        _, last = self._visible_rows()
        model.at_top = True
        before = model.rowCount()
        if model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
        model.at_top = False
        came = model.rowCount() - before
        # keep the window bounded: forget rows far below the screen
        spare = model.rowCount() - 1 - (last + came) - PAGE
        model.drop_newest(min(model.rowCount() - MAX_ROWS, spare))
        if came:
            self.doItemsLayout()  # now, not on the next loop turn: no frame in between

    def fetch_newer(self) -> None:
        self._fetch_pending = False
        if not self.isVisible():  # closed meanwhile (the node may be gone too)
            return
        model = self.message_model()
        if not model.has_newer():
            return
        first, _ = self._visible_rows()
        came = model.load_newer()
        model.drop_oldest(min(model.rowCount() - MAX_ROWS, first - PAGE))
        if came:
            self.doItemsLayout()

    def at_bottom(self) -> bool:
        return self._from_bottom <= 4

    def is_loading(self) -> bool:
        """A page is about to come in (on the next loop turns)."""
        return self._fetch_pending

    def show_row_at_top(self, row: int) -> None:
        """Scroll so that ``row`` (the first unread message) is at the top, if it can."""
        self.scrollTo(self.model().index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop)
        self._remember()

    def scroll_to_row(self, row: int) -> None:
        index = self.model().index(row, 0)
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.setCurrentIndex(index)
        self._remember()
        self._maybe_fetch()  # near the end of what is loaded: the next page comes

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self._place_jump_button()
        self._place_empty_state()
        if e.size().width() != e.oldSize().width():
            # bubbles wrap to the width: heights change (QListView itself lays out again
            # only when the height changes)
            self.scheduleDelayedItemsLayout()

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
        if self.open_links and not link.startswith("kith-"):  # (kith-*: app/gui/actions.py)
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
        copy = menu.addAction(self.tr("Copy"))
        copy.setObjectName("copyAction")
        copy.setEnabled(bool(self.selectionModel().selectedIndexes()))
        copy.triggered.connect(self.copy_selection)
        link = self._anchor_at(pos)
        if link:
            act = menu.addAction(self.tr("Copy link"))
            act.triggered.connect(lambda: QGuiApplication.clipboard().setText(link))
            act = menu.addAction(self.tr("Open link"))
            act.triggered.connect(lambda: self.activate_link(link))
        menu.addAction(self.tr("Select all"), self.selectAll)
        for hook in self.menu_hooks:  # (reply, react, edit, unsend...: app/gui/actions.py)
            hook(menu, index)
        menu.popup(self.viewport().mapToGlobal(pos))


class ChatEmptyState(QWidget):
    """What an empty chat shows: the person, whether they are verified, and a hint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatEmptyState")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(6)
        self.avatar = QLabel()
        self.avatar.setObjectName("chatEmptyAvatar")
        self.avatar.setFixedSize(64, 64)
        self.avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignHCenter)
        self.name = ElidedLabel()
        self.name.setObjectName("chatEmptyName")
        self.name.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        f = self.name.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.3)
        self.name.setFont(f)
        layout.addWidget(self.name)
        self.trust = QLabel()
        self.trust.setObjectName("chatEmptyTrust")
        self.trust.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.trust.setWordWrap(True)
        layout.addWidget(self.trust)
        self.hint = QLabel()
        self.hint.setObjectName("chatEmptyHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.hint.setWordWrap(True)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.hint)

    def present(self, name: str, user: bytes, initials: str, trust: str, hint: str) -> None:
        colour = theme.avatar_colour(user).name()
        self.avatar.setText(initials)
        self.avatar.setStyleSheet(f"background: {colour}; color: white; border-radius: 32px;"
                                  " font-weight: bold; font-size: 22px;")
        self.name.setText(name)
        self.trust.setText(trust)
        self.hint.setText(hint)


class TypingBubble(QWidget):
    """An incoming-style bubble with three dots, shown while the other person types.

    Whether someone types is the core's answer (``Node.typing``, which forgets a typist
    who went quiet); while shown, the bubble asks again every ``TYPING_POLL_MS``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("typingIndicator")
        self.setFixedHeight(40)
        self.setAccessibleName(self.tr("typing"))
        self.source: Callable[[], bool] = lambda: False
        self.text = ""  # beside the dots in a group: "Bob is typing…" (app.gui.groups)
        self.timer = QTimer(self)
        self.timer.setInterval(TYPING_POLL_MS)
        self.timer.timeout.connect(self.update_state)
        # the dots rise and fade one after the other, as in other messengers
        self.phase = 0
        self.animation = QTimer(self)
        self.animation.setInterval(TYPING_FRAME_MS)
        self.animation.timeout.connect(self._step)
        self.hide()

    def _step(self) -> None:
        self.phase = (self.phase + 1) % TYPING_FRAMES
        self.update()

    def update_state(self) -> None:
        self.set_active(self.source())

    def set_active(self, active: bool) -> None:
        if active:
            if not self.timer.isActive():
                self.timer.start()
                self.animation.start()
            self.show()
        else:
            self.timer.stop()
            self.animation.stop()
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
        for i in range(3):
            # each dot peaks a third of a cycle after the one before it
            t = ((self.phase - i * TYPING_FRAMES // 6) % TYPING_FRAMES) / TYPING_FRAMES
            lift = max(0.0, 1.0 - abs(t - 0.25) * 4)  # 0..1, a short bump per cycle
            dot = QColor(theme.muted_text(pal))
            dot.setAlphaF(0.45 + 0.55 * lift)
            p.setBrush(dot)
            p.drawEllipse(QRectF(bubble.left() + 14 + i * 11,
                                 bubble.center().y() - 4 - 3 * lift, 8, 8))
        if self.text:
            p.setPen(theme.muted_text(pal))
            p.drawText(QRectF(bubble.right() + 8, 0, self.width() - bubble.right() - 8,
                              self.height()), Qt.AlignmentFlag.AlignVCenter, self.text)
        p.end()

    def sizeHint(self) -> QSize:
        return QSize(100, 40)
