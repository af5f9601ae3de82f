"""The sidebar's rows of people: a contact request or someone nearby (:class:`PersonRow`),
an offer to continue a chat open on another of my devices (:class:`HandoffCard`), and the
titles of their sections. :class:`~kith.app.gui.sidebar.Sidebar` fills them in."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui import theme
from kith.app.gui.convmodel import initials
from kith.app.gui.widgets import ElidedLabel
from kith.p2p.node import HandoffOffer

DRAFT_PREVIEW = 60  # characters of a handed-off draft shown in its offer
FULL_MARGINS = (16, 6, 12, 6)
COMPACT_MARGINS = (20, 6, 0, 6)  # the avatar under the conversations' avatars


def section_title(text: str, name: str) -> QLabel:
    """A section's title in the sidebar's column (Requests, Nearby)."""
    label = QLabel(text.upper())
    label.setObjectName(name)
    f = label.font()
    f.setBold(True)
    f.setPointSizeF(f.pointSizeF() * 0.8)
    label.setFont(f)
    label.setContentsMargins(16, 10, 16, 2)
    return label


class PersonRow(QFrame):
    """Someone in Requests or Nearby: initials, the name and a note (both elided, never
    wider than the sidebar) and, under them, the row's buttons.

    Signals:
        activated(): the row itself was clicked
    """

    activated = Signal()

    def __init__(self, name: str, note: str, user: bytes, key_hint: str = "",
                 parent: QWidget | None = None, *, warning: bool = False) -> None:
        super().__init__(parent)
        self.user = user
        self.setObjectName("personRow")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(*FULL_MARGINS)
        layout.setSpacing(8)
        self._layout = layout
        self.avatar = QLabel(initials(name))
        self.avatar.setObjectName("personAvatar")
        self.avatar.setFixedSize(30, 30)
        self.avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._colour = theme.avatar_colour(user).name()
        self._paint_avatar(ring=False)
        layout.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.setSpacing(1)
        self.name = ElidedLabel(name)
        self.name.setObjectName("personName")
        f = self.name.font()
        f.setBold(True)
        self.name.setFont(f)
        texts.addWidget(self.name)
        if key_hint:
            note = (self.tr("key {key} · {note}") if note else self.tr("key {key}")).format(
                key=key_hint, note=note)
        self.note: QLabel | None = None
        if note and warning:  # a warning is read whole: it wraps instead of eliding
            self.note = QLabel(note)
            self.note.setTextFormat(Qt.TextFormat.PlainText)
            self.note.setWordWrap(True)
            self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.note.setObjectName("personNote")
            texts.addWidget(self.note)
        elif note:
            self.note = ElidedLabel(note)
            self.note.setObjectName("personNote")
            texts.addWidget(self.note)
        self._buttons = QHBoxLayout()
        self._buttons.setContentsMargins(0, 3, 0, 0)
        self._buttons.setSpacing(6)
        self._buttons.addStretch(1)
        texts.addLayout(self._buttons)
        layout.addLayout(texts, 1)
        self.buttons: list[QPushButton] = []
        self.compact = False

    def _paint_avatar(self, *, ring: bool) -> None:
        # (a ring in the accent colour: a request, where the sidebar shows avatars only)
        border = f"border: 2px solid {theme.ACCENT.name()}; " if ring else ""
        radius = 15
        self.avatar.setStyleSheet(
            f"background: {self._colour}; color: white; border-radius: {radius}px; "
            f"{border}font-weight: bold;")

    def set_compact(self, compact: bool, tip: str = "") -> None:
        """A narrow window's sidebar: the avatar only, ringed, with ``tip`` (who and what)
        as its tooltip and accessible name; the name, note and buttons come back when the
        sidebar widens."""
        self.compact = compact
        for w in (self.name, self.note, *self.buttons):
            if w is not None:
                w.setVisible(not compact)
        self._layout.setContentsMargins(*(COMPACT_MARGINS if compact else FULL_MARGINS))
        self._paint_avatar(ring=compact)
        self.setToolTip(tip if compact else "")
        self.setAccessibleName(tip if compact else "")

    def add_button(self, text: str, name: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setProperty("userId", self.user.hex())
        b.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self._buttons.insertWidget(len(self.buttons), b)
        self.buttons.append(b)
        return b

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if e.button() == Qt.MouseButton.LeftButton and self.rect().contains(e.position().toPoint()):
            self.activated.emit()
        super().mouseReleaseEvent(e)


class HandoffCard(QFrame):
    """"Continue here": a chat open on another of my devices, with the start of its
    draft; Continue opens it here, Dismiss hides this offer.

    Signals:
        continued(offer: HandoffOffer)
        dismissed(offer: HandoffOffer)
    """

    continued = Signal(object)
    dismissed = Signal(object)

    def __init__(self, offer: HandoffOffer, who: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.offer = offer
        self.setObjectName("handoffCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        layout.setSpacing(2)
        self.title = ElidedLabel(self.tr("↪ {name} · open on {device}").format(
            name=who, device=offer.device_name))
        self.title.setObjectName("handoffTitle")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        layout.addWidget(self.title)
        self.draft: ElidedLabel | None = None
        if offer.draft:
            start = " ".join(offer.draft.split())
            if len(start) > DRAFT_PREVIEW:
                start = start[:DRAFT_PREVIEW - 1] + "…"
            self.draft = ElidedLabel(self.tr("Draft: “{text}”").format(text=start))
            self.draft.setObjectName("handoffDraft")
            layout.addWidget(self.draft)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addStretch(1)
        self.dismiss_button = QPushButton(self.tr("Dismiss"))
        self.dismiss_button.setObjectName("handoffDismissButton")
        self.dismiss_button.setFlat(True)
        self.continue_button = QPushButton(self.tr("Continue here"))
        self.continue_button.setObjectName("handoffButton")
        self.continue_button.setAccessibleName(
            self.tr("Continue the chat with {name} (from {device})").format(
                name=who, device=offer.device_name))
        self.continue_button.setToolTip(
            self.tr("Open it here with the draft you started there") if offer.draft
            else self.tr("Open it here"))
        row.addWidget(self.dismiss_button)
        row.addWidget(self.continue_button)
        layout.addLayout(row)
        self.continue_button.clicked.connect(lambda: self.continued.emit(self.offer))
        self.dismiss_button.clicked.connect(lambda: self.dismissed.emit(self.offer))
