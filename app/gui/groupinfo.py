"""The group info panel: members with their roles and verification state; add, remove,
make admin, rename, leave, mute, history for new members.

Every change goes to the node (``p2p.groups``), which checks the right to make it; the
panel shows what the node says and refreshes on the bridge's ``groupChanged``.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui.avatars import GroupAvatar, group_members
from kith.app.gui.bridge import Bridge
from kith.app.gui.groups import AddPeopleDialog
from kith.p2p.groups import GroupInfo, Groups, MemberInfo

ROLE_NAMES = {"owner": "Owner", "admin": "Admin", "member": ""}


def role_name(role: str) -> str:
    """A role of :data:`ROLE_NAMES` in the user's language ("" for a plain member)."""
    if role == "owner":
        return QCoreApplication.translate("groupinfo", "Owner")
    if role == "admin":
        return QCoreApplication.translate("groupinfo", "Admin")
    return ROLE_NAMES.get(role, "")


def member_label(m: MemberInfo, verified: bool, me: bool) -> str:
    parts = [QCoreApplication.translate("groupinfo", "{name} (you)").format(name=m.name)
             if me else m.name]
    if role_name(m.role):
        parts.append(role_name(m.role))
    if not me:
        parts.append(QCoreApplication.translate("groupinfo", "verified ✔") if verified
                     else QCoreApplication.translate("groupinfo", "not a contact")
                     if not m.contact
                     else QCoreApplication.translate("groupinfo", "not verified"))
    return "  ·  ".join(parts)


