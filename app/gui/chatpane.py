"""The right side of the window: the chat pane (header, banners, messages, typing,
composer) with what it says about the person, and the page shown with no chat open."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kith.app.gui import theme
from kith.app.gui.bridge import Bridge, key_label
from kith.app.gui.chat import ChatView, TypingBubble
from kith.app.gui.composer import Composer, ComposerField
from kith.app.gui.convmodel import initials
from kith.app.gui.models import MessageModel
from kith.app.gui.resources import icon_path
from kith.app.gui.widgets import ElidedLabel
from kith.p2p.node import ACCEPTED, PENDING_IN, PENDING_OUT, ContactInfo


class Banner(QFrame):
    """A coloured strip above the messages with a text and buttons."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._warning = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        self.label = QLabel()
        self.label.setObjectName(name + "Text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.buttons = QHBoxLayout()
        layout.addLayout(self.buttons)
        self.hide()

    def add_button(self, text: str, name: str) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        self.buttons.addWidget(b)
        return b

    def set_warning(self, warning: bool) -> None:
        self._warning = warning
        self.update()

    def present(self, text: str | None, *, warning: bool = False) -> None:
        """Show the strip with ``text`` (rich text), or hide it when None."""
        self.setVisible(text is not None)
        if text is not None:
            self.set_warning(warning)
            self.label.setText(text)

    def paintEvent(self, e: QPaintEvent) -> None:
        # Painted from the current palette (not a palette of its own, which would stop
        # following a theme change and leave light text on a light strip).
        pal = self.palette()
        if self._warning:
            colour = QColor("#5a3a10") if theme.is_dark(pal) else QColor("#fff1d6")
        else:
            colour = pal.color(QPalette.ColorRole.AlternateBase)
        painter = QPainter(self)
        painter.fillRect(self.rect(), colour)
        painter.end()
        super().paintEvent(e)


class ChatHeader(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 10, 10, 10)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        self.name = ElidedLabel()
        self.name.setObjectName("chatTitle")
        f = self.name.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.name.setFont(f)
        self.subtitle = ElidedLabel()
        self.subtitle.setObjectName("chatSubtitle")
        texts.addWidget(self.name)
        texts.addWidget(self.subtitle)
        layout.addLayout(texts, 1)
        self.info = theme.IconButton("info", "")
        self.info.setObjectName("contactInfoButton")
        self.info.setText(self.tr("Contact info"))
        self.info.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.info.setToolTip(self.tr("Safety number, QR code and verification"))
        layout.addWidget(self.info)


class ChatPane(QWidget):
    """Header, banners, messages, typing bubble and composer of the open conversation."""

    def __init__(self, bridge: Bridge, model: MessageModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("chatPane")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = ChatHeader()
        layout.addWidget(self.header)
        self.key_banner = Banner("keyChangeBanner")
        self.compare_button = self.key_banner.add_button(self.tr("Compare safety numbers"),
                                                         "compareButton")
        self.trust_button = self.key_banner.add_button(self.tr("Trust new key"), "trustKeyButton")
        layout.addWidget(self.key_banner)
        self.request_banner = Banner("requestBanner")
        self.accept_button = self.request_banner.add_button(self.tr("Accept"), "bannerAcceptButton")
        self.decline_button = self.request_banner.add_button(self.tr("Decline"),
                                                             "bannerDeclineButton")
        layout.addWidget(self.request_banner)
        self.replaced_banner = Banner("replacedBanner")
        self.open_new_button = self.replaced_banner.add_button(
            self.tr("Open the new conversation"), "openNewKeyButton")
        self.restore_key_button = self.replaced_banner.add_button(
            self.tr("Go back to this key…"), "restoreKeyButton")
        layout.addWidget(self.replaced_banner)
        self.view = ChatView(model)
        layout.addWidget(self.view, 1)
        self.typing = TypingBubble()
        layout.addWidget(self.typing)
        bottom = QFrame()
        bottom.setObjectName("composerBar")
        row = QHBoxLayout(bottom)
        row.setContentsMargins(12, 6, 12, 8)
        self.composer = Composer()
        self.composer_field = ComposerField(self.composer)
        self.send_button = self.composer_field.send_button
        row.addWidget(self.composer_field, 1)
        layout.addWidget(bottom)

    def present(self, user: bytes, c: ContactInfo | None, name: str, *, online: bool,
                removed: bool, shared_name: bool, via: Sequence[str] = ()) -> None:
        """Header, banners, composer and empty state for the chat with ``user``
        (``shared_name``: another key uses this name, so the key is shown; ``via``: my
        other devices that talk to them when this one does not)."""
        self.header.name.setText(name)
        if online:
            bits = [self.tr("online")]
        elif via:
            bits = [self.tr("online through your {device}").format(device=via[0])]
        else:
            bits = [self.tr("offline")]
        if c and c.key_changed:
            bits.append(self.tr("⚠ not the {name} you know").format(name=name))
        elif c and c.verified:
            bits.append(self.tr("✔ verified"))
        else:
            bits.append(self.tr("not verified"))
        if shared_name:
            bits.append(self.tr("key {key}").format(key=key_label(user)))
        if c and c.own_name:  # what they call themselves, kept apart from my name
            bits.append(self.tr("calls themselves “{name}”").format(name=c.own_name))
        if c and c.state == PENDING_OUT:
            bits.append(self.tr("request sent"))
        self.header.subtitle.setText(" · ".join(bits))
        key_changed = bool(c and c.key_changed)
        who = html.escape(name)
        self.key_banner.present(
            self.tr("<b>⚠ This is not the {name} you know.</b> Their identity key is "
                    "different: it may be someone else, or they reinstalled Kith. Sending is "
                    "paused until you compare safety numbers or choose to trust the new "
                    "key.").format(name=who)
            if key_changed else None, warning=True)
        self.request_banner.present(
            self.tr("<b>{name}</b> wants to chat with you.").format(name=who)
            if c and c.state == PENDING_IN and not key_changed else None)
        replaced = bool(c and c.replaced_by)
        replaced_text = None
        online = online or bool(via)
        if replaced and online:  # the old key still talks to us: say so, plainly
            replaced_text = self.tr(
                "<b>⚠ Both keys are active.</b> You took a new key as {name}'s, but this "
                "old key is online too and its messages arrive here. If this is the real "
                "{name}, the new key may be someone else: compare safety numbers.").format(
                name=who)
        elif replaced:
            replaced_text = self.tr("<b>{name} uses a new key now.</b> You confirmed it; this "
                                    "conversation with the old key stays for its "
                                    "history.").format(name=who)
        self.replaced_banner.present(replaced_text, warning=replaced and online)
        can_send = bool(
            c and c.state == ACCEPTED and not key_changed and not removed and not replaced)
        self.composer.setEnabled(can_send)
        self.send_button.setEnabled(can_send)
        if can_send:
            self.composer.setPlaceholderText(self.tr("Message {name}").format(name=name))
        elif removed:
            self.composer.setPlaceholderText(
                self.tr("This computer was removed from your devices"))
        elif key_changed:
            self.composer.setPlaceholderText(
                self.tr("Sending is paused: confirm the new key first"))
        elif replaced:
            self.composer.setPlaceholderText(
                self.tr("Write to {name} in the new conversation").format(name=name))
        elif c and c.state == PENDING_OUT:
            self.composer.setPlaceholderText(
                self.tr("You can write once {name} accepts").format(name=name))
        else:
            self.composer.setPlaceholderText(self.tr("Accept the request to chat"))
        self._present_empty_chat(user, name, c)

    def _present_empty_chat(self, user: bytes, name: str, c: ContactInfo | None) -> None:
        """What an empty chat shows: the person, their verification, a hint."""
        if c is not None and c.key_changed:
            trust = self.tr("⚠ Not the {name} you know: a different key").format(name=name)
        elif c is not None and c.verified:
            trust = self.tr("✔ Verified: you compared safety numbers")
        else:
            trust = self.tr("Not verified yet")
        if c is not None and c.state == PENDING_OUT:
            hint = self.tr("Request sent. You can write once {name} accepts.").format(name=name)
        elif c is not None and c.state == PENDING_IN:
            hint = self.tr("{name} wants to chat with you.").format(name=name)
        elif c and c.verified:
            hint = self.tr("No messages yet: say hello! Messages go straight to {name}'s "
                           "devices, end-to-end encrypted.").format(name=name)
        else:
            hint = self.tr("No messages yet: say hello! Messages go straight to {name}'s "
                           "devices, end-to-end encrypted. To be sure it is {name}, compare "
                           "safety numbers (Contact info).").format(name=name)
        self.view.empty_state.present(name, user, initials(name), trust, hint)
        self.view._place_empty_state()


class WelcomePage(QWidget):
    """What the window shows with no chat open: the hello and a guide the first time,
    later a quiet "choose a conversation"."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("emptyState")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 32, 24, 32)
        layout.addStretch(1)
        path = icon_path()
        if path is not None:
            logo = QLabel()
            logo.setObjectName("emptyLogo")
            ratio = self.devicePixelRatioF()
            pix = QIcon(str(path)).pixmap(QSize(72, 72), ratio)
            logo.setPixmap(pix)
            logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(logo)
            layout.addSpacing(8)
        # the hello and its guide the first time; later a quiet "choose a chat"
        first = not self.bridge.setting("hello_shown", False)
        if first:
            self.bridge.node.db.set_setting("hello_shown", True)
        title = QLabel(self.tr("Hello, {name}!").format(name=html.escape(self.bridge.my_name))
                       if first else "Kith")
        title.setObjectName("emptyTitle")
        f = title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.7)
        title.setFont(f)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = QLabel(
            self.tr("Choose a conversation on the left, or start one with <b>✎</b> (Ctrl+N). "
                    "People running Kith on this network are listed under <b>Nearby</b>.")
        ) if not first else QLabel(
            self.tr("Kith talks directly to people on your network: no server, no account."
            "<br><br>"
            "<b>1.</b> People running Kith nearby appear under <b>Nearby</b> on the left.<br>"
            "<b>2.</b> Click <b>Add</b> (or <b>✎</b>, Ctrl+N) to send a contact request; they "
            "accept on their side.<br>"
            "<b>3.</b> Open the conversation and say hello. Compare safety numbers under "
            "<b>Contact info</b> to be sure who you talk to.<br><br>"
            "Someone not showing up? Use <b>Connect by address…</b>: it shows this "
            "computer's address, and theirs shows in their Kith.")
        )
        text.setObjectName("emptyText")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignLeft)
        self.text = text
        self._fit_text(480)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        port = self.bridge.node.port
        me = QLabel(self.tr("You are {name} ({id}), listening on port {port}.").format(
            name=html.escape(self.bridge.my_name), id=self.bridge.my_user.hex()[:12], port=port))
        me.setObjectName("emptyIdentity")
        me.setAlignment(Qt.AlignmentFlag.AlignCenter)
        me.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        me.setForegroundRole(me.foregroundRole().PlaceholderText)
        layout.addSpacing(12)
        layout.addWidget(me)
        layout.addStretch(2)

    TEXT_WIDTH = 480  # the guide's lines, at most

    def _fit_text(self, width: int) -> None:
        """A fixed width lets the wrapped guide take its full height; it narrows with
        the window (which may shrink to about 600 px)."""
        width = max(200, min(self.TEXT_WIDTH, width))
        self.text.setFixedWidth(width)
        self.text.setMinimumHeight(self.text.heightForWidth(width))

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self._fit_text(self.width() - 48)
