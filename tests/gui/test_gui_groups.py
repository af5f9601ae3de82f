"""The new group dialog and the group info panel, driven like a user: pick contacts and
a name, create; see the members with roles and trust; rename, make admin, remove, add,
mute, leave."""

from __future__ import annotations

from PySide6.QtCore import Qt
from test_gui_chat import _friends

from kith.app.gui.groupinfo import GroupInfoPanel
from kith.app.gui.groups import NewGroupDialog


def _click(qtbot, widget):
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _labels(panel):
    return [panel.members.item(i).text() for i in range(panel.members.count())]


def _select(panel, name):
    for i in range(panel.members.count()):
        if panel.members.item(i).text().startswith(name):
            panel.members.setCurrentRow(i)
            return
    raise AssertionError(f"{name} not in {_labels(panel)}")


def _check(picker, name):
    for i in range(picker.count()):
        if picker.item(i).text().startswith(name):
            picker.item(i).setCheckState(Qt.CheckState.Checked)


def test_new_group_dialog_creates_the_group_everywhere(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    dialog = NewGroupDialog(alice.window.bridge)
    qtbot.addWidget(dialog)
    dialog.show()
    assert [dialog.picker.item(i).text() for i in range(dialog.picker.count())] == [
        "bob", "carol"]
    assert not dialog.create_button.isEnabled()  # no name, nobody picked
    qtbot.keyClicks(dialog.name, "Board games")
    assert not dialog.create_button.isEnabled()
    _check(dialog.picker, "bob")
    _check(dialog.picker, "carol")
    assert dialog.create_button.isEnabled()
    with qtbot.waitSignal(dialog.created, timeout=10_000) as created:
        _click(qtbot, dialog.create_button)
    conv = created.args[0]
    qtbot.waitUntil(lambda: bob.node.core.groups.get(conv) is not None
                    and carol.node.core.groups.get(conv) is not None, timeout=10_000)
    assert bob.node.group(conv.hex()).name == "Board games"


def test_group_info_panel_manages_the_group(kith_apps, qtbot, aw):
    alice, bob, carol, dave = (kith_apps(n) for n in ("alice", "bob", "carol", "dave"))
    for other in (bob, carol, dave):
        _friends(aw, qtbot, alice, other)
    conv = aw(alice.node.create_group("Board games", ["bob", "carol"])).id
    qtbot.waitUntil(lambda: bob.node.core.groups.get(conv) is not None, timeout=10_000)
    panel = GroupInfoPanel(alice.window.bridge, conv)
    qtbot.addWidget(panel)
    panel.show()
    assert _labels(panel) == ["alice (you)  ·  Owner", "bob  ·  not verified",
                              "carol  ·  not verified"]
    # Bob's panel: carol is not his contact, and he may not manage anything.
    bob_panel = GroupInfoPanel(bob.window.bridge, conv)
    qtbot.addWidget(bob_panel)
    assert "carol  ·  not a contact" in _labels(bob_panel)
    assert not bob_panel.add_button.isEnabled() and not bob_panel.rename_button.isEnabled()
    assert bob_panel.leave_button.isEnabled()
    # ... but he can ask her for contact, and compare safety numbers, from the group.
    _select(bob_panel, "alice")
    assert not bob_panel.request_button.isEnabled()
    _select(bob_panel, "carol")
    assert bob_panel.request_button.isEnabled()
    assert bob.node.safety_number("carol") == carol.node.safety_number("bob")
    _click(qtbot, bob_panel.request_button)
    qtbot.waitUntil(lambda: any(c.user_id == carol.node.user_id and c.state == "pending_out"
                                for c in bob.node.contacts()), timeout=10_000)
    qtbot.waitUntil(lambda: not bob_panel.request_button.isEnabled())

    panel.name_edit.setText("Game night")
    _click(qtbot, panel.rename_button)
    qtbot.waitUntil(lambda: bob_panel.title.text() == "Game night", timeout=10_000)

    _select(panel, "bob")
    assert panel.admin_button.text() == "Make admin"
    _click(qtbot, panel.admin_button)
    qtbot.waitUntil(lambda: "bob  ·  Admin  ·  not verified" in _labels(panel), timeout=10_000)
    qtbot.waitUntil(lambda: bob_panel.rename_button.isEnabled(), timeout=10_000)

    _select(panel, "carol")
    _click(qtbot, panel.remove_button)
    qtbot.waitUntil(lambda: carol.node.group(conv.hex()).left, timeout=10_000)
    carol_panel = GroupInfoPanel(carol.window.bridge, conv)
    qtbot.addWidget(carol_panel)
    assert carol_panel.status.text() == "You were removed from Game night by alice"
    assert not carol_panel.leave_button.isEnabled()
    carol.window.open_chat(conv)  # her chat says so where she would write
    composer = carol.window.chat.composer
    assert not composer.isEnabled()
    assert composer.placeholderText() == "You were removed from Game night by alice"

    _click(qtbot, panel.add_button)
    [dialog] = panel.dialogs
    assert [dialog.picker.item(i).text() for i in range(dialog.picker.count())] == [
        "carol", "dave"]
    _check(dialog.picker, "dave")
    _click(qtbot, dialog.add_button)
    qtbot.waitUntil(lambda: dave.node.core.groups.get(conv) is not None, timeout=10_000)
    qtbot.waitUntil(lambda: any(t.startswith("dave") for t in _labels(panel)), timeout=10_000)

    panel.mute.click()  # (as a click on the box does)
    assert alice.node.group(conv.hex()).muted
    _click(qtbot, bob_panel.leave_button)
    qtbot.waitUntil(lambda: not any(t.startswith("bob") for t in _labels(panel)),
                    timeout=10_000)
    assert bob.node.group(conv.hex()).left


def test_a_group_in_the_window_compose_list_chat_names_lines_and_info(kith_apps, qtbot, aw):
    from test_gui_chat import _activate

    from kith.app.gui.groups import GroupInfoDialog, line_rows

    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    w = alice.window
    _activate(qtbot, w)
    chooser = w.new_chat()
    _click(qtbot, chooser.group_button)  # compose → New group…
    qtbot.waitUntil(lambda: any(isinstance(d, NewGroupDialog) for d in w.dialogs))
    dialog = next(d for d in w.dialogs if isinstance(d, NewGroupDialog))
    qtbot.keyClicks(dialog.name, "Board games")
    _check(dialog.picker, "bob")
    _check(dialog.picker, "carol")
    _click(qtbot, dialog.create_button)
    qtbot.waitUntil(lambda: w.current is not None and w.chat.header.name.text() == "Board games",
                    timeout=10_000)
    conv = w.current
    assert "3 members" in w.chat.header.subtitle.text() and w.chat.composer.isEnabled()
    assert any(w.conversations.item(i).name == "Board games"
               for i in range(w.conversations.rowCount()))
    qtbot.keyClicks(w.chat.composer, "who brings Catan?")
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [m.text for m in bob.node.db.messages(conv)] == ["who brings Catan?"],
                    timeout=10_000)

    # Bob's window: the group in his list; alice's name above her bubble; system lines.
    bw = bob.window
    model = bw.conversations
    qtbot.waitUntil(lambda: any(model.item(i).name == "Board games"
                                for i in range(model.rowCount())), timeout=10_000)
    bw.open_chat(conv)
    msgs = bw.messages
    qtbot.waitUntil(lambda: any(msgs.row(i).text == "who brings Catan?"
                                for i in range(msgs.rowCount())))
    row = next(i for i in range(msgs.rowCount()) if msgs.row(i).text == "who brings Catan?")
    delegate = bw.chat.view.bubbles
    assert delegate._sender(msgs.index(row)) == "alice"
    texts = [msgs.row(i).text for i in range(msgs.rowCount())]
    assert any(t.startswith("alice created the group") for t in texts), texts
    assert [x.text for x in line_rows(bob.window.bridge, conv)] == [
        "alice created the group 'Board games'"]
    # A rename shows up as a line in the open chat, live.
    aw(alice.node.core.groups.rename("Board games", "Game night"))
    qtbot.waitUntil(lambda: any(msgs.row(i).text.startswith("alice renamed the group")
                                for i in range(msgs.rowCount())), timeout=10_000)
    qtbot.waitUntil(lambda: bw.chat.header.name.text() == "Game night", timeout=10_000)

    _click(qtbot, w.chat.header.info)
    qtbot.waitUntil(lambda: any(isinstance(d, GroupInfoDialog) for d in w.dialogs))
    info = next(d for d in w.dialogs if isinstance(d, GroupInfoDialog))
    assert info.panel.members.count() == 3


