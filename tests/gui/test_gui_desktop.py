"""Behaving like a desktop messenger: closing hides to the tray (Quit quits), a second
launch brings the running window to the front."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QSystemTrayIcon

from kith.app.gui import app as app_module
from kith.app.gui.instance import raise_running

# the offscreen platform has no tray to attach a faked tray icon to, and says so
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise)\(\)"
    r"|No such signal QPlatformNativeInterface::systemTrayWindowChanged")


@pytest.fixture
def tray(monkeypatch):
    """A desktop with a system tray (the offscreen platform has none)."""
    monkeypatch.setattr(app_module.QSystemTrayIcon, "isSystemTrayAvailable",
                        staticmethod(lambda: True))


def _with_tray(kith_apps, qtbot, name="alice"):
    kith = kith_apps(name)
    kith.notifier.show_tray()
    assert isinstance(kith.notifier.tray, QSystemTrayIcon)
    qtbot.waitUntil(kith.notifier.in_tray)
    return kith


def test_closing_hides_to_the_tray_and_quit_quits(tray, kith_apps, qtbot):
    kith = _with_tray(kith_apps, qtbot)
    w = kith.window
    w.show()
    qtbot.waitUntil(w.isVisible)
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible())
    assert not kith.closed.is_set()  # still running: online, receiving
    assert kith.node.port  # the node still listens
    notices = [t for t, _ in kith.notifier.shown if t == "Kith is still running"]
    assert len(notices) == 1
    assert "Ctrl+Q" in kith.notifier.shown[-1][1]
    # the tray brings it back; closing again says nothing new
    kith.notifier.show_window()
    qtbot.waitUntil(w.isVisible)
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible())
    assert len([t for t, _ in kith.notifier.shown if t == "Kith is still running"]) == 1
    menu = kith.notifier.tray.contextMenu()
    assert [a.text() for a in menu.actions()] == ["Open Kith", "Quit Kith"]
    # Ctrl+Q quits
    kith.notifier.show_window()
    qtbot.waitUntil(w.isVisible)
    shortcut = w.findChild(QShortcut, "quitShortcut")
    assert shortcut.key() == QKeySequence("Ctrl+Q")
    shortcut.activated.emit()
    qtbot.waitUntil(kith.closed.is_set)
    assert not w.isVisible()


def test_quit_in_the_tray_menu_quits(tray, kith_apps, qtbot):
    kith = _with_tray(kith_apps, qtbot)
    quit_action = next(a for a in kith.notifier.tray.contextMenu().actions()
                       if a.objectName() == "trayQuitAction")
    quit_action.trigger()
    qtbot.waitUntil(kith.closed.is_set)


def test_without_a_tray_closing_quits(kith_apps, qtbot):
    kith = kith_apps("alice")  # offscreen: no system tray, nowhere to come back from
    kith.notifier.show_tray()
    assert kith.notifier.tray is None
    kith.window.close()
    qtbot.waitUntil(kith.closed.is_set)


def test_a_second_launch_raises_the_running_window(tray, kith_apps, qtbot, tmp_path):
    kith = _with_tray(kith_apps, qtbot)
    w = kith.window
    w.close()  # in the tray
    qtbot.waitUntil(lambda: not w.isVisible())
    assert raise_running(tmp_path / "alice")
    qtbot.waitUntil(w.isVisible)
    assert not kith.closed.is_set()
    assert not raise_running(tmp_path / "nobody")  # no app for that profile


def test_start_at_login_writes_an_autostart_entry_that_starts_hidden(
        kith_apps, qtbot, tmp_path, monkeypatch):
    from kith.app.gui import autostart

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    kith = kith_apps("alice")
    dialog = kith.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    assert not dialog.autostart.isChecked()
    dialog.autostart.setChecked(True)
    dialog.accept()
    entry = tmp_path / "config" / "autostart" / "kith.desktop"
    qtbot.waitUntil(entry.exists)
    text = entry.read_text()
    assert "KITH_START_HIDDEN=1" in text and str((tmp_path / "alice").resolve()) in text
    assert "[Desktop Entry]" in text and "Type=Application" in text
    again = kith.window.open_settings()
    qtbot.waitUntil(again.isVisible)
    assert again.autostart.isChecked()
    again.autostart.setChecked(False)
    again.accept()
    qtbot.waitUntil(lambda: not entry.exists())
    monkeypatch.setenv("KITH_START_HIDDEN", "1")
    assert autostart.start_hidden()
