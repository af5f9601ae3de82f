"""My devices: linking a new device from the first start (code + QR, history progress),
the device list with Remove, settings that follow me, and handoff between my devices."""

from __future__ import annotations

from nodekit import add_device, befriend, make_node
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton
from test_gui_chat import _open

from kith.app.gui.app import KithApp, LinkSetup, ensure_identity, receive_history
from kith.app.gui.dialogs import FirstStartDialog
from kith.p2p.connection import Timing
from kith.p2p.link_driver import Linked


def _wait_to_be_linked(qtbot, qloop, profile):
    """A new device: first start, "Link to my other device"; the waiting task (its result
    is ``Linked``) and the dialog showing the code."""
    first = FirstStartDialog()
    qtbot.addWidget(first)
    setup = LinkSetup(interfaces=["127.0.0.1"], discovery=True,
                      timing=Timing(handshake=2, keepalive=1, dead_after=3), timeout=30,
                      device_name="laptop")
    task = qloop.create_task(ensure_identity(profile, first, setup))
    qtbot.waitUntil(first.isVisible)
    qtbot.mouseClick(first.findChild(QPushButton, "linkDeviceButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: first.link_dialog is not None and first.link_dialog.isVisible())
    return task, first.link_dialog


def test_link_a_new_device_from_first_start(kith_apps, qtbot, aw, qloop, tmp_path):
    alice = kith_apps("alice", discovery=True)  # the existing device finds the new one
    bob = make_node(tmp_path, "bob")
    aw(bob.start())
    fresh = None
    try:
        aw(befriend(alice.node, bob))
        for i in range(30):
            aw(bob.send_message("alice", f"old message {i}"))
        # the new device: first start, "Link to my other device"
        task, link = _wait_to_be_linked(qtbot, qloop, tmp_path / "laptop")
        code = link.code_label.text()
        assert code and not link.qr.pixmap().isNull()
        # the existing device: Settings → My devices → Add a device → the code → Link
        devices = alice.window.open_devices()
        qtbot.waitUntil(devices.isVisible)
        assert devices.list.count() == 1 and "this device" in devices.list.item(0).text()
        qtbot.mouseClick(devices.add_button, Qt.MouseButton.LeftButton)
        qtbot.keyClicks(devices.code, code)
        qtbot.mouseClick(devices.link_button, Qt.MouseButton.LeftButton)
        assert devices.progress.isVisible()
        qtbot.waitUntil(lambda: "Linked" in devices.status.text(), timeout=20000)
        qtbot.waitUntil(task.done, timeout=20000)
        linked = task.result()
        assert isinstance(linked, Linked)
        # the new device fetches the history with a progress bar, then shows the window
        fresh = KithApp(make_node(tmp_path, "alice", profile="laptop"))
        window = aw(fresh.start(show=False))
        sync = qloop.create_task(receive_history(fresh.node, linked, link))
        qtbot.waitUntil(sync.done, timeout=20000)
        sync.result()
        assert link.progress.value() == link.progress.maximum() == linked.events
        window.show()
        qtbot.waitUntil(lambda: window.conversations.rowCount() == 1)
        _open(qtbot, window, "bob")
        qtbot.waitUntil(lambda: window.messages.rowCount() == 30)
        # the list on the existing device: this device and the laptop; remove the laptop
        devices.show_list()
        qtbot.waitUntil(lambda: devices.list.count() == 2)
        laptop = next(d for d in alice.bridge.devices() if not d.this_device)
        assert laptop.name == "laptop"
        devices.select(laptop.device_id)
        assert devices.remove_button.isEnabled()
        qtbot.mouseClick(devices.remove_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: devices.confirm is not None and devices.confirm.isVisible())
        box: QMessageBox = devices.confirm
        qtbot.mouseClick(box.findChild(QPushButton, "confirmRemoveButton"),
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any("laptop · removed" in devices.list.item(i).text()
                                    for i in range(devices.list.count())))
        qtbot.waitUntil(lambda: fresh.node.removed)
    finally:
        if fresh is not None:
            aw(fresh.stop())
        aw(bob.stop())


def _two_devices(kith_apps, qtbot, aw, tmp_path):
    desktop = kith_apps("alice")
    bob = kith_apps("bob")
    aw(befriend(desktop.node, bob.node))
    laptop = kith_apps("alice", profile=add_device(tmp_path, "alice", "laptop"))
    aw(laptop.node.connect("127.0.0.1", desktop.node.port))
    qtbot.waitUntil(lambda: laptop.node.online_device(desktop.node.device_id))
    qtbot.waitUntil(lambda: laptop.window.conversations.rowCount() == 1)
    return desktop, laptop, bob


def test_handoff_offer_continues_the_chat_with_its_draft(kith_apps, qtbot, aw, tmp_path):
    desktop, laptop, bob = _two_devices(kith_apps, qtbot, aw, tmp_path)
    _open(qtbot, laptop.window, "bob")
    qtbot.keyClicks(laptop.window.chat.composer, "see you at sev")
    w = desktop.window

    def offer():
        return [b for b in w.findChildren(QPushButton, "handoffButton") if b.isVisible()]

    def cards():
        return [(c.title.text(), c.draft.text() if c.draft else "")
                for c in w.sidebar.handoff_cards if c.isVisible()]

    # The offer is rebuilt as the (debounced) draft arrives: wait for the final one: a
    # small banner with the chat, the device and the draft's start.
    qtbot.waitUntil(
        lambda: cards() == [("↪ bob · open on laptop", "Draft: “see you at sev”")]
        and w.bridge.handoffs()[0].draft == "see you at sev"
    )
    button = offer()[0]
    assert button.accessibleName() == "Continue the chat with bob (from laptop)"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert w.current == bob.node.user_id
    assert w.chat.composer.toPlainText() == "see you at sev"
    qtbot.waitUntil(lambda: not offer())  # taken
    # closing the chat there (the window closes) withdraws the offer on the laptop's side
    laptop.window.close()
    qtbot.waitUntil(lambda: not desktop.node.handoffs)


def test_a_handoff_offer_can_be_dismissed_and_fits_the_sidebar(kith_apps, qtbot, aw, tmp_path):
    desktop, laptop, bob = _two_devices(kith_apps, qtbot, aw, tmp_path)
    _open(qtbot, laptop.window, "bob")
    qtbot.keyClicks(laptop.window.chat.composer, "a long draft " * 20)
    w = desktop.window
    qtbot.waitUntil(lambda: len(w.sidebar.handoff_cards) == 1
                    and len(w.bridge.handoffs()[0].draft) > 200)
    card = w.sidebar.handoff_cards[0]
    qtbot.waitUntil(card.isVisible)
    for b in (card.continue_button, card.dismiss_button):  # nothing cut off
        assert card.rect().contains(b.geometry())
    assert card.width() <= w.sidebar.width()
    qtbot.mouseClick(card.dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.sidebar.handoff_cards)
    assert w.current is None  # dismissed, not taken


def test_per_user_settings_follow_me_to_my_other_device(kith_apps, qtbot, aw, tmp_path):
    desktop, laptop, _bob = _two_devices(kith_apps, qtbot, aw, tmp_path)
    dialog = desktop.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    dialog.receipts.setChecked(False)
    dialog.accept()
    qtbot.waitUntil(lambda: laptop.bridge.setting("read_receipts", True) is False)


def test_a_wrong_code_is_shown_on_both_devices_and_the_right_one_still_links(
        kith_apps, qtbot, aw, qloop, tmp_path):
    alice = kith_apps("alice", discovery=True)
    task, link = _wait_to_be_linked(qtbot, qloop, tmp_path / "laptop")
    code = link.code_label.text()
    # a typo in the last digit: the same device is found (same hint), the proof fails
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    devices = alice.window.open_devices()
    qtbot.waitUntil(devices.isVisible)
    qtbot.mouseClick(devices.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(devices.code, wrong)
    qtbot.mouseClick(devices.link_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "wrong code" in devices.status.text(), timeout=20000)
    assert devices.link_button.isEnabled() and devices.code.isEnabled()
    qtbot.waitUntil(lambda: "wrong code was typed" in link.status.text())
    assert "2 more tries" in link.status.text()
    assert not task.done() and [d.this_device for d in alice.node.devices()] == [True]
    # the right code, typed again on the same page, links
    devices.code.clear()
    qtbot.keyClicks(devices.code, code)
    qtbot.mouseClick(devices.link_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Linked" in devices.status.text(), timeout=20000)
    qtbot.waitUntil(task.done, timeout=20000)
    assert isinstance(task.result(), Linked)
    devices.close()


def test_a_contact_reached_through_my_other_device_is_not_offline(kith_apps, qtbot, aw, tmp_path):
    """The laptop has no session with bob, the desktop has: bob is online through the
    desktop (his messages arrive at once), and emoji verification says where to do it."""
    desktop, laptop, bob = _two_devices(kith_apps, qtbot, aw, tmp_path)
    assert not laptop.node.online(bob.node.user_id)
    w = laptop.window
    _open(qtbot, w, "bob")
    qtbot.waitUntil(lambda: "online through your" in w.chat.header.subtitle.text())
    assert "offline" not in w.chat.header.subtitle.text()
    conv = next(c for c in laptop.bridge.conversations() if c.user_id == bob.node.user_id)
    assert conv.online  # the sidebar's dot
    aw(bob.stop())
    qtbot.waitUntil(lambda: w.chat.header.subtitle.text().startswith("offline"))
