"""Dialogs: first start, settings, add by address (contact info is in ``trust``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui import autostart, i18n, netifs
from kith.app.gui import unlock as unlock_ui
from kith.app.gui.bridge import Bridge
from kith.app.gui.settings_files import AutoDownload, limit_of
from kith.app.gui.theme import THEMES

if TYPE_CHECKING:
    from kith.app.gui.devices import LinkDialog

MAX_NAME = 64
NOTIFY_PREVIEW = "notify_preview"  # notifications show the text, or the name only
NOTIFY_SOUND = "notify_sound"


class FirstStartDialog(QDialog):
    """Asks for a display name before the identity is created, or offers to link this
    device to my other one (the dialog then finishes with ``LINK``)."""

    LINK = 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstStartDialog")
        self.setWindowTitle(self.tr("Welcome to Kith"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        title = QLabel(self.tr("Welcome to Kith"))
        f = title.font()
        f.setPointSizeF(f.pointSizeF() * 1.6)
        f.setBold(True)
        title.setFont(f)
        layout.addWidget(title)
        intro = QLabel(
            self.tr("Kith lets you chat with people on the same network: no server, no account, "
            "no Internet. Messages are end-to-end encrypted.\n\n"
            "What name should people nearby see?")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.name = QLineEdit()
        self.name.setObjectName("displayNameField")
        self.name.setAccessibleName(self.tr("Your name"))
        self.name.setPlaceholderText(self.tr("Your name"))
        self.name.setMaxLength(MAX_NAME)
        layout.addWidget(self.name)
        self.buttons = QDialogButtonBox()
        self.ok = self.buttons.addButton(self.tr("Get started"),
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("getStartedButton")
        self.ok.setDefault(True)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("cancelButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        other = QLabel(self.tr("Already use Kith on another computer?"))
        other.setWordWrap(True)
        layout.addWidget(other)
        self.link_button = QPushButton(self.tr("Link to my other device…"))
        self.link_button.setObjectName("linkDeviceButton")
        self.link_button.setToolTip(self.tr("Use the same account here: your conversations and "
                                    "contacts come over from your other device"))
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


class AddressBox(QWidget):
    """This device's addresses, selectable, with a Copy button."""

    def __init__(self, addresses: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.addresses = addresses
        self.label = QLabel("\n".join(addresses) or self.tr("not listening"))
        self.label.setObjectName("myAddresses")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.label.setFont(mono)
        row.addWidget(self.label, 1)
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.setObjectName("copyAddressButton")
        self.copy_button.setAutoDefault(False)
        self.copy_button.setEnabled(bool(addresses))
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(self.addresses))


