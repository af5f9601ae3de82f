"""The sidebar's Nearby section: one entry per person, whatever their devices, never me."""

from __future__ import annotations

import os
from types import SimpleNamespace

from nodekit import add_device, make_node
from PySide6.QtWidgets import QLabel, QPushButton
from versionkit import dial_as_version

from kith.app.gui.bridge import Bridge
from kith.p2p.node import PeerInfo


def _peer(name, user, *, connected=True, contact=None, key_changed=False, address="10.0.0.1:1"):
    return PeerInfo(name=name, user_id=user, device_id=os.urandom(32), addresses=[address],
                    contact=contact, key_changed=key_changed, connected=connected)


def test_nearby_merges_devices_per_person():
    me, bob, carol, dave = (os.urandom(32) for _ in range(4))
    peers = [
        _peer("bob", bob, connected=False, address="10.0.0.2:1"),  # desktop, seen, not live
        _peer("bob", bob, connected=True, address="10.0.0.3:1"),  # laptop, connected
        _peer("alice", me),  # my own laptop: not someone to add
        _peer("carol", carol, contact="accepted"),  # already a contact
        _peer("", None),  # a device that has not said who it is yet
        _peer("dave", dave),
        _peer("dave", dave, key_changed=True),
    ]
    bridge = Bridge(SimpleNamespace(user_id=me, peers=lambda: list(peers)))
    nearby = bridge.nearby()
    assert [(p.name, p.user_id) for p in nearby] == [("bob", bob), ("dave", dave)]
    bob_entry, dave_entry = nearby
    assert bob_entry.connected  # connected through the laptop
    assert sorted(bob_entry.addresses) == ["10.0.0.2:1", "10.0.0.3:1"]
    assert dave_entry.key_changed  # a warning on any device is a warning for the person


def test_sidebar_shows_a_person_with_two_devices_once(kith_apps, qtbot, aw, tmp_path):
    alice = kith_apps("alice")
    others = [
        make_node(tmp_path, "bob"),
        make_node(tmp_path, "bob", profile=add_device(tmp_path, "bob", "bob-laptop")),
        make_node(tmp_path, "alice", profile=add_device(tmp_path, "alice", "alice-laptop")),
    ]
    try:
        for node in others:
            aw(node.start())
            aw(node.connect("127.0.0.1", alice.node.port))
        qtbot.waitUntil(lambda: sum(p.connected for p in alice.node.peers()) == 3)
        sidebar = alice.window.sidebar
        # the sidebar refreshes on the loop turn after the peers changed
        qtbot.waitUntil(lambda: [r.name.text() for r in sidebar.nearby_rows] == ["bob"])
        note = sidebar.nearby_rows[0].findChild(QLabel, "personNote")
        assert note.text() == "connected"
        assert not sidebar.nearby_empty.isVisible()
    finally:
        for node in others:
            aw(node.stop())


def test_discovery_starts_once_the_window_is_up(kith_apps, qtbot):
    alice = kith_apps("alice", discovery=True)
    bob = kith_apps("bob", discovery=True)
    qtbot.waitUntil(lambda: alice.background_started and bob.background_started)
    sidebar = alice.window.sidebar
    qtbot.waitUntil(lambda: [r.name.text() for r in sidebar.nearby_rows] == ["bob"],
                    timeout=15000)


def test_a_peer_of_another_version_shows_why_in_nearby(kith_apps, qtbot, aw):
    """Someone nearby runs another version of Kith: Nearby says so (and offers no Add)."""
    alice = kith_apps("alice")
    w = alice.window
    w.show()
    assert aw(dial_as_version(alice.node.port, "oldbob", 1)) == [
        "protocol version 2 here, 1 there: update Kith"]
    qtbot.waitUntil(lambda: any(r.objectName() == "nearbyProblemRow"
                                for r in w.sidebar.nearby_rows), timeout=10000)
    row = next(r for r in w.sidebar.nearby_rows if r.objectName() == "nearbyProblemRow")
    assert "older version of Kith" in row.toolTip()
    assert not row.findChildren(QPushButton)
