"""Notifications and the unread count, links and copying in the chat, and the command
line talking to a running app through its control socket."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from test_gui_chat import _activate, _friends, _open

from kith.app.gui.models import MsgRole

ROOT = Path(__file__).resolve().parents[2]


def test_message_while_unfocused_notifies_and_clicking_opens_the_chat(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _activate(qtbot, bob.window)  # alice's window is in the background, no chat open
    assert not alice.window.isActiveWindow()
    assert alice.notifier.shown == []

    bob.node.queue_message(alice.node.user_id, "are you there?")
    qtbot.waitUntil(lambda: alice.notifier.shown == [("bob", "are you there?")])
    qtbot.waitUntil(lambda: alice.window.windowTitle() == "(1) alice")
    assert alice.notifier.unread == 1
    assert alice.window.current is None

    alice.notifier.on_clicked()  # what the tray's messageClicked runs
    qtbot.waitUntil(lambda: alice.window.current == bob.node.user_id)
    qtbot.waitUntil(alice.window.isActiveWindow)
    assert alice.window.messages.index(0).data(MsgRole.Text) == "are you there?"
    # the chat is on screen in the active window: read, and the count goes away
    qtbot.waitUntil(lambda: alice.window.windowTitle() == "alice")
    assert alice.notifier.unread == 0


def test_no_notification_for_the_chat_in_front(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    _activate(qtbot, alice.window)
    bob.node.queue_message(alice.node.user_id, "in front of you")
    qtbot.waitUntil(lambda: alice.window.messages.rowCount() == 1)
    assert alice.notifier.shown == []
    # (the chat in front is marked read on the next turns of the loop)
    qtbot.waitUntil(lambda: alice.window.windowTitle() == "alice")
    assert alice.notifier.shown == []


def _link_point(view, row):
    """A point on the link inside message ``row``'s bubble (found by hit-testing)."""
    rect = view.visualRect(view.model().index(row))
    for y in range(rect.top(), rect.bottom(), 2):
        for x in range(rect.left(), rect.right(), 3):
            if view._anchor_at(QPoint(x, y)):
                return QPoint(x, y)
    raise AssertionError("no link in the bubble")


def test_links_are_clickable_and_text_is_copyable(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    bob.node.queue_message(alice.node.user_id, "the rules: https://example.org/rules ok?")
    _open(qtbot, alice.window, "bob")
    view = alice.window.chat.view
    qtbot.waitUntil(lambda: alice.window.messages.rowCount() == 1)
    view.open_links = False  # do not start a browser from a test
    point = _link_point(view, 0)
    with qtbot.waitSignal(view.linkActivated) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == ["https://example.org/rules"]

    QGuiApplication.clipboard().clear()
    view.setFocus()
    view.selectAll()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "the rules: https://example.org/rules ok?"


def test_the_command_line_sends_through_the_running_app(kith_apps, qtbot, aw, tmp_path):
    """`kith send` while the window is open goes through the app's control socket: the
    bubble shows in the app, and the CLI learns it was delivered."""
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")

    async def cli(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kith", "--profile", str(tmp_path / "alice"), *args,
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    rc, out, err = aw(cli("send", "bob", "sent from a terminal", "--wait", "10"), timeout=30)
    assert rc == 0, (out, err)
    qtbot.waitUntil(lambda: alice.window.messages.rowCount() == 1)
    sent = alice.window.messages.index(0)
    assert sent.data(MsgRole.Text) == "sent from a terminal"
    assert sent.data(MsgRole.Outgoing) is True
    qtbot.waitUntil(lambda: bob.window.conversations.rowCount() == 1
                    and bob.window.conversations.item(0).last is not None
                    and bob.window.conversations.item(0).last.text == "sent from a terminal")


def test_a_contact_request_notifies_and_settings_hide_the_text(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _activate(qtbot, bob.window)  # alice looks elsewhere
    aw(bob.node.connect("127.0.0.1", alice.node.port))
    aw(bob.node.add_contact("alice"))
    qtbot.waitUntil(lambda: alice.notifier.shown == [("bob", "wants to chat with you")])
    assert alice.notifier.last_user == bob.node.user_id
    aw(alice.node.accept_contact("bob"))
    qtbot.waitUntil(lambda: any(c.state == "accepted" for c in bob.node.contacts()))
    # Settings: notifications name the person only
    dialog = alice.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    dialog.preview.setChecked(False)
    dialog.sound.setChecked(False)
    dialog.accept()
    qtbot.waitUntil(lambda: alice.bridge.setting("notify_preview", True) is False)
    assert alice.bridge.setting("notify_sound", True) is False
    bob.node.queue_message(alice.node.user_id, "a secret")
    qtbot.waitUntil(lambda: alice.notifier.shown[-1] == ("bob", "New message"))
    assert all("secret" not in text for _, text in alice.notifier.shown)


def test_settings_say_what_follows_to_my_other_devices(kith_apps, qtbot):
    from PySide6.QtWidgets import QFormLayout, QLabel

    alice = kith_apps("alice")
    dialog = alice.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    form = dialog.layout()
    assert isinstance(form, QFormLayout)
    widgets = [form.itemAt(i).widget() for i in range(form.count())]
    mine = widgets.index(dialog.findChild(QLabel, "settingsMine"))
    here = widgets.index(dialog.findChild(QLabel, "settingsHere"))
    # what the core syncs is under "all your devices"; theme and networks stay here
    for key, widget in (("read_receipts", dialog.receipts),
                        ("typing_indicators", dialog.typing),
                        ("display_name", dialog.name), ("discoverable", dialog.discoverable),
                        ("notify_preview", dialog.preview), ("notify_sound", dialog.sound)):
        assert key in alice.bridge.synced_settings()
        assert mine < widgets.index(widget) < here
    for widget in (dialog.theme, dialog.networks):
        assert widgets.index(widget) > here
    dialog.reject()
