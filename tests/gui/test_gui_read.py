"""Read means seen: a chat is marked read only while its newest messages are on screen;
scrolled up, a "↓ N new" button counts what waits below, and a "New messages" divider
marks where the unread ones begin."""

from __future__ import annotations

from PySide6.QtCore import Qt
from test_gui_chat import _activate, _friends, _open

from kith.app.gui.models import PAGE
from kith.storage import MessageRow


def _unread(w, user):
    return w.bridge.node.db.unread_count(w.bridge.conv_for(user))


def test_scrolled_up_nothing_is_marked_read_until_the_bottom(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    w = alice.window
    w.resize(900, 600)
    _open(qtbot, w, "bob")
    _activate(qtbot, w)
    for i in range(PAGE):
        aw(bob.node.send_message("alice", f"line {i} " + "words " * 12))
    qtbot.waitUntil(lambda: w.messages.rowCount() == PAGE)
    qtbot.waitUntil(lambda: _unread(w, bob.node.user_id) == 0)  # at the bottom: read
    view = w.chat.view
    assert not view.jump_button.isVisible()
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(bar.minimum())  # the user reads further up
    qtbot.waitUntil(lambda: not view.shows_newest())
    qtbot.waitUntil(view.jump_button.isVisible)
    aw(bob.node.send_message("alice", "are you there?"))
    qtbot.waitUntil(lambda: w.messages.rowCount() == PAGE + 1)
    assert _unread(w, bob.node.user_id) == 1  # came off-screen: not read
    qtbot.waitUntil(lambda: view.jump_button.text() == "↓ 1 new")
    assert w.messages.unread_row() == PAGE  # the divider is above it
    qtbot.mouseClick(view.jump_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(view.shows_newest)
    qtbot.waitUntil(lambda: _unread(w, bob.node.user_id) == 0)
    qtbot.waitUntil(lambda: not view.jump_button.isVisible())


def test_opening_a_chat_starts_at_the_first_unread_message(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    w = alice.window
    w.resize(900, 600)
    _open(qtbot, w, "carol")
    _activate(qtbot, w)
    for i in range(4):
        aw(alice.node.send_message("bob", f"old {i}"))
    for i in range(PAGE - 4):
        aw(bob.node.send_message("alice", f"new {i} " + "words " * 12))
    qtbot.waitUntil(lambda: _unread(w, bob.node.user_id) == PAGE - 4)
    _open(qtbot, w, "bob")
    assert w.messages.unread_row() == 4  # "New messages" above the first unread one
    view = w.chat.view
    qtbot.waitUntil(lambda: view.jump_button.isVisible() and not view.shows_newest())
    assert _unread(w, bob.node.user_id) == PAGE - 4  # the newest are not on screen yet
    assert view.jump_button.text() == f"↓ {PAGE - 4} new"
    top = view.indexAt(view.viewport().rect().topLeft()).row()
    assert top == 4  # the first unread message is at the top
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: _unread(w, bob.node.user_id) == 0)


def test_only_what_was_on_screen_is_marked_read(kith_apps, qtbot, aw):
    """A message stored after the view was drawn (not on screen yet) stays unread when
    the chat is marked read: the window marks up to the newest message it shows."""
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    w = alice.window
    w.resize(900, 600)
    _open(qtbot, w, "bob")
    aw(bob.node.send_message("alice", "first"))
    qtbot.waitUntil(lambda: w.messages.rowCount() == 1)
    shown = w.messages.row(0)
    assert _unread(w, bob.node.user_id) == 1, "read before the window was active"
    # "second" is in the database, its news not yet at the view (as between a commit
    # and the view's update)
    db = w.bridge.node.db
    db.insert_messages([MessageRow(
        b"\x07" * 32, shown.conv, shown.author, shown.sender, shown.seq + 1,
        shown.lamport + 1, shown.time, "second, stored but not drawn yet", False)])
    assert db.unread_count(shown.conv) == 2
    _activate(qtbot, w)
    w.maybe_mark_read()
    qtbot.waitUntil(lambda: db.mark(shown.conv, shown.author)[1] == shown.seq)
    assert db.unread_count(shown.conv) == 1  # the one that was not on screen
