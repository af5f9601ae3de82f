"""The app's unlock dialogs, driven as a user would (issue 16): the first-start choice,
the recovery code shown once, the passphrase at start with the slow-down after five
wrong tries, the keyring gone, the progress bar of a migration, Settings → Protection."""

from __future__ import annotations

import keyring.backends.fail
import keyringkit
from chatkit import write_long_chat
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton, QWidget

from kith.app.gui import unlock as unlock_ui
from kith.p2p.identity import KEY_FILE, SEALED_MAGIC, load_identity
from kith.p2p.keystore import KeyStore
from kith.p2p.profile import DB_FILE, create_identity
from kith.storage.cipher import is_encrypted


def shown(qtbot, name: str) -> QWidget:
    """The visible top-level window called ``name``, once it is there."""
    found: list[QWidget] = []

    def there() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if w.objectName() == name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(there, timeout=10_000)
    return found[0]


def click(qtbot, dialog: QWidget, name: str) -> None:
    button = dialog.findChild(QPushButton, name)
    assert button is not None and button.isEnabled(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def write_down_code(qtbot) -> str:
    dialog = shown(qtbot, "recoveryCodeDialog")
    ok = dialog.findChild(QPushButton, "okButton")
    assert not ok.isEnabled()  # not before the user says it is written down
    dialog.findChild(QWidget, "recoveryWritten").setChecked(True)
    code = dialog.findChild(QLineEdit, "recoveryCode").text()
    click(qtbot, dialog, "okButton")
    return code


def test_first_start_recommends_the_keyring_and_shows_the_code_once(tmp_path, qtbot, qloop):
    profile = tmp_path / "p"
    me = create_identity(profile, "ada", "desk")
    task = qloop.create_task(unlock_ui.unlock_profile(profile, first=True))
    dialog = shown(qtbot, "protectionDialog")
    assert dialog.keyring.isEnabled() and dialog.keyring.isChecked()
    assert not dialog.warning.isVisible()
    click(qtbot, dialog, "okButton")
    code = write_down_code(qtbot)
    qtbot.waitUntil(task.done, timeout=10_000)
    key = task.result()
    assert KeyStore(profile).info().protection == "keyring"
    assert KeyStore(profile).unlock(recovery_code=code) == key
    assert (profile / KEY_FILE).read_bytes().startswith(SEALED_MAGIC)
    assert load_identity(profile, key) == me


def test_headless_offers_a_passphrase_and_none_warns(tmp_path, qtbot, qloop):
    profile = tmp_path / "p"
    create_identity(profile, "ada", "desk")
    headless = keyring.backends.fail.Keyring()
    task = qloop.create_task(unlock_ui.unlock_profile(profile, first=True, backend=headless))
    dialog = shown(qtbot, "protectionDialog")
    assert not dialog.keyring.isEnabled() and dialog.passphrase.isChecked()
    assert "Not available" in dialog.findChild(QLabel, "protectKeyringReason").text()
    dialog.none.setChecked(True)
    assert dialog.warning.isVisible() and "anyone" in dialog.warning.text()
    dialog.passphrase.setChecked(True)
    qtbot.keyClicks(dialog.first, "correct horse")
    qtbot.keyClicks(dialog.second, "correct hose")
    click(qtbot, dialog, "okButton")
    assert dialog.isVisible() and "differ" in dialog.error.text()
    dialog.second.setText("correct horse")
    click(qtbot, dialog, "okButton")
    write_down_code(qtbot)
    qtbot.waitUntil(task.done, timeout=10_000)
    assert KeyStore(profile).unlock(passphrase="correct horse") == task.result()


def test_five_wrong_passphrases_slow_down_then_the_right_one_opens(tmp_path, qtbot, qloop):
    profile = tmp_path / "p"
    key = KeyStore(profile).create("passphrase", passphrase="right").key
    create_identity(profile, "ada", "desk", key=key)
    task = qloop.create_task(unlock_ui.unlock_profile(profile))
    dialog = shown(qtbot, "passphraseDialog")
    ok = dialog.findChild(QPushButton, "okButton")
    for n in range(1, 6):
        dialog.field.setText("wrong")
        click(qtbot, dialog, "okButton")
        qtbot.waitUntil(lambda n=n: f"({n} wrong)" in dialog.message.text())
        assert ok.isEnabled() == (n < 5)
    assert "Wait 1 s" in dialog.message.text() and not dialog.field.isEnabled()
    qtbot.waitUntil(ok.isEnabled, timeout=10_000)
    dialog.field.setText("right")
    click(qtbot, dialog, "okButton")
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() == key


def test_keyring_gone_explains_then_the_recovery_code_and_a_passphrase(
    tmp_path, qtbot, qloop
):
    profile = tmp_path / "p"
    created = KeyStore(profile).create("keyring")
    create_identity(profile, "ada", "desk", key=created.key)
    keyringkit.clear()  # the keyring was reset
    task = qloop.create_task(unlock_ui.unlock_profile(profile))
    dialog = shown(qtbot, "recoveryDialog")
    explanation = dialog.findChild(QLabel, "unlockExplanation").text()
    assert "no entry for this Kith profile" in explanation
    dialog.field.setText("0000-0000-0000-0000-0000-0000-0000-0000")
    click(qtbot, dialog, "okButton")
    qtbot.waitUntil(lambda: "does not open" in dialog.message.text())
    dialog.field.setText(created.recovery_code.lower())
    click(qtbot, dialog, "okButton")
    choice = shown(qtbot, "protectionDialog")
    choice.passphrase.setChecked(True)
    choice.first.setText("new one")
    choice.second.setText("new one")
    click(qtbot, choice, "okButton")
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() == created.key
    assert KeyStore(profile).unlock(passphrase="new one") == created.key


def test_a_plain_history_is_encrypted_with_a_progress_bar(tmp_path, qtbot, qloop, monkeypatch):
    profile = tmp_path / "p"
    write_long_chat(profile, 5000, lambda i: f"old message {i}")
    values: list[int] = []
    bars: list[str] = []

    class Recording(unlock_ui.QProgressDialog):
        def setValue(self, value: int) -> None:  # noqa: N802 (Qt's name)
            if not bars:
                bars.append(self.labelText())
            values.append(value)
            super().setValue(value)

    monkeypatch.setattr(unlock_ui, "QProgressDialog", Recording)
    task = qloop.create_task(unlock_ui.unlock_profile(profile))
    dialog = shown(qtbot, "protectionDialog")
    assert "This version of Kith keeps your history encrypted" in \
        dialog.findChild(QLabel, "protectIntro").text()
    click(qtbot, dialog, "okButton")
    write_down_code(qtbot)
    qtbot.waitUntil(task.done, timeout=60_000)
    key = task.result()
    assert is_encrypted(profile / DB_FILE)
    assert b"old message 4999" not in (profile / DB_FILE).read_bytes()
    assert bars == ["Encrypting your history…"]
    assert values == sorted(values) and values[-1] == 100 and len(set(values)) > 3
    assert load_identity(profile, key) is not None


def test_settings_changes_the_protection(tmp_path, qtbot, qloop):
    profile = tmp_path / "p"
    key = KeyStore(profile).create("keyring").key
    create_identity(profile, "ada", "desk", key=key)
    parent = QWidget()
    qtbot.addWidget(parent)
    task = unlock_ui.change_protection(profile, key, parent)
    dialog = shown(qtbot, "protectionDialog")
    assert dialog.keyring.isChecked()  # the current one
    dialog.none.setChecked(True)
    click(qtbot, dialog, "okButton")
    qtbot.waitUntil(task.done, timeout=10_000)
    task.result()
    assert KeyStore(profile).info().unprotected
    assert KeyStore(profile).unlock() == key


def test_the_settings_button_opens_the_choice_for_the_running_profile(
    kith_apps, tmp_path, qtbot
):
    key = KeyStore(tmp_path / "alice").create("keyring").key
    alice = kith_apps("alice", data_key=key)
    settings = alice.window.open_settings()
    click(qtbot, settings, "protectionButton")
    dialog = shown(qtbot, "protectionDialog")
    assert dialog.keyring.isChecked()
    dialog.passphrase.setChecked(True)
    dialog.first.setText("from settings")
    dialog.second.setText("from settings")
    click(qtbot, dialog, "okButton")
    qtbot.waitUntil(lambda: KeyStore(tmp_path / "alice").info().protection == "passphrase",
                    timeout=10_000)
    assert KeyStore(tmp_path / "alice").unlock(passphrase="from settings") == key
    settings.reject()


def test_first_start_never_writes_the_identity_key_in_clear(tmp_path, qtbot, qloop, monkeypatch):
    from kith.app.gui.app import ensure_identity
    from kith.app.gui.dialogs import FirstStartDialog
    from kith.p2p import safefs

    profile = tmp_path / "fresh"
    written: list[bytes] = []
    real = safefs.write_private_atomic

    def spy(path, data):
        if path.name == KEY_FILE:
            written.append(bytes(data))
        real(path, data)

    monkeypatch.setattr(safefs, "write_private_atomic", spy)
    first = FirstStartDialog()
    qtbot.addWidget(first)
    task = qloop.create_task(ensure_identity(
        profile, first, new_key=lambda: unlock_ui.new_profile_key(profile, first)))
    qtbot.waitUntil(first.isVisible)
    qtbot.keyClicks(first.name, "Ada Lovelace")
    click(qtbot, first, "getStartedButton")
    choice = shown(qtbot, "protectionDialog")  # the protection first: no key file yet
    assert not (profile / KEY_FILE).exists() and not written
    click(qtbot, choice, "okButton")
    write_down_code(qtbot)
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() is True
    assert len(written) == 1 and written[0].startswith(SEALED_MAGIC)
    assert (profile / KEY_FILE).read_bytes() == written[0]
    assert load_identity(profile, KeyStore(profile).unlock()).name == "Ada Lovelace"


def test_the_passphrase_is_checked_off_the_ui_thread_and_says_so(qtbot, qloop):
    import threading

    from PySide6.QtCore import QTimer

    release = threading.Event()
    on_ui_thread: list[bool] = []

    def slow_check(text: str) -> bytes:  # (Argon2id, as slow as we like)
        on_ui_thread.append(threading.current_thread() is threading.main_thread())
        release.wait(5)
        return b"k" * 32

    dialog = unlock_ui.SecretDialog(slow_check)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.field.setText("words")
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    click(qtbot, dialog, "okButton")
    qtbot.waitUntil(lambda: len(ticks) >= 5)  # the UI thread keeps running meanwhile
    assert on_ui_thread == [False]
    assert "Checking your passphrase" in dialog.message.text()
    assert not dialog.ok.isEnabled() and not dialog.field.isEnabled()
    assert dialog.isVisible() and dialog.key is None
    release.set()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    timer.stop()
    assert dialog.key == b"k" * 32 and dialog.result() == dialog.DialogCode.Accepted


def test_the_previous_releases_files_are_encrypted_with_a_progress_bar(
    tmp_path, qtbot, qloop, monkeypatch
):
    from kith.p2p.files.disk import Disk

    profile = tmp_path / "p"
    write_long_chat(profile, 100, lambda i: f"old message {i}")
    old = Disk(profile)  # (files as the previous release stored them: plain)
    sizes = (3_000_000, 2_000_000, 700)
    for i, size in enumerate(sizes):
        src = tmp_path / f"{i}.bin"
        src.write_bytes(bytes([65 + i]) * size)
        old.import_file(src)
    labels: dict[int, list[str]] = {}
    values: dict[int, list[int]] = {}

    class Recording(unlock_ui.QProgressDialog):
        def setValue(self, value: int) -> None:  # noqa: N802 (Qt's name)
            labels.setdefault(id(self), []).append(self.labelText())
            values.setdefault(id(self), []).append(value)
            super().setValue(value)

        def setLabelText(self, text: str) -> None:  # noqa: N802 (Qt's name)
            labels.setdefault(id(self), []).append(text)
            super().setLabelText(text)

    monkeypatch.setattr(unlock_ui, "QProgressDialog", Recording)
    task = qloop.create_task(unlock_ui.unlock_profile(profile))
    click(qtbot, shown(qtbot, "protectionDialog"), "okButton")
    write_down_code(qtbot)
    qtbot.waitUntil(task.done, timeout=60_000)
    key = task.result()
    history, files = list(labels)  # (two bars: the history, then the files)
    assert labels[history][0] == "Encrypting your history…"
    assert labels[files][0] == "Encrypting your files…"
    assert labels[files][-1] == "Encrypting your files… (3 of 3)"
    assert values[files] == sorted(values[files]) and values[files][-1] == 100
    assert len(set(values[files])) > 2
    assert (profile / "files" / ".sealed").exists()
    raw = b"".join(p.read_bytes() for p in (profile / "files").iterdir() if p.is_file())
    assert b"A" * 1000 not in raw and b"B" * 1000 not in raw
    assert not unlock_ui.unlock.files_need_sealing(profile, key)
