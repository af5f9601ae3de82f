"""The message actions in the app: the hover bar and context menu of a bubble (Reply,
React, Edit, Unsend, Delete for me), the composer's quote or "Editing" bar, its
disappearing-message timer and emoji picker, and what a bubble shows of them (the rich
text itself is :mod:`kith.app.gui.decorations`; here: jumping to a quote's target, who
reacted on hover, the earlier versions of an edit, a card's "Send contact request"), kept
current as the node reports changes.

:class:`MessageActions` attaches all of it to a main window with small hooks: the
delegate's ``decorate`` and ``forget``, the view's ``menu_hooks`` and ``kith-`` links,
the model's ``update_rows``, and the window's ``send``.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPoint,
    QRect,
    Qt,
    QTimer,
)
from PySide6.QtGui import QHelpEvent, QKeySequence, QMouseEvent, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QMenu,
    QMessageBox,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui.composer import ComposerField
from kith.app.gui.decorations import Decorations, short_quote
from kith.app.gui.emoji import EmojiPicker
from kith.app.gui.models import MsgRole
from kith.app.gui.timefmt import date_time, duration
from kith.app.gui.trustlog import SYSTEM_AUTHOR, is_system
from kith.p2p.actions.disappearing import CHOICES, parse_duration
from kith.p2p.actions.reactions import TAPBACKS
from kith.p2p.api import MessagesChanged, NodeEvent, TimerChanged
from kith.p2p.errors import KithError
from kith.p2p.node import Node
from kith.storage import STATUS_READ, MessageRow
from kith.storage.actions import MAX_EDITS, WINDOW_MS

if TYPE_CHECKING:
    from kith.app.gui.window import MainWindow


def timer_lines(node: Node, conv: bytes) -> list[MessageRow]:
    """The chat's system lines for each disappearing-message timer that was set."""
    names = node.names()
    out = []
    for t in node.db.timer_changes(conv):
        if t.by_user == node.user_id:
            text = (QCoreApplication.translate("timer_lines",
                                               "You turned off disappearing messages")
                    if not t.timer else QCoreApplication.translate(
                        "timer_lines", "You set disappearing messages to {time}").format(
                        time=duration(t.timer)))
        else:
            who = names.get(t.by_user, QCoreApplication.translate("timer_lines", "Someone"))
            text = (QCoreApplication.translate(
                "timer_lines", "{name} turned off disappearing messages").format(name=who)
                if not t.timer else QCoreApplication.translate(
                    "timer_lines", "{name} set disappearing messages to {time}").format(
                    name=who, time=duration(t.timer)))
        out.append(MessageRow(b"timer-line:" + t.event_id, conv, SYSTEM_AUTHOR, SYSTEM_AUTHOR,
                              0, t.lamport, t.time, "\u23f1 " + text, False, STATUS_READ))
    return out


def introduced_label(node: Node, user: bytes) -> QLabel | None:
    """Contact info's "Introduced by Alice" line, for a contact made from a card."""
    intro = node.actions.introduction(user)
    if intro is None:
        return None
    label = QLabel(QCoreApplication.translate(
        "ContactInfo", "Introduced by {name} (a contact card; not verified by that)"
    ).format(name=intro["name"]))
    label.setObjectName("introducedBy")
    label.setWordWrap(True)
    return label


class ComposerBar(QFrame):
    """Above the composer: "Replying to Bob: …" or "Editing", with a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerQuote")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 4, 12, 0)
        self.label = QLabel()
        self.label.setObjectName("composerQuoteText")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.label, 1)
        self.close_button = QToolButton()
        self.close_button.setObjectName("composerQuoteClose")
        self.close_button.setText("\u2715")
        self.close_button.setAccessibleName(self.tr("Cancel"))
        self.close_button.setAutoRaise(True)
        row.addWidget(self.close_button)
        self.hide()


class HoverBar(QFrame):
    """The buttons shown over the bubble under the mouse."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("hoverBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.setSpacing(0)
        self.buttons: dict[str, QToolButton] = {}
        for name, text, tip in (
            *((f"react:{e}", e, self.tr("React {emoji}").format(emoji=e))
              for e in TAPBACKS[:3]),
            ("more-emoji", "\u263a", self.tr("More reactions")),
            ("reply", "\u21a9", self.tr("Reply")),
            ("menu", "\u22ef", self.tr("More")),
        ):
            b = QToolButton()
            b.setObjectName(f"hover-{name}")
            b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(tip)
            b.setAutoRaise(True)
            row.addWidget(b)
            self.buttons[name] = b
        self.row = -1
        self.hide()


