"""Reaching another device by hand: Connect by address shows this device's addresses;
Add a device acts on Enter, and its results show where the user is."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from kith.app.gui.dialogs import AddByAddressDialog


def test_connect_by_address_shows_my_address_and_copies_it(kith_apps, qtbot):
    alice = kith_apps("alice")
    w = alice.window
    mine = f"127.0.0.1:{alice.node.port}"
    assert w.bridge.my_addresses() == [mine]
    qtbot.mouseClick(w.sidebar.add_address, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(isinstance(d, AddByAddressDialog) for d in w.dialogs))
    dialog = next(d for d in w.dialogs if isinstance(d, AddByAddressDialog))
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.findChild(QLabel, "myAddresses").text() == mine
    assert "127.0.0.1:7000" in dialog.address.placeholderText()
    qtbot.mouseClick(dialog.mine.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == mine
    dialog.reject()
    settings = w.open_settings()
    qtbot.waitUntil(settings.isVisible)
    assert settings.findChild(QLabel, "myAddresses").text() == mine
    settings.reject()


def _add_page(qtbot, w):
    devices = w.open_devices()
    qtbot.waitUntil(devices.isVisible)
    qtbot.mouseClick(devices.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: devices.pages.currentIndex() == 1)
    return devices


def test_enter_in_the_code_field_links_and_stays_on_the_page(kith_apps, qtbot):
    alice = kith_apps("alice")
    devices = _add_page(qtbot, alice.window)
    assert "123-456-789" in devices.code.placeholderText()  # the real format
    qtbot.keyClicks(devices.code, "12345")
    qtbot.keyClick(devices.code, Qt.Key.Key_Return)
    assert devices.pages.currentIndex() == 1 and devices.isVisible()
    assert "nine digits" in devices.status.text()
    devices.close()


def test_a_result_shows_on_the_page_the_user_went_back_to(kith_apps, qtbot, monkeypatch):
    alice = kith_apps("alice")
    devices = _add_page(qtbot, alice.window)
    # The search for the code runs for real, once the user has gone back (not its 10 s
    # by the clock: what counts here is where its result shows).
    went_back = asyncio.Event()
    devices.back_button.clicked.connect(went_back.set)
    search = alice.node.link_device

    async def link_once_back(code: str, **kw: object) -> object:
        await went_back.wait()
        return await search(code, wait=0.05)

    monkeypatch.setattr(alice.node, "link_device", link_once_back)
    qtbot.keyClicks(devices.code, "123-456-789")  # nobody shows it
    qtbot.keyClick(devices.code, Qt.Key.Key_Return)
    assert devices.pages.currentIndex() == 1
    qtbot.waitUntil(devices.progress.isVisible)
    qtbot.mouseClick(devices.back_button, Qt.MouseButton.LeftButton)  # back to the list
    assert devices.pages.currentIndex() == 0
    qtbot.waitUntil(devices.list_status.isVisible, timeout=30000)
    text = devices.list_status.text()
    assert "No new device showing this code" in text
    assert "kith" not in text  # the other device's screen, not a command
    devices.close()
