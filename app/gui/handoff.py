"""Handoff between my devices in the window: it tells my other devices which chat is open
here and its draft (once typing pauses), and shows their offers in the sidebar ("Continue
here" opens that chat with its draft; Dismiss hides the offer until that device offers
something else)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from kith.p2p.node import HandoffOffer

if TYPE_CHECKING:
    from kith.app.gui.window import MainWindow

HANDOFF_DRAFT_MS = 500  # the draft goes to my other devices once typing pauses this long


class Handoff(QObject):
    """The window's side of handoff (``window.handoff``)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = window.bridge
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(HANDOFF_DRAFT_MS)
        self._timer.timeout.connect(self.announce_open_chat)
        self._dismissed: dict[bytes, HandoffOffer] = {}  # device -> offer taken or dismissed
        self.bridge.handoffChanged.connect(self.refresh)
        window.sidebar.handoffActivated.connect(self.continue_handoff)
        window.sidebar.handoffDismissed.connect(self.dismiss_handoff)

    def draft_changed(self) -> None:
        """The composer changed: tell my other devices once typing pauses."""
        self._timer.start()

    def announce_open_chat(self) -> None:
        self._timer.stop()
        w = self.window
        draft = w.chat.composer.toPlainText() if w.current is not None else ""
        self.bridge.set_open_chat(w.current, draft)

    def refresh(self) -> None:
        w = self.window
        offers = []
        for o in self.bridge.handoffs():
            if self._dismissed.get(o.device_id) == o:
                continue
            if o.user == w.current and o.draft == w.chat.composer.toPlainText():
                continue  # already here, as it is there
            offers.append(o)
        w.sidebar.show_handoffs(offers)

    def continue_handoff(self, offer: HandoffOffer) -> None:
        """Open the chat another of my devices has open, with its draft."""
        self._dismissed[offer.device_id] = offer
        if offer.user is None:
            return
        w = self.window
        w.open_chat(offer.user)
        if offer.draft:
            w.chat.composer.setPlainText(offer.draft)
            w.chat.composer.moveCursor(w.chat.composer.textCursor().MoveOperation.End)
        self.refresh()

    def dismiss_handoff(self, offer: HandoffOffer) -> None:
        """Not now: this offer stays hidden (a new one from that device shows again)."""
        self._dismissed[offer.device_id] = offer
        self.refresh()

    def close(self) -> None:
        """The window closes: no chat is open here any more."""
        self._timer.stop()
        self.bridge.set_open_chat(None)
