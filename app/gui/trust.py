"""Who a person is, and the steps that change it: contact info (safety number, QR, emoji),
marking verified, and taking a new key for a known person.

Nothing that vouches for a key is a default button or a single key press: the safe answer
(compare, cancel, close) is the default everywhere, and a verified person is moved to a
new key only after a second, explicit confirmation.
"""

from __future__ import annotations

import html
import io

import segno
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui import i18n
from kith.app.gui.actions import introduced_label
from kith.app.gui.bridge import HOW_EMOJI, HOW_NUMBER, Bridge, key_label


def how_text(how: str) -> str:
    """How a contact was verified, as Contact info says it."""
    if how == HOW_NUMBER:
        return QCoreApplication.translate("trust", "✔ Verified: you compared the safety number.")
    if how == HOW_EMOJI:
        return QCoreApplication.translate("trust", "✔ Verified: you compared the 7 emoji.")
    return QCoreApplication.translate(
        "trust", "✔ Verified (on another of your devices or with the command line).")


def qr_pixmap(payload: bytes, scale: int = 5) -> QPixmap:
    buf = io.BytesIO()
    segno.make(payload, micro=False, error="m").save(
        buf, kind="png", scale=scale, border=2, dark="#000000", light="#ffffff"
    )
    pix = QPixmap()
    pix.loadFromData(buf.getvalue(), "PNG")
    return pix


def _plain_button(text: str, name: str) -> QPushButton:
    """A button that Enter never presses unless it has the focus itself."""
    b = QPushButton(text)
    b.setObjectName(name)
    b.setAutoDefault(False)
    b.setDefault(False)
    return b


