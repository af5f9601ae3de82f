"""New group (from the compose button): name it, pick contacts; and the contact picker
the group info panel's "Add people" uses.

The group is created by the node (``Node.create_group``); this dialog only collects the
name and the members, and says why the node refused (a name too long, too many people).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
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

from app.gui.bridge import Bridge
from p2p.groups import GroupInfo
from p2p.membership import MAX_MEMBERS, MAX_NAME
from p2p.node import ACCEPTED


class ContactPicker(QListWidget):
    """Accepted contacts with a check box each (``exclude``: users not to offer)."""

    def __init__(self, bridge: Bridge, exclude: set[bytes] = frozenset(),  # type: ignore[assignment]
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("groupContactPicker")
        contacts = [c for c in bridge.contacts()
                    if c.state == ACCEPTED and c.replaced_by is None and c.user_id not in exclude]
        for c in sorted(contacts, key=lambda c: c.name.casefold()):
            item = QListWidgetItem(c.name + (" ✔" if c.verified else ""))
            item.setData(Qt.ItemDataRole.UserRole, c.user_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.addItem(item)
        self.itemClicked.connect(self._toggle)

    def _toggle(self, item: QListWidgetItem) -> None:
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def chosen(self) -> list[bytes]:
        return [
            self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())
            if self.item(i).checkState() == Qt.CheckState.Checked
        ]

    def check(self, user: bytes) -> None:
        for i in range(self.count()):
            if self.item(i).data(Qt.ItemDataRole.UserRole) == user:
                self.item(i).setCheckState(Qt.CheckState.Checked)


class NewGroupDialog(QDialog):
    """Signals:
        created(conv: bytes): the node created the group (open it)
    """

    created = Signal(bytes)

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("newGroupDialog")
        self.setWindowTitle("New group")
        self.resize(380, 460)
        layout = QVBoxLayout(self)
        self.name = QLineEdit()
        self.name.setObjectName("groupNameEdit")
        self.name.setPlaceholderText("Group name")
        self.name.setMaxLength(MAX_NAME)
        layout.addWidget(self.name)
        layout.addWidget(QLabel(f"People (your contacts; at most {MAX_MEMBERS - 1}):"))
        self.picker = ContactPicker(bridge)
        layout.addWidget(self.picker, 1)
        self.problem = QLabel()
        self.problem.setObjectName("newGroupProblem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.setObjectName("newGroupCancelButton")
        buttons.addWidget(cancel)
        self.create_button = QPushButton("Create")
        self.create_button.setObjectName("createGroupButton")
        self.create_button.setDefault(True)
        buttons.addWidget(self.create_button)
        layout.addLayout(buttons)
        self.name.textChanged.connect(self._update)
        self.picker.itemChanged.connect(self._update)
        cancel.clicked.connect(self.reject)
        self.create_button.clicked.connect(self.create_group)
        self._update()
        self.name.setFocus()

    def _update(self, *_: object) -> None:
        self.create_button.setEnabled(bool(self.name.text().strip()) and bool(self.picker.chosen()))

    def create_group(self) -> None:
        if not self.create_button.isEnabled():
            return
        self.create_button.setEnabled(False)
        members = [u.hex() for u in self.picker.chosen()]
        self.bridge.run(self.bridge.node.create_group(self.name.text().strip(), members),
                        on_done=self._done, on_error=self._failed)

    def _done(self, info: GroupInfo) -> None:
        self.created.emit(info.id)
        self.accept()

    def _failed(self, problem: str) -> None:
        self.problem.setText(problem)
        self.problem.show()
        self._update()


class AddPeopleDialog(QDialog):
    """Pick contacts of mine who are not in the group yet."""

    def __init__(self, bridge: Bridge, exclude: set[bytes], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addPeopleDialog")
        self.setWindowTitle("Add people")
        layout = QVBoxLayout(self)
        self.picker = ContactPicker(bridge, exclude)
        layout.addWidget(self.picker, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel")
        buttons.addWidget(cancel)
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName("addPeopleButton")
        buttons.addWidget(self.add_button)
        layout.addLayout(buttons)
        cancel.clicked.connect(self.reject)
        self.add_button.clicked.connect(self.accept)
