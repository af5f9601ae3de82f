"""A user's own devices in one process over loopback: shared history both ways, relay,
contact state and settings between devices, removal, interrupted sync."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from nodekit import add_device, befriend, until

from p2p.errors import UserError
from p2p.events import direct_conversation
from storage import STATUS_DELIVERED, STATUS_READ


def texts(node, peer):
    return [(m.text, m.outgoing) for m in node.history(peer, limit=1000)]


async def link_laptop(nodes, tmp_path, desktop):
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    return laptop


async def test_both_devices_share_every_message_and_contacts(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    row = await desktop.send_message("bob", "from the desktop")
    assert await desktop.wait_status(row, STATUS_DELIVERED, 5)
    assert desktop.verify("bob", desktop.safety_number("bob"))

    laptop = await link_laptop(nodes, tmp_path, desktop)
    assert laptop.user_id == desktop.user_id and laptop.device_id != desktop.device_id
    # Contacts and verification marks come over from the desktop (roster events)...
    await until(
        lambda: [(c.name, c.state, c.verified) for c in laptop.contacts()]
        == [("bob", "accepted", True)],
        laptop, desktop,
    )
    # ...and so does the history, as outgoing messages with their delivery state.
    await until(lambda: texts(laptop, "bob") == [("from the desktop", True)], laptop, desktop)
    [m] = laptop.history("bob")
    assert m.status_name == "delivered" and m.sender == laptop.user_id
    # Bob's safety number with alice is the same from either of her devices.
    assert laptop.safety_number("bob") == desktop.safety_number("bob") == bob.safety_number("alice")

    # The laptop writes to bob directly; the desktop gets it as outgoing.
    await laptop.connect("127.0.0.1", bob.port)
    row = await laptop.send_message("bob", "from the laptop")
    assert await laptop.wait_status(row, STATUS_DELIVERED, 5)
    await until(
        lambda: texts(desktop, "bob") == [("from the desktop", True), ("from the laptop", True)],
        desktop, laptop,
    )
    await until(lambda: desktop.history("bob")[-1].status_name == "delivered", desktop, bob)
    # Bob sees one alice.
    assert [c.user_id for c in bob.contacts()] == [desktop.user_id]
    assert [(m.text, m.outgoing) for m in bob.history("alice")] == [
        ("from the desktop", False), ("from the laptop", False),
    ]

    # Bob answers: both of alice's devices get it; reading on one marks it read on both.
    answer = await bob.send_message("alice", "hi both")
    for node in (desktop, laptop):
        await until(lambda n=node: texts(n, "bob")[-1] == ("hi both", False), node, bob)
    await laptop.mark_read(bob.user_id)
    assert await bob.wait_status(answer, STATUS_READ, 5)
    await until(lambda: desktop.history("bob")[-1].status_name == "read", desktop, laptop)
    conv = direct_conversation(desktop.user_id, bob.user_id)
    assert desktop.db.unread_count(conv) == 0


async def test_settings_and_contact_changes_follow_between_devices(nodes, tmp_path):
    desktop, carol = await nodes("alice"), await nodes("carol")
    laptop = await link_laptop(nodes, tmp_path, desktop)
    laptop.set_setting("read_receipts", False)
    await until(lambda: desktop.db.get_setting("read_receipts", True) is False, desktop, laptop)
    laptop.set_setting("theme", "dark")  # a device setting stays on the device
    await laptop.flush()
    # A contact request accepted on the desktop shows as accepted on the laptop.
    await carol.connect("127.0.0.1", desktop.port)
    await carol.add_contact("alice")
    await until(lambda: [c.state for c in laptop.contacts()] == ["pending_in"], laptop, desktop)
    await desktop.accept_contact("carol")
    await until(lambda: [c.state for c in laptop.contacts()] == ["accepted"], laptop, desktop)
    assert desktop.db.get_setting("theme") is None


async def test_relay_a_message_from_the_desktop_after_bob_left(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await link_laptop(nodes, tmp_path, desktop)
    await until(lambda: [c.state for c in laptop.contacts()] == ["accepted"], laptop, desktop)
    await nodes.stop(laptop)

    row = await bob.send_message("alice", "only the desktop is on")
    assert await bob.wait_status(row, STATUS_DELIVERED, 5)
    await nodes.stop(bob)

    laptop = await nodes("alice", profile="laptop")
    await laptop.connect("127.0.0.1", desktop.port)
    await until(lambda: texts(laptop, "bob") == [("only the desktop is on", False)], laptop)
    [m] = laptop.history("bob")
    assert m.sender == bob.user_id and m.status_name == "received"


async def test_removed_device_is_refused_and_told(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await link_laptop(nodes, tmp_path, desktop)
    await until(lambda: [c.state for c in laptop.contacts()] == ["accepted"], laptop, desktop)
    laptop_id = laptop.device_id
    await nodes.stop(laptop)
    with pytest.raises(UserError, match="this is the device you are using"):
        await desktop.remove_device(desktop.device_id.hex())
    info = await desktop.remove_device("laptop")
    assert info.removed and not info.this_device
    # Bob learns it from the desktop.
    await until(lambda: bob._is_revoked(laptop_id, bob.contacts()[0].user_id), bob, desktop)

    # The laptop, unaware, writes while offline, then meets bob: refused and told.
    laptop = await nodes("alice", profile="laptop")
    assert not laptop.removed
    laptop.queue_message(bob.user_id, "written after removal")
    await laptop.flush()
    with contextlib.suppress(UserError):  # refused right after the handshake
        await laptop.connect("127.0.0.1", bob.port, timeout=3)
    await until(lambda: laptop.removed, laptop, timeout=10)
    assert [d.removed for d in laptop.devices() if d.this_device] == [True]
    assert "written after removal" not in [m.text for m in bob.history("alice")]
    assert not bob.online_device(laptop_id)
    # The desktop refuses it too, and lists it as removed.
    assert [(d.name, d.removed) for d in desktop.devices()] == [("alice", False), ("laptop", True)]


async def test_interrupted_history_sync_resumes_without_duplicates(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    await nodes.stop(bob)
    total = 20000
    for i in range(total):
        desktop.queue_message(bob.user_id, f"message {i}")
    await desktop.flush()
    conv = direct_conversation(desktop.user_id, bob.user_id)
    laptop = await link_laptop(nodes, tmp_path, desktop)
    await until(lambda: laptop.db.count_messages(conv) > 0, laptop, timeout=20)
    got = laptop.db.count_messages(conv)
    assert 0 < got < total, "the sync finished before it could be interrupted"
    await nodes.stop(laptop)

    laptop = await nodes("alice", profile="laptop")
    await laptop.connect("127.0.0.1", desktop.port)
    await until(lambda: laptop.db.count_messages(conv) == total, laptop, timeout=30)
    [(n, distinct)] = laptop.db.execute(
        "SELECT count(*), count(DISTINCT event_id) FROM messages WHERE conv = ?", (conv,)
    )
    assert n == distinct == total
    assert laptop.db.vector(conv) == desktop.db.vector(conv)


async def test_removed_device_stops_dialling_refuses_to_write_and_is_not_dialled(nodes, tmp_path):
    """Regression (e2e "My devices"): a removed device kept redialling its old peers and
    queued messages nobody would take ("sending" forever); its peers dialled its advert."""
    from p2p.discovery import PeerAdvert

    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await link_laptop(nodes, tmp_path, desktop)
    await until(lambda: [c.state for c in laptop.contacts()] == ["accepted"], laptop, desktop)
    await nodes.stop(laptop)
    await desktop.remove_device("laptop")

    laptop = await nodes("alice", profile="laptop")
    with socket.socket() as s:  # a port nobody listens on: that dial retries with backoff
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    laptop._remember_manual("127.0.0.1", dead_port, None)
    with contextlib.suppress(UserError):
        await laptop.connect("127.0.0.1", desktop.port, timeout=3)
    await until(lambda: laptop.removed, laptop, timeout=10)
    dials = [t for t in laptop._tasks if t.get_name().startswith("kith-dial-")]
    assert dials
    await asyncio.wait_for(asyncio.gather(*dials, return_exceptions=True), 5)  # they end
    with pytest.raises(UserError, match="this device was removed"):
        laptop.queue_message(bob.user_id, "after removal")
    with pytest.raises(UserError, match="this device was removed"):
        await laptop.add_contact("bob")

    # Peers do not dial an advert of a removed device.
    desktop._on_advert(PeerAdvert(
        "kith-laptop", laptop.device_id.hex(), "alice", ("127.0.0.1",), laptop.port, 1
    ))
    known = desktop._peers.get(laptop.device_id)
    assert known is None or (known.instance is None and not known.dialing)
