"""The conversation menu (app/gui/convmenu.py). Delete chat: a dialog that says where it
goes (all of my devices, not the other person's) and whose default is Cancel; the open
chat closes to the empty state; a new message brings the chat back alone. In a group I am
still in, "Leave and delete" too. Contact info says who introduced a contact made from a
card."""

from __future__ import annotations

import pytest
from nodekit import add_device
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from test_gui_chat import _friends, _open
from test_gui_sidebar import _menu_action

from kith.app.gui.convmenu import DeleteChatDialog

IGNORE = r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)"


def _dialog(qtbot, w) -> DeleteChatDialog:
    qtbot.waitUntil(lambda: any(d.isVisible() for d in w.findChildren(DeleteChatDialog)))
    return next(d for d in w.findChildren(DeleteChatDialog) if d.isVisible())


def _row_of(w, name: str) -> int:
    m = w.conversations
    return next(i for i in range(m.rowCount()) if m.item(i).name == name)


@pytest.mark.qt_log_ignore(IGNORE)
def test_delete_chat_asks_first_then_closes_the_chat_and_a_new_message_brings_it_back(
        kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    w = alice.window
    w.show()
    _open(qtbot, w, "bob")
    menu, act = _menu_action(qtbot, w, _row_of(w, "bob"), "deleteChatAction")
    assert not act.isEnabled()  # (an empty chat: nothing to delete)
    menu.close()
    for text in ("a first secret", "a second secret"):
        aw(bob.node.send_message("alice", text))
    qtbot.waitUntil(lambda: w.messages.rowCount() >= 2)
    conv = w.bridge.conv_for(bob.node.user_id)

    menu, act = _menu_action(qtbot, w, _row_of(w, "bob"), "deleteChatAction")
    assert act.text() == "Delete chat…"
    act.trigger()
    menu.close()
    d = _dialog(qtbot, w)
    text = d.text() + " " + d.informativeText()
    assert "removed from all of your devices" in text
    assert "bob keeps their copy: nothing is removed from their devices" in text
    assert d.defaultButton() is d.cancel_button and d.leave_button is None
    qtbot.keyClick(d, Qt.Key.Key_Return)  # Enter is Cancel: nothing happens
    qtbot.waitUntil(lambda: not d.isVisible())
    assert len(alice.node.db.messages(conv)) == 2 and w.current == bob.node.user_id

    w.chat.composer.setPlainText("half a thought")
    menu, act = _menu_action(qtbot, w, _row_of(w, "bob"), "deleteChatAction")
    act.trigger()
    menu.close()
    d = _dialog(qtbot, w)
    qtbot.mouseClick(d.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alice.node.db.messages(conv) == [])
    assert w.current is None and w.stack.currentWidget() is w.empty
    assert w.messages.rowCount() == 0 and w.bridge.draft(conv) == ""
    qtbot.waitUntil(lambda: w.conversations.rowCount() == 0)  # it leaves the list
    assert alice.node.db.search("secret") == []
    assert len(bob.node.db.messages(conv)) == 2  # (bob's copy is his)

    aw(bob.node.send_message("alice", "back again"))
    qtbot.waitUntil(lambda: w.conversations.rowCount() == 1)
    _open(qtbot, w, "bob")
    qtbot.waitUntil(lambda: w.messages.rowCount() >= 1)
    assert [r.text for r in alice.node.db.messages(conv)] == ["back again"]
    QApplication.processEvents()


@pytest.mark.qt_log_ignore(IGNORE)
def test_in_a_group_i_am_in_the_dialog_offers_leave_and_delete(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    g = aw(alice.node.create_group("Climbing", ["bob"]))
    aw(alice.node.send_to("Climbing", "saturday at the wall?"))
    w = alice.window
    w.show()
    qtbot.waitUntil(lambda: any(w.conversations.item(i).name == "Climbing"
                                for i in range(w.conversations.rowCount())))
    menu, act = _menu_action(qtbot, w, _row_of(w, "Climbing"), "deleteChatAction")
    act.trigger()
    menu.close()
    d = _dialog(qtbot, w)
    assert "The other members keep their copy" in d.informativeText()
    assert "You stay in the group" in d.informativeText()
    assert d.defaultButton() is d.cancel_button and d.leave_button is not None
    qtbot.mouseClick(d.leave_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alice.node.group(g.id.hex()).role is None)
    qtbot.waitUntil(lambda: alice.node.db.messages(g.id) == [])
    QApplication.processEvents()


def test_contact_info_says_who_introduced_a_contact_made_from_a_card(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    card = aw(alice.node.actions.share_contact(alice.node.conv_with(bob.node.user_id),
                                               carol.node.user_id))
    qtbot.waitUntil(lambda: bob.node.db.message_by_id(card.event_id) is not None)
    w = bob.window
    d = w.show_contact_info(alice.node.user_id)
    assert d is not None and d.findChild(QLabel, "introducedBy") is None  # (not from a card)
    d.close()
    aw(bob.node.actions.request_from_card(card.conv, card.event_id.hex()))
    d = w.show_contact_info(carol.node.user_id)
    assert d is not None
    label = d.findChild(QLabel, "introducedBy")
    assert label is not None and label.text().startswith("Introduced by alice")
    assert "not verified" in label.text()
    d.close()
    QApplication.processEvents()


@pytest.mark.qt_log_ignore(IGNORE)
def test_a_chat_deleted_on_my_other_device_closes_here(kith_apps, qtbot, aw, tmp_path):
    desktop, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, desktop, bob)
    laptop = kith_apps("alice", profile=add_device(tmp_path, "alice", "laptop"))
    aw(laptop.node.connect("127.0.0.1", desktop.node.port))
    row = aw(bob.node.send_message("alice", "see you both"))
    qtbot.waitUntil(lambda: laptop.node.db.message_by_id(row.event_id) is not None)
    w = laptop.window
    w.show()
    _open(qtbot, w, "bob")
    qtbot.waitUntil(lambda: w.messages.rowCount() >= 1)
    aw(desktop.node.actions.delete_chat(row.conv))
    qtbot.waitUntil(lambda: w.current is None)
    assert w.stack.currentWidget() is w.empty
    assert laptop.node.db.messages(row.conv) == []
    QApplication.processEvents()