class GroupInfoPanel(QWidget):
    """One group's members and settings."""

    def __init__(self, bridge: Bridge, conv: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.conv = conv
        self.setObjectName("groupInfoPanel")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.avatar = GroupAvatar(56)  # drawn from its members (app.gui.avatars)
        self.avatar.show()
        top.addWidget(self.avatar)
        self.title = QLabel()
        self.title.setObjectName("groupInfoTitle")
        self.title.setWordWrap(True)  # a long name wraps instead of widening the dialog
        top.addWidget(self.title, 1)
        layout.addLayout(top)
        rename = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("groupRenameEdit")
        self.name_edit.setAccessibleName(self.tr("Group name"))
        rename.addWidget(self.name_edit, 1)
        self.rename_button = QPushButton(self.tr("Rename"))
        self.rename_button.setObjectName("groupRenameButton")
        rename.addWidget(self.rename_button)
        layout.addLayout(rename)
        self.members = QListWidget()
        self.members.setObjectName("groupMemberList")
        self.members.setAccessibleName(self.tr("Members"))
        # a long name is cut in its middle, so the role at the end stays; never sideways
        self.members.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.members.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        layout.addWidget(self.members, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add people…"))
        self.add_button.setObjectName("groupAddButton")
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.setObjectName("groupRemoveButton")
        self.admin_button = QPushButton(self.tr("Make admin"))
        self.admin_button.setObjectName("groupAdminButton")
        for b in (self.add_button, self.remove_button, self.admin_button):
            row.addWidget(b)
        layout.addLayout(row)
        self.request_button = QPushButton(self.tr("Send contact request"))
        self.request_button.setObjectName("groupRequestButton")
        self.request_button.setToolTip(self.tr("This member is not your contact yet"))
        layout.addWidget(self.request_button)
        self.mute = QCheckBox(self.tr("Mute notifications"))
        self.mute.setObjectName("groupMuteCheck")
        layout.addWidget(self.mute)
        self.history = QCheckBox(self.tr("New members see the history"))
        self.history.setObjectName("groupHistoryCheck")
        layout.addWidget(self.history)
        self.leave_button = QPushButton(self.tr("Leave group"))
        self.leave_button.setObjectName("groupLeaveButton")
        layout.addWidget(self.leave_button)
        self.status = QLabel()
        self.status.setObjectName("groupInfoStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.dialogs: list[QWidget] = []

        self.rename_button.clicked.connect(self.on_rename)
        self.add_button.clicked.connect(self.on_add)
        self.remove_button.clicked.connect(self.on_remove)
        self.admin_button.clicked.connect(self.on_admin)
        self.leave_button.clicked.connect(self.on_leave)
        self.request_button.clicked.connect(self.on_request)
        self.mute.clicked.connect(self.on_mute)
        self.history.clicked.connect(self.on_history)
        self.members.currentItemChanged.connect(lambda *_: self._update_buttons())
        bridge.groupChanged.connect(self.on_group_changed)
        bridge.contactChanged.connect(lambda _u: self.refresh())
        self.info: GroupInfo | None = None
        self.refresh()

    # -- state -------------------------------------------------------------------------

    def on_group_changed(self, conv: bytes) -> None:
        if conv == self.conv:
            self.refresh()

    def refresh(self) -> None:
        node = self.bridge.node
        info = self.info = node.core.groups.info(self.conv)
        self.title.setText(info.name)
        self.avatar.set_members(group_members(self.bridge, self.conv))
        if not self.name_edit.hasFocus():
            self.name_edit.setText(info.name)
            self.name_edit.setCursorPosition(0)  # shows the name's start, not its end
        selected = self.selected()
        self.members.clear()
        contacts = {c.user_id: c for c in self.bridge.contacts()}
        for m in info.members:
            c = contacts.get(m.user_id)
            me = m.user_id == node.user_id
            item = QListWidgetItem(member_label(m, bool(c and c.verified), me))
            item.setToolTip(item.text())
            item.setData(Qt.ItemDataRole.UserRole, m)
            self.members.addItem(item)
            # no wider than the list: a row as wide as its text is clipped, not elided
            item.setSizeHint(QSize(1, self.members.sizeHintForRow(self.members.count() - 1)))
            if selected is not None and selected.user_id == m.user_id:
                self.members.setCurrentItem(item)
        self.mute.setChecked(info.muted)
        self.history.setChecked(info.history)
        if info.left:
            self.status.setText(self._why_out())
        self._update_buttons()

    def _why_out(self) -> str:
        node = self.bridge.node
        name = self.info.name if self.info else "the group"
        for line in reversed(node.db.group_lines(self.conv)):
            if line.kind in ("member_removed", "member_left") and node.user_id in line.targets:
                return node.core.groups.line_text(line).replace("the group", name)
        return self.tr("You are no longer in this group.")

    def selected(self) -> MemberInfo | None:
        item = self.members.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _update_buttons(self) -> None:
        info = self.info
        mine = info.role if info is not None else None
        manage = mine in ("owner", "admin")
        m = self.selected()
        me = self.bridge.node.user_id
        self.add_button.setEnabled(manage)
        self.rename_button.setEnabled(manage)
        self.name_edit.setEnabled(manage)
        self.remove_button.setEnabled(
            manage and m is not None and m.user_id != me and m.role != "owner"
            and (mine == "owner" or m.role == "member"))
        self.admin_button.setEnabled(mine == "owner" and m is not None and m.role != "owner")
        if m is not None and m.role == "admin":
            self.admin_button.setText(self.tr("Revoke admin"))
        else:
            self.admin_button.setText(self.tr("Make admin"))
        self.history.setEnabled(mine == "owner")
        self.request_button.setEnabled(m is not None and m.user_id != me and not m.contact
                                       and self.bridge.contact(m.user_id) is None)
        self.leave_button.setEnabled(mine is not None)

    # -- actions -----------------------------------------------------------------------

    def _run(self, coro: object) -> None:
        self.status.setText("")
        self.bridge.run(coro, on_done=lambda _r: self.refresh(),  # type: ignore[arg-type]
                        on_error=self.status.setText)

    @property
    def _groups(self) -> Groups:
        return self.bridge.node.core.groups

    def on_rename(self) -> None:
        self._run(self._groups.rename(self.conv.hex(), self.name_edit.text()))

    def on_remove(self) -> None:
        m = self.selected()
        if m is not None:
            self._run(self._groups.remove(self.conv.hex(), [m.user_id.hex()]))

    def on_admin(self) -> None:
        m = self.selected()
        if m is not None:
            self._run(self._groups.set_role(self.conv.hex(), m.user_id.hex(), m.role != "admin"))

    def on_request(self) -> None:
        m = self.selected()
        if m is not None:
            self.bridge.run(self.bridge.node.add_contact(m.user_id.hex()),
                            on_done=lambda _r: self.refresh(), on_error=self.status.setText)

    def on_leave(self) -> None:
        self._run(self._groups.leave(self.conv.hex()))

    def on_history(self) -> None:
        self._run(self._groups.set_history(self.conv.hex(), self.history.isChecked()))

    def on_mute(self) -> None:
        self._groups.set_muted(self.conv.hex(), self.mute.isChecked())

    def on_add(self) -> None:
        assert self.info is not None
        dialog = AddPeopleDialog(self.bridge, {m.user_id for m in self.info.members}, self)
        self.dialogs.append(dialog)

        def done() -> None:
            users = [u.hex() for u in dialog.picker.chosen()]
            if users:
                self._run(self._groups.add(self.conv.hex(), users))

        dialog.accepted.connect(done)
        dialog.open()
