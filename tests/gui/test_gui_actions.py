"""The message actions in the app, two (or three) apps in one process on loopback: the
bubble's hover bar and menu (reply, react, edit, unsend, delete for me), the composer's
quote, the reply quote that scrolls to its target, reactions and who made them, the edit
history, the tombstone, a contact card's request button, the disappearing timer, and the
emoji picker."""

from __future__ import annotations

import pytest
from chatkit import friends as _friends
from chatkit import open_chat as _open
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QListWidget, QMenu, QStyleOptionViewItem, QToolButton

from kith.app.gui.convmodel import ConvRole
from kith.app.gui.emoji import EmojiPicker
from kith.app.gui.models import MsgRole

# (menus and the picker are popups: the offscreen platform cannot grab the keyboard)
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints\(\)|raise\(\)|grabbing the keyboard)")


def _row_of(window, text):
    m = window.messages
    for i in range(m.rowCount()):
        if m.row(i).text == text:
            return i
    return -1


def _menu_action(qtbot, window, row, name):
    """Right-click the bubble of ``row`` and give the menu's action ``name``."""
    view = window.chat.view
    rect = view.visualRect(window.messages.index(row))
    view.on_context_menu(rect.center())
    qtbot.waitUntil(lambda: any(m.isVisible() for m in view.findChildren(QMenu, "messageMenu")))
    menus = [m for m in view.findChildren(QMenu, "messageMenu") if m.isVisible()]
    act = menus[-1].findChild(QAction, name)
    assert act is not None, f"no {name} in the menu"
    return menus[-1], act


def _bubble_html(window, row):
    d = window.chat.view.bubbles
    r = window.messages.row(row)
    return d.decorate(r.event_id, "TEXT", r.outgoing, 10.0, window.chat.view.palette())


def _setup(kith_apps, qtbot, aw, text="lunch at noon?"):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    row = aw(bob.node.send_message("alice", text))
    _open(qtbot, alice.window, "bob")
    qtbot.waitUntil(lambda: _row_of(alice.window, text) >= 0)
    return alice, bob, row


def test_reply_from_the_menu_shows_a_quote_that_scrolls_to_its_target(kith_apps, qtbot, aw):
    alice, bob, target = _setup(kith_apps, qtbot, aw)
    w = alice.window
    menu, reply = _menu_action(qtbot, w, _row_of(w, "lunch at noon?"), "replyAction")
    reply.trigger()
    menu.close()
    bar = w.message_actions.bar
    assert bar.isVisible() and "Replying to bob: lunch at noon?" in bar.label.text()
    qtbot.keyClicks(w.chat.composer, "yes!")
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _row_of(w, "yes!") >= 0)
    assert not bar.isVisible()
    mine = w.messages.row(_row_of(w, "yes!"))
    assert mine.reply_to == target.event_id
    html = _bubble_html(w, _row_of(w, "yes!"))
    assert f"kith-reply:{target.event_id.hex()}" in html and "lunch at noon?" in html
    # bob's bubble of the reply quotes his own message
    _open(qtbot, bob.window, "alice")
    qtbot.waitUntil(lambda: _row_of(bob.window, "yes!") >= 0)
    assert "lunch at noon?" in _bubble_html(bob.window, _row_of(bob.window, "yes!"))
    # a click on the quote scrolls to the target and selects it
    view = w.chat.view
    view.setCurrentIndex(w.messages.index(_row_of(w, "yes!")))
    index = w.messages.index(_row_of(w, "yes!"))
    opt = QStyleOptionViewItem()
    opt.rect, opt.font, opt.palette = view.visualRect(index), view.font(), view.palette()
    bubble = view.bubbles._geometry(opt, index)["bubble"]
    pos = bubble.topLeft() + QPoint(view.bubbles.PAD_H + 4, view.bubbles.PAD_V + 4)
    assert view.bubbles.anchor_at(index, view.visualRect(index), pos).startswith("kith-reply:")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: view.currentIndex().row() == _row_of(w, "lunch at noon?"))


