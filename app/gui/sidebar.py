"""The sidebar: search, handoff offers, and one scrolling column of conversations,
requests and people nearby (or the search results). The rows of people and offers are
:mod:`kith.app.gui.people`."""

from __future__ import annotations

import html
from functools import partial

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui import theme
from kith.app.gui.bridge import Bridge, key_label
from kith.app.gui.convdelegate import ConversationDelegate
from kith.app.gui.convmodel import ConversationModel, ConvRole
from kith.app.gui.people import HandoffCard, PersonRow, section_title
from kith.app.gui.search import mark, query_words, snippet
from kith.app.gui.timefmt import short_time
from kith.p2p.node import ACCEPTED, PENDING_OUT, HandoffOffer
from kith.storage import MessageRow

SEARCH_DELAY_MS = 150
FULL_MIN_WIDTH = 260
COMPACT_WIDTH = 76  # the sidebar of a narrow window: avatars only


class ConversationList(QListView):
    """The conversations, as tall as its rows (the sidebar's one scroll area scrolls it).
    A right click opens the row's menu without selecting it: the selection is always
    the open chat.

    Signals:
        menuRequested(user: bytes, global_pos: QPoint)
    """

    menuRequested = Signal(bytes, QPoint)

    def mousePressEvent(self, e: QMouseEvent) -> None:
        if e.button() == Qt.MouseButton.RightButton:
            e.accept()  # no selection, no current row: only the menu
            index = self.indexAt(e.position().toPoint())
            user = index.data(ConvRole.UserId) if index.isValid() else None
            if user:
                self.menuRequested.emit(bytes(user), e.globalPosition().toPoint())
            return
        super().mousePressEvent(e)