class ContactInfoDialog(QDialog):
    """Who a contact is and how to check it: safety number grid, QR, SAS.

    "Close" is the default button: Enter (or Ctrl+I, Enter) never verifies anyone.
    """

    def __init__(self, bridge: Bridge, user: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.user = bridge, user
        self.setObjectName("contactInfoDialog")
        contact = bridge.contact(user)
        name = contact.name if contact else key_label(user)
        self.name = name
        self.setWindowTitle(self.tr("{name}: contact info").format(name=name))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(10)
        title = QLabel(name)
        title.setObjectName("contactName")
        f = title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.4)
        title.setFont(f)
        title.setWordWrap(True)
        layout.addWidget(title)
        uid = QLabel(self.tr("User id: {id}").format(
            id=" ".join(user.hex()[i:i + 8] for i in range(0, 64, 8))))
        uid.setObjectName("contactUserId")
        uid.setWordWrap(True)
        uid.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(uid)
        self.state = QLabel()
        self.state.setObjectName("verificationState")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)
        intro = introduced_label(bridge.node, user)  # (made from a card: app/gui/actions.py)
        if intro is not None:
            layout.addWidget(intro)

        explain = QLabel(
            self.tr("Compare this safety number with {name}'s screen, in person or on a call "
                    "you trust. If all 60 digits match, nobody is in between.").format(name=name)
        )
        explain.setWordWrap(True)
        layout.addWidget(explain)
        body = QHBoxLayout()
        body.setSpacing(20)
        grid_box = QFrame()
        grid_box.setObjectName("safetyNumberGrid")
        grid = QGridLayout(grid_box)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(8)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(mono.pointSizeF() * 1.25)
        self.groups = bridge.safety_groups(user)
        self.group_labels: list[QLabel] = []
        for i, group in enumerate(self.groups):
            label = QLabel(group)
            label.setObjectName(f"safetyGroup{i}")
            label.setFont(mono)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(label, i // 4, i % 4)
            self.group_labels.append(label)
        body.addWidget(grid_box, 0, Qt.AlignmentFlag.AlignVCenter)
        self.qr = QLabel()
        self.qr.setObjectName("safetyQr")
        self.qr.setPixmap(qr_pixmap(bridge.qr_payload(user)))
        self.qr.setToolTip(self.tr("The same safety number as a QR code"))
        body.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addLayout(body)

        buttons = QHBoxLayout()
        self.verify_button = _plain_button(self.tr("The numbers match…"), "markVerifiedButton")
        self.verify_button.clicked.connect(self.on_mark_verified)
        self.sas_button = _plain_button(self.tr("Verify with emoji"), "verifyEmojiButton")
        self.sas_button.clicked.connect(self.on_verify_emoji)
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.setObjectName("closeButton")
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.accept)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.sas_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.sas_dialog: SasDialog | None = None
        self.confirm: QMessageBox | None = None
        bridge.contactChanged.connect(self.on_contact_changed)
        bridge.peersChanged.connect(self.update_state)
        self.update_state()
        self.close_button.setFocus()

    def on_contact_changed(self, user: bytes) -> None:
        if user == self.user:
            self.update_state()

    def update_state(self) -> None:
        c = self.bridge.contact(self.user)
        verified = bool(c and c.verified)
        online = self.bridge.online(self.user)
        if c and c.key_changed:
            self.state.setText(self.tr("⚠ This is not the person you know by this name: "
                               "their identity key is different. Compare before trusting."))
        elif verified:
            self.state.setText(how_text(self.bridge.verified_how(self.user) or ""))
        else:
            self.state.setText(self.tr("Not verified yet."))
        self.verify_button.setText(self.tr("Mark as unverified") if verified
                                   else self.tr("The numbers match…"))
        self.verify_button.setEnabled(c is not None)
        self.sas_button.setEnabled(online and c is not None)
        if online:
            self.sas_button.setToolTip("")
        else:
            via = self.bridge.reachable_through(self.user)
            self.sas_button.setToolTip(
                self.tr("Your {device} is the device connected to them now: compare emoji "
                        "there, or bring this device onto their network").format(device=via[0])
                if via
                else self.tr("Needs a live connection to them: compare when they are online"))

    def on_mark_verified(self) -> None:
        c = self.bridge.contact(self.user)
        if c is None:
            return
        if c.verified:  # taking a mark away is always safe
            self.bridge.set_verified(self.user, False)
            return
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Mark as verified"),
                          self.tr("Do all 60 digits on {name}'s screen match the ones here, "
                                  "group by group?").format(name=self.name),
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("confirmVerifiedBox")
        yes = box.addButton(self.tr("They all match"), QMessageBox.ButtonRole.AcceptRole)
        yes.setObjectName("confirmVerifiedButton")
        yes.setAutoDefault(False)
        no = box.addButton(QMessageBox.StandardButton.Cancel)
        no.setObjectName("cancelVerifiedButton")
        box.setDefaultButton(no)
        box.setEscapeButton(no)

        def done() -> None:
            if box.clickedButton() is yes:
                self.bridge.set_verified(self.user, True, HOW_NUMBER)
            self.confirm = None

        box.finished.connect(done)
        self.confirm = box
        box.open()

    def on_verify_emoji(self) -> None:
        try:
            emoji = self.bridge.sas(self.user)
        except Exception as e:  # the connection dropped in between
            QMessageBox.information(self, self.tr("Verify with emoji"), str(e))
            return
        self.sas_dialog = SasDialog(emoji, self)
        self.sas_dialog.decided.connect(self.on_sas_decided)
        self.sas_dialog.open()

    def on_sas_decided(self, match: bool) -> None:
        if match:
            self.bridge.set_verified(self.user, True, HOW_EMOJI)
        else:
            self.bridge.set_verified(self.user, False)
            QMessageBox.warning(
                self, self.tr("Emoji do not match"),
                self.tr("The emoji differ: someone may be in between. Do not mark this contact "
                "verified, and talk to them in person."),
            )


