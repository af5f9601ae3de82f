"""The conversation menu of the main window (a right click on a chat in the list) and
its dialogs: contact info, mute, rename, mark unread, delete chat; and going back to an
old key (asked first).

:class:`ConversationMenu` belongs to a :class:`app.gui.window.MainWindow` (its
``conv_menu``): it uses the window's bridge, sidebar, open chat and list of open dialogs.

Delete chat (as Messages and Signal do): the chat's messages and files go from all of my
devices, not from anyone else's; a new message brings the chat back with only that
message. In a group I am still in, deleting keeps me a member (as Messages does: what I
remove is my copy of the history, and the group goes on), and the dialog offers "Leave
and delete" too (as Signal does), for when I want out as well. Cancel is the default.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QPoint
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QPushButton, QWidget

from kith.app.gui import groups as groups_gui
from kith.app.gui.trust import RestoreKeyDialog
from kith.app.gui.widgets import widen_message_box

if TYPE_CHECKING:
    from kith.app.gui.bridge import Bridge
    from kith.app.gui.window import MainWindow


class DeleteChatDialog(QMessageBox):
    """"Delete chat?" for one chat: Cancel (the default), Delete, and for a group I am
    still in, Leave and delete. :attr:`choice` says which was clicked ("", "delete",
    "leave")."""

    def __init__(self, bridge: Bridge, user: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deleteChatDialog")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle(self.tr("Delete chat"))
        self.choice = ""
        group = groups_gui.is_group(user)
        if group:
            info = bridge.node.group(user.hex())
            name, member = info.name, info.role is not None
        else:
            c = bridge.contact(user)
            name, member = (c.name if c else self.tr("this person")), False
        self.setText(self.tr("Delete this chat with {name}?").format(name=name) if not group
                     else self.tr("Delete the chat “{name}”?").format(name=name))
        if group:
            text = self.tr(
                "Its messages and files are removed from all of your devices. The other "
                "members keep their copy: nothing is removed from their devices. A new "
                "message brings the chat back.")
        else:
            text = self.tr(
                "Its messages and files are removed from all of your devices. {name} keeps "
                "their copy: nothing is removed from their devices. A new message brings "
                "the chat back.").format(name=name)
        if member:
            text += " " + self.tr("You stay in the group unless you also leave it.")
        self.setInformativeText(text)
        widen_message_box(self)
        self.cancel_button = self.addButton(QMessageBox.StandardButton.Cancel)
        self.cancel_button.setObjectName("deleteChatCancel")
        self.delete_button = QPushButton(self.tr("Delete"))
        self.delete_button.setObjectName("deleteChatButton")
        self.addButton(self.delete_button, QMessageBox.ButtonRole.DestructiveRole)
        self.leave_button: QPushButton | None = None
        if member:
            self.leave_button = QPushButton(self.tr("Leave and delete"))
            self.leave_button.setObjectName("leaveAndDeleteButton")
            self.addButton(self.leave_button, QMessageBox.ButtonRole.DestructiveRole)
        self.setDefaultButton(self.cancel_button)
        self.setEscapeButton(self.cancel_button)
        self.buttonClicked.connect(self._clicked)

    def _clicked(self, button: object) -> None:
        self.choice = ("delete" if button is self.delete_button
                       else "leave" if button is self.leave_button and button is not None
                       else "")


class ConversationMenu:
    """The conversation menu and its dialogs, for one main window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.bridge = window.bridge

    def show(self, user: bytes, pos: QPoint) -> QMenu:
        """A conversation's menu (a right click in the list): it acts on that row and
        leaves the selection, which is always the open chat, alone."""
        menu = QMenu(self.window)
        menu.setObjectName("conversationMenu")
        act = menu.addAction(QCoreApplication.translate("ConversationMenu", "Open"))
        act.setObjectName("openChatAction")
        act.triggered.connect(partial(self.window.open_chat, user))
        act = menu.addAction(QCoreApplication.translate("ConversationMenu", "Contact info"))
        act.setObjectName("contactInfoAction")
        act.triggered.connect(partial(self.window.show_contact_info, user))
        muted = self.bridge.muted(user)
        act = menu.addAction(
            QCoreApplication.translate("ConversationMenu", "Unmute notifications") if muted
            else QCoreApplication.translate("ConversationMenu", "Mute notifications"))
        act.setObjectName("muteAction")
        act.triggered.connect(partial(self.bridge.set_muted, user, not muted))
        conv = self.bridge.conv_for(user)
        unread = bool(self.bridge.unread_count(conv)) or self.bridge.marked_unread(conv)
        act = menu.addAction(QCoreApplication.translate("ConversationMenu", "Rename…"))
        act.setObjectName("renameContactAction")
        act.triggered.connect(partial(self.rename_contact, user))
        act = menu.addAction(
            QCoreApplication.translate("ConversationMenu", "Mark as read") if unread
            else QCoreApplication.translate("ConversationMenu", "Mark as unread"))
        act.setObjectName("markUnreadAction")
        act.triggered.connect(partial(self._mark_unread, user, not unread))
        menu.addSeparator()
        act = menu.addAction(QCoreApplication.translate("ConversationMenu", "Delete chat…"))
        act.setObjectName("deleteChatAction")
        db = self.bridge.node.db
        act.setEnabled(db.chat_lamport(conv) > db.chat_cut(conv))  # (something to delete)
        act.triggered.connect(partial(self.delete_chat, user))
        menu.popup(pos)
        self.window.sidebar.select_user(self.window.current)
        return menu

    def rename_contact(self, user: bytes) -> QInputDialog | None:
        """The name I know a contact by (empty: the one they chose); it follows my
        devices, and their renames no longer change it."""
        c = self.bridge.contact(user)
        if c is None:
            return None
        dialog = QInputDialog(self.window)
        dialog.setObjectName("renameContactDialog")
        dialog.setWindowTitle(QCoreApplication.translate("ConversationMenu", "Rename contact"))
        theirs = c.own_name or c.name
        dialog.setLabelText(QCoreApplication.translate(
            "ConversationMenu", "Your name for them (they call themselves “{name}”; "
            "leave empty to use theirs):").format(name=theirs))
        dialog.setTextValue(c.name)
        self.window.dialogs.append(dialog)

        def done(result: int) -> None:
            self.window._forget(dialog)
            if result:
                name = dialog.textValue().strip()
                self.bridge.set_contact_name(user, name or None)

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def _mark_unread(self, user: bytes, unread: bool) -> None:
        """The menu's "Mark as unread" (a dot until the chat is opened, on all my
        devices) or "Mark as read"."""
        if unread:
            self.bridge.set_marked_unread(user, True)
        else:
            self.bridge.set_marked_unread(user, False)
            self.bridge.mark_read(user)

    def delete_chat(self, user: bytes) -> DeleteChatDialog:
        """Ask first (Cancel is the default); then delete the chat on all my devices
        (and leave the group, if chosen). The open chat closes to the empty state."""
        dialog = DeleteChatDialog(self.bridge, user, self.window)
        self.window.dialogs.append(dialog)

        def done(_result: int) -> None:
            self.window._forget(dialog)
            if dialog.choice:
                self._delete_chat_now(user, leave=dialog.choice == "leave")

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def _delete_chat_now(self, user: bytes, *, leave: bool) -> None:
        node = self.bridge.node
        conv = self.bridge.conv_for(user)

        async def run() -> int:
            if leave:
                await node.core.groups.leave(conv.hex())
            return await node.actions.delete_chat(conv)

        if self.window.current == user:
            self.window.close_chat()
        self.bridge.set_draft(conv, "")  # (its draft goes with it, as in Signal)
        self.bridge.run(run(), on_done=lambda _n: self.bridge.conversationsChanged.emit())

    def restore_old_key(self) -> RestoreKeyDialog | None:
        """From an old key's conversation: go back to it, asked first."""
        old = self.window.current
        c = self.bridge.contact(old) if old else None
        if old is None or c is None or not c.replaced_by:
            return None
        dialog = RestoreKeyDialog(self.bridge, old, self.window)
        self.window.dialogs.append(dialog)

        def done(result: int) -> None:
            self.window._forget(dialog)
            if result:
                self.bridge.restore_old_key(old)

        dialog.finished.connect(done)
        dialog.open()
        return dialog
