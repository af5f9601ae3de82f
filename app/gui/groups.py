"""New group (from the compose button): name it, pick contacts; and the contact picker
the group info panel's "Add people" uses.

The group is created by the node (``Node.create_group``); this dialog only collects the
name and the members, and says why the node refused (a name too long, too many people).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
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

from app.gui import mentions
from app.gui.bridge import Bridge, Conversation
from app.gui.chatpane import ChatPane
from app.gui.models import MessageModel
from app.gui.trustlog import SYSTEM_AUTHOR
from p2p.groups import GroupInfo
from p2p.membership import MAX_MEMBERS, MAX_NAME, is_group_id
from p2p.node import ACCEPTED
from storage import STATUS_READ, MessageRow


class ContactPicker(QListWidget):
    """Accepted contacts with a check box each (``exclude``: users not to offer)."""

    def __init__(self, bridge: Bridge, exclude: set[bytes] = frozenset(),  # type: ignore[assignment]
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("groupContactPicker")
        self.setAccessibleName(self.tr("Contacts"))
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
        self.setWindowTitle(self.tr("New group"))
        self.resize(380, 460)
        layout = QVBoxLayout(self)
        self.name = QLineEdit()
        self.name.setObjectName("groupNameEdit")
        self.name.setAccessibleName(self.tr("Group name"))
        self.name.setPlaceholderText(self.tr("Group name"))
        self.name.setMaxLength(MAX_NAME)
        layout.addWidget(self.name)
        layout.addWidget(QLabel(self.tr("People (your contacts; at most {count}):").format(
            count=MAX_MEMBERS - 1)))
        self.picker = ContactPicker(bridge)
        layout.addWidget(self.picker, 1)
        self.problem = QLabel()
        self.problem.setObjectName("newGroupProblem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.setObjectName("newGroupCancelButton")
        buttons.addWidget(cancel)
        self.create_button = QPushButton(self.tr("Create"))
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
        self.setWindowTitle(self.tr("Add people"))
        layout = QVBoxLayout(self)
        self.picker = ContactPicker(bridge, exclude)
        layout.addWidget(self.picker, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton(self.tr("Cancel"))
        buttons.addWidget(cancel)
        self.add_button = QPushButton(self.tr("Add"))
        self.add_button.setObjectName("addPeopleButton")
        buttons.addWidget(self.add_button)
        layout.addLayout(buttons)
        cancel.clicked.connect(self.reject)
        self.add_button.clicked.connect(self.accept)


# -- groups in the existing chat view ------------------------------------------------------
#
# The window, the sidebar and the chat pane know a chat by one 32-byte key, a contact's
# user id. A group's row uses its conversation id as that key (a group id says it is one:
# p2p.membership.is_group_id), and the bridge and the window ask these functions for what
# differs: the sidebar row, the system lines, the chat's header and composer.


def is_group(key: bytes | None) -> bool:
    return key is not None and is_group_id(key)


def group_rows(bridge: Bridge) -> list[Conversation]:
    """The sidebar's rows of the groups I am (or was) in."""
    node = bridge.node
    out = []
    for g in node.groups():
        online = any(node.online(m.user_id) for m in g.members if m.user_id != node.user_id)
        out.append(Conversation(
            g.id, g.id, g.name, ACCEPTED, False, False, online,
            node.db.last_message(g.id), bridge.unread_count(g.id), False, "", g.muted,
        ))
    return out


def line_rows(bridge: Bridge, conv: bytes) -> list[MessageRow]:
    """A group's membership changes as the chat's system lines."""
    node = bridge.node
    groups = node.core.groups
    cut = node.db.chat_cut(conv)
    return [
        MessageRow(b"group-line:" + x.author[:8] + x.seq.to_bytes(8, "big"), conv,
                   SYSTEM_AUTHOR, SYSTEM_AUTHOR, 0, x.lamport, x.time,
                   groups.line_text(x), False, STATUS_READ)
        for x in node.db.group_lines(conv)
        if x.lamport > cut  # (delete chat: p2p.actions.deletion)
    ]


def present(pane: ChatPane, bridge: Bridge, conv: bytes) -> None:
    """The chat pane's header, banners and composer for a group."""
    node = bridge.node
    info = node.core.groups.info(conv)
    pane.header.name.setText(info.name)
    you = QCoreApplication.translate("groups", "You")
    names = ", ".join(you if m.user_id == node.user_id else m.name for m in info.members)
    count = len(info.members)
    # (two forms, not %n: lupdate sees no plural in a function outside a class)
    pane.header.subtitle.setText((
        QCoreApplication.translate("groups", "1 member: {names}") if count == 1 else
        QCoreApplication.translate("groups", "{count} members: {names}")).format(
        count=count, names=names))
    pane.header.info.setText(QCoreApplication.translate("groups", "Group info"))
    pane.header.info.setToolTip(QCoreApplication.translate(
        "groups", "Members, roles, add or remove people, rename, leave"))
    for banner in (pane.key_banner, pane.request_banner, pane.replaced_banner):
        banner.present(None)
    mentions.attach(pane.composer).set_names(
        [m.name for m in info.members if m.user_id != node.user_id])
    can_send = not info.left and not node.removed
    pane.composer.setEnabled(can_send)
    pane.send_button.setEnabled(can_send)
    if can_send:
        pane.composer.setPlaceholderText(
            QCoreApplication.translate("groups", "Message {name}").format(name=info.name))
    else:
        pane.composer.setPlaceholderText(
            QCoreApplication.translate("groups", "You are no longer in this group"))


class GroupInfoDialog(QDialog):
    """The group info panel in a dialog (the chat header's info button)."""

    def __init__(self, bridge: Bridge, conv: bytes, parent: QWidget | None = None) -> None:
        from app.gui.groupinfo import GroupInfoPanel

        super().__init__(parent)
        self.setObjectName("groupInfoDialog")
        self.setWindowTitle(self.tr("Group info"))
        self.resize(380, 520)
        layout = QVBoxLayout(self)
        self.panel = GroupInfoPanel(bridge, conv, self)
        layout.addWidget(self.panel)


def sender_name(model: MessageModel, i: int, cache: dict[tuple[bytes, bytes], str]) -> str:
    """The name above an incoming bubble that starts a run of one sender's messages, in a
    group ("" elsewhere). ``cache``: the delegate's, by (conversation, sender)."""
    conv = model.conv
    if conv is None or not is_group_id(conv):
        return ""
    r = model.row(i)
    if r.outgoing or r.author == SYSTEM_AUTHOR or not model.shape(i).first:
        return ""
    key = (conv, r.sender)
    name = cache.get(key)
    if name is None:
        groups = model.bridge.node.core.groups
        name = cache[key] = groups.name_of(r.sender, groups.groups.get(conv))
        if len(cache) > 1000:
            cache.clear()
    return name
