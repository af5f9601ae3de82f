"""The transfers list: what is coming in and going out, with pause, resume and cancel
(a file I am sending: pause and resume its serving from this device)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui.filebubbles import size_text

if TYPE_CHECKING:
    from kith.app.gui.filebubbles import FilesBridge


def transfer_text(t: dict[str, Any]) -> str:
    arrow = "↓" if t["direction"] == "in" else "↑"
    text = QCoreApplication.translate("transfers", "{arrow} {name}  {have} of {size}").format(
        arrow=arrow, name=t["name"], have=size_text(t["have"]), size=size_text(t["size"]))
    if t.get("rate"):
        text += f" · {size_text(int(t['rate']))}/s"
    if t.get("eta"):
        text += " · " + QCoreApplication.translate("transfers", "{seconds} s left").format(
            seconds=int(t["eta"]) + 1)
    if t["state"] == "paused":
        text += " · " + (QCoreApplication.translate("transfers", "paused: {problem}").format(
            problem=t["problem"]) if t.get("problem")
            else QCoreApplication.translate("transfers", "paused"))
        if t["direction"] != "in":
            text += QCoreApplication.translate("TransfersDialog", " (not sending)")
    if t.get("peer"):
        text += " · " + (QCoreApplication.translate("transfers", "from {name}")
                         if t["direction"] == "in"
                         else QCoreApplication.translate("transfers", "to {name}")).format(
            name=t["peer"])
    return text


class TransfersDialog(QDialog):
    def __init__(self, files: FilesBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.files = files
        self.setObjectName("transfersDialog")
        self.setWindowTitle(self.tr("Transfers"))
        self.resize(520, 320)
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("transfersList")
        layout.addWidget(self.list, 1)
        # an empty list says so (instead of a blank box over buttons that do nothing)
        self.empty = QLabel(self.tr("Nothing is being sent or received."))
        self.empty.setObjectName("transfersEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty, 1)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for action, label, text in (("pause", "Pause", self.tr("Pause")),
                                    ("resume", "Resume", self.tr("Resume")),
                                    ("cancel", "Cancel", self.tr("Cancel"))):
            b = QPushButton(text)
            b.setObjectName(f"transfer{label}")
            b.clicked.connect(lambda _=False, a=action: self.act(a))
            row.addWidget(b)
            self.buttons[action] = b
        row.addStretch(1)
        layout.addLayout(row)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def refresh(self) -> None:
        selected = self.selected_id()
        self.list.clear()
        for t in self.files.transfers():
            item = QListWidgetItem(transfer_text(t))
            item.setData(Qt.ItemDataRole.UserRole, t)
            self.list.addItem(item)
            if t["id"] == selected:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Pause, resume and cancel act on the selected transfer: without one they are
        off; with no transfer at all the list gives way to a line saying so."""
        has_any = self.list.count() > 0
        self.list.setVisible(has_any)
        self.empty.setVisible(not has_any)
        for b in self.buttons.values():
            b.setEnabled(self.list.currentItem() is not None)

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole)["id"] if item else None

    def act(self, action: str) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        t = item.data(Qt.ItemDataRole.UserRole)
        file = bytes.fromhex(t["id"])
        node_files = self.files.node.files
        try:
            if t["direction"] != "in":  # a file I send: pause or resume serving it
                if action == "pause":
                    node_files.pause_sending(file)
                elif action == "resume":
                    node_files.resume_sending(file)
            elif action == "pause":
                node_files.pause(file)
            elif action == "resume":
                node_files.start(file)
            else:
                node_files.cancel(file)
        except Exception as e:  # (a UserError: say it)
            self.files.bridge.error.emit(str(e))
        self.refresh()