def test_mentions_complete_while_typing_and_notify_through_mute(kith_apps, qtbot, aw):
    from kith.app.gui.mentions import attach, mentions

    assert mentions("bring it, @Carol!", "carol") and not mentions("carol@home", "carol")
    assert not mentions("@caroline", "carol")
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    conv = aw(alice.node.create_group("Board games", ["bob", "carol"])).id
    qtbot.waitUntil(lambda: carol.node.core.groups.get(conv) is not None, timeout=10_000)
    w = alice.window
    w.open_chat(conv)
    completer = attach(w.chat.composer)
    qtbot.keyClicks(w.chat.composer, "see you @ca")
    qtbot.waitUntil(completer.popup.isVisible)
    assert [completer.popup.item(i).text() for i in range(completer.popup.count())] == ["carol"]
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_Tab)
    assert w.chat.composer.toPlainText() == "see you @carol "
    assert not completer.popup.isVisible()
    qtbot.keyClicks(w.chat.composer, "bring the dice")

    # Carol muted the group: a mention of her notifies all the same; others do not.
    carol.window.bridge.set_muted(conv, True)
    assert carol.window.bridge.muted(conv)
    told: list[tuple] = []
    carol.window.notify.connect(lambda *a: told.append(a))
    aw(alice.node.send_to("Board games", "nobody in particular"))
    qtbot.waitUntil(lambda: len(carol.node.db.messages(conv)) == 1, timeout=10_000)
    assert told == []
    qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(told) == 1, timeout=10_000)
    # It names the sender and the group.
    assert told[0][0] == "alice in Board games" and "@carol bring the dice" in told[0][1]
    # In a chat with a contact the list offers nobody.
    w.open_chat(bob.node.user_id)
    qtbot.keyClicks(w.chat.composer, "@b")
    assert not completer.popup.isVisible()


