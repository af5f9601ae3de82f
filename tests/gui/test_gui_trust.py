"""Contact info: safety number grid, QR, Mark as verified, SAS; the key-change banner."""

from __future__ import annotations

from nodekit import make_node
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton
from test_gui_chat import _buttons, _friends, _open

from app.gui.dialogs import ContactInfoDialog, SasDialog
from app.gui.models import ConvRole
from p2p.fingerprint import format_safety_number


def _info(qtbot, window) -> ContactInfoDialog:
    qtbot.mouseClick(window.chat.header.info, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(ContactInfoDialog) is not None)
    dialog = window.findChild(ContactInfoDialog)
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def _open_user(qtbot, window, user):
    model = window.conversations
    row = next(i for i in range(model.rowCount()) if model.item(i).user_id == user)
    rect = window.sidebar.list.visualRect(model.index(row))
    qtbot.mouseClick(window.sidebar.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())
    qtbot.waitUntil(lambda: window.current == user)


def test_verify_by_safety_number(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    dialog = _info(qtbot, alice.window)
    groups = [dialog.findChild(QLabel, f"safetyGroup{i}").text() for i in range(12)]
    assert groups == format_safety_number(alice.node.safety_number("bob"))
    assert groups == format_safety_number(bob.node.safety_number("alice"))  # same both sides
    assert not dialog.findChild(QLabel, "safetyQr").pixmap().isNull()
    assert dialog.findChild(QLabel, "verificationState").text() == "Not verified yet."
    qtbot.mouseClick(dialog.findChild(QPushButton, "markVerifiedButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alice.window.conversations.index(0).data(ConvRole.Verified))
    assert "Verified" in dialog.findChild(QLabel, "verificationState").text()
    assert "verified" in alice.window.chat.header.subtitle.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc closes dialogs
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_verify_with_emoji_on_both_screens(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    shown = []
    for me, other in ((alice, "bob"), (bob, "alice")):
        _open(qtbot, me.window, other)
        dialog = _info(qtbot, me.window)
        button = dialog.findChild(QPushButton, "verifyEmojiButton")
        qtbot.waitUntil(button.isEnabled)  # online
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda d=dialog: d.sas_dialog is not None and d.sas_dialog.isVisible())
        sas: SasDialog = dialog.sas_dialog
        assert len(sas.names()) == 7
        shown.append(sas.names())
        qtbot.mouseClick(sas.findChild(QPushButton, "sasMatchButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda m=me: m.window.conversations.index(0).data(ConvRole.Verified))
        dialog.accept()
    assert shown[0] == shown[1]


def test_key_change_banner_blocks_sending(kith_apps, qtbot, aw, tmp_path):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    assert alice.node.verify("bob", alice.node.safety_number("bob"))
    impostor = make_node(tmp_path, "bob", profile="impostor")  # same name, another key
    aw(impostor.start())
    try:
        aw(impostor.connect("127.0.0.1", alice.node.port))
        aw(impostor.add_contact("alice"))
        w = alice.window
        qtbot.waitUntil(lambda: len(_buttons(w, "requestViewButton")) == 1)
        assert not _buttons(w, "acceptButton")  # no one-click accept for a changed key
        qtbot.mouseClick(_buttons(w, "requestViewButton")[0], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        assert w.chat.key_banner.isVisible()
        assert "not the bob you know" in w.chat.key_banner.label.text()
        assert not w.chat.composer.isEnabled() and not w.chat.send_button.isEnabled()
        w.send()  # Enter / Send do nothing while the banner is up
        assert not w.bridge.send_message(impostor.user_id, "hi")
        assert w.messages.rowCount() == 0
        # the real bob keeps his conversation and his verified mark: a stranger using
        # his name changes nothing there
        assert [c.user_id for c in w.bridge.conversations()] == [bob.node.user_id]
        assert w.bridge.contact(bob.node.user_id).verified
        qtbot.mouseClick(w.chat.trust_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not w.chat.key_banner.isVisible())
        qtbot.waitUntil(w.chat.composer.isEnabled)  # trusted and accepted
        trusted = w.bridge.contact(impostor.user_id)
        assert trusted.state == "accepted" and not trusted.key_changed
        assert not trusted.verified  # trusting a new key is not verifying it
        assert "verified" not in w.chat.header.subtitle.text()
        # Taken as bob's new key, the old one loses its mark: what was verified is gone.
        qtbot.waitUntil(lambda: not w.bridge.contact(bob.node.user_id).verified)
        def old(role):
            row = next(i for i in range(w.conversations.rowCount())
                       if w.conversations.item(i).user_id == bob.node.user_id)
            return w.conversations.index(row).data(role)

        qtbot.waitUntil(lambda: "new one" in old(ConvRole.Preview))
        assert not old(ConvRole.Verified)
        # The old conversation stays for its history; writing happens in the new one.
        _open_user(qtbot, w, bob.node.user_id)
        assert w.chat.replaced_banner.isVisible()
        assert not w.chat.composer.isEnabled()
        qtbot.mouseClick(w.chat.open_new_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        assert w.chat.composer.isEnabled() and not w.chat.replaced_banner.isVisible()
        qtbot.keyClicks(w.chat.composer, "are you really bob")
        qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: w.messages.rowCount() == 1)
    finally:
        aw(impostor.stop())
