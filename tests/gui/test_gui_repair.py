"""A damaged database at start (hardening #13): the app offers Repair (the CLI's rebuild,
on a worker thread with a progress dialog), keeps the damaged copy, then opens the
profile; Quit leaves it as it is."""

from __future__ import annotations

import os
import threading

from nodekit import make_node
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QPushButton

from kith.app.gui import repair
from kith.app.gui.app import KithApp
from kith.p2p.profile import DB_FILE
from kith.storage import Store, integrity


def _damaged_profile(tmp_path, aw):
    """alice's profile with 400 drafts and a note, its database damaged as by a power
    cut on a bad disk (the session did not end: the check runs at the next open)."""
    node = make_node(tmp_path, "alice")
    aw(node.start())
    aw(node.stop())
    path = tmp_path / "alice" / DB_FILE
    store = Store(path)
    for i in range(400):
        store.set_draft(bytes([i % 256, i // 256]) * 16, "a draft " * 30)
    store.set_setting("name_note", "kept")
    store.close()
    size = 4096 if os.path.getsize(path) % 8192 else 8192
    page = os.path.getsize(path) // size - 5
    with path.open("r+b") as f:
        f.seek(page * size + 100)
        f.write(os.urandom(size - 200))
    path.with_name(path.name + ".open").touch()
    return tmp_path / "alice"


def _shown(kind, name):
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, kind) and w.objectName() == name and w.isVisible()]


def test_repair_in_the_app_rebuilds_the_database_and_opens_the_profile(
        qtbot, aw, qloop, tmp_path, monkeypatch):
    profile = _damaged_profile(tmp_path, aw)
    running, go_on = threading.Event(), threading.Event()
    rebuild = integrity.repair
    threads = []

    def slow_repair(path, key):  # (held until the test has seen the progress dialog)
        threads.append(threading.current_thread())
        running.set()
        assert go_on.wait(30)
        return rebuild(path, key)

    monkeypatch.setattr(integrity, "repair", slow_repair)
    made = []

    def make():
        made.append(KithApp(make_node(tmp_path, "alice")))
        return made[-1]

    task = qloop.create_task(repair.start_or_repair(make, profile, None, True))
    try:
        qtbot.waitUntil(lambda: bool(_shown(QMessageBox, "repairQuestion")))
        box = _shown(QMessageBox, "repairQuestion")[0]
        assert "damaged" in box.text()
        assert str(integrity.copy_path(profile / DB_FILE)) in box.informativeText()
        assert "kith check" not in box.informativeText()
        box.findChild(QPushButton, "repairButton").click()
        qtbot.waitUntil(running.is_set)
        qtbot.waitUntil(lambda: bool(_shown(QProgressDialog, "repairProgress")))
        assert threads[0] is not threading.main_thread()  # (the UI goes on meanwhile)
        go_on.set()
        qtbot.waitUntil(task.done, timeout=30000)
        kith = task.result()
        assert kith is made[-1] and kith.window is not None and kith.window.isVisible()
        assert not _shown(QProgressDialog, "repairProgress")
        assert kith.node.db.get_setting("name_note") == "kept"
        assert integrity.copy_path(profile / DB_FILE).exists()  # the damaged copy stays
        assert integrity.full_check(kith.node.db._conn) == []
    finally:
        go_on.set()
        if not task.done():
            task.cancel()
        for app in made:
            aw(app.stop())


def test_quit_leaves_the_damaged_database_as_it_is(qtbot, aw, qloop, tmp_path):
    profile = _damaged_profile(tmp_path, aw)
    before = (profile / DB_FILE).read_bytes()
    made = []

    def make():
        made.append(KithApp(make_node(tmp_path, "alice")))
        return made[-1]

    task = qloop.create_task(repair.start_or_repair(make, profile, None, True))
    try:
        qtbot.waitUntil(lambda: bool(_shown(QMessageBox, "repairQuestion")))
        box = _shown(QMessageBox, "repairQuestion")[0]
        quit_button = next(b for b in box.buttons() if b.text() == "Quit")
        quit_button.click()
        qtbot.waitUntil(task.done)
        assert task.result() is None
        assert (profile / DB_FILE).read_bytes() == before
    finally:
        if not task.done():
            task.cancel()
        for app in made:
            aw(app.stop())
