"""Long histories (paging without loading everything) and search jumping to a hit."""

from __future__ import annotations

import shutil

import pytest
from chatkit import write_long_chat
from PySide6.QtCore import Qt
from test_gui_chat import _friends

from kith.app.gui.app import KithApp
from kith.app.gui.models import MAX_ROWS, PAGE, MsgRole
from kith.p2p.node import Node, NodeOptions

N = 100_000
NEEDLE = N - 5_000  # an old message, 25 pages up
ANCIENT = 10  # the very beginning: too far to page to, shown in a window around it


@pytest.fixture(scope="module")
def written_long_chat(tmp_path_factory):
    """A profile whose chat with "bob" holds 100k messages, written straight to storage
    once for the module (about 2 s)."""
    profile = tmp_path_factory.mktemp("long") / "alice"
    bob_user = write_long_chat(
        profile, N,
        lambda i: f"message {i}" + (" needle" if i == NEEDLE else "")
        + (" ancient" if i == ANCIENT else ""),
    )
    return profile, bob_user


@pytest.fixture
def long_chat(written_long_chat, tmp_path):
    """A copy of that profile of the test's own (the app writes to it: reads, drafts)."""
    written, bob_user = written_long_chat
    profile = tmp_path / "alice"
    shutil.copytree(written, profile)
    return profile, bob_user


def test_100k_chat_opens_at_newest_and_pages_older(long_chat, qtbot, aw):
    profile, bob_user = long_chat
    kith = KithApp(Node(profile, NodeOptions(network=False)))
    window = aw(kith.start())
    try:
        window.open_chat(bob_user)  # (how fast: tests/bench/bench_gui.py)
        model, view = window.messages, window.chat.view
        assert model.rowCount() == PAGE  # one page, not the whole history
        assert model.index(PAGE - 1).data(MsgRole.Text) == f"message {N - 1}"
        bar = view.verticalScrollBar()
        qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
        bottom = view.indexAt(view.viewport().rect().bottomLeft())
        assert bottom.isValid()
        for _ in range(2):
            # (the view reads ahead while the top is within a screen: a page of short
            # lines is less than two screens here, so more than one may come at once)
            before = model.rowCount()
            old_first = model.index(0).data(MsgRole.EventId)
            bar.setValue(bar.minimum())  # the user scrolls to the top
            qtbot.waitUntil(lambda b=before: model.rowCount() >= b + PAGE
                            and not view.is_loading())
            # the view stays on what the user was looking at instead of jumping
            row = next(i for i in range(model.rowCount())
                       if model.index(i).data(MsgRole.EventId) == old_first)
            assert row == model.rowCount() - before and row % PAGE == 0
            qtbot.waitUntil(lambda r=row: view.visualRect(model.index(r)).intersects(
                view.viewport().rect()))
        # the newest messages without a gap, and never the whole history
        rows = model.rowCount()
        assert 3 * PAGE <= rows <= MAX_ROWS + PAGE
        assert model.index(0).data(MsgRole.Text) == f"message {N - rows}"
        assert model.index(rows - 1).data(MsgRole.Text) == f"message {N - 1}"
    finally:
        aw(kith.stop())


def test_search_jumps_to_an_old_message(long_chat, qtbot, aw):
    profile, bob_user = long_chat
    kith = KithApp(Node(profile, NodeOptions(network=False)))
    window = aw(kith.start())
    try:
        qtbot.keyClicks(window.sidebar.search, "needle")
        results = window.sidebar.results
        qtbot.waitUntil(lambda: results.isVisible() and results.count() == 1)
        item = results.item(0)
        assert f"message {NEEDLE} needle" in item.text()
        qtbot.mouseClick(results.viewport(), Qt.MouseButton.LeftButton,
                         pos=results.visualItemRect(item).center())
        qtbot.waitUntil(lambda: window.current == bob_user)
        view = window.chat.view
        current = view.currentIndex()
        assert current.data(MsgRole.Text) == f"message {NEEDLE} needle"
        assert view.visualRect(current).intersects(view.viewport().rect())
    finally:
        aw(kith.stop())