def test_typing_in_a_group_names_who_types(kith_apps, qtbot, aw):
    from kith.app.gui.groups import typing_text

    assert typing_text([]) == ""
    assert typing_text(["bob", "carol", "dave"]) == "Several people are typing…"
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    conv = aw(alice.node.create_group("Board games", ["bob", "carol"])).id
    qtbot.waitUntil(lambda: bob.node.core.groups.get(conv) is not None
                    and carol.node.core.groups.get(conv) is not None, timeout=10_000)
    w = alice.window
    w.open_chat(conv)
    bubble = w.chat.typing
    assert not bubble.isVisible()
    # Bob types in his window: Alice's shows it, with his name.
    bw = bob.window
    bw.open_chat(conv)
    qtbot.keyClicks(bw.chat.composer, "I'll bring")
    qtbot.waitUntil(lambda: bubble.isVisible() and bubble.text == "bob is typing…")
    carol.node.set_typing(conv, True)
    qtbot.waitUntil(lambda: bubble.text == "bob and carol are typing…")
    # Bob sends: his typing ends; Carol's goes on.
    qtbot.keyClick(bw.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bubble.text == "carol is typing…")
    carol.node.set_typing(conv, False)
    qtbot.waitUntil(lambda: not bubble.isVisible())


def test_read_by_n_of_m_and_the_receipts_list_former_members(kith_apps, qtbot, aw):
    from PySide6.QtWidgets import QMenu

    from kith.app.gui.groups import ReceiptsDialog
    from kith.app.gui.models import MsgRole

    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    conv = aw(alice.node.create_group("Board games", ["bob", "carol"])).id
    qtbot.waitUntil(lambda: carol.node.core.groups.get(conv) is not None, timeout=10_000)
    w = alice.window
    w.open_chat(conv)
    row = aw(alice.node.send_to("Board games", "who brings Catan?"))
    msgs = w.messages

    def status() -> str:
        i = next((i for i in range(msgs.rowCount()) if msgs.row(i).text == row.text), -1)
        return msgs.index(i).data(MsgRole.StatusText) if i >= 0 else ""

    qtbot.waitUntil(lambda: status() == "Delivered", timeout=10_000)
    aw(bob.node.mark_read_in(conv))
    qtbot.waitUntil(lambda: status() == "Read by 1 of 2", timeout=10_000)
    aw(alice.node.core.groups.remove("Board games", ["carol"]))
    # The menu of my message offers its receipts; Carol, removed since, stays listed.
    i = next(i for i in range(msgs.rowCount()) if msgs.row(i).text == row.text)
    menu = QMenu()
    for hook in w.chat.view.menu_hooks:
        hook(menu, msgs.index(i))
    assert "receiptsAction" in [a.objectName() for a in menu.actions()]
    dialog = ReceiptsDialog(w.bridge, msgs.row(i))
    qtbot.addWidget(dialog)
    assert [dialog.list.item(j).text() for j in range(dialog.list.count())] == [
        "bob  ·  Read", "carol (former member)  ·  Delivered"]
    assert status() == "Read by 1 of 2"


