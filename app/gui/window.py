"""The main window: sidebar (search, conversations, requests, Nearby) and the chat pane."""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui import attachments, mentions, theme
from kith.app.gui import groups as groups_gui
from kith.app.gui.actions import MessageActions
from kith.app.gui.bridge import Bridge
from kith.app.gui.chat import TYPING_RESEND_MS
from kith.app.gui.chatpane import Banner, ChatPane, WelcomePage
from kith.app.gui.convmenu import ConversationMenu
from kith.app.gui.convmodel import ConversationModel
from kith.app.gui.devices import DevicesDialog
from kith.app.gui.dialogs import AddByAddressDialog, SettingsDialog
from kith.app.gui.handoff import Handoff
from kith.app.gui.models import MessageModel
from kith.app.gui.newchat import NewChatDialog
from kith.app.gui.notifications import Notifications
from kith.app.gui.search import query_words
from kith.app.gui.sidebar import COMPACT_WIDTH, Sidebar
from kith.app.gui.timefmt import clock
from kith.app.gui.trust import ContactInfoDialog, TrustKeyDialog
from kith.p2p.node import ACCEPTED, PENDING_IN
from kith.storage import MessageRow

TYPING_IDLE_MS = 5000
MIN_WIDTH = 600  # the window shrinks to about this
COMPACT_BELOW = 760  # narrower than this, the sidebar is a column of avatars