def test_search_hit_far_back_is_shown_and_pages_forward(long_chat, qtbot, aw):
    profile, bob_user = long_chat
    kith = KithApp(Node(profile, NodeOptions(network=False)))
    window = aw(kith.start())
    try:
        qtbot.keyClicks(window.sidebar.search, "ancient")
        results = window.sidebar.results
        qtbot.waitUntil(lambda: results.isVisible() and results.count() == 1)
        qtbot.keyClick(window.sidebar.search, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.current == bob_user)
        model, view = window.messages, window.chat.view
        current = view.currentIndex()
        assert current.data(MsgRole.Text) == f"message {ANCIENT} ancient"
        assert view.visualRect(current).intersects(view.viewport().rect())
        assert model.rowCount() < 2 * PAGE + 1  # a window around the hit, not 100k rows
        assert model.has_newer()
        # scrolling down brings newer pages from messages_after, without jumping
        bar = view.verticalScrollBar()
        rows = model.rowCount()
        last = model.index(rows - 1).data(MsgRole.EventId)
        bar.setValue(bar.maximum())
        qtbot.waitUntil(lambda: model.rowCount() == rows + PAGE)
        assert model.index(rows).data(MsgRole.Text) == f"message {ANCIENT + PAGE + 1}"
        row = next(i for i in range(model.rowCount())
                   if model.index(i).data(MsgRole.EventId) == last)
        qtbot.waitUntil(lambda: view.visualRect(model.index(row)).intersects(
            view.viewport().rect()))
        # sending from there returns to the present
        assert model.index(model.rowCount() - 1).data(MsgRole.Text) != f"message {N - 1}"
        window.messages.open(window.bridge.conv_for(bob_user), bob_user)
        assert model.index(model.rowCount() - 1).data(MsgRole.Text) == f"message {N - 1}"
        assert not model.has_newer()
    finally:
        aw(kith.stop())


def test_search_across_conversations(kith_apps, qtbot, aw):
    alice, bob, carol = kith_apps("alice"), kith_apps("bob"), kith_apps("carol")
    _friends(aw, qtbot, alice, bob)
    _friends(aw, qtbot, alice, carol)
    aw(bob.node.send_message("alice", "pizza tonight?"))
    aw(carol.node.send_message("alice", "no pizza for me"))
    w = alice.window
    qtbot.waitUntil(lambda: len(w.bridge.search("pizza")) == 2)
    qtbot.keyClicks(w.sidebar.search, "pizza")
    qtbot.waitUntil(lambda: w.sidebar.results.count() == 2)
    texts = sorted(w.sidebar.results.item(i).text().split(" · ")[0] for i in range(2))
    assert texts == ["bob", "carol"]
    qtbot.keyClick(w.sidebar.search, Qt.Key.Key_Return)  # Enter opens the first hit
    qtbot.waitUntil(lambda: w.current is not None)
    assert "pizza" in w.chat.view.currentIndex().data(MsgRole.Text)


def test_search_marks_the_match_in_context_finds_names_and_escape_clears(
        kith_apps, qtbot, aw):
    from PySide6.QtWidgets import QLabel

    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    long = "word " * 40 + "the pizza is here " + "more " * 40
    aw(bob.node.send_message("alice", long))
    w = alice.window
    qtbot.waitUntil(lambda: len(w.bridge.search("pizza")) == 1)
    qtbot.keyClicks(w.sidebar.search, "pizza")
    qtbot.waitUntil(lambda: w.sidebar.results.count() == 1)
    item = w.sidebar.results.item(0)
    assert "…" in item.text() and "the pizza is here" in item.text()  # in context
    label = w.sidebar.results.itemWidget(item)
    assert isinstance(label, QLabel) and "background-color" in label.text()
    assert ">pizza</span>" in label.text()  # the match is marked
    # opening it marks the word in the chat too
    qtbot.keyClick(w.sidebar.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.current == bob.node.user_id)
    assert w.chat.view.bubbles.highlight == ("pizza",)
    # names are found too, and Escape clears the search
    w.sidebar.search.setFocus()
    w.sidebar.search.clear()
    qtbot.keyClicks(w.sidebar.search, "bo")
    qtbot.waitUntil(lambda: w.sidebar.results.count() >= 1
                    and w.sidebar.results.item(0).text().startswith("bob · open"))
    qtbot.keyClick(w.sidebar.search, Qt.Key.Key_Escape)
    assert w.sidebar.search.text() == "" and w.sidebar.stack.currentIndex() == 0
