"""Two apps in one process on loopback: requests, chatting, receipts, typing, drafts."""

from __future__ import annotations

from chatkit import friends as _friends
from chatkit import open_chat as _open
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kith.app.gui.convmodel import ConvRole
from kith.app.gui.models import MsgRole


def _buttons(window, name):
    return [b for b in window.findChildren(QPushButton, name) if b.isVisible()]


def _activate(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def test_contact_request_and_accept_through_nearby(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    aw(alice.node.connect("127.0.0.1", bob.node.port))
    qtbot.waitUntil(lambda: len(_buttons(alice.window, "nearbyAddButton")) == 1)
    row = alice.window.sidebar.nearby_rows[0]
    assert row.name.text() == "bob"
    qtbot.mouseClick(_buttons(alice.window, "nearbyAddButton")[0], Qt.MouseButton.LeftButton)
    # alice: a conversation waiting for bob; bob: a request with Accept / Decline
    qtbot.waitUntil(lambda: alice.window.conversations.rowCount() == 1)
    assert alice.window.conversations.index(0).data(ConvRole.State) == "pending_out"
    qtbot.waitUntil(lambda: len(_buttons(bob.window, "acceptButton")) == 1)
    assert len(_buttons(bob.window, "declineButton")) == 1
    qtbot.mouseClick(_buttons(bob.window, "acceptButton")[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.window.conversations.rowCount() == 1)
    qtbot.waitUntil(
        lambda: alice.window.conversations.index(0).data(ConvRole.State) == "accepted")
    assert not _buttons(bob.window, "acceptButton")
    assert not _buttons(alice.window, "nearbyAddButton")


def test_decline_a_request(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    aw(alice.node.connect("127.0.0.1", bob.node.port))
    aw(alice.node.add_contact("bob"))
    qtbot.waitUntil(lambda: len(_buttons(bob.window, "declineButton")) == 1)
    qtbot.mouseClick(_buttons(bob.window, "declineButton")[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not _buttons(bob.window, "declineButton"))
    assert [c.state for c in bob.node.contacts()] == ["declined"]


def test_enter_sends_bubble_appears_delivered_then_read(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    _open(qtbot, bob.window, "alice")
    _activate(qtbot, alice.window)
    composer = alice.window.chat.composer
    qtbot.keyClicks(composer, "hello bob, see https://example.org")
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "second line")
    assert composer.toPlainText() == "hello bob, see https://example.org\nsecond line"
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    assert composer.toPlainText() == ""
    text = "hello bob, see https://example.org\nsecond line"
    sent = alice.window.messages
    qtbot.waitUntil(lambda: sent.rowCount() == 1)
    assert sent.index(0).data(MsgRole.Outgoing) is True
    received = bob.window.messages
    qtbot.waitUntil(lambda: received.rowCount() == 1)
    assert received.index(0).data(MsgRole.Text) == text
    assert received.index(0).data(MsgRole.Outgoing) is False
    qtbot.waitUntil(lambda: sent.index(0).data(MsgRole.StatusText) == "Delivered")
    # bob's window is not active: nothing is read yet
    assert bob.window.conversations.index(0).data(ConvRole.Unread) == 1
    _activate(qtbot, bob.window)
    qtbot.waitUntil(lambda: str(sent.index(0).data(MsgRole.StatusText)).startswith("Read "))
    qtbot.waitUntil(lambda: bob.window.conversations.index(0).data(ConvRole.Unread) == 0)


def test_typing_indicator_and_receipts_off(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    _open(qtbot, bob.window, "alice")
    qtbot.keyClicks(alice.window.chat.composer, "typing")
    qtbot.waitUntil(bob.window.chat.typing.isVisible)
    alice.window.chat.composer.clear()
    qtbot.waitUntil(lambda: not bob.window.chat.typing.isVisible())

    # Typing indicators off on alice's side: bob is never told she types. Typing goes out
    # on the same connection as the message, so once bob has the message, anything sent
    # while she typed it has arrived too. Read receipts off on bob's side.
    bob.window.bridge.set_setting("read_receipts", False)
    told: list[bool] = []
    bob.window.bridge.typingChanged.connect(lambda _conv, _user, active: told.append(active))
    alice.window.bridge.set_setting("typing_indicators", False)
    qtbot.keyClicks(alice.window.chat.composer, "quiet")
    qtbot.keyClick(alice.window.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bob.window.messages.rowCount() == 1)
    assert True not in told
    assert not bob.window.chat.typing.isVisible()

    # Bob reads it, alice keeps "Delivered". His reply comes after any receipt he wrote
    # (one log, in order), so it is the barrier.
    sent = alice.window.messages
    qtbot.waitUntil(lambda: sent.index(0).data(MsgRole.StatusText) == "Delivered")
    _activate(qtbot, bob.window)
    qtbot.waitUntil(lambda: bob.window.conversations.index(0).data(ConvRole.Unread) == 0)
    qtbot.keyClicks(bob.window.chat.composer, "read it")
    qtbot.keyClick(bob.window.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: sent.rowCount() == 2)
    assert sent.index(0).data(MsgRole.StatusText) == "Delivered"
    assert sent.index(1).data(MsgRole.Text) == "read it"


def test_draft_is_kept_per_chat(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    w = alice.window
    _open(qtbot, w, "bob")
    qtbot.keyClicks(w.chat.composer, "half a thought for bob")
    _open(qtbot, w, "carol")
    assert w.chat.composer.toPlainText() == ""
    qtbot.keyClicks(w.chat.composer, "for carol")
    assert w.chat.composer.toPlainText() == "for carol"
    _open(qtbot, w, "bob")
    assert w.chat.composer.toPlainText() == "half a thought for bob"
    _open(qtbot, w, "carol")
    assert w.chat.composer.toPlainText() == "for carol", (
        w.bridge.node.db.execute("SELECT text FROM drafts"), w.bridge.contact(w.current).name)


def test_keyboard_switches_chats_and_focuses_search(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    w = alice.window
    _activate(qtbot, w)
    qtbot.waitUntil(lambda: w.conversations.rowCount() == 2)
    first, second = w.conversations.item(0).user_id, w.conversations.item(1).user_id
    qtbot.keyClick(w, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.current == second)
    qtbot.keyClick(w, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.current == first)
    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(w.sidebar.search.hasFocus)


def test_a_short_chat_sits_at_the_bottom_next_to_the_composer(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    aw(bob.node.send_message("alice", "just one line"))
    w = alice.window
    _open(qtbot, w, "bob")
    qtbot.waitUntil(lambda: w.messages.rowCount() == 1)
    view = w.chat.view

    def gap_below_last() -> int:
        last = view.visualRect(w.messages.index(w.messages.rowCount() - 1))
        return view.viewport().height() - 1 - last.bottom()

    qtbot.waitUntil(lambda: gap_below_last() <= 24)
    assert view.viewportMargins().top() > view.height() // 2  # the space is above
    # a long chat fills the view and the margin goes away
    for i in range(40):
        aw(bob.node.send_message("alice", f"line {i}"))
    qtbot.waitUntil(lambda: w.messages.rowCount() == 41)
    qtbot.waitUntil(lambda: view.viewportMargins().top() == 0)
    qtbot.waitUntil(lambda: gap_below_last() <= 24)