class Sidebar(QWidget):
    """Search field, handoff offers, conversations, pending requests and the Nearby list.

    Signals:
        conversationActivated(user: bytes)
        searchResultActivated(user: bytes, hit: MessageRow)
        handoffActivated(offer: HandoffOffer)
        handoffDismissed(offer: HandoffOffer)
    """

    conversationActivated = Signal(bytes)
    searchResultActivated = Signal(bytes, object)
    handoffActivated = Signal(object)
    handoffDismissed = Signal(object)

    def __init__(self, bridge: Bridge, model: ConversationModel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("sidebar")
        self.setMinimumWidth(FULL_MIN_WIDTH)
        self.compact = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        top = QHBoxLayout()
        top.setContentsMargins(10, 10, 10, 6)
        self.search = QLineEdit()
        self.search.setObjectName("searchField")
        self.search.setAccessibleName(self.tr("Search"))
        self.search.setPlaceholderText(self.tr("Search (Ctrl+F)"))
        self.search.setToolTip(self.tr("Search messages and people"))
        self.search.setClearButtonEnabled(True)
        top.addWidget(self.search, 1)
        self.new_chat_button = theme.IconButton("compose", "✎")
        self.new_chat_button.setObjectName("newChatButton")
        self.new_chat_button.setToolTip(self.tr("New message (Ctrl+N)"))
        self.new_chat_button.setAccessibleName(self.tr("New message"))
        top.addWidget(self.new_chat_button)
        self.settings_button = theme.IconButton("settings", "⚙")
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.setToolTip(self.tr("Settings (Ctrl+,)"))
        self.settings_button.setAccessibleName(self.tr("Settings"))
        top.addWidget(self.settings_button)
        self._top = top
        self._top_tools: list[QWidget] = []  # features' buttons (add_top_button)
        layout.addLayout(top)
        # chats open on my other devices
        self.handoff_box = QVBoxLayout()
        self.handoff_box.setContentsMargins(10, 0, 10, 6)
        self.handoff_box.setSpacing(4)
        layout.addLayout(self.handoff_box)
        self.handoff_cards: list[HandoffCard] = []

        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        # page 0: conversations, requests, nearby: one column, one scroll area
        page = QWidget()
        page.setObjectName("sidebarColumn")
        page.setAutoFillBackground(False)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 8)
        column.setSpacing(0)
        self.list = ConversationList()
        self.list.setObjectName("conversationList")
        self.list.setModel(model)
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.setMouseTracking(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.list.clicked.connect(self._on_clicked)
        self.list.activated.connect(self._on_clicked)
        self.list.setAccessibleName(self.tr("Conversations"))
        self.list.setAutoFillBackground(False)
        self.list.viewport().setAutoFillBackground(False)
        column.addWidget(self.list)
        self.no_chats = QLabel(self.tr("No conversations yet."))
        self.no_chats.setObjectName("noConversations")
        self.no_chats.setContentsMargins(16, 12, 16, 12)
        self.no_chats.setWordWrap(True)
        column.addWidget(self.no_chats)
        self._list_rows = -1

        self.requests_title = section_title(self.tr("Requests"), "requestsTitle")
        self.requests_box = QVBoxLayout()
        self.requests_box.setSpacing(0)
        column.addWidget(self.requests_title)
        column.addLayout(self.requests_box)
        self.nearby_title = section_title(self.tr("Nearby"), "nearbyTitle")
        column.addWidget(self.nearby_title)
        self.nearby_box = QVBoxLayout()
        self.nearby_box.setSpacing(0)
        column.addLayout(self.nearby_box)
        self.nearby_empty = QLabel(self.tr("Looking for people on this network…"))
        self.nearby_empty.setObjectName("nearbyEmpty")
        self.nearby_empty.setWordWrap(True)
        self.nearby_empty.setContentsMargins(16, 4, 16, 4)
        self.nearby_empty.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        column.addWidget(self.nearby_empty)
        self.add_address = QPushButton(self.tr("Connect by address…"))
        self.add_address.setObjectName("addByAddressButton")
        self.add_address.setFlat(True)
        row = QHBoxLayout()
        row.setContentsMargins(10, 4, 10, 0)
        row.addWidget(self.add_address)
        row.addStretch(1)
        column.addLayout(row)
        column.addStretch(1)
        self.column_scroll = QScrollArea()
        self.column_scroll.setObjectName("sidebarScroll")
        self.column_scroll.setWidget(page)
        self.column_scroll.setWidgetResizable(True)
        self.column_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.column_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.column_scroll.viewport().setAutoFillBackground(False)
        self.stack.addWidget(self.column_scroll)
        # the column is never wider than the sidebar, so nothing (a focused button
        # either) can scroll it sideways
        self.column_scroll.horizontalScrollBar().rangeChanged.connect(
            lambda _lo, _hi: self.column_scroll.horizontalScrollBar().setValue(0))
        model.modelReset.connect(self.fit_list)
        model.rowsInserted.connect(self.fit_list)
        model.rowsRemoved.connect(self.fit_list)
        self.list.selectionModel().currentChanged.connect(self._follow_current)
        # page 1: search results
        self.results = QListWidget()
        self.results.setObjectName("searchResults")
        self.results.setAccessibleName(self.tr("Search results"))
        self.results.setFrameShape(QFrame.Shape.NoFrame)
        self.results.setWordWrap(True)
        # a result is as wide as the list and wraps (it made the list scroll sideways)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.viewport().installEventFilter(self)
        self.results.itemActivated.connect(self._on_result)
        self.results.itemClicked.connect(self._on_result)
        self.stack.addWidget(self.results)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.run_search)
        self.search.textChanged.connect(self._on_search_text)
        self.search.returnPressed.connect(self._on_search_enter)
        self.search.installEventFilter(self)
        self.request_rows: list[PersonRow] = []
        self.nearby_rows: list[PersonRow] = []

    def add_top_button(self, icon: str, fallback: str, name: str, tip: str) -> QToolButton:
        """A feature's button in the row at the top, before Settings (the transfers list):
        same size as the others; hidden with them when the sidebar is a column of avatars."""
        b = theme.IconButton(icon, fallback)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.setAccessibleName(tip)
        self._top.insertWidget(self._top.indexOf(self.settings_button), b)
        self._top_tools.append(b)
        b.setVisible(not self.compact)
        return b

    def set_compact(self, compact: bool) -> None:
        """A narrow window: the sidebar is a column of avatars (as in Messages); what
        needs words (search, requests, Nearby, offers) comes back when it widens."""
        if compact == self.compact:
            return
        self.compact = compact
        self.setMinimumWidth(COMPACT_WIDTH if compact else FULL_MIN_WIDTH)
        self.setMaximumWidth(COMPACT_WIDTH if compact else 16777215)
        for w in (self.search, self.settings_button, *self._top_tools, *self.handoff_cards):
            w.setVisible(not compact)
        if compact:
            self.stack.setCurrentIndex(0)
        self.refresh_people()
        if compact:
            self.no_chats.hide()
        else:
            self._list_rows = -1
            self.fit_list()
        self.list.viewport().update()

    @property
    def handoff_buttons(self) -> list[QPushButton]:
        return [c.continue_button for c in self.handoff_cards]

    def _on_clicked(self, index: QModelIndex) -> None:
        user = index.data(ConvRole.UserId)
        if user:
            self.conversationActivated.emit(bytes(user))

    def select_user(self, user: bytes | None) -> None:
        model = self.list.model()
        assert isinstance(model, ConversationModel)
        row = model.row_of(user) if user else -1
        sel = self.list.selectionModel()
        if row < 0:
            sel.clearSelection()
            return
        idx = model.index(row)
        if not sel.isSelected(idx):
            sel.select(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self._follow_current(idx)

    def _follow_current(self, index: QModelIndex) -> None:
        """Keep a row the keyboard or a chat switch moved to in view (the list itself
        never scrolls: the column around it does)."""
        if index.isValid():
            rect = self.list.visualRect(index)
            column = self.column_scroll.widget()
            assert column is not None
            centre = self.list.mapTo(column, rect.center())
            self.column_scroll.ensureVisible(0, centre.y(), 0, rect.height())

    # -- requests and nearby -------------------------------------------------------------

    def fit_list(self) -> None:
        """The list is exactly as tall as its rows: the column scrolls, not the list."""
        rows = self.list.model().rowCount()
        if rows == self._list_rows:
            return
        self._list_rows = rows
        self.list.setFixedHeight(rows * ConversationDelegate.HEIGHT + 2 * self.list.frameWidth())
        self.list.setVisible(rows > 0)
        self.no_chats.setVisible(rows == 0)

    def refresh_people(self) -> None:
        self.fit_list()
        for rows in (self.request_rows, self.nearby_rows):
            for r in rows:
                r.setParent(None)
                r.deleteLater()
            rows.clear()
        contacts = self.bridge.contacts()
        shared = self.bridge.shared_names(contacts)

        def hint(name: str, user: bytes) -> str:
            return key_label(user) if name.casefold() in shared else ""

        requests = self.bridge.requests()
        self.requests_title.setVisible(bool(requests))
        for c in requests:
            note = (self.tr("⚠ Not the {name} you know: different key").format(name=c.name)
                    if c.key_changed else self.tr("wants to chat with you"))
            row = PersonRow(c.name, note, c.user_id, hint(c.name, c.user_id),
                            warning=c.key_changed)
            row.setObjectName("requestRow")
            row.activated.connect(partial(self._open_request, c.user_id))
            if c.key_changed:  # no one-click accept: the chat explains and asks first
                open_ = row.add_button(self.tr("View"), "requestViewButton")
                open_.clicked.connect(partial(self._open_request, c.user_id))
            else:
                accept = row.add_button(self.tr("Accept"), "acceptButton")
                accept.clicked.connect(partial(self._accept, c.user_id))
            decline = row.add_button(self.tr("Decline"), "declineButton")
            decline.clicked.connect(partial(self._decline, c.user_id))
            self.requests_box.addWidget(row)
            self.request_rows.append(row)
            if self.compact:  # (avatars only: the asker's, ringed, still opens it)
                row.set_compact(True, self.tr("{name}: {note}").format(name=c.name, note=note))
        nearby = self.bridge.nearby()
        self.nearby_empty.setText(
            self.tr("Looking for people on this network…")
            if self.bridge.setting("discoverable", True)
            else self.tr("You are hidden from people nearby, and they from you; your contacts "
                         "still reach you. Turn on Discoverable in Settings to meet someone new.")
        )
        self.nearby_empty.setVisible(not nearby)
        for p in nearby:
            if p.problem:  # another version of Kith: nothing can be said to them
                name = p.name or self.tr("Unknown")
                row = PersonRow(name, f"⚠ {p.problem}", p.device_id or b"", "")
                row.setObjectName("nearbyProblemRow")
                row.setToolTip(p.problem)
                self.nearby_box.addWidget(row)
                self.nearby_rows.append(row)
                continue
            assert p.user_id is not None
            note = self.tr("⚠ Same name as a contact, different key") if p.key_changed else \
                (self.tr("on this network") if not p.connected else self.tr("connected"))
            name = p.name or self.tr("Unknown")
            row = PersonRow(name, note, p.user_id, hint(name, p.user_id))
            row.setObjectName("nearbyRow")
            add = row.add_button(self.tr("Add"), "nearbyAddButton")
            add.setToolTip(self.tr("Send {name} a contact request").format(name=name))
            add.clicked.connect(partial(self._add, p.user_id, add))
            self.nearby_box.addWidget(row)
            self.nearby_rows.append(row)
        self.nearby_title.setVisible(not self.compact)
        self.add_address.setVisible(not self.compact)
        if self.compact:  # avatars only: what needs words waits for a wider sidebar
            for hidden in (self.requests_title, self.nearby_empty, *self.nearby_rows):
                hidden.hide()

    def _open_request(self, user: bytes) -> None:
        self.conversationActivated.emit(user)

    def _accept(self, user: bytes) -> None:
        self.bridge.accept_contact(user)

    def _decline(self, user: bytes) -> None:
        self.bridge.decline_contact(user)

    def _add(self, user: bytes, button: QPushButton) -> None:
        button.setEnabled(False)
        button.setText(self.tr("Sent"))
        self.bridge.add_contact(user)

    # -- handoff ---------------------------------------------------------------------------

    def show_handoffs(self, offers: list[HandoffOffer]) -> None:
        for card in self.handoff_cards:
            card.setParent(None)
            card.deleteLater()
        self.handoff_cards.clear()
        names = self.bridge.names()
        for offer in offers:
            assert offer.user is not None
            card = HandoffCard(offer, names.get(offer.user, "?"))
            card.continued.connect(self.handoffActivated.emit)
            card.dismissed.connect(self.handoffDismissed.emit)
            self.handoff_box.addWidget(card)
            self.handoff_cards.append(card)

    # -- search ----------------------------------------------------------------------------

    def _on_search_text(self, text: str) -> None:
        if not text.strip():
            self._search_timer.stop()
            self.results.clear()
            self.stack.setCurrentIndex(0)
            return
        self._search_timer.start()

    def _on_search_enter(self) -> None:
        self.run_search()
        if self.results.count():
            self.results.setCurrentRow(0)
            self._on_result(self.results.item(0))

    def run_search(self) -> None:
        self._search_timer.stop()
        text = self.search.text().strip()
        self.results.clear()
        if not text:
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        words = query_words(text)
        colour = theme.search_mark(self.palette()).name()
        names = self.bridge.names()
        # people first: a contact's name matches too
        folded = text.casefold()
        people = [c for c in self.bridge.contacts()
                  if folded in c.name.casefold() and c.state in (ACCEPTED, PENDING_OUT)]
        for c in people:
            self._add_result(f"<b>{mark(c.name, words, colour)}</b><br><small>"
                             + self.tr("Open the conversation") + "</small>",
                             self.tr("{name} · open the conversation").format(name=c.name),
                             (c.user_id, None))
        hits = self.bridge.search(text)
        if not hits and not people:
            item = QListWidgetItem(
                self.tr("No messages or people match “{text}”.").format(text=text))
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.results.addItem(item)
            return
        for m in hits:
            peer = self.bridge.conversation_peer(m.conv)
            if peer is None:
                continue
            who = self.tr("You") if m.outgoing else names.get(m.sender, "?")
            chat, when, context = names.get(peer, "?"), short_time(m.time), snippet(m.text, words)
            self._add_result(
                f"<b>{html.escape(chat)}</b> · <small>{html.escape(when)}</small><br>"
                f"{html.escape(who)}: {mark(context, words, colour)}",
                f"{chat} · {when}\n{who}: {context}", (peer, m))

    def _add_result(self, rich: str, plain: str,
                    data: tuple[bytes, MessageRow | None]) -> None:
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, data)
        label = QLabel(rich)
        label.setObjectName("searchResult")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setContentsMargins(12, 6, 12, 6)
        label.setWordWrap(True)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._fit_result(item, label)
        item.setText(plain)  # (what accessibility and tests read)
        item.setForeground(Qt.GlobalColor.transparent)
        self.results.addItem(item)
        self.results.setItemWidget(item, label)

    def _fit_result(self, item: QListWidgetItem, label: QWidget) -> None:
        width = self.results.viewport().width()
        item.setSizeHint(QSize(width, label.heightForWidth(width)))

    def changeEvent(self, e: QEvent) -> None:
        super().changeEvent(e)
        # a theme switch while results show: their marks take the new theme's colour
        # (the light yellow stayed under white text on dark)
        if e.type() == QEvent.Type.PaletteChange and self.stack.currentIndex() == 1:
            self.run_search()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.results.viewport() and event.type() == QEvent.Type.Resize:
            for i in range(self.results.count()):
                item = self.results.item(i)
                label = self.results.itemWidget(item)
                if label is not None:
                    self._fit_result(item, label)
        # Escape in the search field clears it (and so closes the results)
        if watched is self.search and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape \
                and self.search.text():
            self.search.clear()
            return True
        return super().eventFilter(watched, event)

    def _on_result(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if data:
            if data[1] is None:  # a person
                self.search.clear()
                self.conversationActivated.emit(data[0])
            else:
                self.searchResultActivated.emit(data[0], data[1])

