"""Unlocking the profile in the app (issue 16): the first-start choice of protection (the
keyring recommended, a passphrase, or none with a warning), the recovery code shown once,
the passphrase dialog at start (after five wrong tries each try waits longer), the
keyring gone (what happened, then the recovery code and a new protection), a progress
bar while a plain history is encrypted, and Settings → Protection.

:func:`unlock_profile` is the app's one way to the data key; the steps themselves are
``p2p.unlock``'s, shared with the command line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from kith.p2p import unlock
from kith.p2p.errors import KithError
from kith.p2p.keystore import (
    KeyringProblem,
    KeyringStatus,
    Protection,
    WrongPassphrase,
    WrongRecoveryCode,
    retry_delay,
)

NONE_WARNING = (
    "Without protection the key lies next to your history: anyone who can read this "
    "computer's disk can read your messages."
)

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The user closed an unlock dialog: the app does not start."""


async def run_dialog(dialog: QDialog) -> int:
    """Show a dialog without a nested event loop; its result once it closes."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not fut.done():
            fut.set_result(int(result))

    dialog.finished.connect(finished)
    dialog.open()
    return await fut


def _label(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


def _password(name: str, placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    field.setAccessibleName(placeholder)
    return field


def _ok_cancel(dialog: QDialog, ok: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setObjectName("okButton")
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class ProtectionDialog(QDialog):
    """How the history's key is kept: the OS keyring (recommended; greyed out with the
    reason where there is none), a passphrase (asked twice), or none (with a warning)."""

    def __init__(
        self, status: KeyringStatus, parent: QWidget | None = None, *, intro: str = "",
        current: Protection | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("protectionDialog")
        self.setWindowTitle(self.tr("Protect your history"))
        layout = QVBoxLayout(self)
        layout.addWidget(_label(intro or self.tr("Kith keeps your history encrypted on this "
                                                 "computer. How should its key be kept?"),
                                "protectIntro"))
        self.keyring = QRadioButton(
            self.tr("In the system keyring (recommended): opens with no prompt"))
        self.keyring.setObjectName("protectKeyring")
        self.keyring.setEnabled(status.usable)
        layout.addWidget(self.keyring)
        if not status.usable:
            layout.addWidget(_label("<small>" + self.tr("Not available: {reason}").format(
                reason=status.reason) + "</small>",
                                    "protectKeyringReason"))
        self.passphrase = QRadioButton(self.tr("With a passphrase, asked each time Kith starts"))
        self.passphrase.setObjectName("protectPassphrase")
        layout.addWidget(self.passphrase)
        self.first = _password("protectPassphrase1", self.tr("Passphrase"))
        self.second = _password("protectPassphrase2", self.tr("The same passphrase again"))
        layout.addWidget(self.first)
        layout.addWidget(self.second)
        self.none = QRadioButton(self.tr("No protection (not recommended)"))
        self.none.setObjectName("protectNone")
        layout.addWidget(self.none)
        self.warning = _label(self.tr(
            "<b>Warning:</b> Without protection the key lies next to your history: anyone who "
            "can read this computer's disk can read your messages."), "protectNoneWarning")
        layout.addWidget(self.warning)
        self.error = _label("", "protectError")
        self.error.setStyleSheet("color: #c0392b")
        layout.addWidget(self.error)
        layout.addWidget(_ok_cancel(self, self.tr("Continue")))
        {"keyring": self.keyring, "passphrase": self.passphrase, "none": self.none}.get(
            current or unlock.suggested(status), self.passphrase).setChecked(True)
        for radio in (self.keyring, self.passphrase, self.none):
            radio.toggled.connect(self._update)
        self._update()

    def _update(self) -> None:
        for field in (self.first, self.second):
            field.setVisible(self.passphrase.isChecked())
        self.warning.setVisible(self.none.isChecked())
        self.error.hide()
        self._fit()

    def _fit(self) -> None:
        # a line shown or hidden: the dialog takes the wrapped lines' height (left to
        # the window manager, it kept its height and cut them in half)
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self.adjustSize()

    def protection(self) -> Protection:
        if self.keyring.isChecked():
            return "keyring"
        return "passphrase" if self.passphrase.isChecked() else "none"

    def secret(self) -> str | None:
        return self.first.text() if self.protection() == "passphrase" else None

    def accept(self) -> None:
        if self.protection() == "passphrase":
            problem = (self.tr("Choose a passphrase.") if not self.first.text() else
                       self.tr("The two passphrases differ.")
                       if self.first.text() != self.second.text() else "")
            if problem:
                self.error.setText(problem)
                self.error.show()
                self._fit()
                return
        super().accept()


class RecoveryCodeDialog(QDialog):
    """The recovery code, shown once; OK only once the user says it is written down."""

    def __init__(self, code: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryCodeDialog")
        self.setWindowTitle(self.tr("Your recovery code"))
        layout = QVBoxLayout(self)
        layout.addWidget(_label(
            self.tr("Write this code down and keep it somewhere safe. If the keyring is lost or "
                    "you forget your passphrase, it is the only way back into your history. Kith "
                    "shows it only this once."), "recoveryIntro"))
        self.code = QLineEdit(code)
        self.code.setObjectName("recoveryCode")
        self.code.setAccessibleName(self.tr("Recovery code"))
        self.code.setReadOnly(True)
        layout.addWidget(self.code)
        self.written = QCheckBox(self.tr("I have written it down"))
        self.written.setObjectName("recoveryWritten")
        layout.addWidget(self.written)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setObjectName("okButton")
        self.ok.setEnabled(False)
        self.written.toggled.connect(self.ok.setEnabled)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


class SecretDialog(QDialog):
    """Asks for a passphrase (or the recovery code) until ``try_unlock`` takes it. After
    five wrong tries each try waits longer (``retry_delay``: 1 s, 2 s, ... a minute).
    ``try_unlock`` (Argon2id: about half a second) runs on a worker thread: the dialog
    stays responsive and says that it is checking."""

    RECOVERY = 2  # the result when the user asks to use the recovery code instead

    def __init__(
        self, try_unlock: Callable[[str], bytes], parent: QWidget | None = None, *,
        recovery: bool = False, explanation: str = "",
    ) -> None:
        super().__init__(parent)
        self.try_unlock = try_unlock
        self.recovery = recovery
        self.key: bytes | None = None
        self.wrong = 0
        self.setObjectName("recoveryDialog" if recovery else "passphraseDialog")
        self.setWindowTitle(self.tr("Unlock Kith"))
        layout = QVBoxLayout(self)
        if explanation:
            layout.addWidget(_label(explanation, "unlockExplanation"))
        layout.addWidget(_label(
            self.tr("Enter your recovery code (the 32 characters shown when Kith was set up).")
            if recovery else self.tr("Enter your passphrase to open your history."), "unlockIntro"))
        self.field = (QLineEdit() if recovery
                      else _password("unlockPassphrase", self.tr("Passphrase")))
        if recovery:
            self.field.setObjectName("unlockRecoveryCode")
            self.field.setAccessibleName(self.tr("Recovery code"))
            self.field.setPlaceholderText(self.tr("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"))
        layout.addWidget(self.field)
        self.message = _label("", "unlockMessage")
        layout.addWidget(self.message)
        buttons = _ok_cancel(self, self.tr("Unlock"))
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        if not recovery:
            self.use_code = QPushButton(self.tr("Forgot it? Use the recovery code…"))
            self.use_code.setObjectName("useRecoveryCode")
            self.use_code.clicked.connect(lambda: self.done(self.RECOVERY))
            layout.addWidget(self.use_code)
        layout.addWidget(buttons)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._ready)
        self.checking: asyncio.Future[bytes] | None = None  # the check on its thread

    def accept(self) -> None:
        if not self.ok.isEnabled() or self.checking is not None:
            return
        self.ok.setEnabled(False)
        self.field.setEnabled(False)
        self.message.setText(self.tr("Checking the recovery code…") if self.recovery
                             else self.tr("Checking your passphrase…"))
        self.setCursor(Qt.CursorShape.BusyCursor)
        self.checking = asyncio.ensure_future(
            asyncio.to_thread(self.try_unlock, self.field.text()))
        self.checking.add_done_callback(self._checked)

    def _checked(self, done: asyncio.Future[bytes]) -> None:
        self.checking = None
        self.unsetCursor()
        if done.cancelled() or not self.isVisible():  # (closed meanwhile)
            return
        e = done.exception()
        if e is None:
            self.key = done.result()
            super().accept()
            return
        self.ok.setEnabled(True)
        self.field.setEnabled(True)
        if not isinstance(e, WrongPassphrase | WrongRecoveryCode):
            self.message.setText(str(e))
            return
        self.wrong += 1
        self.field.setFocus()
        self.field.selectAll()
        delay = retry_delay(self.wrong)
        text = self.tr("{reason} ({count} wrong).").format(
            reason=str(e).capitalize(), count=self.wrong)
        if delay:
            text = self.tr("{text} Wait {seconds} s before the next try.").format(
                text=text, seconds=f"{delay:g}")
        self.message.setText(text)
        if delay:
            self.ok.setEnabled(False)
            self.field.setEnabled(False)
            self.timer.start(int(delay * 1000))

    def _ready(self) -> None:
        self.ok.setEnabled(True)
        self.field.setEnabled(True)
        self.field.setFocus()


async def _ask(dialog: QDialog) -> int:
    result = await run_dialog(dialog)
    if not result:
        raise Cancelled
    return result


async def choose_and_create(profile: Path, parent: QWidget | None, *, intro: str = "",
                            backend: Any = None) -> bytes:
    status = unlock.inspect(profile, backend).keyring
    while True:
        dialog = ProtectionDialog(status, parent, intro=intro)
        await _ask(dialog)
        try:
            created = unlock.create(profile, dialog.protection(), passphrase=dialog.secret(),
                                    backend=backend)
        except KithError as e:
            QMessageBox.warning(parent, "Kith", str(e))
            continue
        await run_dialog(RecoveryCodeDialog(created.recovery_code, parent))
        return created.key


async def new_profile_key(profile: Path, parent: QWidget | None = None, *,
                          backend: Any = None) -> bytes:
    """First start: the protection's choice and a new data key, before the identity is
    written (so the key file is sealed from the start, never plain on disk). A key left
    by a first start that stopped before the identity is replaced (nothing used it)."""
    return await choose_and_create(profile, parent, backend=backend)


async def recover(profile: Path, parent: QWidget | None, explanation: str,
                  backend: Any = None) -> bytes:
    """The recovery code, then a new protection for the key."""
    dialog = SecretDialog(
        lambda code: unlock.unlock(profile, recovery_code=code, backend=backend), parent,
        recovery=True, explanation=explanation)
    await _ask(dialog)
    assert dialog.key is not None
    status = unlock.inspect(profile, backend).keyring
    while True:
        choice = ProtectionDialog(status, parent, intro=QCoreApplication.translate(
            "unlock", "Your history is open again. How should its key be kept from now on?"))
        await _ask(choice)
        try:
            unlock.change(profile, dialog.key, choice.protection(), passphrase=choice.secret(),
                          backend=backend)
        except KithError as e:
            QMessageBox.warning(parent, "Kith", str(e))
            continue
        return dialog.key


async def unlock_profile(
    profile: Path, parent: QWidget | None = None, *, first: bool = False, backend: Any = None,
) -> bytes | None:
    """The profile's data key, asking what is needed; a plain profile (first start, or
    the first release's) chooses its protection now and is encrypted, with a progress
    bar. None: no identity yet. :class:`Cancelled` if the user closes a dialog."""
    state = unlock.inspect(profile, backend)
    if not state.has_identity:
        return None
    if state.needs_choice:
        intro = "" if first else QCoreApplication.translate(
            "unlock", "This version of Kith keeps your history encrypted on this computer. How "
            "should its key be kept?")
        key = await choose_and_create(profile, parent, intro=intro, backend=backend)
    elif state.needs_passphrase:
        dialog = SecretDialog(
            lambda text: unlock.unlock(profile, passphrase=text, backend=backend), parent)
        result = await _ask(dialog)
        if result == SecretDialog.RECOVERY:
            key = await recover(profile, parent, "", backend)
        else:
            assert dialog.key is not None
            key = dialog.key
    else:
        try:
            key = unlock.unlock(profile, backend=backend)
        except KeyringProblem as e:
            key = await recover(profile, parent, str(e), backend)
    if unlock.needs_migration(profile):
        await migrate_with_progress(profile, key, parent)
    if unlock.files_need_sealing(profile, key):
        await seal_files_with_progress(profile, key, parent)
    return key


# Where each stage of the migration sits on the bar (percent).
_STAGES = {"copy": (0, 60), "check": (60, 95), "swap": (95, 100)}


async def migrate_with_progress(profile: Path, key: bytes, parent: QWidget | None) -> None:
    """Encrypt a plain history in a worker thread, the progress on a bar."""
    bar = QProgressDialog(QCoreApplication.translate("unlock", "Encrypting your history…"), "",
                          0, 100, parent)
    bar.setObjectName("migrationProgress")
    bar.setWindowTitle("Kith")
    bar.setCancelButton(None)  # (no button: the migration cannot be cancelled halfway)
    bar.setMinimumDuration(300)
    bar.setAutoClose(False)
    bar.setValue(0)
    loop = asyncio.get_running_loop()
    values: list[int] = []

    def show(stage: str, done: int, total: int) -> None:
        low, high = _STAGES.get(stage, (0, 100))
        value = low + (high - low) * done // total if total else high
        if not values or value > values[-1]:
            values.append(value)
            bar.setValue(value)

    def progress(stage: str, done: int, total: int) -> None:
        loop.call_soon_threadsafe(show, stage, done, total)

    try:
        await asyncio.to_thread(unlock.migrate, profile, key, progress)
        await asyncio.sleep(0)  # the last progress calls
        show("swap", 1, 1)
    finally:
        bar.close()
        bar.deleteLater()


async def seal_files_with_progress(profile: Path, key: bytes, parent: QWidget | None) -> None:
    """Seal the previous release's plain files in a worker thread, the bytes on a bar
    (a failure is logged: they still read, and the node seals them at its start)."""
    bar = QProgressDialog(QCoreApplication.translate("unlock", "Encrypting your files…"), "",
                          0, 100, parent)
    bar.setObjectName("sealingProgress")
    bar.setWindowTitle("Kith")
    bar.setCancelButton(None)  # (each file is sealed whole; an interruption loses nothing)
    bar.setMinimumDuration(300)
    bar.setAutoClose(False)
    bar.setValue(0)
    loop = asyncio.get_running_loop()
    values: list[int] = []

    def show(files: int, count: int, done: int, total: int) -> None:
        value = 100 * done // total if total else 100
        bar.setLabelText(QCoreApplication.translate(
            "unlock", "Encrypting your files… ({done} of {count})").format(
            done=files, count=count))
        if not values or value > values[-1]:
            values.append(value)
            bar.setValue(value)

    def progress(files: int, count: int, done: int, total: int) -> None:
        loop.call_soon_threadsafe(show, files, count, done, total)

    try:
        await asyncio.to_thread(unlock.seal_files, profile, key, progress)
        await asyncio.sleep(0)  # the last progress calls
    except OSError as e:
        log.warning("could not seal the previous release's files yet: %s", e)
    finally:
        bar.close()
        bar.deleteLater()


def change_protection(profile: Path, key: bytes | None, parent: QWidget | None,
                      backend: Any = None) -> asyncio.Task[None]:
    """Settings → Protection: choose again (the recovery code stays valid)."""

    async def run() -> None:
        state = unlock.inspect(profile, backend)
        if key is None or not state.has_key:
            await choose_and_create(profile, parent, backend=backend)
            QMessageBox.information(parent, "Kith", QCoreApplication.translate(
                "unlock", "Your history is encrypted the next time Kith starts."))
            return
        current = state.info.protection if state.info else None
        while True:
            dialog = ProtectionDialog(state.keyring, parent, current=current,
                                      intro=QCoreApplication.translate(
                                          "unlock", "How should the key of your history be kept?"))
            if not await run_dialog(dialog):
                return
            try:
                unlock.change(profile, key, dialog.protection(), passphrase=dialog.secret(),
                              backend=backend)
            except KithError as e:
                QMessageBox.warning(parent, "Kith", str(e))
                continue
            return

    return asyncio.ensure_future(run())


def protection_button(node: Any, parent: QWidget) -> QPushButton:
    """The Settings row's button (``node``: the running Node)."""
    button = QPushButton(QCoreApplication.translate("unlock", "Change protection…"))
    button.setObjectName("protectionButton")
    button.setToolTip(QCoreApplication.translate(
        "unlock", "How the key of your encrypted history is kept: keyring, passphrase or none"))
    button.clicked.connect(
        lambda: change_protection(node.profile, node.options.data_key, parent))
    return button