class MessageActions(QObject):
    """Everything above, attached to one main window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = window.bridge
        self.node: Node = window.bridge.node
        self.model = window.messages
        self.view = window.chat.view
        self.delegate = self.view.bubbles
        self.decorations = Decorations(self.node)
        self.delegate.decorate = self.decorations.html
        self.view.menu_hooks.append(self._extend_menu)
        self.view.linkActivated.connect(self.follow_link)
        self.mode: tuple[str, MessageRow] | None = None  # ("reply" | "edit", the message)

        pane = window.chat
        self.bar = ComposerBar()
        self.bar.close_button.clicked.connect(self.cancel)
        layout = pane.layout()
        bottom = pane.composer_field.parentWidget()
        assert isinstance(layout, QVBoxLayout) and bottom is not None
        layout.insertWidget(layout.indexOf(bottom), self.bar)
        field = pane.composer_field  # its tools: emoji, then the timer, before Send
        self.emoji_button = field.add_tool("emoji", "\u263a", "emojiButton", self.tr("Emoji"))
        self.emoji_button.clicked.connect(self.pick_for_composer)
        self.timer_button = field.add_tool("timer", "\u23f1", "timerButton",
                                           self.tr("Disappearing messages"))
        self.timer_button.setCheckable(True)  # checked (drawn pressed) while a timer is on
        self.timer_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.timer_menu = QMenu(self.timer_button)
        self.timer_menu.setObjectName("timerMenu")
        for seconds in CHOICES:
            act = self.timer_menu.addAction(duration(seconds).capitalize())
            act.setData(seconds)
            act.triggered.connect(lambda _=False, s=seconds: self.set_timer(s))
        self.timer_menu.addAction(self.tr("Custom\u2026"), self.custom_timer)
        self.timer_button.setMenu(self.timer_menu)
        self.picker: EmojiPicker | None = None

        self.hover = HoverBar(self.view.viewport())
        for name, b in self.hover.buttons.items():
            b.clicked.connect(lambda _=False, n=name: self._hovered(n))
        self._viewport = self.view.viewport()
        self._viewport.installEventFilter(self)
        self.view.setMouseTracking(True)
        for seq, name, slot in (("Ctrl+R", "replyShortcut", self.reply_to_selected),
                                ("Ctrl+E", "editShortcut", self.edit_selected)):
            shortcut = QShortcut(QKeySequence(seq), window.chat)
            shortcut.setObjectName(name)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.model.modelReset.connect(self.on_chat_opened)
        self._unsubscribe = self.node.subscribe(self._on_node_event)
        window.destroyed.connect(lambda *_: self._unsubscribe())
        self.on_chat_opened()

    # -- node events -----------------------------------------------------------------------

    def _on_node_event(self, e: NodeEvent) -> None:
        if isinstance(e, MessagesChanged):
            self.messages_changed(e.conv, e.ids)
        elif isinstance(e, TimerChanged):
            self.timer_changed(e.conv)

    def messages_changed(self, conv: bytes, ids: list[bytes]) -> None:
        # the sidebar's preview and unread count may have changed (unsent, expired)
        self.bridge._unread.pop(conv, None)
        self.bridge.conversationsChanged.emit()
        if conv != self.model.conv:
            return
        if self.node.db.chat_cut(conv) != self._cut:  # deleted (on another of my devices)
            self.window.close_chat()
            return
        changed = set(ids)
        # replies quoting a changed message show it anew too
        replies = {self.model.row(i).event_id for i in range(self.model.rowCount())
                   if self.model.row(i).reply_to in changed}
        self.delegate.forget(changed | replies)
        db = self.node.db
        self.model.update_rows({i: db.message_by_id(i, conv) for i in changed | replies})
        if self.mode is not None and self.mode[1].event_id in changed:
            fresh = db.message_by_id(self.mode[1].event_id, conv)
            if fresh is None or fresh.unsent:
                self.cancel()
        self.view.doItemsLayout()
        self.view.viewport().update()

    def timer_changed(self, conv: bytes) -> None:
        lines = timer_lines(self.node, conv)
        if lines:
            self.bridge.trustLine.emit(conv, max(lines, key=lambda r: (r.lamport, r.time)))
        if conv == self.model.conv:
            self.refresh_timer()

    def on_chat_opened(self) -> None:
        conv = self.model.conv
        self._cut = self.node.db.chat_cut(conv) if conv else 0  # (delete chat)
        if self.mode is not None and self.mode[1].conv != self.model.conv:
            self.cancel()
        self.hover.hide()
        self.refresh_timer()

    # -- the composer ----------------------------------------------------------------------

    def refresh_timer(self) -> None:
        conv = self.model.conv
        t = self.node.actions.timer(conv) if conv else None
        seconds = t.timer if t else 0
        b = self.timer_button
        b.setText(duration(seconds) if seconds else "")  # the composer shows the timer
        b.setChecked(bool(seconds))
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon if seconds
                             else Qt.ToolButtonStyle.ToolButtonIconOnly)
        tool = ComposerField.TOOL
        b.setFixedWidth(max(tool, b.sizeHint().width()) if seconds else tool)
        self.timer_button.setToolTip(
            self.tr("Disappearing messages: {time}").format(time=duration(seconds)))
        self.timer_button.setAccessibleName(self.timer_button.toolTip())
        self.timer_button.setEnabled(conv is not None)

    def set_timer(self, seconds: int) -> None:
        conv = self.model.conv
        if conv is None:
            return
        t = self.node.actions.timer(conv)
        if (t.timer if t else 0) != seconds:
            self.bridge.run(self.node.actions.set_timer(conv, seconds))

    def custom_timer(self) -> None:
        text, ok = QInputDialog.getText(self.window, self.tr("Disappearing messages"),
                                        self.tr("Messages disappear after "
                                                "(like 30s, 2h, 3d, 2w):"))
        if not ok or not text.strip():
            return
        try:
            seconds = parse_duration(text)
        except KithError as e:
            self.bridge.error.emit(str(e))
            return
        self.set_timer(seconds)

    def pick_for_composer(self) -> None:
        picker = self._picker(lambda e: self.window.chat.composer.insertPlainText(e))
        picker.show_at(self.emoji_button.mapToGlobal(QPoint(0, 0)))

    def _picker(self, on_pick: Callable[[str], None]) -> EmojiPicker:
        if self.picker is not None:
            self.picker.deleteLater()
        self.picker = EmojiPicker(self.window)
        self.picker.picked.connect(on_pick)
        return self.picker

    def start(self, mode: str, row: MessageRow) -> None:
        self.mode = (mode, row)
        composer = self.window.chat.composer
        if mode == "reply":
            if row.outgoing:
                text = self.tr("\u21a9 Replying to yourself: {text}")
            else:
                text = self.tr("\u21a9 Replying to {name}: {text}")
            self.bar.label.setText(text.format(
                name=self.decorations.name(row.sender), text=short_quote(row.text)))
        else:
            self.bar.label.setText(self.tr("\u270e Editing: {text}").format(
                text=short_quote(row.text)))
            composer.setPlainText(row.text)
            composer.moveCursor(composer.textCursor().MoveOperation.End)
        self.bar.show()
        composer.setFocus()

    def cancel(self) -> None:
        if self.mode is not None and self.mode[0] == "edit":
            self.window.chat.composer.clear()
        self.mode = None
        self.bar.hide()

    def send(self, user: bytes, text: str) -> bool | None:
        """The window's send, for a reply or an edit: whether it went (None: neither, a
        plain message)."""
        if self.mode is None:
            return None
        mode, row = self.mode
        if mode == "reply":
            ok = self.bridge.send_message(user, text, row.event_id)
        else:
            self.bridge.run(self.node.actions.edit(row.conv, row.event_id.hex(), text))
            ok = True
        if ok:
            self.mode = None
            self.bar.hide()
        return ok

    # -- acting on a message ----------------------------------------------------------------

    def selected(self, *, mine: bool = False) -> MessageRow | None:
        """The message selected in the chat, else the newest (of mine, with ``mine``)."""
        index = self.view.currentIndex()
        if index.isValid() and not is_system(self.model.row(index.row())):
            return self.model.row(index.row())
        for i in reversed(range(self.model.rowCount())):
            r = self.model.row(i)
            if not is_system(r) and not r.unsent and (r.outgoing or not mine):
                return r
        return None

    def reply_to_selected(self) -> None:
        row = self.selected()
        if row is not None and self.allowed(row)["reply"]:
            self.start("reply", row)

    def edit_selected(self) -> None:
        row = self.selected(mine=True)
        if row is not None and self.allowed(row)["edit"]:
            self.start("edit", row)

    def react(self, row: MessageRow, emoji: str) -> None:
        """Choosing one's reaction again removes it; another replaces it."""
        again = self.node.db.my_reaction(row.event_id, self.node.user_id) == emoji
        self.bridge.run(self.node.actions.react(row.conv, row.event_id.hex(), emoji,
                                                remove=again))

    def unsend(self, row: MessageRow) -> None:
        self.bridge.run(self.node.actions.unsend(row.conv, row.event_id.hex()))

    def delete_for_me(self, row: MessageRow) -> None:
        self.bridge.run(self.node.actions.delete_for_me(row.conv, row.event_id.hex()))

    def request_from_card(self, row: MessageRow) -> None:
        card = self.node.db.cards([row.event_id]).get(row.event_id)
        if card is None:
            return
        trust = False
        if self.node.actions.card_json(card.user_id, card.name)["key_changed"]:
            answer = QMessageBox.warning(
                self.window, self.tr("A different key"),
                self.tr("You already have a contact called {name} with another key. This "
                        "card may be someone else. Compare safety numbers in person before "
                        "you trust it. Send the request anyway?").format(name=card.name),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return
            trust = True
        self.bridge.run(
            self.node.actions.request_from_card(row.conv, row.event_id.hex(),
                                                trust_new_key=trust),
            on_done=lambda _: self.messages_changed(row.conv, [row.event_id]),
        )

    def show_versions(self, row: MessageRow) -> QDialog:
        dialog = QDialog(self.window)
        dialog.setObjectName("editHistory")
        dialog.setWindowTitle(self.tr("Edit history"))
        column = QVBoxLayout(dialog)
        versions = QListWidget()
        versions.setObjectName("editVersions")
        for i, (text, when) in enumerate(self.node.db.versions(row.event_id)):
            stamp = date_time(datetime.datetime.fromtimestamp(when / 1000))
            label = self.tr("Original") if i == 0 else self.tr("Edit {n}").format(n=i)
            versions.addItem(f"{label} \u00b7 {stamp}\n{text}")
        column.addWidget(versions)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        column.addWidget(buttons)
        dialog.show()
        self.window.dialogs.append(dialog)
        return dialog

    def follow_link(self, link: str) -> None:
        kind, _, hexid = link.partition(":")
        try:
            event_id = bytes.fromhex(hexid)
        except ValueError:
            return
        conv = self.model.conv
        row = self.node.db.message_by_id(event_id, conv) if conv else None
        if kind == "kith-reply":
            self.scroll_to(event_id)
        elif row is None:
            return
        elif kind == "kith-edits":
            self.show_versions(row)
        elif kind == "kith-card":
            self.request_from_card(row)

    def scroll_to(self, event_id: bytes) -> bool:
        """Show the message ``event_id`` (loading its pages if need be) and select it."""
        row = self.model.find_or_load(event_id)
        if row < 0:
            hit = self.node.db.message_by_id(event_id, self.model.conv)
            if hit is None:
                self.bridge.error.emit(self.tr("The original message is not here any more"))
                return False
            row = self.model.open_at(hit)
        self.view.scroll_to_row(row)
        self.view.setCurrentIndex(self.model.index(row))
        return True

    # -- menus ----------------------------------------------------------------------------

    def allowed(self, row: MessageRow) -> dict[str, bool]:
        """Which actions the message offers."""
        mine = row.sender == self.node.user_id
        fresh = self.node.db.message_by_id(row.event_id) or row
        recent = not fresh.unsent and _now_ms() - fresh.time <= WINDOW_MS
        card = bool(self.node.db.cards([row.event_id]))
        live = not fresh.unsent
        return {
            "reply": live, "react": live,
            "edit": mine and recent and not card and fresh.edits < MAX_EDITS,
            "unsend": mine and recent, "delete": True, "versions": fresh.edits > 0,
            "card": card and not mine,
        }

    def fill_menu(self, menu: QMenu, row: MessageRow) -> None:
        ok = self.allowed(row)

        def add(to: QMenu, text: str, name: str, slot: Callable[[], object]) -> None:
            act = to.addAction(text)
            act.setObjectName(name)
            act.triggered.connect(lambda _=False: slot())

        if ok["reply"]:
            add(menu, self.tr("Reply"), "replyAction", lambda: self.start("reply", row))
        if ok["react"]:
            react = menu.addMenu(self.tr("React"))
            react.setObjectName("reactMenu")
            for emoji in TAPBACKS:
                add(react, emoji, f"react:{emoji}", functools.partial(self.react, row, emoji))
            add(react, self.tr("More\u2026"), "moreReactions", lambda: self.pick_reaction(row))
        if ok["edit"]:
            add(menu, self.tr("Edit"), "editAction", lambda: self.start("edit", row))
        if ok["versions"]:
            add(menu, self.tr("Edit history"), "versionsAction", lambda: self.show_versions(row))
        if ok["card"]:
            add(menu, self.tr("Send contact request"), "cardRequestAction",
                lambda: self.request_from_card(row))
        if ok["unsend"]:
            add(menu, self.tr("Unsend"), "unsendAction", lambda: self.unsend(row))
        add(menu, self.tr("Delete for me"), "deleteForMeAction", lambda: self.delete_for_me(row))

    def _extend_menu(self, menu: QMenu, index: QModelIndex) -> None:
        if not index.isValid():
            return
        row = self.model.row(index.row())
        if is_system(row):
            return
        menu.addSeparator()
        self.fill_menu(menu, row)

    def pick_reaction(self, row: MessageRow) -> None:
        picker = self._picker(lambda e: self.react(row, e))
        picker.show_at(self.view.viewport().mapToGlobal(self.view.viewport().rect().center()))

    # -- the hover bar, tooltips ------------------------------------------------------------

    def _hovered(self, name: str) -> None:
        if not 0 <= self.hover.row < self.model.rowCount():
            return
        row = self.model.row(self.hover.row)
        if name.startswith("react:"):
            self.react(row, name.partition(":")[2])
        elif name == "more-emoji":
            self.pick_reaction(row)
        elif name == "reply":
            self.start("reply", row)
        elif name == "menu":
            menu = QMenu(self.view)
            menu.setObjectName("hoverMenu")
            self.fill_menu(menu, row)
            b = self.hover.buttons["menu"]
            menu.popup(b.mapToGlobal(QPoint(0, b.height())))

    def show_hover(self, index: QModelIndex) -> None:
        if not index.isValid() or is_system(self.model.row(index.row())) \
                or not self.allowed(self.model.row(index.row()))["react"]:
            self.hover.hide()
            return
        rect = self.view.visualRect(index)
        self.hover.row = index.row()
        self.hover.adjustSize()
        outgoing = bool(index.data(MsgRole.Outgoing))
        x = rect.left() + 16 if outgoing else rect.right() - self.hover.width() - 16
        self.hover.move(max(0, x), max(0, rect.top()))
        self.hover.show()
        self.hover.raise_()

    def who_reacted(self, row: MessageRow) -> str:
        names = self.node.names()
        by: dict[str, list[str]] = {}
        for emoji, user in self.node.db.reactions([row.event_id]).get(row.event_id, []):
            who = "You" if user == self.node.user_id else names.get(user, user.hex()[:8])
            by.setdefault(emoji, []).append(who)
        return "\n".join(f"{e} {', '.join(w)}" for e, w in by.items())

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is not self._viewport:
            return False
        try:
            return self._viewport_event(e)
        except RuntimeError:  # the window is going away (its C++ side already went)
            return False

    def _viewport_event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.MouseMove and isinstance(e, QMouseEvent):
            index = self.view.indexAt(e.position().toPoint())
            if index.row() != self.hover.row or not self.hover.isVisible():
                self.show_hover(index)
        elif e.type() == QEvent.Type.Leave:
            QTimer.singleShot(0, self._leave)
        elif e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            index = self.view.indexAt(e.pos())
            if index.isValid():
                who = self.who_reacted(self.model.row(index.row()))
                if who:  # who reacted with what
                    QToolTip.showText(e.globalPos(), who, self.view, QRect(), 5000)
                    return True
        return False

    def _leave(self) -> None:
        try:
            if not self.hover.underMouse():
                self.hover.hide()
        except RuntimeError:  # (gone with the window)
            pass


def _now_ms() -> int:
    return int(datetime.datetime.now().timestamp() * 1000)