def test_a_group_avatar_is_drawn_from_its_members(kith_apps, qtbot, aw):
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    from kith.app.gui import theme
    from kith.app.gui.avatars import GroupAvatar, circles, group_key, paint_group
    from kith.app.gui.convmodel import ConvRole

    for n in (1, 2, 3):  # every members' circle lies inside the round avatar
        rect = QRectF(0, 0, 42, 42)
        for spot in circles(rect, n):
            far = spot.center() - rect.center()
            reach = (far.x() ** 2 + far.y() ** 2) ** 0.5 + spot.width() / 2
            assert reach <= rect.width() / 2 + 0.01, n
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    conv = aw(alice.node.create_group("Board games", ["bob", "carol"])).id
    w = alice.window
    model = w.conversations
    qtbot.waitUntil(lambda: any(model.item(i).conv == conv for i in range(model.rowCount())),
                    timeout=10_000)
    row = next(i for i in range(model.rowCount()) if model.item(i).conv == conv)
    key = model.index(row).data(ConvRole.Initials)
    members = sorted([(bob.node.user_id, "bob"), (carol.node.user_id, "carol")],
                     key=lambda m: m[1])
    assert key == group_key(members)  # the members other than me, by name
    # Drawn: a circle in each member's colour, with their initial.
    img = QImage(84, 84, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    paint_group(p, QRectF(0, 0, 84, 84), key, w.font())
    p.end()
    for (user, _), spot in zip(members, circles(QRectF(0, 0, 84, 84), 2), strict=True):
        edge = spot.center() + QPointF(spot.width() * 0.4, 0)  # (beside the letter)
        assert img.pixelColor(edge.toPoint()).name() == theme.avatar_colour(user).name()
    # The header and Group info show it; a chat with one person does not.
    w.open_chat(conv)
    avatar = w.chat.header.findChild(GroupAvatar)
    assert avatar is not None and avatar.isVisible() and avatar.key == key
    w.open_chat(bob.node.user_id)
    assert not avatar.isVisible()
    from kith.app.gui.groupinfo import GroupInfoPanel

    panel = GroupInfoPanel(w.bridge, conv)
    qtbot.addWidget(panel)
    assert panel.avatar.key == key
