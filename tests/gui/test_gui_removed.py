"""A device removed by another of mine says so for good and stops offering to send."""

from __future__ import annotations

from test_gui_chat import _open
from test_gui_devices import _two_devices

from kith.app.gui.models import MsgRole


def test_removed_device_shows_a_banner_and_cannot_send(kith_apps, qtbot, aw, tmp_path):
    desktop, laptop, bob = _two_devices(kith_apps, qtbot, aw, tmp_path)
    w = laptop.window
    _open(qtbot, w, "bob")
    assert w.chat.composer.isEnabled()
    assert not w.removed_banner.isVisible()
    laptop.node.queue_message(bob.node.user_id, "before the removal")
    qtbot.waitUntil(lambda: w.messages.rowCount() == 1)

    aw(desktop.node.remove_device("laptop"))
    qtbot.waitUntil(lambda: laptop.node.removed, timeout=10000)
    qtbot.waitUntil(w.removed_banner.isVisible)
    assert "removed from alice's devices" in w.removed_banner.label.text()
    assert "link it anew" in w.removed_banner.label.text()
    assert not w.chat.composer.isEnabled()
    assert not w.chat.send_button.isEnabled()
    assert not w.sidebar.new_chat_button.isEnabled()
    assert w.messages.index(0).data(MsgRole.Text) == "before the removal"  # still readable
    assert w.conversations.rowCount() == 1