class AddByAddressDialog(QDialog):
    """Reach someone mDNS cannot see (VPN, another subnet) by HOST:PORT; shows this
    device's own addresses for the other side to type."""

    def __init__(self, addresses: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addByAddressDialog")
        self.setWindowTitle(self.tr("Connect by address"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.setSpacing(8)
        info = QLabel(self.tr("Type the address that the other device shows under "
                      "<b>This computer</b> (in its Connect by address window, or its "
                      "Settings)."))
        info.setWordWrap(True)
        layout.addWidget(info)
        self.address = QLineEdit()
        self.address.setObjectName("addressField")
        example = addresses[0] if addresses else "192.168.1.20:7000"
        self.address.setPlaceholderText(
            self.tr("like {address}").format(address=f"{example.rsplit(':', 1)[0]}:7000"))
        layout.addWidget(self.address)
        mine = QLabel(self.tr("<b>This computer</b>: give the other person one of these"))
        mine.setWordWrap(True)
        layout.addSpacing(6)
        layout.addWidget(mine)
        self.mine = AddressBox(addresses)
        layout.addWidget(self.mine)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Connect"))
        buttons.button(QDialogButtonBox.StandardButton.Ok).setObjectName("connectButton")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def theme_name(theme: str) -> str:
    """A theme of :data:`THEMES` as the Settings list shows it."""
    names = {"system": QCoreApplication.translate("SettingsDialog", "System"),
             "light": QCoreApplication.translate("SettingsDialog", "Light"),
             "dark": QCoreApplication.translate("SettingsDialog", "Dark")}
    return names.get(theme, theme.capitalize())


def _section(text: str, note: str, name: str) -> QLabel:
    label = QLabel(f"<b>{text}</b><br><small>{note}</small>")
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setContentsMargins(0, 8, 0, 0)
    return label


class SettingsDialog(QDialog):
    """Settings in two parts: those of the person, which follow to all of their devices
    (the core's ``SYNCED_SETTINGS``), and those of this computer."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        form = QFormLayout(self)
        form.setContentsMargins(24, 20, 24, 16)
        form.setVerticalSpacing(10)
        rows: dict[str, tuple[str, QWidget]] = {}
        self.name = QLineEdit(bridge.my_name)
        self.name.setObjectName("settingsName")
        self.name.setMaxLength(MAX_NAME)
        self.name.setToolTip(self.tr("What people nearby and your contacts see"))
        rows["display_name"] = (self.tr("Display name"), self.name)
        self.discoverable = QCheckBox(self.tr("Let people on this network see me"))
        self.discoverable.setObjectName("settingsDiscoverable")
        self.discoverable.setChecked(bool(bridge.setting("discoverable", True)))
        self.discoverable.setToolTip(
            self.tr("When off, only your contacts and your own devices can see and reach this "
            "computer; you can still add people yourself")
        )
        rows["discoverable"] = (self.tr("Discoverable"), self.discoverable)
        self.receipts = QCheckBox(self.tr("Send read receipts"))
        self.receipts.setObjectName("settingsReadReceipts")
        self.receipts.setChecked(bool(bridge.setting("read_receipts", True)))
        rows["read_receipts"] = (self.tr("Read receipts"), self.receipts)
        self.typing = QCheckBox(self.tr("Show when I am typing"))
        self.typing.setObjectName("settingsTyping")
        self.typing.setChecked(bool(bridge.setting("typing_indicators", True)))
        rows["typing_indicators"] = (self.tr("Typing indicators"), self.typing)
        self.preview = QCheckBox(self.tr("Show the message text in notifications"))
        self.preview.setObjectName("settingsNotifyPreview")
        self.preview.setChecked(bool(bridge.setting(NOTIFY_PREVIEW, True)))
        self.preview.setToolTip(self.tr("When off, a notification names the person only"))
        rows[NOTIFY_PREVIEW] = (self.tr("Notifications"), self.preview)
        self.sound = QCheckBox(self.tr("Play a sound"))
        self.sound.setObjectName("settingsNotifySound")
        self.sound.setChecked(bool(bridge.setting(NOTIFY_SOUND, True)))
        rows[NOTIFY_SOUND] = ("", self.sound)
        self.auto_download = AutoDownload(bridge.setting("auto_download", None))
        rows["auto_download"] = (self.tr("Downloads"), self.auto_download)
        synced = bridge.synced_settings()
        form.addRow(_section(self.tr("You, on all your devices"),
                             self.tr("These follow to every device linked to you."),
                             "settingsMine"))
        for key, (label, widget) in rows.items():
            if key in synced:
                form.addRow(label, widget)
        form.addRow(_section(self.tr("This computer"), self.tr("Only here."), "settingsHere"))
        for key, (label, widget) in rows.items():
            if key not in synced:
                form.addRow(label, widget)
        self.networks = InterfacePicker([str(x) for x in bridge.setting("interfaces", []) or []])
        form.addRow(self.tr("Networks"), self.networks)
        self.autostart = QCheckBox(self.tr("Start Kith when I log in, in the tray"))
        self.autostart.setObjectName("settingsAutostart")
        self.autostart.setChecked(autostart.enabled(bridge.node.profile))
        self.autostart.setToolTip(self.tr("So that you stay reachable without opening Kith"))
        form.addRow(self.tr("At login"), self.autostart)
        self.theme = QComboBox()
        self.theme.setObjectName("settingsTheme")
        for t in THEMES:
            self.theme.addItem(theme_name(t), t)
        current = str(bridge.setting("theme", "system"))
        self.theme.setCurrentIndex(max(0, self.theme.findData(current)))
        form.addRow(self.tr("Theme"), self.theme)
        self.language = QComboBox()
        self.language.setObjectName("settingsLanguage")
        self.language.setAccessibleName(self.tr("Language"))
        self.language.setToolTip(self.tr("Takes effect when Kith restarts"))
        self.language.addItem(self.tr("System"), i18n.SYSTEM)
        for code, native in i18n.LANGUAGES.items():
            self.language.addItem(native, code)
        chosen = i18n.saved_language(bridge.node.profile)
        self.language.setCurrentIndex(max(0, self.language.findData(chosen)))
        form.addRow(self.tr("Language"), self.language)
        self.addresses = AddressBox(bridge.my_addresses())
        self.addresses.setToolTip(
            self.tr("What another device types under Connect by address"))
        form.addRow(self.tr("Address"), self.addresses)
        self.devices_button = QPushButton(self.tr("My devices…"))
        self.devices_button.setObjectName("myDevicesButton")
        self.devices_button.setToolTip(
            self.tr("Link another computer to this account, or remove one"))
        form.addRow(self.tr("Devices"), self.devices_button)
        self.protection_button = unlock_ui.protection_button(bridge.node, self)
        form.addRow(self.tr("Protection"), self.protection_button)
        self.synced_keys = [k for k in rows if k in synced]
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
        b.set_setting(NOTIFY_PREVIEW, self.preview.isChecked())
        b.set_setting(NOTIFY_SOUND, self.sound.isChecked())
        if self.auto_download.value() != limit_of(b.setting("auto_download", None)):
            b.set_setting("auto_download", self.auto_download.value())
        b.set_setting("interfaces", self.networks.chosen())
        b.set_setting("theme", self.theme.currentData())
        try:
            i18n.save_language(b.node.profile, str(self.language.currentData()))
        except OSError as e:
            b.error.emit(self.tr("Cannot change the language: {error}").format(error=e))
        if self.autostart.isChecked() != autostart.enabled(b.node.profile):
            try:
                autostart.set_enabled(b.node.profile, self.autostart.isChecked())
            except OSError as e:
                b.error.emit(self.tr("Cannot change the start at login: {error}").format(
                    error=e))


class InterfacePicker(QWidget):
    """All networks, or only the interfaces the user ticks (remembered by name, so a new
    address on the same Wi-Fi changes nothing). Takes effect at the next start."""

    def __init__(self, saved: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsNetworks")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.all = QRadioButton(self.tr("All networks this computer is on"))
        self.all.setObjectName("settingsAllNetworks")
        self.some = QRadioButton(self.tr("Only these:"))
        self.some.setObjectName("settingsSomeNetworks")
        layout.addWidget(self.all)
        layout.addWidget(self.some)
        self.list = QListWidget()
        self.list.setObjectName("settingsInterfaces")
        self.list.setAccessibleName(self.tr("Networks"))
        self.list.setMaximumHeight(110)
        layout.addWidget(self.list)
        present = netifs.interfaces()
        names = {i.name for i in present}
        for i in present:
            chosen = i.name in saved or any(a in saved for a in i.addresses)
            self._add(i.name, i.label, chosen)
        for entry in saved:  # chosen before, not connected now: keep the choice visible
            if entry not in names and not any(entry in i.addresses for i in present):
                self._add(entry, self.tr("{name} (not connected now)").format(name=entry), True)
        note = QLabel(self.tr("Changes take effect the next time Kith starts."))
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
            return self.tr("Tick at least one network, or choose all networks.")
        return ""
