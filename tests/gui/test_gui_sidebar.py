"""The sidebar fits: names elide, buttons stay in their rows, one scroll area, a right
click that never moves the selection; two keys with one name never look alike."""

from __future__ import annotations

import pytest
from chatkit import impostor_asking, write_contacts
from nodekit import add_device, make_node
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QMenu, QPushButton, QSplitter
from test_gui_chat import _buttons, _friends, _open

from kith.app.gui.bridge import key_label
from kith.app.gui.convdelegate import ConversationDelegate
from kith.app.gui.convmodel import ConvRole
from kith.app.gui.newchat import NewChatDialog

LONG = "Maximilian Alexander Konstantin von Hohenzollern-Sigmaringen III"  # 64 characters


def _inside(widget, outer) -> bool:
    """``widget``'s whole rectangle lies inside ``outer``'s visible rectangle."""
    rect = QRect(widget.mapTo(outer, QPoint(0, 0)), widget.size())
    return outer.rect().contains(rect)


def test_long_names_elide_and_no_button_leaves_its_row(kith_apps, qtbot, aw, tmp_path):
    assert len(LONG) == 64
    alice = kith_apps("alice")
    w = alice.window
    w.resize(1200, 640)
    w.show()
    asker = make_node(tmp_path, LONG, profile="asker")
    nearby = make_node(tmp_path, LONG[:-3] + "IV.", profile="nearby")
    for n in (asker, nearby):
        aw(n.start())
    try:
        for n in (asker, nearby):
            aw(n.connect("127.0.0.1", alice.node.port))
        aw(asker.add_contact("alice"))
        qtbot.waitUntil(lambda: len(_buttons(w, "declineButton")) == 1
                        and len(_buttons(w, "nearbyAddButton")) == 1)
        sidebar = w.sidebar
        viewport = sidebar.column_scroll.viewport()
        for width in (sidebar.minimumWidth(), 300, 420):
            w.findChild(QSplitter, "mainSplitter").setSizes([width, 1200 - width])
            qtbot.waitUntil(lambda x=width: abs(sidebar.width() - x) <= 2)
            for row in sidebar.request_rows + sidebar.nearby_rows:
                qtbot.waitUntil(lambda r=row: _inside(r, viewport))
                assert row.name.text() in (LONG, LONG[:-3] + "IV.")  # whole, shown elided
                assert row.name.shown_text().endswith("…") or width > 400
                for b in row.buttons:
                    assert _inside(b, row) and _inside(b, viewport), (width, b.objectName())
                    assert b.text() in ("Accept", "Decline", "Add", "View")
            note = sidebar.request_rows[0].note
            assert note is not None and note.text() == "wants to chat with you"
            assert sidebar.column_scroll.horizontalScrollBar().maximum() == 0
        # Tab onto a button: the column never scrolls sideways
        decline = _buttons(w, "declineButton")[0]
        decline.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(decline.hasFocus)
        assert sidebar.column_scroll.horizontalScrollBar().value() == 0
    finally:
        for n in (asker, nearby):
            aw(n.stop())


def test_one_scroll_area_and_no_row_cut_at_a_seam(kith_apps, qtbot, tmp_path):
    names = [f"friend {i:02}" for i in range(30)]
    users = write_contacts(tmp_path / "alice", names)
    alice = kith_apps("alice")
    w = alice.window
    w.resize(900, 640)
    w.show()
    sidebar = w.sidebar
    qtbot.waitUntil(lambda: w.conversations.rowCount() == 30)
    # the list is as tall as its rows and does not scroll; the column around it does
    qtbot.waitUntil(lambda: sidebar.list.height() == 30 * ConversationDelegate.HEIGHT)
    assert sidebar.list.verticalScrollBar().maximum() == 0
    assert sidebar.column_scroll.isAncestorOf(sidebar.list)
    assert sidebar.column_scroll.isAncestorOf(sidebar.nearby_title)
    bar = sidebar.column_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    # switching to the last chat (Ctrl+9 style, or a notification) brings its row into view
    w.open_chat(users[-1])
    row = sidebar.list.visualRect(w.conversations.index(29))
    top = sidebar.list.mapTo(sidebar.column_scroll.widget(), row.topLeft()).y()
    assert bar.value() <= top and top + row.height() <= bar.value() + bar.pageStep() + 1


@pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")
def test_right_click_opens_a_menu_and_keeps_the_open_chat_selected(kith_apps, qtbot, tmp_path):
    users = write_contacts(tmp_path / "alice", ["bob", "carol"])
    alice = kith_apps("alice")
    w = alice.window
    w.show()
    qtbot.waitUntil(lambda: w.conversations.rowCount() == 2)
    w.open_chat(users[0])
    view = sidebar_list = w.sidebar.list
    other = sidebar_list.visualRect(w.conversations.index(1)).center()
    menus: list[QMenu] = []
    sidebar_list.menuRequested.connect(lambda *_: menus.append(w.findChildren(QMenu)[-1]))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=other)
    qtbot.waitUntil(lambda: any(m.objectName() == "conversationMenu" and m.isVisible()
                                for m in w.findChildren(QMenu)))
    selected = [i.row() for i in sidebar_list.selectionModel().selectedIndexes()]
    assert selected == [0] and w.current == users[0]  # carol's row is not highlighted
    assert sidebar_list.currentIndex().row() in (-1, 0)
    menu = next(m for m in w.findChildren(QMenu) if m.objectName() == "conversationMenu"
                and m.isVisible())
    names = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert names == ["Open", "Contact info", "Mute notifications", "Rename…", "Mark as unread",
                     "Delete chat…"]
    mute = next(a for a in menu.actions() if a.objectName() == "muteAction")
    mute.trigger()
    menu.close()
    qtbot.waitUntil(lambda: w.conversations.index(1).data(ConvRole.Muted))
    assert w.bridge.muted(users[1]) and not w.bridge.muted(users[0])
    assert [i.row() for i in sidebar_list.selectionModel().selectedIndexes()] == [0]
    # a muted chat does not notify
    shown = []
    w.notify.connect(lambda *a: shown.append(a))
    conv = w.bridge.conv_for(users[1])
    w.on_messages_added(conv, w.bridge.messages(conv))
    assert shown == []
    QApplication.processEvents()


def _menu_action(qtbot, w, row, name):
    """Right-click row ``row`` of the conversation list; the menu's action ``name``."""
    view = w.sidebar.list
    pos = view.visualRect(w.conversations.index(row)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=pos)
    qtbot.waitUntil(lambda: any(m.objectName() == "conversationMenu" and m.isVisible()
                                for m in w.findChildren(QMenu)))
    menu = next(m for m in w.findChildren(QMenu) if m.objectName() == "conversationMenu"
                and m.isVisible())
    act = next(a for a in menu.actions() if a.objectName() == name)
    return menu, act


@pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")
def test_mark_as_unread_shows_a_dot_until_opened_on_all_my_devices(
        kith_apps, qtbot, aw, tmp_path):
    desktop, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, desktop, bob)
    laptop = kith_apps("alice", profile=add_device(tmp_path, "alice", "laptop"))
    aw(laptop.node.connect("127.0.0.1", desktop.node.port))
    qtbot.waitUntil(lambda: laptop.window.conversations.rowCount() == 1)
    aw(bob.node.send_message("alice", "hi"))
    w = desktop.window
    w.show()
    qtbot.waitUntil(lambda: w.conversations.rowCount() == 1)
    qtbot.waitUntil(lambda: w.conversations.index(0).data(ConvRole.Unread) == 1)  # "hi"
    _open(qtbot, w, "bob")
    w.bridge.mark_read(bob.node.user_id)
    qtbot.waitUntil(lambda: not w.conversations.index(0).data(ConvRole.Unread))
    menu, act = _menu_action(qtbot, w, 0, "markUnreadAction")
    assert act.text() == "Mark as unread"
    act.trigger()
    menu.close()
    qtbot.waitUntil(lambda: w.conversations.index(0).data(ConvRole.MarkedUnread))
    assert not w.conversations.index(0).data(ConvRole.Unread)  # a dot, not a count
    # it follows to my laptop
    lw = laptop.window
    qtbot.waitUntil(lambda: lw.conversations.index(0).data(ConvRole.MarkedUnread))
    menu, act = _menu_action(qtbot, w, 0, "markUnreadAction")
    assert act.text() == "Mark as read"
    menu.close()
    # opening it on the laptop reads it everywhere
    lw.show()
    _open(qtbot, lw, "bob")
    qtbot.waitUntil(lambda: not w.conversations.index(0).data(ConvRole.MarkedUnread))
    QApplication.processEvents()


@pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)")
def test_rename_a_contact_and_see_what_they_call_themselves(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    w = alice.window
    w.show()
    _open(qtbot, w, "bob")
    menu, act = _menu_action(qtbot, w, 0, "renameContactAction")
    act.trigger()
    menu.close()
    qtbot.waitUntil(lambda: any(d.objectName() == "renameContactDialog" and d.isVisible()
                                for d in w.dialogs))
    dialog = next(d for d in w.dialogs if d.objectName() == "renameContactDialog")
    dialog.setTextValue("Bob from climbing")
    dialog.accept()
    qtbot.waitUntil(lambda: w.conversations.item(0).name == "Bob from climbing")
    qtbot.waitUntil(lambda: "calls themselves “bob”" in w.chat.header.subtitle.text())
    assert w.chat.header.name.text() == "Bob from climbing"
    QApplication.processEvents()


def test_two_keys_with_one_name_never_look_alike(kith_apps, qtbot, aw, tmp_path):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    assert alice.node.verify("bob", alice.node.safety_number("bob"))
    w = alice.window
    with impostor_asking(aw, qtbot, tmp_path, alice) as impostor:
        real, fake = key_label(bob.node.user_id), key_label(impostor.user_id)
        # the list: bob's row carries his key, the request row the other key
        qtbot.waitUntil(lambda: w.conversations.index(0).data(ConvRole.KeyHint) == real)
        assert w.sidebar.request_rows[0].note.text().startswith(f"key {fake}")
        # the picker: two different lines, the verified bob first
        dialog = w.new_chat()
        qtbot.waitUntil(dialog.isVisible)
        assert isinstance(dialog, NewChatDialog)
        labels = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        assert len(labels) == 2 and labels[0] != labels[1]
        assert labels[0].startswith(f"bob ✔  ·  key {real}")
        assert f"key {fake}" in labels[1] and "not the bob you know" in labels[1]
        dialog.reject()
        # the header: key and trust state
        _open(qtbot, w, "bob")
        assert f"key {real}" in w.chat.header.subtitle.text()
        assert "✔ verified" in w.chat.header.subtitle.text()
        qtbot.mouseClick(_buttons(w, "requestViewButton")[0], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        assert f"key {fake}" in w.chat.header.subtitle.text()
        assert "not the bob you know" in w.chat.header.subtitle.text()
        # a notification title
        assert w.bridge.person_title(bob.node.user_id) == f"bob ({real}) ✔"
        assert w.bridge.person_title(impostor.user_id) == f"⚠ bob ({fake}), different key"


def test_no_push_button_in_the_sidebar_is_wider_than_it(kith_apps, qtbot):
    alice = kith_apps("alice")
    w = alice.window
    w.show()
    for b in w.sidebar.findChildren(QPushButton):
        assert b.sizeHint().width() < w.sidebar.minimumWidth()


def test_a_narrow_window_collapses_the_sidebar_to_avatars(kith_apps, qtbot, tmp_path):
    from PySide6.QtCore import Qt as _Qt

    users = write_contacts(tmp_path / "alice", ["bob", "carol"])
    alice = kith_apps("alice")
    w = alice.window
    w.resize(1000, 600)
    w.show()
    w.open_chat(users[0])
    qtbot.waitUntil(lambda: w.sidebar.search.isVisible())
    w.resize(600, 600)
    qtbot.waitUntil(lambda: w.width() == 600)  # it may be that narrow
    sidebar = w.sidebar
    qtbot.waitUntil(lambda: sidebar.compact and sidebar.width() <= 80)
    assert not sidebar.search.isVisible()
    qtbot.waitUntil(lambda: w.chat.width() >= 500)  # the chat keeps the room
    assert w.conversations.index(1).data(_Qt.ItemDataRole.ToolTipRole) == "carol"
    w.resize(1000, 600)
    qtbot.waitUntil(lambda: not sidebar.compact and sidebar.search.isVisible())
    assert sidebar.width() >= 260