def test_ctrl_r_replies_to_the_selected_message(kith_apps, qtbot, aw):
    alice, bob, target = _setup(kith_apps, qtbot, aw)
    w = alice.window
    w.activateWindow()  # (shortcuts work in the active window)
    qtbot.waitUntil(w.isActiveWindow)
    w.chat.view.setCurrentIndex(w.messages.index(_row_of(w, "lunch at noon?")))
    w.chat.composer.setFocus()
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert w.message_actions.mode is not None
    assert w.message_actions.mode[1].event_id == target.event_id
    qtbot.mouseClick(w.message_actions.bar.close_button, Qt.MouseButton.LeftButton)
    assert w.message_actions.mode is None and not w.message_actions.bar.isVisible()


def test_react_from_the_hover_bar_again_removes_and_hover_tells_who(kith_apps, qtbot, aw):
    alice, bob, target = _setup(kith_apps, qtbot, aw)
    w = alice.window
    view = w.chat.view
    row = _row_of(w, "lunch at noon?")
    rect = view.visualRect(w.messages.index(row))
    qtbot.mouseMove(view.viewport(), rect.center())
    hover = w.message_actions.hover
    qtbot.waitUntil(hover.isVisible)
    heart = hover.findChild(QToolButton, "hover-react:\u2764\ufe0f")
    qtbot.mouseClick(heart, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bob.node.db.reactions([target.event_id]) == {
        target.event_id: [("\u2764\ufe0f", alice.node.user_id)]}, timeout=10_000)
    qtbot.waitUntil(lambda: "\u2764\ufe0f" in _bubble_html(w, row))
    assert w.message_actions.who_reacted(w.messages.row(row)) == "\u2764\ufe0f You"
    _open(qtbot, bob.window, "alice")
    brow = _row_of(bob.window, "lunch at noon?")
    qtbot.waitUntil(lambda: "\u2764\ufe0f" in _bubble_html(bob.window, brow))
    assert bob.window.message_actions.who_reacted(bob.window.messages.row(brow)) == \
        "\u2764\ufe0f alice"
    qtbot.mouseClick(heart, Qt.MouseButton.LeftButton)  # the same again: taken back
    qtbot.waitUntil(lambda: bob.node.db.reactions([target.event_id]) == {}, timeout=10_000)


def test_edit_from_the_menu_and_the_edit_history(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    w = alice.window
    qtbot.keyClicks(w.chat.composer, "see you at 8")
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _row_of(w, "see you at 8") >= 0)
    menu, edit = _menu_action(qtbot, w, _row_of(w, "see you at 8"), "editAction")
    edit.trigger()
    menu.close()
    assert w.chat.composer.toPlainText() == "see you at 8"
    assert "Editing" in w.message_actions.bar.label.text()
    w.chat.composer.setPlainText("see you at 9")
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _row_of(w, "see you at 9") >= 0)
    assert _row_of(w, "see you at 8") == -1 and w.chat.composer.toPlainText() == ""
    row = _row_of(w, "see you at 9")
    assert "Edited" in _bubble_html(w, row)
    dialog = w.message_actions.show_versions(w.messages.row(row))
    versions = dialog.findChild(QListWidget, "editVersions")
    texts = [versions.item(i).text() for i in range(versions.count())]
    assert texts[0].startswith("Original") and texts[0].endswith("see you at 8")
    assert texts[1].startswith("Edit 1") and texts[1].endswith("see you at 9")
    dialog.close()
    _open(qtbot, bob.window, "alice")
    qtbot.waitUntil(lambda: _row_of(bob.window, "see you at 9") >= 0, timeout=10_000)


def test_unsend_leaves_a_tombstone_on_both_sides(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    _open(qtbot, bob.window, "alice")
    w = alice.window
    qtbot.keyClicks(w.chat.composer, "oops wrong chat")
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _row_of(bob.window, "oops wrong chat") >= 0, timeout=10_000)
    menu, unsend = _menu_action(qtbot, w, _row_of(w, "oops wrong chat"), "unsendAction")
    unsend.trigger()
    menu.close()
    qtbot.waitUntil(lambda: _row_of(bob.window, "oops wrong chat") == -1, timeout=10_000)
    row = next(i for i in range(w.messages.rowCount()) if w.messages.row(i).unsent)
    assert "You unsent a message" in _bubble_html(w, row)
    brow = next(i for i in range(bob.window.messages.rowCount())
                if bob.window.messages.row(i).unsent)
    assert "alice unsent a message" in _bubble_html(bob.window, brow)
    assert bob.node.db.search("oops") == []
    # the chat list no longer shows the text either
    for app, preview in ((alice, "You unsent a message"), (bob, "A message was unsent")):
        model = app.window.conversations
        qtbot.waitUntil(lambda m=model, p=preview: m.index(0).data(ConvRole.Preview) == p)


