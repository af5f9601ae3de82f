"""New message (Ctrl+N or the compose button): pick a contact, or someone nearby."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from test_gui_chat import _activate, _buttons, _friends

from kith.app.gui.convmodel import ConvRole
from kith.app.gui.newchat import NewChatDialog


def _dialog(qtbot, window):
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), NewChatDialog)
                    or any(isinstance(d, NewChatDialog) and d.isVisible()
                           for d in window.dialogs))
    return next(d for d in window.dialogs if isinstance(d, NewChatDialog))


def _names(dialog):
    return [dialog.list.item(i).text().split("  ·  ")[0] for i in range(dialog.list.count())]


def test_ctrl_n_filters_contacts_and_enter_opens_the_chat(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    w = alice.window
    _activate(qtbot, w)
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = _dialog(qtbot, w)
    assert _names(dialog) == ["bob", "carol"]
    qtbot.keyClicks(dialog.filter, "CAR")
    assert _names(dialog) == ["carol"]
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.current == carol.node.user_id)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    # a user id prefix works too; nobody matching says so
    dialog = w.new_chat()
    qtbot.keyClicks(dialog.filter, bob.node.user_id.hex()[:6])
    assert _names(dialog) == ["bob"]
    dialog.filter.clear()
    qtbot.keyClicks(dialog.filter, "zed")
    assert dialog.list.count() == 0
    assert "zed" in dialog.empty.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert w.current == carol.node.user_id


def test_choosing_someone_nearby_sends_a_request(kith_apps, qtbot, aw):
    alice, dave = kith_apps("alice"), kith_apps("dave")
    aw(alice.node.connect("127.0.0.1", dave.node.port))
    w = alice.window
    qtbot.waitUntil(lambda: len(_buttons(w, "nearbyAddButton")) == 1)
    qtbot.mouseClick(w.sidebar.new_chat_button, Qt.MouseButton.LeftButton)
    dialog = _dialog(qtbot, w)
    assert _names(dialog) == ["dave"]
    assert "contact request" in dialog.list.item(0).text()
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.current == dave.node.user_id)
    assert w.conversations.index(0).data(ConvRole.State) == "pending_out"
    qtbot.waitUntil(lambda: [c.state for c in dave.node.contacts()] == ["pending_in"])


def test_new_message_on_an_empty_start_explains_what_to_do(kith_apps, qtbot):
    alice = kith_apps("alice")
    dialog = alice.window.new_chat()
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.list.count() == 0
    assert "connect by address" in dialog.empty.text()
    with qtbot.waitSignal(dialog.byAddress):
        qtbot.mouseClick(dialog.address_button, Qt.MouseButton.LeftButton)
