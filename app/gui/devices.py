"""My devices: the list (link, remove) on an existing device, and linking on a new one.

Linking, from the user's side::

    new device (first start)              existing device (My devices)
    "Link to my other device"             "Add a device"
    shows a one-time code + QR  ------->  types the code  -> Link
    waits ...                   <-------  hands over the identity (SPAKE2 + Noise)
    fetches the history (progress bar)    "Linked laptop"
    -> main window with the history
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui.bridge import Bridge
from kith.app.gui.timefmt import date_time
from kith.p2p.node import DeviceInfo
from kith.p2p.profile import default_device_name

MAX_DEVICE_NAME = 64


def _title(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    f = label.font()
    f.setBold(True)
    f.setPointSizeF(f.pointSizeF() * 1.3)
    label.setFont(f)
    return label


def for_the_screen(message: str) -> str:
    """A linking error as a GUI user needs it: about the other device's screen, not
    about commands."""
    if "`kith link` still runs" in message:
        return QCoreApplication.translate(
            "devices", "No new device showing this code was found on this network. Check the "
            "code, and that the new computer still shows it (Link to my other device).")
    if "start `kith link` again" in message:
        return QCoreApplication.translate(
            "devices", "Several new devices show this code. On the new computer, choose Link "
            "to my other device again for a new code.")
    return message.replace("`kith link`",
                           QCoreApplication.translate("devices", "Link to my other device"))


def device_line(d: DeviceInfo) -> str:
    if d.removed:
        note = QCoreApplication.translate("devices", "removed")
    elif d.this_device:
        note = QCoreApplication.translate("devices", "this device")
    elif d.online:
        note = QCoreApplication.translate("devices", "online")
    elif d.last_seen:
        when = datetime.datetime.fromtimestamp(d.last_seen)
        note = QCoreApplication.translate("devices", "last seen {when}").format(
            when=date_time(when))
    else:
        note = QCoreApplication.translate("devices", "not seen yet")
    return f"{d.name} · {note}"


class DevicesDialog(QDialog):
    """The list of my devices with Remove, and "Add a device" (enter the new one's code)."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("devicesDialog")
        self.setWindowTitle(self.tr("My devices"))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)

        # page 0: the list
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(_title(self.tr("My devices"), "devicesTitle"))
        intro = QLabel(self.tr("Every device here is you: it has all your conversations and "
                       "contacts. Remove one you lost or gave away."))
        intro.setWordWrap(True)
        col.addWidget(intro)
        self.list = QListWidget()
        self.list.setObjectName("deviceList")
        self.list.setAccessibleName(self.tr("My devices"))
        col.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add a device…"))
        self.add_button.setObjectName("addDeviceButton")
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.setObjectName("removeDeviceButton")
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.setObjectName("closeButton")
        # the last linking's result, when it came while this page showed
        self.list_status = QLabel()
        self.list_status.setObjectName("deviceListStatus")
        self.list_status.setWordWrap(True)
        self.list_status.hide()
        col.addWidget(self.list_status)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        row.addWidget(self.close_button)
        col.addLayout(row)
        self.pages.addWidget(page)

        # page 1: add a device
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(_title(self.tr("Add a device"), "addDeviceTitle"))
        how = QLabel(self.tr("On the new computer, start Kith and choose <b>Link to my other "
                     "device</b>. Type the code its screen shows:"))
        how.setWordWrap(True)
        col.addWidget(how)
        self.code = QLineEdit()
        self.code.setObjectName("linkCodeField")
        self.code.setAccessibleName(self.tr("Code"))
        self.code.setPlaceholderText(self.tr("the code on its screen, like 123-456-789"))
        col.addWidget(self.code)
        self.progress = QProgressBar()
        self.progress.setObjectName("linkProgress")
        self.progress.setRange(0, 0)  # busy: linking has no measurable steps
        self.progress.setTextVisible(False)
        self.progress.hide()
        col.addWidget(self.progress)
        self.status = QLabel()
        self.status.setObjectName("linkStatus")
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        col.addStretch(1)
        row = QHBoxLayout()
        self.back_button = QPushButton(self.tr("Back"))
        self.back_button.setObjectName("backButton")
        self.link_button = QPushButton(self.tr("Link"))
        self.link_button.setObjectName("linkButton")
        self.link_button.setDefault(True)
        row.addWidget(self.back_button)
        row.addStretch(1)
        row.addWidget(self.link_button)
        col.addLayout(row)
        self.pages.addWidget(page)

        # Enter is never a page's hidden button: only Link (in the code field) and Close
        for b in (self.add_button, self.remove_button, self.close_button, self.back_button,
                  self.link_button):
            b.setAutoDefault(False)
        self.add_button.clicked.connect(self.show_add)
        self.remove_button.clicked.connect(self.on_remove)
        self.close_button.clicked.connect(self.accept)
        self.back_button.clicked.connect(self.show_list)
        self.link_button.clicked.connect(self.on_link)
        self.code.returnPressed.connect(self.on_link)
        self.code.textChanged.connect(
            lambda t: self.link_button.setEnabled(bool(t.strip()) and self._task is None))
        self.list.currentRowChanged.connect(lambda _r: self._update_buttons())
        bridge.devicesChanged.connect(self.refresh)
        bridge.peersChanged.connect(self.refresh)
        self.confirm: QMessageBox | None = None
        self._task: asyncio.Task[Any] | None = None
        self.refresh()
        self.show_list()

    # -- the list -----------------------------------------------------------------------

    def refresh(self) -> None:
        current = self.selected()
        self.list.clear()
        for d in self.bridge.devices():
            item = QListWidgetItem(device_line(d))
            item.setData(Qt.ItemDataRole.UserRole, d)
            if d.removed:
                item.setForeground(self.palette().color(self.palette().ColorRole.PlaceholderText))
            self.list.addItem(item)
            if current is not None and d.device_id == current.device_id:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def selected(self) -> DeviceInfo | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, device_id: bytes) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole).device_id == device_id:
                self.list.setCurrentRow(i)

    def _update_buttons(self) -> None:
        d = self.selected()
        self.remove_button.setEnabled(d is not None and not d.this_device and not d.removed)
        self.add_button.setEnabled(not self.bridge.node.removed)

    def on_remove(self) -> None:
        d = self.selected()
        if d is None or d.this_device or d.removed:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, self.tr("Remove device"),
            self.tr("Remove “{name}”? It stops receiving your messages and can no longer act "
                    "as you. This cannot be undone.").format(name=d.name),
            QMessageBox.StandardButton.Cancel, self)
        yes = box.addButton(self.tr("Remove"), QMessageBox.ButtonRole.DestructiveRole)
        yes.setObjectName("confirmRemoveButton")
        box.setObjectName("confirmRemoveBox")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def done(_result: int) -> None:
            if box.clickedButton() is yes:
                self.bridge.remove_device(d.device_id)
            self.confirm = None
            box.deleteLater()

        box.finished.connect(done)
        self.confirm = box
        box.open()

    # -- adding -------------------------------------------------------------------------

    def show_list(self) -> None:
        self.pages.setCurrentIndex(0)
        self.close_button.setDefault(True)
        self.link_button.setDefault(False)
        self.refresh()

    def show_add(self) -> None:
        self.code.clear()
        self.status.clear()
        self.list_status.hide()
        self.progress.hide()
        self.link_button.setEnabled(False)
        self.back_button.setText(self.tr("Back"))
        self.pages.setCurrentIndex(1)
        self.close_button.setDefault(False)
        self.link_button.setDefault(True)
        self.code.setFocus()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        # Enter in the code field links (its returnPressed); nowhere does it press a
        # button of the other page or close the dialog under the user's hands
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.pages.currentIndex() == 1:
            if not self.code.hasFocus():
                self.on_link()
            return
        super().keyPressEvent(e)

    def on_link(self) -> None:
        code = self.code.text().strip()
        if not code or self._task is not None:
            return
        from kith.p2p.linking import normalize_code  # (linking is loaded only to link)

        try:
            normalize_code(code)
        except ValueError:
            self._show_result(self.tr("⚠ That is not a code: the new device shows nine "
                                      "digits, like 123-456-789."))
            return
        self.progress.show()
        self.link_button.setEnabled(False)
        self.code.setEnabled(False)
        self.status.setText(self.tr("Looking for the new device on this network and linking it…"))
        self._task = self.bridge.link_device(code, self._linked, self._failed)

    def _show_result(self, text: str) -> None:
        """On the page the user looks at (they may have gone back to the list)."""
        self.status.setText(text)
        self.list_status.setText(text)
        self.list_status.setVisible(self.pages.currentIndex() == 0)

    def _linked(self, info: DeviceInfo) -> None:
        self._task = None
        self.progress.hide()
        self.code.setEnabled(True)
        self._show_result(self.tr("✔ Linked “{name}”. It is receiving your conversations "
                                  "now.").format(name=info.name))
        self.back_button.setText(self.tr("Done"))
        self.refresh()

    def _failed(self, message: str) -> None:
        self._task = None
        self.progress.hide()
        self.code.setEnabled(True)
        self.link_button.setEnabled(bool(self.code.text().strip()))
        self._show_result(f"⚠ {for_the_screen(message)}")

    def done(self, result: int) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        super().done(result)


