"""New group (from the compose button): name it, pick contacts; and the contact picker
the group info panel's "Add people" uses.

The group is created by the node (``Node.create_group``); this dialog only collects the
name and the members, and says why the node refused (a name too long, too many people).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui import avatars, mentions
from kith.app.gui.bridge import Bridge, Conversation
from kith.app.gui.chatpane import ChatPane
from kith.app.gui.models import MessageModel
from kith.app.gui.trustlog import SYSTEM_AUTHOR
from kith.p2p.groups import GroupInfo
from kith.p2p.membership import MAX_MEMBERS, MAX_NAME, is_group_id
from kith.p2p.node import ACCEPTED
from kith.storage import STATUS_READ, MessageRow


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
            bridge.last_message(g.id), bridge.unread_count(g.id), False, "", g.muted,
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


def header_avatar(pane: ChatPane) -> avatars.GroupAvatar:
    """The group's avatar at the start of the chat header (made on first use; hidden in
    a chat with one person: :func:`hide_avatar`)."""
    found = pane.header.findChild(avatars.GroupAvatar)
    if found is None:
        found = avatars.GroupAvatar(36, pane.header)
        layout = pane.header.layout()
        assert isinstance(layout, QHBoxLayout)
        layout.insertWidget(0, found)
    return found


def hide_avatar(pane: ChatPane) -> None:
    found = pane.header.findChild(avatars.GroupAvatar)
    if found is not None:
        found.hide()


def present(pane: ChatPane, bridge: Bridge, conv: bytes) -> None:
    """The chat pane's header, banners and composer for a group."""
    node = bridge.node
    info = node.core.groups.info(conv)
    header_avatar(pane).set_members(avatars.group_members(bridge, conv))
    header_avatar(pane).show()
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
    elif info.left:  # "You were removed from Board games by Alice", "You left Board games"
        from kith.p2p.errors import UserError

        try:
            node.core.groups.require_member(conv)
            why = QCoreApplication.translate("groups", "You are no longer in this group")
        except UserError as e:
            why = str(e)[:1].upper() + str(e)[1:]
        pane.composer.setPlaceholderText(why)
    else:
        pane.composer.setPlaceholderText(
            QCoreApplication.translate("groups", "You are no longer in this group"))


class GroupInfoDialog(QDialog):
    """The group info panel in a dialog (the chat header's info button)."""

    def __init__(self, bridge: Bridge, conv: bytes, parent: QWidget | None = None) -> None:
        from kith.app.gui.groupinfo import GroupInfoPanel

        super().__init__(parent)
        self.setObjectName("groupInfoDialog")
        self.setWindowTitle(self.tr("Group info"))
        self.resize(380, 520)
        layout = QVBoxLayout(self)
        self.panel = GroupInfoPanel(bridge, conv, self)
        layout.addWidget(self.panel)


def status_text(bridge: Bridge, row: MessageRow) -> str | None:
    """The status line under my newest message in a group: "Read by 2 of 3" while read
    receipts come in (everyone it was written to counts, former members too), "Read"
    once all have read it; None: as in a chat with one person (sending, delivered)."""
    receipts = bridge.node.core.groups.receipts(row.conv, row.author, row.seq)
    read = sum(r.status == "read" for r in receipts)
    if not receipts or not read:
        return None
    if read == len(receipts):
        return QCoreApplication.translate("groups", "Read")
    return QCoreApplication.translate("groups", "Read by {0} of {1}").format(read, len(receipts))


class ReceiptsDialog(QDialog):
    """Who got and who read one of my messages in a group (the message menu's
    "Receipts…"); a member who left or was removed since is still listed, marked."""

    def __init__(self, bridge: Bridge, row: MessageRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("receiptsDialog")
        self.setWindowTitle(self.tr("Receipts"))
        self.resize(320, 300)
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("receiptsList")
        layout.addWidget(self.list)
        groups = bridge.node.core.groups
        g = groups.groups.get(row.conv)
        words = {"read": self.tr("Read"), "delivered": self.tr("Delivered"),
                 "sent": self.tr("Not delivered yet")}
        rank = {"read": 0, "delivered": 1, "sent": 2}
        for r in sorted(groups.receipts(row.conv, row.author, row.seq),
                        key=lambda r: (rank[r.status], r.former,
                                       groups.name_of(r.user_id, g).casefold())):
            name = groups.name_of(r.user_id, g)
            if r.former:
                name = self.tr("{0} (former member)").format(name)
            self.list.addItem(f"{name}  ·  {words[r.status]}")
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.accept)
        layout.addWidget(close)


def receipts_menu(window: QWidget, bridge: Bridge) -> Callable[[QMenu, QModelIndex], None]:
    """A message menu hook (ChatView.menu_hooks): "Receipts…" on my messages in a group."""
    from kith.app.gui.models import MsgRole

    def hook(menu: QMenu, index: QModelIndex) -> None:
        row = index.data(MsgRole.Row) if index.isValid() else None
        if not isinstance(row, MessageRow) or not row.outgoing or not is_group_id(row.conv):
            return
        act = menu.addAction(QCoreApplication.translate("groups", "Receipts…"))
        act.setObjectName("receiptsAction")

        def show() -> None:
            dialog = ReceiptsDialog(bridge, row, window)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.show()

        act.triggered.connect(show)

    return hook


def typing_text(names: list[str]) -> str:
    """Who is typing in a group, as a line under the messages: "Bob is typing…", "Bob and
    Carol are typing…", "Several people are typing…" ("" when nobody is)."""
    if not names:
        return ""
    if len(names) == 1:
        return QCoreApplication.translate("groups", "{0} is typing…").format(names[0])
    if len(names) == 2:
        return QCoreApplication.translate("groups", "{0} and {1} are typing…").format(*names)
    return QCoreApplication.translate("groups", "Several people are typing…")


def notify_title(bridge: Bridge, conv: bytes, rows: list[MessageRow]) -> str:
    """A group notification's title names the sender of the newest message and the
    group: "Bob in Board games"."""
    groups = bridge.node.core.groups
    g = groups.groups.get(conv)
    group = g.state.name if g is not None else bridge.person_title(conv)
    if not rows:
        return group
    return QCoreApplication.translate("groups", "{0} in {1}").format(
        groups.name_of(rows[-1].sender, g), group)


def typing_names(bridge: Bridge, conv: bytes) -> list[str]:
    """The names of the members typing in the group ``conv`` now (the core says who),
    in alphabetical order."""
    groups = bridge.node.core.groups
    g = groups.groups.get(conv)
    return sorted((groups.name_of(u, g) for u in bridge.typing(conv)), key=str.casefold)


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
