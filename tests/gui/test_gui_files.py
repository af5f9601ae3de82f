"""Files in the app: drop, paste and pick in the composer, the picture bubble at its
aspect ratio, file cards with progress, the photo viewer, the transfers list."""

from __future__ import annotations

from pathlib import Path

from chatkit import friends as _friends
from chatkit import open_chat as _open
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage

from kith.app.gui.attachments import Item
from kith.app.gui.convmodel import ConvRole
from kith.app.gui.models import MsgRole
from kith.p2p.files.protocol import BlockRequest


def _picture(path: Path, w: int, h: int) -> Path:
    img = QImage(w, h, QImage.Format.Format_RGB32)
    for x in range(w):
        for y in range(0, h, 8):
            img.setPixel(x, y, (x * 7 + y) & 0xFFFFFF)
    assert img.save(str(path))
    return path


def _items(window, row: int) -> list[Item]:
    return window.attachments.files.items(window.messages.index(row).data(MsgRole.Row))


def _state(window, row: int) -> str:
    window.attachments.files._items.clear()
    return str(_items(window, row)[0].info["state"])


def _click_file(qtbot, window, row: int, n: int = 0) -> None:
    view = window.chat.view
    rects = window.attachments.item_rects(row, window.messages.row(row))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rects[n][1].center())


def test_dropped_files_go_with_the_caption_and_pictures_show_at_their_aspect_ratio(
    kith_apps, qtbot, aw, tmp_path
):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    _open(qtbot, bob.window, "alice")
    wide = _picture(tmp_path / "wide.png", 400, 200)
    tall = _picture(tmp_path / "tall.png", 150, 300)
    chat = alice.window.chat
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(wide)), QUrl.fromLocalFile(str(tall))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    # (Qt delivers drag and drop events only during a real drag: hand them to the
    # chat pane's filter as Qt would)
    assert alice.window.attachments.eventFilter(chat, enter) and enter.isAccepted()
    assert alice.window.attachments.eventFilter(chat, drop)
    pending = alice.window.attachments.pending
    assert pending.paths == [wide, tall] and pending.isVisible()
    qtbot.keyClicks(chat.composer, "two pictures")
    qtbot.keyClick(chat.composer, Qt.Key.Key_Return)
    assert pending.paths == [] and not pending.isVisible()
    received = bob.window.messages
    qtbot.waitUntil(lambda: received.rowCount() == 1, timeout=10000)
    assert received.index(0).data(MsgRole.Text) == "two pictures"
    qtbot.waitUntil(lambda: _state(bob.window, 0) == "complete", timeout=10000)
    items = _items(bob.window, 0)
    layout = bob.window.attachments.layout
    (w1, h1), (w2, h2) = (layout.item_size(i, 1000) for i in items)
    assert (w1, h1) == (260, 130)  # 2:1
    assert abs(w2 / h2 - 0.5) < 0.02 and h2 <= 320  # 1:2
    # The preview travelled in the message: it paints before (and without) the file.
    assert not items[0].att.preview == b""
    assert QImage.fromData(items[0].att.preview).width() <= 96
    # The bubble holds the pictures: its size hint is at least their heights.
    index = received.index(0)
    view = bob.window.chat.view
    hint = view.bubbles.sizeHint(view.viewOptions() if hasattr(view, "viewOptions") else
                                 _option(view), index)
    assert hint.height() >= h1 + h2
    # Pictures first, the caption under them (Signal, WhatsApp): the files start at the
    # bubble's top and the text part below their heights.
    bubbles = view.bubbles
    row = received.row(0)
    max_w = bubbles._max_text_width()
    assert bubbles.text_top(row, max_w) >= h1 + h2
    rects = bob.window.attachments.item_rects(0, row)
    assert rects and min(r.top() for _, r in rects) < max(r.bottom() for _, r in rects)
    first_top = min(r.top() for _, r in rects)
    bubble = bubbles._geometry(_option_at(view, index), index)["bubble"]
    assert first_top == bubble.top() + bubbles.PAD_V


def _option_at(view, index):
    opt = _option(view)
    opt.rect = view.visualRect(index)
    return opt


def _option(view):
    from PySide6.QtWidgets import QStyleOptionViewItem

    opt = QStyleOptionViewItem()
    opt.rect = view.viewport().rect()
    opt.font = view.font()
    return opt


