"""What the main window announces through its ``notify`` signal (the tray icon and the
desktop notifications of :class:`kith.app.gui.app.Notifier` show it): a message that came
while the window was unfocused or another chat was open (not from a muted chat, unless it
mentions me; its text, or only "New message" when previews are off), and each contact
request that came since the last look.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from kith.app.gui import groups as groups_gui
from kith.app.gui import mentions
from kith.app.gui.dialogs import NOTIFY_PREVIEW
from kith.storage import MessageRow

if TYPE_CHECKING:
    from kith.app.gui.window import MainWindow

PREVIEW_CHARS = 200


class Notifications(QObject):
    """The window's notification path: decides what to notify and emits ``window.notify``."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = window.bridge
        self._known_requests = {c.user_id for c in self.bridge.requests()}  # (told at start)

    def on_messages_added(self, conv: bytes, rows: list[MessageRow],
                          current_conv: bytes | None) -> None:
        """Notify the messages of ``rows`` that came while the user was not looking."""
        bridge = self.bridge
        incoming = [r for r in rows if not r.outgoing]
        if incoming and not (self.window.isActiveWindow() and conv == current_conv):
            peer = bridge.conversation_peer(conv)
            if peer is not None and (not bridge.muted(peer) or mentions.mentions_me(
                    incoming, bridge.my_name)):  # (a mention of me notifies anyway)
                preview = incoming[-1].text or self.tr("📎 File")  # (a file without a caption)
                text = preview[:PREVIEW_CHARS] if bridge.setting(NOTIFY_PREVIEW, True) \
                    else (self.tr("New message") if len(incoming) == 1 else
                          self.tr("%n new messages", None, len(incoming)))
                title = groups_gui.notify_title(bridge, conv, incoming) if \
                    groups_gui.is_group(peer) else bridge.person_title(peer)
                self.window.notify.emit(title, text, peer)

    def new_requests(self) -> None:
        """A notification for each contact request that came since the last look."""
        requests = {c.user_id for c in self.bridge.requests()}
        new = requests - self._known_requests
        self._known_requests = requests
        if self.window.isActiveWindow():
            return  # the Requests section shows them
        for user in new:
            self.window.notify.emit(self.bridge.person_title(user),
                                    self.tr("wants to chat with you"), user)
