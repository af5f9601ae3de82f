"""A message that waits for this device's history to be known (p2p.restore): shown at
once with a waiting mark and why, kept across a reopen of the chat, and turned into a
normal sent message once written."""

from __future__ import annotations

from chatkit import open_chat as _open
from nodekit import befriend, make_node
from PySide6.QtCore import Qt

from kith.app.gui.convmodel import ConvRole
from kith.app.gui.models import MsgRole
from kith.storage import STATUS_DELIVERED, STATUS_WAITING


def test_a_waiting_message_shows_a_waiting_mark_then_becomes_a_sent_one(
        kith_apps, qtbot, aw, tmp_path):
    first, bob = make_node(tmp_path, "alice"), make_node(tmp_path, "bob")
    aw(first.start())
    aw(bob.start())
    try:
        aw(befriend(first, bob))
        port = bob.port
        aw(first.stop())
        aw(bob.stop())  # bob is away when alice starts again
        alice = kith_apps("alice")
        w = alice.window
        _open(qtbot, w, "bob")
        qtbot.keyClicks(w.chat.composer, "while you were away")
        qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
        last = lambda: w.messages.index(w.messages.rowCount() - 1)  # noqa: E731
        qtbot.waitUntil(lambda: w.messages.rowCount() == 1
                        and last().data(MsgRole.Status) == STATUS_WAITING)
        assert last().data(MsgRole.Text) == "while you were away"
        assert last().data(MsgRole.StatusText) == "Waiting"
        # the sidebar's line shows it too (it is the chat's newest message)
        convs = w.conversations
        row = lambda: convs.index(convs.row_of(bob.user_id))  # noqa: E731
        qtbot.waitUntil(lambda: row().data(ConvRole.Preview) == "You: while you were away")
        assert row().data(ConvRole.Time) != ""
        tip = last().data(Qt.ItemDataRole.ToolTipRole)
        assert "where this device's history ends" in tip and "bob is back" in tip
        w.chat.view.viewport().grab()  # (the delegate paints it)
        # a receipt up to any seq of this device's log (old ones, from before a restore)
        # is not for it: it stays waiting, never "Delivered" before it is written
        w.messages.set_status(alice.node.device_id, 10**6, STATUS_DELIVERED)
        assert last().data(MsgRole.Status) == STATUS_WAITING
        assert last().data(MsgRole.StatusText) == "Waiting"
        waiting_id = last().data(MsgRole.EventId)

        w.messages.open(w.messages.conv, w.messages.peer)  # the chat opened again
        assert w.messages.rowCount() == 1
        assert last().data(MsgRole.EventId) == waiting_id
        assert last().data(MsgRole.StatusText) == "Waiting"

        bob = make_node(tmp_path, "bob", port=port)
        aw(bob.start())
        aw(alice.node.connect("127.0.0.1", port))
        qtbot.waitUntil(lambda: last().data(MsgRole.StatusText) == "Delivered")
        assert w.messages.rowCount() == 1  # the waiting row became the sent one
        assert last().data(MsgRole.Status) >= STATUS_DELIVERED
        assert "history ends" not in last().data(Qt.ItemDataRole.ToolTipRole)
        assert [m.text for m in bob.history("alice")] == ["while you were away"]
        assert row().data(ConvRole.Preview) == "You: while you were away"
    finally:
        aw(bob.stop())


def test_a_waiting_file_message_shows_its_file(kith_apps, qtbot, aw, tmp_path):
    first, bob = make_node(tmp_path, "alice"), make_node(tmp_path, "bob")
    aw(first.start())
    aw(bob.start())
    try:
        aw(befriend(first, bob))
        bob_user = bob.user_id
        aw(first.stop())
        aw(bob.stop())
        alice = kith_apps("alice")
        w = alice.window
        _open(qtbot, w, "bob")
        note = tmp_path / "notes.txt"
        note.write_bytes(b"for when you are back\n" * 50)
        aw(alice.node.files.send(bob_user, "", [note]))
        qtbot.waitUntil(lambda: w.messages.rowCount() == 1)
        row = w.messages.index(0).data(MsgRole.Row)
        assert row.status == STATUS_WAITING and row.text == ""
        items = w.attachments.files.items(row)
        assert [i.att.name for i in items] == ["notes.txt"]
        w.chat.view.viewport().grab()  # (its bubble paints the file)
    finally:
        aw(bob.stop())


def test_a_waiting_message_is_there_after_a_jump_back_to_an_old_message(
        kith_apps, qtbot, aw, tmp_path):
    from nodekit import until

    first, bob = make_node(tmp_path, "alice"), make_node(tmp_path, "bob")
    aw(first.start())
    aw(bob.start())
    try:
        aw(befriend(first, bob))
        aw(bob.send_message("alice", "hello"))
        aw(until(lambda: [m.text for m in first.history("bob")] == ["hello"], first, bob))
        aw(first.stop())
        aw(bob.stop())
        alice = kith_apps("alice")
        w = alice.window
        _open(qtbot, w, "bob")
        qtbot.keyClicks(w.chat.composer, "later")
        qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: w.messages.rowCount() == 2)
        hello = w.messages.index(0).data(MsgRole.Row)
        assert w.messages.open_at(hello) == 0  # (as a search hit far back opens)
        texts = [w.messages.index(i).data(MsgRole.Text) for i in range(w.messages.rowCount())]
        assert texts == ["hello", "later"]
        assert w.messages.index(1).data(MsgRole.Status) == STATUS_WAITING
    finally:
        aw(bob.stop())
