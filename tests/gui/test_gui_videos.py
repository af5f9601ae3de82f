"""Videos in the app: the preview frame at its aspect ratio with a ▶ and the duration
(before and after the file arrives), a click plays it (in the viewer with Qt Multimedia,
else with the system's player), the viewer's arrows among photos and videos; the
auto-download part of Settings; pausing a send in the transfers list."""

from __future__ import annotations

from mediakit import make_video
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from test_gui_files import _click_file, _friends, _items, _open, _picture, _state

from kith.app.gui import attachments, viewer
from kith.app.gui.models import MsgRole
from kith.p2p.files.protocol import BlockRequest


def _paint(window, row: int) -> tuple[QImage, tuple[int, int]]:
    """The files of message ``row`` painted as the bubble paints them."""
    layout = window.attachments.layout
    msg = window.messages.index(row).data(MsgRole.Row)
    w, h = layout.size(msg, 1000)
    img = QImage(w, h, QImage.Format.Format_RGB32)
    img.fill(QColor("magenta"))
    p = QPainter(img)
    layout.paint(p, msg, 1000, QPoint(0, 0), window.chat.view.palette(), False)
    p.end()
    return img, (w, h)


def test_a_video_shows_its_frame_with_play_and_duration_and_a_click_plays_it(
    kith_apps, qtbot, aw, tmp_path, monkeypatch
):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    bob.node.set_setting("auto_download", 0)  # (so that it shows before it arrives)
    clip = make_video(tmp_path / "clip.mp4", width=160, height=90, seconds=3)
    aw(alice.node.files.send(bob.node.user_id, "a clip", [clip]))
    _open(qtbot, bob.window, "alice")
    window = bob.window
    qtbot.waitUntil(lambda: window.messages.rowCount() == 1, timeout=10000)
    [item] = _items(window, 0)
    assert item.video and not item.picture and item.info["state"] == "remote"
    layout = window.attachments.layout
    w, h = layout.item_size(item, 1000)
    assert (w, h) == (160, 90)  # at its aspect ratio (and size), not a card
    assert layout.status_text(item).startswith("Download")
    img, _ = _paint(window, 0)
    centre = img.pixelColor(w // 2, h // 2)
    assert centre.lightness() > 230  # the ▶
    corner = img.pixelColor(6, h // 2)  # the preview frame: blue, not magenta or grey
    assert corner.blue() > 120 and corner.red() < 120, corner.name()

    # alice holds bob's block requests back: the video shows its progress meanwhile
    held: list = []
    real = alice.node.files.on_request
    alice.node.net.handlers[BlockRequest] = lambda peer, r: held.append((peer, r))
    window.chat.view.scrollToBottom()
    _click_file(qtbot, window, 0)  # a click on a video not here yet downloads it
    qtbot.waitUntil(lambda: bool(held) and _state(window, 0) == "downloading", timeout=10000)
    [item] = _items(window, 0)
    assert "0% of" in layout.status_text(item), layout.status_text(item)
    img, _ = _paint(window, 0)
    assert img.pixelColor(w // 2, h // 2).lightness() > 230  # its frame and ▶ meanwhile
    alice.node.net.handlers[BlockRequest] = real
    for peer, r in held:
        real(peer, r)
    qtbot.waitUntil(lambda: _state(window, 0) == "complete", timeout=10000)
    [item] = _items(window, 0)
    assert layout.status_text(item).startswith("0:03 · ")
    img, _ = _paint(window, 0)
    assert img.pixelColor(w // 2, h // 2).lightness() > 230  # still its frame with a ▶

    opened: list = []
    monkeypatch.setattr(attachments, "open_outside", lambda it: opened.append(it) or True)
    _click_file(qtbot, window, 0)
    if attachments.can_play_videos():
        v = window.attachments.viewer
        assert v is not None and v.player is not None and v.current.video
    else:  # (Qt Multimedia is not installed here: the system's player opens it)
        assert [it.file for it in opened] == [item.file]


def test_the_viewer_goes_among_photos_and_videos(kith_apps, qtbot, aw, tmp_path, monkeypatch):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    aw(alice.node.files.send(bob.node.user_id, "", [_picture(tmp_path / "p.png", 300, 200)]))
    aw(alice.node.files.send(bob.node.user_id, "", [make_video(tmp_path / "v.mp4")]))
    _open(qtbot, bob.window, "alice")
    window = bob.window
    qtbot.waitUntil(lambda: window.messages.rowCount() == 2, timeout=10000)
    qtbot.waitUntil(lambda: _state(window, 0) == "complete" and _state(window, 1) == "complete",
                    timeout=10000)
    window.attachments.show_viewer(_items(window, 0)[0])
    v = window.attachments.viewer
    qtbot.waitUntil(v.isVisible)
    assert v.current.att.name == "p.png" and not v.play_button.isVisible()
    opened: list = []
    monkeypatch.setattr(viewer, "open_outside", lambda it: opened.append(it) or True)
    qtbot.keyClick(v, Qt.Key.Key_Right)
    assert v.current.att.name == "v.mp4" and "2 of 2" in v.caption.text()
    assert "0:02" in v.caption.text() and v.play_button.isVisible()
    assert not v.picture.pixmap().isNull() or v.player is not None  # its frame
    qtbot.mouseClick(v.play_button, Qt.MouseButton.LeftButton)
    if v.player is None:
        assert [it.att.name for it in opened] == ["v.mp4"]
    v.close()


def test_settings_turn_auto_download_off_and_set_its_limit(kith_apps, qtbot, aw, tmp_path):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    dialog = bob.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    auto = dialog.auto_download
    assert auto.enabled.isChecked() and auto.limit.value() == 25.0  # the default
    assert "auto_download" in dialog.synced_keys  # (under "You, on all your devices")
    auto.limit.setValue(1.0)
    dialog.accept()
    qtbot.waitUntil(lambda: bob.node.files.auto_limit == 1_000_000)
    assert bob.node.db.get_setting("auto_download") == 1_000_000

    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 6000)  # 1.5 MB: past the limit, it waits
    aw(alice.node.files.send(bob.node.user_id, "", [big]))
    _open(qtbot, bob.window, "alice")
    qtbot.waitUntil(lambda: bob.window.messages.rowCount() == 1, timeout=10000)
    assert _state(bob.window, 0) == "remote" and not bob.node.files.transfers

    dialog = bob.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.auto_download.limit.value() == 1.0
    qtbot.mouseClick(dialog.auto_download.enabled, Qt.MouseButton.LeftButton)
    assert not dialog.auto_download.limit.isEnabled()
    dialog.accept()
    qtbot.waitUntil(lambda: bob.node.files.auto_limit == 0)
    small = tmp_path / "small.txt"
    small.write_bytes(b"tiny\n")  # off: even a small file waits for a click
    aw(alice.node.files.send(bob.node.user_id, "", [small]))
    qtbot.waitUntil(lambda: bob.window.messages.rowCount() == 2, timeout=10000)
    assert _state(bob.window, 1) == "remote" and not bob.node.files.transfers


def test_the_sender_pauses_and_resumes_a_send_in_the_transfers_list(
    kith_apps, qtbot, aw, tmp_path
):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    bob.node.set_setting("auto_download", 0)
    big = tmp_path / "talk.bin"
    big.write_bytes(bytes(range(256)) * 8000)  # 2 MB: 16 blocks
    aw(alice.node.files.send(bob.node.user_id, "", [big]))
    _open(qtbot, bob.window, "alice")
    qtbot.waitUntil(lambda: bob.window.messages.rowCount() == 1, timeout=10000)
    fid = _items(bob.window, 0)[0].file
    # alice serves four blocks, then sits on bob's requests while she pauses
    answered, held = [], []
    real = alice.node.files.on_request

    def on_request(peer, r: BlockRequest) -> None:
        if len(answered) < 4:
            answered.append(r.index)
            real(peer, r)
        else:
            held.append((peer, r))

    alice.node.net.handlers[BlockRequest] = on_request
    bob.node.files.start(fid)
    qtbot.waitUntil(lambda: len(answered) == 4 and bool(held), timeout=10000)
    alice.window.attachments.show_transfers()
    dialog = alice.window.attachments.transfers
    qtbot.waitUntil(lambda: dialog.list.count() == 1)
    assert dialog.list.item(0).text().startswith("↑ talk.bin")
    dialog.list.setCurrentRow(0)
    qtbot.mouseClick(dialog.buttons["pause"], Qt.MouseButton.LeftButton)
    assert fid in alice.node.files.held_back
    assert "paused (not sending)" in dialog.list.item(0).text()
    alice.node.net.handlers[BlockRequest] = real
    for peer, r in held:  # (refused now: paused by the sender)
        real(peer, r)
    qtbot.waitUntil(lambda: (t := bob.node.files.transfers.get(fid)) is not None
                    and t.dl is not None and not t.dl.flight, timeout=10000)
    assert _state(bob.window, 0) == "downloading"
    dialog.list.setCurrentRow(0)
    qtbot.mouseClick(dialog.buttons["resume"], Qt.MouseButton.LeftButton)
    assert fid not in alice.node.files.held_back
    qtbot.waitUntil(lambda: _state(bob.window, 0) == "complete", timeout=10000)
    # The bubble's menu pauses it too; the bubble says so.
    _open(qtbot, alice.window, "bob")
    qtbot.waitUntil(lambda: alice.window.messages.rowCount() == 1)
    mine = _items(alice.window, 0)[0]
    assert mine.outgoing and not _items(bob.window, 0)[0].outgoing
    menu = alice.window.attachments.menu(mine)
    [pause] = [a for a in menu.actions() if a.text() == "Pause sending"]
    pause.trigger()
    assert fid in alice.node.files.held_back
    alice.window.attachments.files._items.clear()
    mine = _items(alice.window, 0)[0]
    assert alice.window.attachments.layout.status_text(mine).startswith("Sending paused")
    [resume] = [a for a in alice.window.attachments.menu(mine).actions()
                if a.text() == "Resume sending"]
    resume.trigger()
    assert fid not in alice.node.files.held_back