class SasDialog(QDialog):
    """The 7 emoji both screens show; the user says whether they match (a click: neither
    answer is the default).

    Signals:
        decided(match: bool)
    """

    decided = Signal(bool)

    def __init__(self, emoji: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sasDialog")
        self.setWindowTitle(self.tr("Verify with emoji"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        intro = QLabel(
            self.tr("Check that the other screen shows the same emoji, in the same order."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.emoji = emoji
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 2.4)
        for i, (symbol, name) in enumerate(emoji):
            cell = QVBoxLayout()
            e = QLabel(symbol)
            e.setObjectName(f"sasEmoji{i}")
            e.setFont(big)
            e.setAlignment(Qt.AlignmentFlag.AlignCenter)
            n = QLabel(i18n.sas_name(name))
            n.setObjectName(f"sasName{i}")
            n.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.addWidget(e)
            cell.addWidget(n)
            row.addLayout(cell)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        no = _plain_button(self.tr("They don't match"), "sasMismatchButton")
        yes = _plain_button(self.tr("They match"), "sasMatchButton")
        buttons.addWidget(no)
        buttons.addStretch(1)
        buttons.addWidget(yes)
        layout.addLayout(buttons)
        yes.clicked.connect(lambda: self._decide(True))
        no.clicked.connect(lambda: self._decide(False))

    def _decide(self, match: bool) -> None:
        self.accept()
        self.decided.emit(match)

    def names(self) -> list[str]:
        return [n for _, n in self.emoji]


class TrustKeyDialog(QDialog):
    """Before a new key is taken as a known person's: what happens, the comparison first.

    "Compare safety numbers" is the default (it finishes with ``COMPARE``); "Use the new
    key" needs a click, and when the person was verified also the tick that says the user
    knows the verified key is the old one.
    """

    COMPARE = 2

    def __init__(self, bridge: Bridge, user: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trustKeyDialog")
        self.setWindowTitle(self.tr("A new key for a known name"))
        self.setMinimumWidth(460)
        c = bridge.contact(user)
        name = c.name if c else key_label(user)
        old = bridge.namesakes(user)
        self.verified_old = [o for o in old if o.verified]
        who = html.escape(name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        title = QLabel(self.tr("<b>Is this really {name}?</b>").format(name=who))
        title.setObjectName("trustKeyTitle")
        title.setWordWrap(True)
        layout.addWidget(title)
        olds = ", ".join(key_label(o.user_id) for o in old) or self.tr("unknown")
        text = QLabel(self.tr(
            "Someone with the key <b>{key}</b> uses the name {name}; the {name} "
            "you know has the key <b>{old}</b>. It may be {name} on a new installation, or "
            "someone else using the name.<br><br>"
            "Compare safety numbers with {name} first, in person or on a call you trust. "
            "If you take this key as {name}'s:<ul>"
            "<li>you write to the new key from then on;</li>"
            "<li>the old conversation stays for its history;</li>"
            "<li>{name} is no longer verified until you compare again.</li></ul>"
        ).format(key=key_label(user), name=who, old=olds))
        text.setObjectName("trustKeyText")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(text)
        self.sure = QCheckBox(
            self.tr("I know that the {name} I verified has the old key, and I still want the "
                    "new one").format(name=name))
        self.sure.setObjectName("trustKeySure")
        self.sure.setVisible(bool(self.verified_old))
        layout.addWidget(self.sure)
        buttons = QHBoxLayout()
        self.trust_button = _plain_button(self.tr("Use the new key"), "confirmTrustKeyButton")
        self.cancel_button = _plain_button(self.tr("Cancel"), "cancelTrustKeyButton")
        self.compare_button = QPushButton(self.tr("Compare safety numbers"))
        self.compare_button.setObjectName("trustKeyCompareButton")
        self.compare_button.setDefault(True)
        buttons.addWidget(self.trust_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.compare_button)
        layout.addLayout(buttons)
        self.trust_button.clicked.connect(self.accept)
        self.cancel_button.clicked.connect(self.reject)
        self.compare_button.clicked.connect(lambda: self.done(self.COMPARE))
        self.sure.toggled.connect(self._update)
        self._update()
        self.compare_button.setFocus()

    def _update(self) -> None:
        self.trust_button.setEnabled(not self.verified_old or self.sure.isChecked())


class RestoreKeyDialog(QDialog):
    """Go back to the key a person had before a new one was taken: asked with the same
    care as taking it (Cancel is the default; nothing happens on Enter alone)."""

    def __init__(self, bridge: Bridge, old: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreKeyDialog")
        self.setWindowTitle(self.tr("Go back to the old key"))
        self.setMinimumWidth(460)
        c = bridge.contact(old)
        name = c.name if c else key_label(old)
        new = c.replaced_by if c else None
        who = html.escape(name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        title = QLabel(self.tr("<b>Write to {name}'s old key again?</b>").format(name=who))
        title.setObjectName("restoreKeyTitle")
        title.setWordWrap(True)
        layout.addWidget(title)
        text = QLabel(self.tr(
            "You took the key <b>{new}</b> as {name}'s. "
            "If it was someone else, go back to the key <b>{old}</b>:<ul>"
            "<li>this conversation takes your messages again, on all your devices;</li>"
            "<li>the new key is shown as “not the {name} you know” and nothing is sent "
            "to it until you compare safety numbers or trust it again;</li>"
            "<li>{name} stays unverified: compare safety numbers to verify again.</li></ul>"
        ).format(new=key_label(new) if new else self.tr("unknown"), name=who,
                 old=key_label(old)))
        text.setObjectName("restoreKeyText")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(text)
        buttons = QHBoxLayout()
        self.restore_button = _plain_button(self.tr("Go back to the old key"),
                                            "confirmRestoreKeyButton")
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("cancelRestoreKeyButton")
        self.cancel_button.setDefault(True)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.restore_button.clicked.connect(self.accept)
        self.cancel_button.clicked.connect(self.reject)
        self.cancel_button.setFocus()