def test_delete_for_me_takes_it_out_of_the_chat(kith_apps, qtbot, aw):
    alice, bob, target = _setup(kith_apps, qtbot, aw, "a silly joke")
    w = alice.window
    menu, delete = _menu_action(qtbot, w, _row_of(w, "a silly joke"), "deleteForMeAction")
    delete.trigger()
    menu.close()
    qtbot.waitUntil(lambda: _row_of(w, "a silly joke") == -1)
    assert bob.node.db.message_by_id(target.event_id) is not None


def test_a_contact_card_with_its_request_button(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    conv = alice.node.conv_with(bob.node.user_id)
    card = aw(alice.node.actions.share_contact(conv, carol.node.user_id))
    _open(qtbot, bob.window, "alice")
    w = bob.window
    qtbot.waitUntil(lambda: _row_of(w, "carol") >= 0, timeout=10_000)
    html = _bubble_html(w, _row_of(w, "carol"))
    assert "Contact card" in html and f"kith-card:{card.event_id.hex()}" in html
    menu, request = _menu_action(qtbot, w, _row_of(w, "carol"), "cardRequestAction")
    request.trigger()
    menu.close()
    qtbot.waitUntil(lambda: any(c.user_id == carol.node.user_id and c.state == "pending_out"
                                for c in bob.node.contacts()))
    assert bob.node.db.introduced_by(carol.node.user_id) == alice.node.user_id
    qtbot.waitUntil(lambda: "request sent" in _bubble_html(w, _row_of(w, "carol")))


def test_the_disappearing_timer_in_the_composer_and_its_system_line(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    _open(qtbot, bob.window, "alice")
    actions = alice.window.message_actions
    assert actions.timer_button.text() == "" and not actions.timer_button.isChecked()
    [hour] = [a for a in actions.timer_menu.actions() if a.data() == 3600]
    hour.trigger()
    qtbot.waitUntil(lambda: actions.timer_button.text() == "1 hour")
    assert actions.timer_button.isChecked()
    assert actions.timer_button.width() > actions.timer_button.height()  # the words show
    qtbot.waitUntil(lambda: _row_of(alice.window,
                                    "\u23f1 You set disappearing messages to 1 hour") >= 0)
    qtbot.waitUntil(lambda: _row_of(bob.window,
                                    "\u23f1 alice set disappearing messages to 1 hour") >= 0,
                    timeout=10_000)
    assert bob.window.message_actions.timer_button.text() == "1 hour"
    qtbot.keyClicks(alice.window.chat.composer, "fleeting")
    qtbot.keyClick(alice.window.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _row_of(alice.window, "fleeting") >= 0)
    row = alice.window.messages.row(_row_of(alice.window, "fleeting"))
    assert row.timer == 3600 and row.expires_at == row.time + 3600 * 1000
    assert "\u23f1" in _bubble_html(alice.window, _row_of(alice.window, "fleeting"))


def test_the_emoji_picker_types_into_the_composer(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    actions = alice.window.message_actions
    qtbot.mouseClick(actions.emoji_button, Qt.MouseButton.LeftButton)
    picker = actions.picker
    assert isinstance(picker, EmojiPicker)
    qtbot.waitUntil(picker.isVisible)
    qtbot.mouseClick(picker.buttons["\U0001f389"], Qt.MouseButton.LeftButton)
    assert alice.window.chat.composer.toPlainText() == "\U0001f389"
    assert not picker.isVisible()
    qtbot.keyClick(alice.window.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _row_of(alice.window, "\U0001f389") >= 0)
    index = alice.window.messages.index(_row_of(alice.window, "\U0001f389"))
    assert index.data(MsgRole.Text) == "\U0001f389"
