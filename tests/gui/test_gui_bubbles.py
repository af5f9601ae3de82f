"""Bubbles: a readable maximum width on a wide window; emoji as tall as the text, and a
message of up to three emoji shown large."""

from __future__ import annotations

import os
import time

from chatkit import write_contacts
from PySide6.QtGui import QFontMetrics

from kith.app.gui.delegates import LINE_CHARS, emoji_only
from kith.app.gui.models import MsgRole
from kith.p2p.events import direct_conversation
from kith.p2p.profile import DB_FILE
from kith.storage import MessageRow, Store


def _with_messages(tmp_path, texts):
    """A profile with bob, who sent ``texts`` (after write_contacts' hello)."""
    from kith.p2p.identity import load_identity

    [bob] = write_contacts(tmp_path / "alice", ["bob"])
    me = load_identity(tmp_path / "alice")
    conv = direct_conversation(me.user_id, bob)
    now, device = int(time.time() * 1000), os.urandom(32)
    store = Store(tmp_path / "alice" / DB_FILE)
    try:
        with store.transaction():
            store.insert_messages([
                MessageRow(os.urandom(32), conv, device, bob, i + 2, i + 2, now + i, t, False)
                for i, t in enumerate(texts)])
    finally:
        store.close()
    return bob


def _bubble(w, text):
    model, view = w.messages, w.chat.view
    row = next(i for i in range(model.rowCount()) if model.index(i).data(MsgRole.Text) == text)
    index = model.index(row)
    return view.bubbles._geometry(_option(view, index), index)["bubble"]


def _option(view, index):
    from PySide6.QtWidgets import QStyleOptionViewItem

    opt = QStyleOptionViewItem()
    opt.rect = view.visualRect(index)
    opt.font = view.font()
    opt.palette = view.palette()
    return opt


def test_bubbles_keep_a_readable_width_on_a_wide_window(kith_apps, qtbot, tmp_path):
    long = "a line that goes on " * 30
    bob = _with_messages(tmp_path, [long])
    alice = kith_apps("alice")
    w = alice.window
    w.resize(1900, 800)
    w.show()
    w.open_chat(bob)
    qtbot.waitUntil(lambda: w.messages.rowCount() == 2)
    view = w.chat.view
    qtbot.waitUntil(lambda: view.viewport().width() > 1400)
    fm = QFontMetrics(view.font())
    bubble = _bubble(w, long)
    assert bubble.width() <= fm.averageCharWidth() * LINE_CHARS + 40
    assert bubble.width() < view.viewport().width() * 0.5


def test_emoji_alone_are_large_and_inline_emoji_as_tall_as_text(kith_apps, qtbot, tmp_path):
    assert emoji_only("😀") and emoji_only("👍🏽 🎉 ❤️") and emoji_only("👨‍👩‍👧")
    assert not emoji_only("😀😀😀😀") and not emoji_only("ok 😀") and not emoji_only("")
    bob = _with_messages(tmp_path, ["ok", "🎉", "well done 🎉"])
    alice = kith_apps("alice")
    w = alice.window
    w.show()
    w.open_chat(bob)
    qtbot.waitUntil(lambda: w.messages.rowCount() == 4)
    plain, big, mixed = _bubble(w, "ok"), _bubble(w, "🎉"), _bubble(w, "well done 🎉")
    # shown large: in a font over twice the size (how tall a line of it is depends on the
    # emoji font installed: a colour bitmap font's lines grow less than its glyphs)
    assert big.height() > 1.4 * plain.height()
    assert mixed.height() >= plain.height()  # the emoji is not smaller than the text
    bubbles, font = w.chat.view.bubbles, w.chat.view.font()
    alone = bubbles._row_doc(b"y" * 32, "🎉", False, 400, font, w.chat.view.palette())
    assert alone.defaultFont().pointSizeF() >= 2 * font.pointSizeF()
    doc = bubbles._row_doc(b"x" * 32, "well done 🎉", False, 400, font, w.chat.view.palette())
    assert "font-size" in doc.toHtml()
