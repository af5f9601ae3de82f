"""Opening a sealed file: its plain copy is made on a thread; a click while it is made
says so in the status bar and opens the file once it is there, the window never frozen."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from chatkit import friends as _friends
from chatkit import open_chat as _open
from PySide6.QtCore import QUrl

from kith.app.gui import attachments as attachments_module
from kith.app.gui.models import MsgRole


def test_open_while_the_plain_copy_is_made_waits_and_then_opens(
    kith_apps, qtbot, aw, tmp_path, monkeypatch
):
    alice = kith_apps("alice", data_key=os.urandom(32))
    bob = kith_apps("bob", data_key=os.urandom(32))
    _friends(aw, qtbot, alice, bob)
    # the copy waits for the test's word, as a large file's would take its time
    go = threading.Event()
    viewer = bob.node.files.viewer
    real = viewer.plain_path

    def slow_copy(file: bytes):
        assert go.wait(30)
        return real(file)

    monkeypatch.setattr(viewer, "plain_path", slow_copy)
    doc = tmp_path / "minutes.pdf"
    doc.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 3000)
    aw(alice.node.files.send(bob.node.user_id, "minutes", [doc]))
    _open(qtbot, bob.window, "alice")
    window = bob.window
    qtbot.waitUntil(lambda: window.messages.rowCount() == 1, timeout=10000)
    row = window.messages.index(0).data(MsgRole.Row)
    fid = bob.node.db.message_attachments(row.conv, row.author, row.seq)[0].file
    qtbot.waitUntil(lambda: bob.node.db.file(fid).state == "complete", timeout=10000)
    opened: list[str] = []
    monkeypatch.setattr(attachments_module.QDesktopServices, "openUrl",
                        lambda url: opened.append(QUrl(url).toLocalFile()) or True)
    files = window.attachments.files
    files._items.clear()
    [item] = files.items(row)
    assert item.info["state"] == "complete" and item.info["preparing"] is True
    assert item.path is None
    assert window.attachments.layout.status_text(item).startswith("Preparing to open")
    window.attachments.activate(item)  # (returns at once: the copy goes on, on a thread)
    assert opened == [] and "Preparing minutes.pdf" in window.statusBar().currentMessage()
    qtbot.wait(50)  # (the window goes on meanwhile: events are handled, nothing opened)
    assert opened == []
    go.set()
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=10000)
    assert Path(opened[0]).read_bytes() == doc.read_bytes()
    files._items.clear()
    [again] = files.items(row)
    assert again.path is not None and "preparing" not in again.info
