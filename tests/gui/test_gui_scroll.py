"""Scrolling a long chat: pages come in near the top (and near the bottom of a window that
does not reach the present) without moving what the user reads, and the rows loaded stay
bounded however far the user scrolls."""

from __future__ import annotations

import os

import pytest
from chatkit import write_long_chat
from PySide6.QtCore import QPoint

from kith.app.gui.app import KithApp
from kith.app.gui.models import MAX_ROWS, PAGE, MsgRole
from kith.p2p.node import Node, NodeOptions
from kith.storage import MessageRow

N = 1500  # a few times MAX_ROWS


@pytest.fixture
def chat(tmp_path, qtbot, aw):
    """The app with a chat of N messages of one to five lines, opened."""
    bob_user = write_long_chat(
        tmp_path / "alice", N, lambda i: f"message {i} " + "blah " * (i % 5) * 15,
        outgoing_every=4, spacing_ms=600_000,
    )
    kith = KithApp(Node(tmp_path / "alice", NodeOptions(network=False)))
    window = aw(kith.start())
    window.open_chat(bob_user)
    view = window.chat.view
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    yield window
    aw(kith.stop())


def _number(index) -> int:
    return int.from_bytes(index.data(MsgRole.EventId), "big")


def _top(view) -> tuple[int, int]:
    """The message at the top edge of the view and its y."""
    index = view.indexAt(QPoint(0, 0))
    return _number(index), view.visualRect(index).top()


def _scroll(qtbot, view, step: int) -> None:
    """Scroll by ``step`` pixels like a user would; check that whatever page comes in
    meanwhile leaves the message at the top edge where it was."""
    bar = view.verticalScrollBar()
    bar.setValue(bar.value() + step)
    before = _top(view)
    qtbot.waitUntil(lambda: not view.is_loading())
    assert _top(view) == before
    assert view.model().rowCount() <= MAX_ROWS + PAGE


def test_scrolling_to_the_beginning_and_back_keeps_the_place(chat, qtbot):
    view, model = chat.chat.view, chat.messages
    assert _number(model.index(model.rowCount() - 1)) == N - 1
    last_out = model.rowCount() - 1 - (N - 1) % 4  # (every fourth message is ours)
    assert model.index(last_out).data(MsgRole.StatusText).startswith("Read")
    page = view.viewport().height() // 2
    for _ in range(2000):
        if not model.has_older() and view.verticalScrollBar().value() == 0:
            break
        _scroll(qtbot, view, -page)
    assert _number(model.index(0)) == 0  # the very first message
    assert model.has_newer()  # the present was let go on the way up...
    assert not any(model.index(i).data(MsgRole.StatusText) for i in range(model.rowCount()))
    for _ in range(2000):
        bar = view.verticalScrollBar()
        if not model.has_newer() and bar.value() == bar.maximum():
            break
        _scroll(qtbot, view, page)
    # ...and comes back at the bottom, with the status line under our last message
    assert _number(model.index(model.rowCount() - 1)) == N - 1
    assert view.at_bottom()
    assert model.index(model.rowCount() - 1 - (N - 1) % 4).data(
        MsgRole.StatusText).startswith("Read")
    assert not model.has_newer()


def _incoming(window, n: int, first: int = 0) -> list[MessageRow]:
    """``n`` new messages from bob, after the last one loaded: "new {first}"..."""
    model = window.messages
    last = model.row(model.rowCount() - 1)
    device = os.urandom(32)
    return [MessageRow((N + i).to_bytes(32, "big"), last.conv, device, window.current, i + 1,
                       last.lamport + 1 + i, last.time + 1000 * (i + 1), f"new {i}", False)
            for i in range(first, first + n)]


def test_new_messages_scroll_into_view_only_at_the_bottom(chat, qtbot):
    view, model = chat.chat.view, chat.messages
    bar = view.verticalScrollBar()
    # scrolled up a little (the present is still loaded): new messages do not move the view
    bar.setValue(bar.value() - 2 * view.viewport().height())
    qtbot.waitUntil(lambda: not view.is_loading())
    assert not model.has_newer()
    before, rows, old_max = _top(view), model.rowCount(), bar.maximum()
    model.add(_incoming(chat, 3))
    qtbot.waitUntil(lambda: bar.maximum() > old_max)  # laid out
    assert model.rowCount() == rows + 3
    assert _top(view) == before
    # at the bottom: they scroll into view
    bar.setValue(bar.maximum())
    qtbot.waitUntil(view.at_bottom)
    old_max = bar.maximum()
    model.add(_incoming(chat, 2, first=3))
    qtbot.waitUntil(lambda: bar.maximum() > old_max)
    last = model.index(model.rowCount() - 1)
    assert last.data(MsgRole.Text) == "new 4"
    qtbot.waitUntil(lambda: view.viewport().rect().contains(view.visualRect(last)))
    assert view.at_bottom()