def test_clicking_a_picture_opens_the_viewer_with_arrows(kith_apps, qtbot, aw, tmp_path):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    for name, size in (("one.png", (300, 200)), ("two.png", (200, 300))):
        aw(alice.node.files.send(bob.node.user_id, "", [_picture(tmp_path / name, *size)]))
    _open(qtbot, bob.window, "alice")
    window = bob.window
    qtbot.waitUntil(lambda: window.messages.rowCount() == 2, timeout=10000)
    qtbot.waitUntil(lambda: _state(window, 0) == "complete" and _state(window, 1) == "complete",
                    timeout=10000)
    window.chat.view.scrollToBottom()
    _click_file(qtbot, window, 0)
    viewer = window.attachments.viewer
    assert viewer is not None and viewer.objectName() == "photoViewer"
    qtbot.waitUntil(viewer.isVisible)
    assert viewer.current.att.name == "one.png"
    assert not viewer.picture.pixmap().isNull()
    assert not viewer.prev_button.isEnabled() and viewer.next_button.isEnabled()
    qtbot.mouseClick(viewer.next_button, Qt.MouseButton.LeftButton)
    assert viewer.current.att.name == "two.png" and "2 of 2" in viewer.caption.text()
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.current.att.name == "one.png"
    viewer.close()
    # Save as… copies the file; Copy puts the picture on the clipboard.
    item = _items(window, 0)[0]
    saved = window.attachments.save_as(item, str(tmp_path / "saved.png"))
    assert saved is not None and saved.read_bytes() == item.path.read_bytes()
    window.attachments.copy(item)
    clip = QGuiApplication.clipboard().mimeData()
    assert clip.hasImage() and clip.urls()[0].toLocalFile() == str(item.path)
    menu = window.attachments.menu(item)
    assert [a.text() for a in menu.actions()] == ["Open", "Save as…", "Show in folder", "Copy"]


def test_paste_a_picture_into_the_composer(kith_apps, qtbot, aw, tmp_path):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    image = QImage(120, 80, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    QGuiApplication.clipboard().setImage(image)
    composer = alice.window.chat.composer
    composer.setFocus()
    qtbot.keyClick(composer, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    pending = alice.window.attachments.pending
    assert len(pending.paths) == 1 and pending.paths[0].suffix == ".png"
    assert not pending.paths[0].is_relative_to(alice.node.profile)  # (never plain in there)
    assert composer.toPlainText() == ""
    qtbot.keyClick(composer, Qt.Key.Key_Return)  # a picture without a caption
    qtbot.waitUntil(lambda: bob.window.messages.rowCount() == 0 and
                    len(bob.node.history("alice")) == 1, timeout=10000)
    [m] = bob.node.history("alice")
    [f] = bob.node.files.for_message(m.conv, m.author, m.seq)
    assert f["mime"] == "image/png" and f["width"] == 120 and f["height"] == 80
    convs = bob.window.conversations  # (the sidebar says what came without a caption)
    qtbot.waitUntil(lambda: convs.rowCount() == 1 and
                    convs.index(0).data(ConvRole.Preview) == "📎 File", timeout=10000)


def test_a_large_file_card_shows_progress_and_the_transfers_list_pauses_it(
    kith_apps, qtbot, aw, tmp_path
):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    bob.node.set_setting("auto_download", 0)
    big = tmp_path / "report.pdf"
    big.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8000)
    aw(alice.node.files.send(bob.node.user_id, "the report", [big]))
    _open(qtbot, bob.window, "alice")
    window = bob.window
    qtbot.waitUntil(lambda: window.messages.rowCount() == 1, timeout=10000)
    item = _items(window, 0)[0]
    assert not item.picture and item.info["state"] == "remote"
    assert window.attachments.layout.status_text(item).startswith("Download")
    # alice answers four block requests, then holds the rest: the download stays half way.
    answered = []
    real = alice.node.files.on_request

    def on_request(peer, r: BlockRequest) -> None:
        if len(answered) < 4:
            answered.append(r.index)
            real(peer, r)

    alice.node.net.handlers[BlockRequest] = on_request
    window.chat.view.scrollToBottom()
    _click_file(qtbot, window, 0)  # a click on the card downloads it
    qtbot.waitUntil(lambda: _state(window, 0) == "downloading" and
                    _items(window, 0)[0].info["have"] >= 4 * 128 * 1024, timeout=10000)
    item = _items(window, 0)[0]
    text = window.attachments.layout.status_text(item)
    assert "% of 2.0 MB" in text, text
    window.chat.view.viewport().repaint()  # the card with its progress bar paints
    qtbot.mouseClick(window.attachments.transfers_button, Qt.MouseButton.LeftButton)
    dialog = window.attachments.transfers
    assert dialog is not None and dialog.isVisible()
    assert dialog.list.count() == 1 and "report.pdf" in dialog.list.item(0).text()
    dialog.list.setCurrentRow(0)
    qtbot.mouseClick(dialog.buttons["pause"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _state(window, 0) == "paused")
    assert "paused" in dialog.list.item(0).text()
    alice.node.net.handlers[BlockRequest] = real
    dialog.list.setCurrentRow(0)
    qtbot.mouseClick(dialog.buttons["resume"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _state(window, 0) == "complete", timeout=10000)
    # Nobody to fetch from: the card says it waits.
    other = tmp_path / "other.bin"
    other.write_bytes(b"x" * 3000)
    aw(alice.node.files.send(bob.node.user_id, "", [other]))
    qtbot.waitUntil(lambda: window.messages.rowCount() == 2, timeout=10000)
    aw(alice.node.stop())
    qtbot.waitUntil(lambda: not bob.node.online(alice.node.user_id), timeout=10000)
    window.attachments.files.act(_items(window, 1)[0], "fetch")
    assert window.attachments.layout.status_text(_items(window, 1)[0]).startswith(
        "Waiting for a device that has it")