class MainWindow(QMainWindow):
    """Signals:
        notify(title: str, text: str, user: bytes): a message arrived while unfocused
        unreadChanged(count: int)
        closed(): the user quit (closed the window, with no tray icon to stay in)
        hiddenToTray(): the window was closed and Kith keeps running in the tray
    """

    notify = Signal(str, str, bytes)
    unreadChanged = Signal(int)
    closed = Signal()
    hiddenToTray = Signal()

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.setObjectName("mainWindow")
        # the desktop adds the application's name ("alice — Kith"): Kith once
        self.setWindowTitle(bridge.my_name)
        self.resize(980, 680)
        self.setMinimumWidth(MIN_WIDTH)
        self.conversations = ConversationModel(bridge)
        self.messages = MessageModel(bridge)
        self.current: bytes | None = None
        self.dialogs: list[QDialog] = []
        # the list's menu and its dialogs: rename, mark unread, delete... (app/gui/convmenu.py)
        self.conv_menu = ConversationMenu(self)
        self._quitting = False
        # what comes while the user is not looking: notify (app/gui/notifications.py)
        self.notifications = Notifications(self)
        # whether closing the window only hides it (the tray icon is there to come back)
        self.keep_running: Callable[[], bool] = lambda: False

        splitter = QSplitter()
        splitter.setObjectName("mainSplitter")
        splitter.setChildrenCollapsible(False)
        self.sidebar = Sidebar(bridge, self.conversations)
        splitter.addWidget(self.sidebar)
        self.stack = QStackedWidget()
        self.empty = WelcomePage(bridge)
        self.stack.addWidget(self.empty)
        self.chat = ChatPane(bridge, self.messages)
        self.stack.addWidget(self.chat)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 680])
        self.splitter = splitter
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        # This device was removed by another of mine: say so above everything, for good.
        self.removed_banner = Banner("removedBanner")
        column.addWidget(self.removed_banner)
        column.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().setObjectName("statusBar")
        self.statusBar().setSizeGripEnabled(False)
        # no empty strip under the composer: the bar shows only while it says something
        self.statusBar().hide()
        self.statusBar().messageChanged.connect(lambda m: self.statusBar().setVisible(bool(m)))

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._typing_sent = 0.0
        self._typing_idle = QTimer(self)
        self._typing_idle.setSingleShot(True)
        self._typing_idle.setInterval(TYPING_IDLE_MS)
        self._typing_idle.timeout.connect(self._stop_typing)
        self._typing_resend = QTimer(self)
        self._typing_resend.setInterval(TYPING_RESEND_MS)
        self._typing_resend.timeout.connect(self._resend_typing)
        self._loading_draft = False
        self.chat.typing.source = self._someone_typing
        self.chat.view.menu_hooks.append(groups_gui.receipts_menu(self, bridge))  # "Receipts…"

        bridge.conversationsChanged.connect(self._refresh_timer.start)
        # which chat is open here, and my other devices' offers (app/gui/handoff.py)
        self.handoff = Handoff(self)
        self.chat.view.retryRequested.connect(self.retry_delivery)
        self.chat.view.atBottomChanged.connect(self.on_at_bottom)
        self.chat.view.jumpRequested.connect(self.jump_to_newest)
        bridge.messagesAdded.connect(self.on_messages_added)
        bridge.trustLine.connect(self.on_trust_line)
        bridge.groupChanged.connect(self.on_group_changed)
        bridge.statusChanged.connect(self.on_status_changed)
        bridge.typingChanged.connect(self.on_typing_changed)
        bridge.contactChanged.connect(self.on_contact_changed)
        bridge.peersChanged.connect(self.on_peers_changed)
        bridge.devicesChanged.connect(self.on_devices_changed)
        bridge.error.connect(self.show_error)
        self.sidebar.conversationActivated.connect(self.open_chat)
        self.sidebar.list.menuRequested.connect(self.conv_menu.show)
        self.sidebar.searchResultActivated.connect(self.jump_to)
        self.sidebar.add_address.clicked.connect(self.add_by_address)
        self.sidebar.settings_button.clicked.connect(self.open_settings)
        self.sidebar.new_chat_button.clicked.connect(self.new_chat)
        self.chat.composer.submitted.connect(self.send)
        self.attachments = attachments.Attachments(self)  # files: composer, bubbles, viewer
        self.chat.send_button.clicked.connect(self.send)
        self.chat.composer.textChanged.connect(self.on_composer_changed)
        self.chat.header.info.clicked.connect(lambda: self.show_contact_info())
        self.chat.compare_button.clicked.connect(lambda: self.show_contact_info())
        self.chat.trust_button.clicked.connect(self.trust_new_key)
        self.chat.accept_button.clicked.connect(self.accept_current)
        self.chat.open_new_button.clicked.connect(self.open_replacement)
        self.chat.restore_key_button.clicked.connect(self.conv_menu.restore_old_key)
        self.chat.decline_button.clicked.connect(self.decline_current)
        self._shortcuts()
        self.refresh()
        self.on_devices_changed()
        # reply, react, edit, unsend, cards, disappearing timer, emoji (app/gui/actions.py)
        self.message_actions = MessageActions(self)

    # -- layout pieces ---------------------------------------------------------------------

    def _shortcuts(self) -> None:
        def add(seq: QKeySequence | str, slot: Callable[[], object], name: str) -> None:
            s = QShortcut(QKeySequence(seq), self)
            s.setObjectName(name)
            s.activated.connect(slot)

        add("Ctrl+N", self.new_chat, "newChatShortcut")
        add("Ctrl+F", self.focus_search, "searchShortcut")
        add("Ctrl+,", self.open_settings, "settingsShortcut")
        add("Ctrl+I", lambda: self.show_contact_info(), "contactInfoShortcut")
        add("Ctrl+Q", self.quit, "quitShortcut")
        for n in range(1, 10):
            add(f"Ctrl+{n}", partial(self.open_nth, n - 1), f"switchChat{n}Shortcut")

    # -- refresh ----------------------------------------------------------------------------

    def refresh(self) -> None:
        self.conversations.refresh()
        self.sidebar.select_user(self.current)
        self.sidebar.refresh_people()
        self.notifications.new_requests()
        self.unreadChanged.emit(self.bridge.unread_total())
        if self.current is not None:
            self._update_chat_chrome()

    def on_contact_changed(self, user: bytes) -> None:
        if user == self.current:
            self._update_chat_chrome()

    def on_devices_changed(self) -> None:
        removed = bool(self.bridge.node.removed)
        if removed == self.removed_banner.isVisible():
            return
        self.removed_banner.setVisible(removed)
        if removed:
            self.removed_banner.set_warning(True)
            self.removed_banner.label.setText(self.tr(
                "<b>This computer was removed from {name}'s "
                "devices</b> by another of them. It no longer sends or receives messages; "
                "what it already has stays readable here. To use Kith on this computer "
                "again, link it anew from one of your other devices (a new profile, then "
                "<b>Link to my other device</b>).").format(name=html.escape(self.bridge.my_name)))
            self.sidebar.new_chat_button.setEnabled(False)
            self._update_chat_chrome()

    def on_peers_changed(self) -> None:
        if self.current is not None:
            self._update_chat_chrome()

    # -- chats ------------------------------------------------------------------------------

    def open_nth(self, n: int) -> None:
        if n < self.conversations.rowCount():
            self.open_chat(self.conversations.item(n).user_id)

    def open_chat(self, user: bytes) -> None:
        if user == self.current:
            self.bridge.set_marked_unread(user, False)  # clicked again: read
            self.chat.composer.setFocus()
            return
        self._save_draft()
        self._stop_typing()
        self.current = user
        self.chat.view.bubbles.set_highlight([])
        conv = self.bridge.conv_for(user)
        self.messages.open(conv, user)
        self._loading_draft = True
        self.chat.composer.setPlainText(self.bridge.draft(conv))
        self._loading_draft = False
        self.chat.composer.moveCursor(self.chat.composer.textCursor().MoveOperation.End)
        self.stack.setCurrentWidget(self.chat)
        self.sidebar.select_user(user)
        self.bridge.set_marked_unread(user, False)  # opened: no longer marked
        self._update_chat_chrome()
        self.chat.typing.update_state()
        self.chat.composer.setFocus()
        if self.messages.unread_row() > 0:  # start at the first unread message
            QTimer.singleShot(0, self, partial(self._show_first_unread, user))
        else:
            self.maybe_mark_read()
        self.handoff.announce_open_chat()
        self.handoff.refresh()

    def close_chat(self) -> None:
        """Back to the empty state (the open chat was deleted)."""
        self._save_draft()
        self._stop_typing()
        self.current = None
        self.messages.open(None, None)
        self.stack.setCurrentWidget(self.empty)
        self.sidebar.select_user(None)

    def _show_first_unread(self, user: bytes) -> None:
        row = self.messages.unread_row()
        if user == self.current and row >= 0:
            self.chat.view.doItemsLayout()
            self.chat.view.show_row_at_top(row)
        self.maybe_mark_read()

    def _update_chat_chrome(self) -> None:
        user = self.current
        if user is None:
            return
        mentions.attach(self.chat.composer).set_names([])  # (a group sets its members)
        if groups_gui.is_group(user):  # (a group: app.gui.groups)
            self.messages.offline_peer = False
            self.messages.peer_name = self.bridge.person_title(user)
            groups_gui.present(self.chat, self.bridge, user)
            self.messages.refresh_status_line()
            return
        groups_gui.hide_avatar(self.chat)
        c = self.bridge.contact(user)
        name = c.name if c else user.hex()[:12]
        online = self.bridge.online(user)
        via = [] if online else self.bridge.reachable_through(user)
        self.messages.offline_peer = not (online or via)
        self.messages.peer_name = name
        self.chat.present(user, c, name, online=online, via=via,
                          removed=bool(self.bridge.node.removed),
                          shared_name=name.casefold() in self.bridge.shared_names())
        self.messages.refresh_status_line()

    def send(self) -> None:
        user = self.current
        if user is None or not self.chat.composer.isEnabled():
            return
        text = self.chat.composer.toPlainText()
        if self.attachments.send(user, text.strip("\n")):  # (pending files, text a caption)
            self.chat.composer.clear()
            self._stop_typing()
            self.bridge.set_draft(self.bridge.conv_for(user), "")
            return
        if not text.strip():
            return
        if self.messages.has_newer():  # looking at a search hit far back: go to the present
            self.messages.open(self.bridge.conv_for(user), user)
        sent = self.message_actions.send(user, text)  # (a reply or an edit)
        if sent is None:
            sent = self.bridge.send_message(user, text)
        if sent:
            self.chat.composer.clear()
            self._stop_typing()
            self.bridge.set_draft(self.bridge.conv_for(user), "")
            self.chat.view._from_bottom = 0

    def _save_draft(self) -> None:
        if self.current is not None:
            self.bridge.set_draft(self.bridge.conv_for(self.current),
                                  self.chat.composer.toPlainText())

    def on_composer_changed(self) -> None:
        if self._loading_draft or self.current is None:
            return
        self.handoff.draft_changed()
        if self.chat.composer.toPlainText().strip():
            if not self._typing_resend.isActive():
                self.bridge.set_typing(self.current, True)
                self._typing_resend.start()
            self._typing_idle.start()
        else:
            self._stop_typing()

    def _resend_typing(self) -> None:
        if self.current is not None:
            self.bridge.set_typing(self.current, True)

    def _stop_typing(self) -> None:
        if self._typing_resend.isActive() or self._typing_idle.isActive():
            self._typing_resend.stop()
            self._typing_idle.stop()
            if self.current is not None:
                self.bridge.set_typing(self.current, False)

    def jump_to(self, user: bytes, hit: MessageRow) -> None:
        self.open_chat(user)
        self.chat.view.bubbles.set_highlight(query_words(self.sidebar.search.text()))
        row = self.messages.find_or_load(hit.event_id)
        if row < 0:  # far back: show the pages around it, newer ones load on scrolling down
            row = self.messages.open_at(hit)
        self.chat.view.scroll_to_row(row)

    def retry_delivery(self) -> None:
        if self.current is None:
            return
        self.bridge.retry_delivery(self.current)
        name = self.bridge.names().get(self.current, self.tr("them"))
        self.statusBar().showMessage(self.tr("Trying to reach {name}…").format(name=name), 5000)

    def _someone_typing(self) -> bool:
        if groups_gui.is_group(self.current):  # "Bob is typing…" (app.gui.groups)
            assert self.current is not None
            self.chat.typing.text = groups_gui.typing_text(
                groups_gui.typing_names(self.bridge, self.current))
            return bool(self.chat.typing.text)
        self.chat.typing.text = ""
        return self.current is not None and \
            self.current in self.bridge.typing(self.bridge.conv_for(self.current))

    # -- node events ---------------------------------------------------------------------

    def on_messages_added(self, conv: bytes, rows: list[MessageRow]) -> None:
        current_conv = self.bridge.conv_for(self.current) if self.current else None
        if conv == current_conv:
            if any(not r.outgoing for r in rows):
                self.chat.typing.set_active(False)  # the message they were typing is here
            self.messages.add(rows)
            self.maybe_mark_read()
            if self.bridge.unread_count(conv) and not self.chat.view.shows_newest():
                self.messages.mark_new(rows)  # they came while the user read further up
        self.notifications.on_messages_added(conv, rows, current_conv)

    def on_group_changed(self, conv: bytes) -> None:
        if conv == self.current:  # (its name, members, or that I am out)
            self._update_chat_chrome()

    def on_trust_line(self, conv: bytes, row: MessageRow) -> None:
        if self.current is not None and conv == self.bridge.conv_for(self.current):
            self.messages.add([row])

    def on_status_changed(self, conv: bytes, author: bytes, up_to_seq: int, status: int) -> None:
        if self.current is not None and conv == self.bridge.conv_for(self.current):
            self.messages.set_status(author, up_to_seq, status)

    def on_typing_changed(self, conv: bytes, user: bytes, active: bool) -> None:
        if self.current is not None and (user == self.current or groups_gui.is_group(
                self.current)) and conv == self.bridge.conv_for(self.current):
            self.chat.typing.update_state()

    def maybe_mark_read(self) -> None:
        """Mark the open chat read if the user can see its newest messages (scrolled up,
        they are not read yet: the "↓ N new" button says how many wait below)."""
        if (self.current is not None and self.isActiveWindow() and not self.isMinimized()
                and self.stack.currentWidget() is self.chat
                and self.chat.view.shows_newest()):
            c = self.bridge.contact(self.current)
            if c is not None and c.state == ACCEPTED:
                n = self.messages.rowCount()
                newest = self.messages.row(n - 1).lamport if n else None
                self.bridge.mark_read(self.current, newest)
        self._update_new_count()

    def _update_new_count(self) -> None:
        n = self.bridge.unread_count(self.bridge.conv_for(self.current)) if self.current else 0
        self.chat.view.set_new_count(n)

    def on_at_bottom(self, at_bottom: bool) -> None:
        if at_bottom:
            self.maybe_mark_read()

    def jump_to_newest(self) -> None:
        """The "↓" button: back to the present (reloading it after a jump far back)."""
        if self.current is None:
            return
        if self.messages.has_newer():
            self.messages.open(self.bridge.conv_for(self.current), self.current)
        else:
            bar = self.chat.view.verticalScrollBar()
            bar.setValue(bar.maximum())
        self.maybe_mark_read()

    def changeEvent(self, e: QEvent) -> None:
        super().changeEvent(e)
        if e.type() in (QEvent.Type.ActivationChange, QEvent.Type.WindowStateChange):
            self.maybe_mark_read()

    # -- actions --------------------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Kith", message, QMessageBox.StandardButton.Ok,
                          self)
        box.setObjectName("errorBox")
        box.open()
        self.dialogs.append(box)
        box.finished.connect(lambda _r, b=box: self._forget(b))

    def _forget(self, dialog: QDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()

    def show_contact_info(self, user: bytes | None = None) -> ContactInfoDialog | None:
        user = user or self.current
        if user is None:
            return None
        if groups_gui.is_group(user):
            group_dialog = groups_gui.GroupInfoDialog(self.bridge, user, self)
            self.dialogs.append(group_dialog)
            group_dialog.finished.connect(lambda _r, d=group_dialog: self._forget(d))
            group_dialog.open()
            return None
        dialog = ContactInfoDialog(self.bridge, user, self)
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _r, d=dialog: self._forget(d))
        dialog.open()
        return dialog

    def accept_current(self) -> None:
        if self.current is not None:
            self.bridge.accept_contact(self.current)

    def decline_current(self) -> None:
        if self.current is not None:
            self.bridge.decline_contact(self.current)

    def trust_new_key(self) -> TrustKeyDialog | None:
        """Ask first (the comparison is the default answer); then take this key as the
        person's (e.g. they reinstalled Kith), without marking them verified."""
        user = self.current
        if user is None or self.bridge.contact(user) is None:
            return None
        dialog = TrustKeyDialog(self.bridge, user, self)
        self.dialogs.append(dialog)

        def done(result: int) -> None:
            self._forget(dialog)
            if result == TrustKeyDialog.COMPARE:
                if self.current == user:
                    self.show_contact_info()
            elif result:
                self._take_new_key(user)

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def _take_new_key(self, user: bytes) -> None:
        c = self.bridge.contact(user)
        if c is None or not self.bridge.trust_new_key(user):
            return
        if c.state in (PENDING_IN, "declined"):
            self.bridge.accept_contact(user, trust_new_key=True)

    def open_replacement(self) -> None:
        """From an old key's conversation to the one with the person's new key."""
        c = self.bridge.contact(self.current) if self.current else None
        if c is not None and c.replaced_by:
            self.open_chat(c.replaced_by)

    def focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def new_chat(self) -> NewChatDialog:
        dialog = NewChatDialog(self.bridge, self)
        self.dialogs.append(dialog)
        dialog.chosen.connect(self._new_chat_with)
        dialog.byAddress.connect(self.add_by_address)
        dialog.newGroup.connect(self.new_group)
        dialog.finished.connect(lambda _r, d=dialog: self._forget(d))
        dialog.open()
        return dialog

    def new_group(self) -> groups_gui.NewGroupDialog:
        dialog = groups_gui.NewGroupDialog(self.bridge, self)
        self.dialogs.append(dialog)
        dialog.created.connect(self.open_chat)
        dialog.finished.connect(lambda _r, d=dialog: self._forget(d))
        dialog.open()
        return dialog

    def _new_chat_with(self, user: bytes, contact: bool) -> None:
        if contact:
            self.open_chat(user)
        else:  # someone nearby: the request first, then their (pending) conversation
            self.bridge.add_contact(user).add_done_callback(
                lambda t: self.open_chat(user) if not t.cancelled() and t.result() else None)

    def add_by_address(self) -> None:
        dialog = AddByAddressDialog(self.bridge.my_addresses(), self)
        self.dialogs.append(dialog)

        def done(result: int) -> None:
            if result:
                self.bridge.connect_address(dialog.address.text())
            self._forget(dialog)

        dialog.finished.connect(done)
        dialog.open()

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.bridge, self)
        self.dialogs.append(dialog)

        def done(result: int) -> None:
            if result:
                dialog.save()
                theme.apply_theme(str(self.bridge.setting("theme", "system")))
                self.chat.view.bubbles.clear_cache()
            self._forget(dialog)

        dialog.finished.connect(done)
        dialog.devices_button.clicked.connect(self.open_devices)
        dialog.open()
        return dialog

    def open_devices(self) -> DevicesDialog:
        dialog = DevicesDialog(self.bridge, self)
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _r, d=dialog: self._forget(d))
        dialog.open()
        return dialog

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        # narrow: the sidebar collapses to avatars, the chat keeps its room
        compact = self.width() < COMPACT_BELOW
        if compact != self.sidebar.compact:
            self.sidebar.set_compact(compact)
            side = COMPACT_WIDTH if compact else 300
            self.splitter.setSizes([side, max(1, self.splitter.width() - side)])

    def quit(self) -> None:
        """Quit Kith (Ctrl+Q, the tray menu's Quit): close the window for good."""
        self._quitting = True
        self.close()

    def closeEvent(self, e: QCloseEvent) -> None:
        self._save_draft()
        self._stop_typing()
        self.handoff.close()
        if not self._quitting and self.keep_running():
            # Kith stays online in the tray (as messengers do); Quit quits
            e.ignore()
            self.hide()
            self.hiddenToTray.emit()
            return
        super().closeEvent(e)
        self.closed.emit()

    def time_now(self) -> str:
        return clock(datetime.datetime.now())
