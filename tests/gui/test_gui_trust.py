"""Contact info: safety number grid, QR, verifying (never by one key press), SAS; the
key-change banner and the confirmation before a new key is taken as a known person's."""

from __future__ import annotations

import datetime

from chatkit import impostor_asking
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QMessageBox, QPushButton
from test_gui_chat import _activate, _buttons, _friends, _open

from kith.app.gui.convmodel import ConvRole
from kith.app.gui.trust import ContactInfoDialog, RestoreKeyDialog, SasDialog, TrustKeyDialog
from kith.p2p.fingerprint import format_safety_number


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


def _confirm_numbers(qtbot, dialog):
    qtbot.mouseClick(dialog.findChild(QPushButton, "markVerifiedButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.confirm is not None and dialog.confirm.isVisible())
    box = dialog.confirm
    qtbot.mouseClick(box.findChild(QPushButton, "confirmVerifiedButton"),
                     Qt.MouseButton.LeftButton)


def test_enter_never_verifies(kith_apps, qtbot, aw):
    """Ctrl+I then Enter (or Enter in the confirmation) leaves the contact unverified."""
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _open(qtbot, alice.window, "bob")
    _activate(qtbot, alice.window)
    qtbot.keyClick(alice.window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: alice.window.findChild(ContactInfoDialog) is not None)
    dialog = alice.window.findChild(ContactInfoDialog)
    qtbot.waitUntil(dialog.isVisible)
    mark = dialog.findChild(QPushButton, "markVerifiedButton")
    assert not mark.isDefault() and not mark.autoDefault() and not mark.hasFocus()
    assert dialog.findChild(QPushButton, "closeButton").isDefault()
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())  # Enter closed it
    assert not alice.node.contacts()[0].verified
    # Clicking the button asks; Enter there is "Cancel"
    dialog = alice.window.show_contact_info()
    qtbot.waitUntil(dialog.isVisible)
    qtbot.mouseClick(dialog.findChild(QPushButton, "markVerifiedButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.confirm is not None and dialog.confirm.isVisible())
    box: QMessageBox = dialog.confirm
    assert not box.findChild(QPushButton, "confirmVerifiedButton").isDefault()
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.confirm is None)
    assert not alice.node.contacts()[0].verified
    assert dialog.findChild(QLabel, "verificationState").text() == "Not verified yet."
    dialog.accept()


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
    _confirm_numbers(qtbot, dialog)
    qtbot.waitUntil(lambda: alice.window.conversations.index(0).data(ConvRole.Verified))
    state = dialog.findChild(QLabel, "verificationState").text()
    assert state == "✔ Verified: you compared the safety number."  # how, and only that
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
        assert not any(b.isDefault() for b in sas.findChildren(QPushButton))
        shown.append(sas.names())
        qtbot.mouseClick(sas.findChild(QPushButton, "sasMatchButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda m=me: m.window.conversations.index(0).data(ConvRole.Verified))
        assert dialog.findChild(QLabel, "verificationState").text() == \
            "✔ Verified: you compared the 7 emoji."
        dialog.accept()
    assert shown[0] == shown[1]


def _trust_dialog(qtbot, w) -> TrustKeyDialog:
    qtbot.mouseClick(w.chat.trust_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(isinstance(d, TrustKeyDialog) for d in w.dialogs))
    dialog = next(d for d in w.dialogs if isinstance(d, TrustKeyDialog))
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def _trust_through_dialog(qtbot, w, user):
    dialog = _trust_dialog(qtbot, w)
    assert w.bridge.contact(user).key_changed  # nothing happened yet
    sure = dialog.findChild(QCheckBox, "trustKeySure")
    if sure.isVisible():
        sure.setChecked(True)
    qtbot.mouseClick(dialog.findChild(QPushButton, "confirmTrustKeyButton"),
                     Qt.MouseButton.LeftButton)


def test_new_key_asks_first_and_compare_is_the_default(kith_apps, qtbot, aw, tmp_path):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    assert alice.node.verify("bob", alice.node.safety_number("bob"))
    w = alice.window
    with impostor_asking(aw, qtbot, tmp_path, alice) as impostor:
        qtbot.mouseClick(_buttons(w, "requestViewButton")[0], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        dialog = _trust_dialog(qtbot, w)
        text = dialog.findChild(QLabel, "trustKeyText").text()
        assert "old conversation stays" in text and "no longer verified" in text
        trust = dialog.findChild(QPushButton, "confirmTrustKeyButton")
        compare = dialog.findChild(QPushButton, "trustKeyCompareButton")
        assert compare.isDefault() and not trust.isDefault() and not trust.autoDefault()
        # the real bob is verified: a second, explicit confirmation is needed
        sure = dialog.findChild(QCheckBox, "trustKeySure")
        assert sure.isVisible() and not trust.isEnabled()
        sure.setChecked(True)
        assert trust.isEnabled()
        # Enter compares: the contact info of the new key, nothing trusted
        qtbot.keyClick(compare, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: any(isinstance(d, ContactInfoDialog) for d in w.dialogs))
        info = next(d for d in w.dialogs if isinstance(d, ContactInfoDialog))
        qtbot.waitUntil(info.isVisible)
        assert info.user == impostor.user_id
        assert w.bridge.contact(impostor.user_id).key_changed
        assert w.bridge.contact(bob.node.user_id).verified
        info.accept()
        # Cancel changes nothing either
        dialog = _trust_dialog(qtbot, w)
        qtbot.mouseClick(dialog.findChild(QPushButton, "cancelTrustKeyButton"),
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible())
        assert w.bridge.contact(impostor.user_id).key_changed
        assert w.chat.key_banner.isVisible()


def test_key_change_banner_blocks_sending(kith_apps, qtbot, aw, tmp_path):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    assert alice.node.verify("bob", alice.node.safety_number("bob"))
    w = alice.window
    with impostor_asking(aw, qtbot, tmp_path, alice) as impostor:  # same name, another key
        assert not _buttons(w, "acceptButton")  # no one-click accept for a changed key
        qtbot.mouseClick(_buttons(w, "requestViewButton")[0], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        assert w.chat.key_banner.isVisible()
        assert "not the bob you know" in w.chat.key_banner.label.text()
        assert not w.chat.composer.isEnabled() and not w.chat.send_button.isEnabled()
        w.send()  # Enter / Send do nothing while the banner is up
        assert not w.bridge.send_message(impostor.user_id, "hi")
        assert _message_count(w) == 0
        # the real bob keeps his conversation and his verified mark: a stranger using
        # his name changes nothing there
        assert [c.user_id for c in w.bridge.conversations()] == [bob.node.user_id]
        assert w.bridge.contact(bob.node.user_id).verified
        _trust_through_dialog(qtbot, w, impostor.user_id)
        qtbot.waitUntil(lambda: not w.chat.key_banner.isVisible())
        qtbot.waitUntil(w.chat.composer.isEnabled)  # trusted and accepted
        trusted = w.bridge.contact(impostor.user_id)
        assert trusted.state == "accepted" and not trusted.key_changed
        assert not trusted.verified  # trusting a new key is not verifying it
        assert "✔ verified" not in w.chat.header.subtitle.text()
        assert "not verified" in w.chat.header.subtitle.text()
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
        # the real bob is still online: the user is told that both keys talk to them
        assert "Both keys are active" in w.chat.replaced_banner.label.text()
        assert not w.chat.composer.isEnabled()
        qtbot.mouseClick(w.chat.open_new_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        assert w.chat.composer.isEnabled() and not w.chat.replaced_banner.isVisible()
        qtbot.keyClicks(w.chat.composer, "are you really bob")
        qtbot.keyClick(w.chat.composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: _message_count(w) == 1)


def test_going_back_to_the_old_key_asks_first(kith_apps, qtbot, aw, tmp_path):
    """Taking a new key can be undone from the old conversation, with the same care:
    Cancel is the default, and only an explicit click goes back."""
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    w = alice.window
    with impostor_asking(aw, qtbot, tmp_path, alice) as impostor:
        qtbot.mouseClick(_buttons(w, "requestViewButton")[0], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        _trust_through_dialog(qtbot, w, impostor.user_id)
        qtbot.waitUntil(lambda: w.bridge.contact(bob.node.user_id).replaced_by is not None)
        _open_user(qtbot, w, bob.node.user_id)
        qtbot.waitUntil(w.chat.restore_key_button.isVisible)

        def dialog() -> RestoreKeyDialog:
            qtbot.mouseClick(w.chat.restore_key_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: any(isinstance(d, RestoreKeyDialog) for d in w.dialogs))
            d = next(d for d in w.dialogs if isinstance(d, RestoreKeyDialog))
            qtbot.waitUntil(d.isVisible)
            return d

        d = dialog()
        restore = d.findChild(QPushButton, "confirmRestoreKeyButton")
        cancel = d.findChild(QPushButton, "cancelRestoreKeyButton")
        assert cancel.isDefault() and not restore.isDefault() and not restore.autoDefault()
        assert "not the bob you know" in d.findChild(QLabel, "restoreKeyText").text()
        qtbot.keyClick(cancel, Qt.Key.Key_Return)  # Enter cancels: nothing changes
        qtbot.waitUntil(lambda: not d.isVisible())
        assert w.bridge.contact(bob.node.user_id).replaced_by == impostor.user_id
        d = dialog()
        qtbot.mouseClick(d.findChild(QPushButton, "confirmRestoreKeyButton"),
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.bridge.contact(bob.node.user_id).replaced_by is None)
        assert w.bridge.contact(impostor.user_id).key_changed
        qtbot.waitUntil(w.chat.composer.isEnabled)  # the old chat takes messages again
        assert not w.chat.replaced_banner.isVisible()


def _message_count(w):
    from kith.app.gui.models import MsgRole

    m = w.messages
    return sum(1 for i in range(m.rowCount()) if not m.index(i).data(MsgRole.System))


def _system_lines(w):
    from kith.app.gui.models import MsgRole

    m = w.messages
    return [m.index(i).data(MsgRole.Text) for i in range(m.rowCount())
            if m.index(i).data(MsgRole.System)]


def test_trust_events_are_lines_in_the_chat(kith_apps, qtbot, aw, tmp_path):
    from kith.app.gui.models import MsgRole
    from kith.app.gui.timefmt import clock

    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    aw(bob.node.send_message("alice", "hi"))
    w = alice.window
    _open(qtbot, w, "bob")
    qtbot.waitUntil(lambda: w.messages.rowCount() == 1)
    dialog = _info(qtbot, w)
    _confirm_numbers(qtbot, dialog)
    qtbot.waitUntil(lambda: len(_system_lines(w)) == 1)
    [line] = _system_lines(w)
    assert line.startswith("✔ You marked bob as verified (safety number compared) · ")
    when = datetime.datetime.fromtimestamp(w.messages.row(1).time / 1000)
    assert line.endswith(f" · {clock(when)}")  # with the time
    qtbot.mouseClick(dialog.findChild(QPushButton, "markVerifiedButton"),
                     Qt.MouseButton.LeftButton)  # "Mark as unverified"
    qtbot.waitUntil(lambda: len(_system_lines(w)) == 2)
    assert _system_lines(w)[1].startswith("bob is no longer verified")
    dialog.accept()
    # they stay, after the message they followed, when the chat opens again
    w.messages.open(w.bridge.conv_for(bob.node.user_id), bob.node.user_id)
    texts = [w.messages.index(i).data(MsgRole.Text) for i in range(w.messages.rowCount())]
    assert texts[0] == "hi" and len(_system_lines(w)) == 2
    # a new key for bob: lines in both chats
    with impostor_asking(aw, qtbot, tmp_path, alice) as impostor:
        qtbot.mouseClick(_buttons(w, "requestViewButton")[0], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.current == impostor.user_id)
        qtbot.waitUntil(lambda: any("different key" in t for t in _system_lines(w)))
        _trust_through_dialog(qtbot, w, impostor.user_id)
        qtbot.waitUntil(lambda: any("You accepted this key as bob's" in t
                                    for t in _system_lines(w)))
        _open_user(qtbot, w, bob.node.user_id)
        qtbot.waitUntil(lambda: any("You took a new key as bob's" in t
                                    for t in _system_lines(w)))
