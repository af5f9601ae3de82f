"""Dialogs: first start, contact info (safety number, QR, SAS), settings, add by address."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import segno
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.gui import netifs
from app.gui.bridge import Bridge
from app.gui.theme import THEMES

if TYPE_CHECKING:
    from app.gui.devices import LinkDialog

MAX_NAME = 64


class FirstStartDialog(QDialog):
    """Asks for a display name before the identity is created, or offers to link this
    device to my other one (the dialog then finishes with ``LINK``)."""

    LINK = 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstStartDialog")
        self.setWindowTitle("Welcome to Kith")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        title = QLabel("Welcome to Kith")
        f = title.font()
        f.setPointSizeF(f.pointSizeF() * 1.6)
        f.setBold(True)
        title.setFont(f)
        layout.addWidget(title)
        intro = QLabel(
            "Kith lets you chat with people on the same network: no server, no account, "
            "no Internet. Messages are end-to-end encrypted.\n\n"
            "What name should people nearby see?"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.name = QLineEdit()
        self.name.setObjectName("displayNameField")
        self.name.setPlaceholderText("Your name")
        self.name.setMaxLength(MAX_NAME)
        layout.addWidget(self.name)
        self.buttons = QDialogButtonBox()
        self.ok = self.buttons.addButton("Get started", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("getStartedButton")
        self.ok.setDefault(True)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("cancelButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        other = QLabel("Already use Kith on another computer?")
        other.setWordWrap(True)
        layout.addWidget(other)
        self.link_button = QPushButton("Link to my other device…")
        self.link_button.setObjectName("linkDeviceButton")
        self.link_button.setToolTip("Use the same account here: your conversations and "
                                    "contacts come over from your other device")
        self.link_button.clicked.connect(lambda: self.done(self.LINK))
        row = QHBoxLayout()
        row.addWidget(self.link_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.name.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        self.ok.setEnabled(False)
        self.setMinimumWidth(420)
        self.link_dialog: LinkDialog | None = None  # set while linking instead

    def display_name(self) -> str:
        return self.name.text().strip()


def qr_pixmap(payload: bytes, scale: int = 5) -> QPixmap:
    buf = io.BytesIO()
    segno.make(payload, micro=False, error="m").save(
        buf, kind="png", scale=scale, border=2, dark="#000000", light="#ffffff"
    )
    pix = QPixmap()
    pix.loadFromData(buf.getvalue(), "PNG")
    return pix


class ContactInfoDialog(QDialog):
    """Who a contact is and how to check it: safety number grid, QR, SAS."""

    def __init__(self, bridge: Bridge, user: bytes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.user = bridge, user
        self.setObjectName("contactInfoDialog")
        contact = bridge.contact(user)
        name = contact.name if contact else user.hex()[:12]
        self.setWindowTitle(f"{name}: contact info")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(10)
        title = QLabel(name)
        title.setObjectName("contactName")
        f = title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.4)
        title.setFont(f)
        layout.addWidget(title)
        uid = QLabel("User id: " + " ".join(user.hex()[i:i + 8] for i in range(0, 64, 8)))
        uid.setObjectName("contactUserId")
        uid.setWordWrap(True)
        uid.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(uid)
        self.state = QLabel()
        self.state.setObjectName("verificationState")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)

        explain = QLabel(
            f"Compare this safety number with {name}'s screen, in person or on a call you "
            "trust. If all 60 digits match, nobody is in between."
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
        self.qr.setToolTip("The same safety number as a QR code")
        body.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addLayout(body)

        buttons = QHBoxLayout()
        self.verify_button = QPushButton("Mark as verified")
        self.verify_button.setObjectName("markVerifiedButton")
        self.verify_button.clicked.connect(self.on_mark_verified)
        self.sas_button = QPushButton("Verify with emoji")
        self.sas_button.setObjectName("verifyEmojiButton")
        self.sas_button.clicked.connect(self.on_verify_emoji)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("closeButton")
        self.close_button.clicked.connect(self.accept)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.sas_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.sas_dialog: SasDialog | None = None
        bridge.contactChanged.connect(self.on_contact_changed)
        bridge.peersChanged.connect(self.update_state)
        self.update_state()

    def on_contact_changed(self, user: bytes) -> None:
        if user == self.user:
            self.update_state()

    def update_state(self) -> None:
        c = self.bridge.contact(self.user)
        verified = bool(c and c.verified)
        online = self.bridge.online(self.user)
        if c and c.key_changed:
            self.state.setText("⚠ This is not the person you know by this name: "
                               "their identity key is different. Compare before trusting.")
        elif verified:
            self.state.setText("✔ Verified: you compared the safety number.")
        else:
            self.state.setText("Not verified yet.")
        self.verify_button.setText("Mark as unverified" if verified else "Mark as verified")
        self.verify_button.setEnabled(c is not None)
        self.sas_button.setEnabled(online and c is not None)
        self.sas_button.setToolTip("" if online else "Needs a live connection to them")

    def on_mark_verified(self) -> None:
        c = self.bridge.contact(self.user)
        if c is None:
            return
        self.bridge.set_verified(self.user, not c.verified)

    def on_verify_emoji(self) -> None:
        try:
            emoji = self.bridge.sas(self.user)
        except Exception as e:  # the connection dropped in between
            QMessageBox.information(self, "Verify with emoji", str(e))
            return
        self.sas_dialog = SasDialog(emoji, self)
        self.sas_dialog.decided.connect(self.on_sas_decided)
        self.sas_dialog.open()

    def on_sas_decided(self, match: bool) -> None:
        if match:
            self.bridge.set_verified(self.user, True)
        else:
            self.bridge.set_verified(self.user, False)
            QMessageBox.warning(
                self, "Emoji do not match",
                "The emoji differ: someone may be in between. Do not mark this contact "
                "verified, and talk to them in person.",
            )


class SasDialog(QDialog):
    """The 7 emoji both screens show; the user says whether they match.

    Signals:
        decided(match: bool)
    """

    decided = Signal(bool)

    def __init__(self, emoji: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sasDialog")
        self.setWindowTitle("Verify with emoji")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        intro = QLabel("Check that the other screen shows the same emoji, in the same order.")
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
            n = QLabel(name)
            n.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.addWidget(e)
            cell.addWidget(n)
            row.addLayout(cell)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        no = QPushButton("They don't match")
        no.setObjectName("sasMismatchButton")
        yes = QPushButton("They match")
        yes.setObjectName("sasMatchButton")
        yes.setDefault(True)
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


class AddByAddressDialog(QDialog):
    """Reach someone mDNS cannot see (VPN, another subnet) by HOST:PORT."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addByAddressDialog")
        self.setWindowTitle("Connect by address")
        layout = QVBoxLayout(self)
        info = QLabel("Type the address Kith shows on the other device, like 192.168.1.20:7000.")
        info.setWordWrap(True)
        layout.addWidget(info)
        self.address = QLineEdit()
        self.address.setObjectName("addressField")
        self.address.setPlaceholderText("host:port")
        layout.addWidget(self.address)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Connect")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setObjectName("connectButton")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class SettingsDialog(QDialog):
    """Display name, discoverability, receipts, typing, interfaces, theme."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        form.setContentsMargins(24, 20, 24, 16)
        form.setVerticalSpacing(10)
        self.name = QLineEdit(bridge.my_name)
        self.name.setObjectName("settingsName")
        self.name.setMaxLength(MAX_NAME)
        self.name.setToolTip("What people nearby and your contacts see")
        form.addRow("Display name", self.name)
        self.discoverable = QCheckBox("Let people on this network see me")
        self.discoverable.setObjectName("settingsDiscoverable")
        self.discoverable.setChecked(bool(bridge.setting("discoverable", True)))
        self.discoverable.setToolTip(
            "When off, only your contacts and your own devices can see and reach this "
            "computer; you can still add people yourself"
        )
        form.addRow("Discoverable", self.discoverable)
        self.receipts = QCheckBox("Send read receipts")
        self.receipts.setObjectName("settingsReadReceipts")
        self.receipts.setChecked(bool(bridge.setting("read_receipts", True)))
        form.addRow("Read receipts", self.receipts)
        self.typing = QCheckBox("Show when I am typing")
        self.typing.setObjectName("settingsTyping")
        self.typing.setChecked(bool(bridge.setting("typing_indicators", True)))
        form.addRow("Typing indicators", self.typing)
        self.networks = InterfacePicker([str(x) for x in bridge.setting("interfaces", []) or []])
        form.addRow("Networks", self.networks)
        self.theme = QComboBox()
        self.theme.setObjectName("settingsTheme")
        for t in THEMES:
            self.theme.addItem(t.capitalize(), t)
        current = str(bridge.setting("theme", "system"))
        self.theme.setCurrentIndex(max(0, self.theme.findData(current)))
        form.addRow("Theme", self.theme)
        self.devices_button = QPushButton("My devices…")
        self.devices_button.setObjectName("myDevicesButton")
        self.devices_button.setToolTip("Link another computer to this account, or remove one")
        form.addRow("Devices", self.devices_button)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setObjectName("saveButton")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        if self.networks.problem():
            self.networks.error.setText(self.networks.problem())
            self.networks.error.show()
            return
        super().accept()

    def save(self) -> None:
        b = self.bridge
        name = self.name.text().strip()
        if name and name != b.my_name:
            b.set_name(name)
        if self.discoverable.isChecked() != bool(b.setting("discoverable", True)):
            b.set_discoverable(self.discoverable.isChecked())
        b.set_setting("read_receipts", self.receipts.isChecked())
        b.set_setting("typing_indicators", self.typing.isChecked())
        b.set_setting("interfaces", self.networks.chosen())
        b.set_setting("theme", self.theme.currentData())


class InterfacePicker(QWidget):
    """All networks, or only the interfaces the user ticks (remembered by name, so a new
    address on the same Wi-Fi changes nothing). Takes effect at the next start."""

    def __init__(self, saved: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsNetworks")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.all = QRadioButton("All networks this computer is on")
        self.all.setObjectName("settingsAllNetworks")
        self.some = QRadioButton("Only these:")
        self.some.setObjectName("settingsSomeNetworks")
        layout.addWidget(self.all)
        layout.addWidget(self.some)
        self.list = QListWidget()
        self.list.setObjectName("settingsInterfaces")
        self.list.setMaximumHeight(110)
        layout.addWidget(self.list)
        present = netifs.interfaces()
        names = {i.name for i in present}
        for i in present:
            chosen = i.name in saved or any(a in saved for a in i.addresses)
            self._add(i.name, i.label, chosen)
        for entry in saved:  # chosen before, not connected now: keep the choice visible
            if entry not in names and not any(entry in i.addresses for i in present):
                self._add(entry, f"{entry} (not connected now)", True)
        note = QLabel("Changes take effect the next time Kith starts.")
        note.setObjectName("settingsNetworksNote")
        note.setEnabled(False)
        layout.addWidget(note)
        self.error = QLabel()
        self.error.setObjectName("settingsNetworksError")
        self.error.setStyleSheet("color: #d70015;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        (self.some if saved else self.all).setChecked(True)
        self.list.setEnabled(bool(saved))
        self.some.toggled.connect(self.list.setEnabled)
        self.some.toggled.connect(lambda _on: self.error.hide())

    def _add(self, name: str, label: str, checked: bool) -> None:
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.list.addItem(item)

    def item(self, name: str) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            it = self.list.item(row)
            if it.data(Qt.ItemDataRole.UserRole) == name:
                return it
        return None

    def chosen(self) -> list[str]:
        """Interface names to use; empty means every network."""
        if self.all.isChecked():
            return []
        return [
            str(self.list.item(r).data(Qt.ItemDataRole.UserRole))
            for r in range(self.list.count())
            if self.list.item(r).checkState() == Qt.CheckState.Checked
        ]

    def problem(self) -> str:
        if self.some.isChecked() and not self.chosen():
            return "Tick at least one network, or choose all networks."
        return ""
