"""Display name, trust, typing from the core, Waiting for + Retry, settings through the
node, Esc on dialogs, and a clean shutdown on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from nodekit import befriend, make_node
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from test_gui_chat import _friends, _open

from kith.app.gui import theme
from kith.app.gui.models import MsgRole
from kith.p2p.node import HandoffOffer
from kith.p2p.profile import control_socket_path

ROOT = Path(__file__).resolve().parents[2]


def test_change_display_name_in_settings(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    dialog = alice.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    assert not dialog.name.isReadOnly()
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, "Alice Martin")
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alice.node.name == "Alice Martin")
    qtbot.waitUntil(lambda: alice.window.windowTitle() == "Alice Martin")
    # the contact's side shows the new name
    qtbot.waitUntil(lambda: bob.window.conversations.rowCount() == 1
                    and bob.window.conversations.item(0).name == "Alice Martin")


def test_typing_indicator_follows_the_core(kith_apps, qtbot, aw, monkeypatch):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    bob.node.set_typing(alice.node.user_id, True)
    bubble = alice.window.chat.typing
    qtbot.waitUntil(bubble.isVisible)
    # bob goes quiet without a "stopped typing": the core expires him, the bubble follows
    monkeypatch.setattr(alice.node, "typing", lambda conv: [])
    qtbot.waitUntil(lambda: not bubble.isVisible(), timeout=3000)


def test_not_delivered_then_retry_delivers(kith_apps, qtbot, aw, tmp_path):
    alice = kith_apps("alice")
    bob = make_node(tmp_path, "bob")
    aw(bob.start())
    try:
        aw(befriend(alice.node, bob))
        port = bob.port
        _open(qtbot, alice.window, "bob")
        w = alice.window
        # (no redial of its own within the test: only the Retry button may bring bob in)
        alice.node.core.options.reconnect_min = alice.node.core.options.reconnect_max = 3600
        aw(bob.stop())
        qtbot.waitUntil(lambda: "offline" in w.chat.header.subtitle.text())
        qtbot.keyClicks(w.chat.composer, "are you there?")
        qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
        last = lambda: w.messages.index(w.messages.rowCount() - 1)  # noqa: E731
        qtbot.waitUntil(lambda: w.messages.rowCount() == 1
                        and last().data(MsgRole.StatusText) == "Waiting for bob")
        assert last().data(MsgRole.CanRetry)
        retried = []
        original = alice.node.retry_delivery
        alice.node.retry_delivery = lambda user: (retried.append(user), original(user))
        bob = make_node(tmp_path, "bob", port=port)  # bob is back on the same address
        aw(bob.start())
        view = w.chat.view
        qtbot.waitUntil(lambda: not view.retry_rect(0).isEmpty())
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.retry_rect(0).center())
        assert retried == [bob.user_id]
        qtbot.waitUntil(lambda: last().data(MsgRole.StatusText) == "Delivered")
        assert not last().data(MsgRole.CanRetry)
        assert [m.text for m in bob.history("alice")] == ["are you there?"]
    finally:
        aw(bob.stop())


def test_settings_go_through_the_node_and_esc_closes_the_dialog(kith_apps, qtbot, aw):
    alice = kith_apps("alice")
    changed = []
    alice.bridge.settingChanged.connect(changed.append)
    dialog = alice.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    dialog.receipts.setChecked(False)
    dialog.typing.setChecked(False)
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "read_receipts" in changed and "typing_indicators" in changed)
    # per-user settings became events of the self conversation (they reach my devices)
    aw(alice.node.flush())
    convs = {row[0] for row in alice.node.db.execute("SELECT conv FROM events")}
    assert alice.node.self_conv in convs
    assert alice.bridge.setting("read_receipts", True) is False
    again = alice.window.open_settings()
    qtbot.waitUntil(again.isVisible)
    assert not again.receipts.isChecked()
    qtbot.keyClick(again, Qt.Key.Key_Escape)  # Esc closes dialogs, nothing is saved
    qtbot.waitUntil(lambda: not again.isVisible())
    devices = alice.window.open_devices()
    qtbot.waitUntil(devices.isVisible)
    qtbot.keyClick(devices, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not devices.isVisible())


def _save(qtbot, dialog):
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def _ink_is_light(button) -> bool | None:
    """Whether the opaque pixels of the button's icon are light (None: no icon)."""
    if button.icon().isNull() or button.text():
        return None
    image = button.icon().pixmap(18, 18).toImage()
    ink = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
           if image.pixelColor(x, y).alpha() > 200]
    return bool(ink) and sum(c.lightness() for c in ink) / len(ink) > 128


def test_theme_and_discoverable_in_settings(kith_apps, qtbot, aw):
    alice = kith_apps("alice")
    w = alice.window
    w.sidebar.show_handoffs([HandoffOffer(b"\x01" * 32, "laptop", b"\x02" * 32, "")])
    [handoff] = w.sidebar.handoff_buttons
    try:
        for choice, dark in (("dark", True), ("light", False)):
            dialog = w.open_settings()
            qtbot.waitUntil(dialog.isVisible)
            dialog.theme.setCurrentIndex(dialog.theme.findData(choice))
            _save(qtbot, dialog)
            assert alice.bridge.setting("theme", "system") == choice
            assert theme.is_dark(QApplication.palette()) is dark
            qtbot.waitUntil(lambda d=dark: theme.is_dark(w.palette()) is d)  # the window follows
            # and so do the widgets that draw themselves: the conversation list and banners
            for widget in (w.sidebar.list, w.chat.key_banner, w.chat.replaced_banner, handoff):
                qtbot.waitUntil(lambda x=widget, d=dark: theme.is_dark(x.palette()) is d)
            # the toolbar icons (resources/icons) are redrawn in the theme's text colour
            for button in (w.sidebar.new_chat_button, w.sidebar.settings_button):
                qtbot.waitUntil(lambda b=button, d=dark: _ink_is_light(b) is d)
        again = w.open_settings()
        qtbot.waitUntil(again.isVisible)
        assert again.theme.currentData() == "light"
        assert again.discoverable.isChecked()
        again.discoverable.setChecked(False)
        _save(qtbot, again)
        qtbot.waitUntil(lambda: not alice.node.discoverable)
        # Nearby says why it stays empty, and what to do
        qtbot.waitUntil(lambda: "hidden" in w.sidebar.nearby_empty.text())
        assert w.sidebar.nearby_empty.isVisible()
        # the theme is this computer's: it is not an event for my other devices
        aw(alice.node.flush())
        raws = [row[0] for row in alice.node.db.execute(
            "SELECT body FROM events WHERE conv = ?", (alice.node.self_conv,))]
        assert any(b"read_receipts" in raw for raw in raws)  # per-user ones are events
        assert not any(b"theme" in raw for raw in raws)
    finally:
        theme.apply_theme("system")


def test_sigterm_stops_the_app_cleanly(tmp_path, qtbot):
    profile = tmp_path / "alice"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.environ["PYTHONPATH"])
    subprocess.run([sys.executable, "-m", "kith.app.cli", "--profile", str(profile), "init",
                    "--name", "alice"], check=True, env=env, cwd=ROOT, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kith.app.cli", "--profile", str(profile),
         "--interface", "127.0.0.1"], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sock = control_socket_path(profile)
        qtbot.waitUntil(lambda: sock.exists() or proc.poll() is not None, timeout=30000)
        assert proc.poll() is None, proc.stdout.read().decode()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out.decode()
        assert not sock.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