class LinkDialog(QDialog):
    """On a new device: show the one-time code (text and QR), wait to be linked, then
    show the history arriving.

    ``wait()`` runs the waiting; ``sync(node, linked)`` the history download.
    """

    def __init__(self, code: str, device_name: str | None = None,
                 parent: QWidget | None = None) -> None:
        from kith.app.gui.trust import qr_pixmap

        super().__init__(parent)
        self.code = code
        self.setObjectName("linkDialog")
        self.setWindowTitle(self.tr("Link to my other device"))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(10)
        layout.addWidget(_title(self.tr("Link to my other device"), "linkTitle"))
        how = QLabel(self.tr("On a computer where you already use Kith, open <b>Settings → My "
                     "devices → Add a device</b> and type this code:"))
        how.setWordWrap(True)
        layout.addWidget(how)
        self.code_label = QLabel(code)
        self.code_label.setObjectName("linkCode")
        f = self.code_label.font()
        f.setPointSizeF(f.pointSizeF() * 1.8)
        f.setBold(True)
        self.code_label.setFont(f)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.code_label)
        self.qr = QLabel()
        self.qr.setObjectName("linkQr")
        self.qr.setPixmap(qr_pixmap(code.encode(), scale=5))
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setToolTip(self.tr("The same code as a QR code"))
        layout.addWidget(self.qr)
        name = (device_name or default_device_name())[:MAX_DEVICE_NAME]
        self.device_name = QLabel(
            self.tr("This device will be listed as “{name}”.").format(name=name))
        self.device_name.setObjectName("deviceNameLabel")
        self.device_name.setProperty("deviceName", name)
        layout.addWidget(self.device_name)
        self.status = QLabel(self.tr("Waiting for your other device…"))
        self.status.setObjectName("linkWaitStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.progress = QProgressBar()
        self.progress.setObjectName("historyProgress")
        self.progress.setRange(0, 0)
        layout.addWidget(self.progress)
        row = QHBoxLayout()
        row.addStretch(1)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.reject)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)

    def name(self) -> str:
        return str(self.device_name.property("deviceName"))

    async def wait(self, profile: Path, *, interfaces: list[str] | None, discovery: bool = True,
                   timing: Any = None, timeout: float | None = None,
                   data_key: bytes | None = None) -> Any:
        """Wait until my other device links this one; the ``Linked`` result, or None if
        the user cancelled. Raises KithError (wrong codes, time out)."""
        from kith.p2p import link_driver

        kw: dict[str, Any] = {"interfaces": interfaces, "discovery": discovery}
        if timing is not None:
            kw["timing"] = timing
        if timeout is not None:
            kw["timeout"] = timeout
        kw["on_wrong_code"] = self.show_wrong_code
        if data_key is not None:  # (the identity is sealed as it is written)
            kw["data_key"] = data_key
        task = asyncio.ensure_future(
            link_driver.wait_for_link(profile, self.code, self.name(), **kw))
        cancelled = []

        def on_cancel() -> None:
            cancelled.append(True)
            task.cancel()

        self.rejected.connect(on_cancel)
        try:
            return await task
        except asyncio.CancelledError:
            if cancelled:
                return None
            raise
        finally:
            self.rejected.disconnect(on_cancel)

    def show_wrong_code(self, tries_left: int) -> None:
        """A wrong code was typed on the other device; this one keeps waiting."""
        if tries_left == 1:
            self.status.setText(self.tr(
                "⚠ A wrong code was typed on your other device; nothing was sent. Check the "
                "code above and type it again (one more try)."))
            return
        self.status.setText(self.tr(
            "⚠ A wrong code was typed on your other device; nothing was sent. "
            "Check the code above and type it again (%n more tries).", None, tries_left))

    def show_history(self, have: int, total: int) -> None:
        self.device_name.hide()
        self.cancel_button.setText(self.tr("Continue in the background"))
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(have, total))
        self.status.setText(self.tr("✔ Linked. Fetching your history: {have} of {total}…").format(
            have=min(have, total), total=total))
