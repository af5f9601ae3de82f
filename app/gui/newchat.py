"""New message (Ctrl+N): pick a contact to write to, or someone nearby to send a request.

Like the "To:" field of a messenger: type a few letters of a name (or of a user id), the
list narrows, Enter opens the first match.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui.bridge import Bridge, key_label
from kith.p2p.node import ACCEPTED, PENDING_IN, PENDING_OUT


@dataclass(frozen=True)
class Candidate:
    user_id: bytes
    name: str
    note: str
    contact: bool  # False: someone nearby, choosing them sends a contact request
    verified: bool = False
    key_changed: bool = False
    key_hint: str = ""  # the key, when another key goes by the same name

    def label(self) -> str:
        mark = " ✔" if self.verified else ""
        key = ("  ·  " + QCoreApplication.translate("Candidate", "key {key}").format(
            key=self.key_hint) if self.key_hint else "")
        note = self.note
        if self.key_changed:
            note = QCoreApplication.translate("Candidate", "⚠ not the {name} you know").format(
                name=self.name) + (f" · {note}" if note else "")
        return f"{self.name}{mark}{key}" + (f"  ·  {note}" if note else "")

    def matches(self, text: str) -> bool:
        text = text.strip().casefold()
        return not text or text in self.name.casefold() or self.user_id.hex().startswith(text)


class NewChatDialog(QDialog):
    """Signals:
        chosen(user: bytes, contact: bool): the user picked a contact (open the chat) or
            someone nearby (send a request, then open the pending chat)
        byAddress(): the user wants to connect by address instead
    """

    chosen = Signal(bytes, bool)
    byAddress = Signal()
    newGroup = Signal()  # the user wants a new group instead (app.gui.groups)

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("newChatDialog")
        self.setWindowTitle(self.tr("New message"))
        self.resize(380, 440)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.setSpacing(8)
        to = QHBoxLayout()
        label = QLabel(self.tr("To:"))
        to.addWidget(label)
        self.filter = QLineEdit()
        self.filter.setObjectName("newChatFilter")
        self.filter.setPlaceholderText(self.tr("Name or user id"))
        self.filter.setClearButtonEnabled(True)
        label.setBuddy(self.filter)
        to.addWidget(self.filter, 1)
        layout.addLayout(to)
        self.list = QListWidget()
        self.list.setObjectName("newChatList")
        self.list.setAccessibleName(self.tr("People"))
        self.list.setUniformItemSizes(True)
        layout.addWidget(self.list, 1)
        self.empty = QLabel()
        self.empty.setObjectName("newChatEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.empty)
        buttons = QHBoxLayout()
        self.address_button = QPushButton(self.tr("Connect by address…"))
        self.address_button.setObjectName("newChatAddressButton")
        self.address_button.setAutoDefault(False)
        buttons.addWidget(self.address_button)
        self.group_button = QPushButton(self.tr("New group…"))
        self.group_button.setObjectName("newChatGroupButton")
        self.group_button.setAutoDefault(False)
        self.group_button.clicked.connect(self._on_group)
        buttons.addWidget(self.group_button)
        buttons.addStretch(1)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.setObjectName("newChatCancelButton")
        cancel.setAutoDefault(False)
        buttons.addWidget(cancel)
        layout.addLayout(buttons)

        self.candidates = self._candidates()
        self.filter.textChanged.connect(self.update_list)
        self.filter.returnPressed.connect(self.choose_current)
        self.list.itemActivated.connect(self._on_item)
        self.list.itemClicked.connect(self._on_item)
        self.address_button.clicked.connect(self._on_address)
        cancel.clicked.connect(self.reject)
        self.update_list()
        self.filter.setFocus()

    def _candidates(self) -> list[Candidate]:
        notes = {ACCEPTED: "", PENDING_OUT: self.tr("request sent"),
                 PENDING_IN: self.tr("wants to chat with you")}
        all_contacts = self.bridge.contacts()
        shared = self.bridge.shared_names(all_contacts)

        def hint(name: str, user: bytes) -> str:
            return key_label(user) if name.casefold() in shared else ""

        contacts = [
            Candidate(c.user_id, c.name, notes[c.state], True, c.verified, c.key_changed,
                      hint(c.name, c.user_id))
            for c in all_contacts if c.state in notes and c.replaced_by is None
        ]
        # of two with one name, the one the user knows (verified, accepted) comes first
        contacts.sort(key=lambda c: (c.name.casefold(), c.key_changed, not c.verified,
                                     c.note != ""))
        nearby = [
            Candidate(p.user_id, p.name or self.tr("Unknown"),
                      self.tr("nearby · send a contact request"), False,
                      False, p.key_changed, hint(p.name or "", p.user_id))
            for p in self.bridge.nearby() if p.user_id is not None
        ]
        return contacts + nearby

    def update_list(self) -> None:
        text = self.filter.text()
        self.list.clear()
        for c in self.candidates:
            if not c.matches(text):
                continue
            item = QListWidgetItem(c.label())
            item.setData(Qt.ItemDataRole.UserRole, c)
            item.setSizeHint(QSize(0, 34))
            item.setToolTip(c.user_id.hex())
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.list.setVisible(self.list.count() > 0)
        self.empty.setVisible(self.list.count() == 0)
        if not self.candidates:
            self.empty.setText(
                self.tr("No contacts yet, and nobody running Kith has shown up on this network. "
                "If you know their address, connect by address.")
            )
        else:
            self.empty.setText(self.tr("Nobody called “{name}”.").format(name=text.strip()))

    def keyPressEvent(self, e: QKeyEvent) -> None:
        # Up/Down in the "To:" field move through the list, as in a completer
        if e.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.list.count():
            step = 1 if e.key() == Qt.Key.Key_Down else -1
            row = min(max(self.list.currentRow() + step, 0), self.list.count() - 1)
            self.list.setCurrentRow(row)
            return
        super().keyPressEvent(e)

    def choose_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._on_item(item)

    def _on_item(self, item: QListWidgetItem) -> None:
        c: Candidate = item.data(Qt.ItemDataRole.UserRole)
        self.chosen.emit(c.user_id, c.contact)
        self.accept()

    def _on_group(self) -> None:
        self.newGroup.emit()
        self.accept()

    def _on_address(self) -> None:
        self.byAddress.emit()
        self.accept()
