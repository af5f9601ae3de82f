"""First start and the empty main window."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from kith.app.gui.app import KithApp, ensure_identity
from kith.app.gui.dialogs import FirstStartDialog
from kith.p2p.identity import load_identity
from kith.p2p.node import Node, NodeOptions


def test_first_start_asks_name_and_lands_in_friendly_window(tmp_path, qtbot, qloop, aw):
    profile = tmp_path / "fresh"
    dialog = FirstStartDialog()
    qtbot.addWidget(dialog)
    task = qloop.create_task(ensure_identity(profile, dialog))
    qtbot.waitUntil(dialog.isVisible)
    ok = dialog.findChild(QPushButton, "getStartedButton")
    assert not ok.isEnabled()  # no name, no identity
    qtbot.keyClicks(dialog.name, "Ada Lovelace")
    assert ok.isEnabled()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done)
    assert task.result() is True
    identity = load_identity(profile)
    assert identity is not None and identity.name == "Ada Lovelace"

    kith = KithApp(Node(profile, NodeOptions(interfaces=["127.0.0.1"], discovery=False, port=0)))
    window = aw(kith.start())
    try:
        assert window.isVisible()
        empty = window.findChild(QLabel, "emptyTitle")
        assert empty.isVisible() and "Ada Lovelace" in empty.text()
        assert window.findChild(QLabel, "emptyText").isVisible()
        assert window.findChild(QLabel, "noConversations").isVisible()
        assert window.findChild(QLabel, "nearbyEmpty").isVisible()
    finally:
        aw(kith.stop())


def test_first_start_cancel_creates_nothing(tmp_path, qtbot, qloop):
    profile = tmp_path / "fresh"
    dialog = FirstStartDialog()
    qtbot.addWidget(dialog)
    task = qloop.create_task(ensure_identity(profile, dialog))
    qtbot.waitUntil(dialog.isVisible)
    dialog.reject()
    qtbot.waitUntil(task.done)
    assert task.result() is False
    assert load_identity(profile) is None


def test_cycles_are_collected_on_the_qt_thread_only(qtbot):
    from PySide6.QtCore import QObject

    from kith.app.gui.app import MainThreadCollector

    owner = QObject()
    gc.enable()  # (the GUI tests' fixture turned it off; the collector must do it)
    collector = MainThreadCollector(owner, interval_ms=10)
    try:
        assert not gc.isenabled()  # no collection in whatever thread allocates

        class Node:
            pass

        def cycle():
            a, b = Node(), Node()
            a.other, b.other = b, a

        for _ in range(collector.thresholds[0] * 3):
            cycle()
        found = weakref.WeakSet()
        probe = Node()
        probe.me = probe
        found.add(probe)
        del probe
        qtbot.waitUntil(lambda: len(found) == 0)  # the timer collected it, on this thread
    finally:
        collector.timer.stop()
        gc.enable()
