"""A user's own devices in one process over loopback: shared history both ways, relay,
contact state and settings between devices, removal, interrupted sync."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from nodekit import add_device, befriend, until

from kith.p2p.errors import UserError
from kith.p2p.events import direct_conversation
from kith.storage import STATUS_DELIVERED, STATUS_READ


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


async def test_read_state_follows_between_devices_with_read_receipts_off(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await link_laptop(nodes, tmp_path, desktop)
    await laptop.connect("127.0.0.1", bob.port)
    laptop.set_setting("read_receipts", False)
    await until(lambda: desktop.db.get_setting("read_receipts", True) is False, desktop, laptop)
    conv = direct_conversation(desktop.user_id, bob.user_id)

    asked = await bob.send_message("alice", "read this on one device")
    for node in (desktop, laptop):
        await until(lambda n=node: n.db.unread_count(conv) == 1, node, bob)
    await laptop.mark_read(bob.user_id)
    # Read on the laptop is read on the desktop too...
    await until(lambda: desktop.db.unread_count(conv) == 0, desktop, laptop)
    assert desktop.history("bob")[-1].status_name == "read"
    # ...and bob is not told: a later message in the same log reaches him after any
    # receipt written before it, and his message is still only delivered.
    later = await laptop.send_message("bob", "sent after reading")
    assert await laptop.wait_status(later, STATUS_DELIVERED, 5)
    await until(lambda: texts(bob, "alice")[-1] == ("sent after reading", False), bob)
    assert bob.history("alice")[0].status_name == "delivered"
    assert bob.db.mark(asked.conv, asked.author)[1] == 0


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
    alice_user = bob.contacts()[0].user_id
    await until(lambda: bob.core.devices.is_revoked(laptop_id, alice_user), bob, desktop)

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
    from kith.p2p.discovery import PeerAdvert

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
    laptop.net.remember_manual("127.0.0.1", dead_port, None)
    with contextlib.suppress(UserError):
        await laptop.connect("127.0.0.1", desktop.port, timeout=3)
    await until(lambda: laptop.removed, laptop, timeout=10)
    dials = [t for t in laptop.core.tasks if t.get_name().startswith("kith-dial-")]
    assert dials
    await asyncio.wait_for(asyncio.gather(*dials, return_exceptions=True), 5)  # they end
    with pytest.raises(UserError, match="this device was removed"):
        laptop.queue_message(bob.user_id, "after removal")
    with pytest.raises(UserError, match="this device was removed"):
        await laptop.add_contact("bob")

    # Peers do not dial an advert of a removed device.
    desktop.net.on_advert(PeerAdvert(
        "kith-laptop", laptop.device_id.hex(), "alice", ("127.0.0.1",), laptop.port, 1
    ))
    known = desktop.net.peers.get(laptop.device_id)
    assert known is None or (known.instance is None and not known.dialing)


def receipts_by(node, author_device, conv):
    """(status, acknowledged author, seq) of every receipt event ``author_device`` wrote in
    ``conv``, as stored on ``node``."""
    from eventkit import body_of

    from kith.p2p import events as ev

    out = []
    for head, data in node.db.execute(
        "SELECT head, body FROM events WHERE conv = ? AND author = ? AND kind = 'receipt' "
        "ORDER BY seq",
        (conv, author_device),
    ):
        body = body_of(ev.decode(head, data))
        out.append((body.status, body.author, body.seq))
    return out


async def test_history_from_my_own_device_is_not_acknowledged_again(nodes, tmp_path):
    """Regression: a newly linked device wrote delivery receipts for every batch of the
    history it got from my other device (which had acknowledged it already), and those
    receipts then replicated to bob and to all my devices."""
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    total = 3000  # several batches on the way to the laptop
    for i in range(total):
        bob.queue_message(desktop.user_id, f"old {i}")
    await bob.flush()
    conv = direct_conversation(desktop.user_id, bob.user_id)
    last = bob.db.vector(conv)[bob.device_id]  # (bob's log also holds his accept)
    await until(
        lambda: bob.db.mark(conv, bob.device_id)[0] == last, bob, desktop, timeout=20
    )  # bob sees all of them delivered (acknowledged by the desktop)

    laptop = await link_laptop(nodes, tmp_path, desktop)
    await until(lambda: laptop.db.count_messages(conv) == total, laptop, desktop, timeout=20)
    await until(lambda: laptop.db.vector(conv) == desktop.db.vector(conv), laptop, desktop)
    await laptop.flush()
    assert receipts_by(laptop, laptop.device_id, conv) == []
    assert laptop.db.vector(conv).get(laptop.device_id) is None  # nothing of its own at all
    # The desktop's receipts came along: the laptop knows bob's messages were delivered.
    assert receipts_by(laptop, desktop.device_id, conv)[-1][1:] == (bob.device_id, last)
    # Bob's view is unchanged: every message delivered, no event from the laptop.
    assert bob.db.mark(conv, bob.device_id)[0] == last
    assert [m.status_name for m in bob.history("alice", limit=total)] == ["delivered"] * total
    assert bob.db.vector(conv).get(laptop.device_id) is None

    # A message bob sends while the laptop is connected to him too is acknowledged by
    # whichever device gets it from bob; the one that gets it relayed does not ack it.
    await laptop.connect("127.0.0.1", bob.port)
    row = await bob.send_message("alice", "live")
    assert await bob.wait_status(row, STATUS_DELIVERED, 5)
    for node in (laptop, desktop):
        await until(lambda n=node: texts(n, "bob")[-1] == ("live", False), node, bob)
    await laptop.flush()
    await desktop.flush()
    acks = [
        d for d in (laptop, desktop)
        if any(seq == row.seq for _, _, seq in receipts_by(d, d.device_id, conv))
    ]
    assert acks, "nobody acknowledged bob's live message"


async def test_a_delivery_receipt_is_stored_with_the_messages_it_acknowledges(nodes):
    """Crash safety: when bob's messages are on alice's disk, so is her receipt for them
    (one transaction), so a crash right after cannot leave them unacknowledged for ever
    (bob would have no reason to send them again)."""
    from kith.p2p.node import MessagesAdded

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    conv = direct_conversation(alice.user_id, bob.user_id)
    on_disk: list[tuple[int, list]] = []

    def on(e):  # runs right after the batch was committed
        if isinstance(e, MessagesAdded) and not e.messages[0].outgoing:
            on_disk.append((e.messages[-1].seq, receipts_by(alice, alice.device_id, conv)))

    alice.subscribe(on)
    sent = [bob.queue_message(alice.user_id, f"m{i}") for i in range(3)]
    await bob.flush()
    await until(lambda: on_disk and on_disk[-1][0] == sent[-1].seq, alice, bob)
    for seq, receipts in on_disk:
        assert ("delivered", bob.device_id, seq) in receipts


async def test_a_removed_device_withdraws_its_advert_and_stops_listening(
    nodes, tmp_path, mdns_isolated
):
    """Regression: a device that learnt it was removed still advertised itself over mDNS
    and accepted connections. A bystander's zeroconf browser on 127.0.0.1 watches."""
    import os

    from kith.p2p.discovery import Discovery

    found: dict[str, str] = {}  # instance -> device id hex, while advertised
    changed = asyncio.Event()

    def on_found(advert):
        found[advert.instance] = advert.device_hint
        changed.set()

    def on_lost(instance):
        found.pop(instance, None)
        changed.set()

    async def wait_for(pred):
        async def wait():
            while not pred():
                changed.clear()
                await changed.wait()

        await asyncio.wait_for(wait(), 15)

    watcher = Discovery(
        device_id_hex=os.urandom(32).hex(), port=9, name=None, interfaces=["127.0.0.1"],
        on_found=on_found, on_lost=on_lost, probe=False, multicast_queries=True,
    )
    await watcher.start()
    try:
        desktop = await nodes("alice")
        laptop = await nodes(
            "alice", profile=add_device(tmp_path, "alice", "laptop"), discovery=True
        )
        await wait_for(lambda: laptop.device_id.hex() in found.values())
        await laptop.connect("127.0.0.1", desktop.port)
        await until(lambda: desktop.online_device(laptop.device_id), desktop, laptop)

        await desktop.remove_device("laptop")  # the laptop is told at once
        await until(lambda: laptop.removed, laptop)
        await wait_for(lambda: laptop.device_id.hex() not in found.values())  # goodbye
        await until(lambda: laptop.peers() == [], laptop)  # (it saw the watcher's advert)
        with pytest.raises(ConnectionRefusedError):  # nobody listens there any more
            await asyncio.open_connection("127.0.0.1", laptop.port)
        with pytest.raises(UserError, match="this device was removed.*link it anew"):
            await laptop.connect("127.0.0.1", desktop.port)
        await laptop.start_discovery()  # (the app starts discovery late: not any more)
        assert laptop.net.discovery is None

        # Started again, it stays off the network from the start.
        await nodes.stop(laptop)
        laptop = await nodes("alice", profile="laptop", discovery=True)
        assert laptop.removed and laptop.port == 0 and laptop.net.discovery is None
        await laptop.start_discovery()
        assert laptop.net.discovery is None
        assert [d.removed for d in laptop.devices() if d.this_device] == [True]
    finally:
        await watcher.stop()


async def test_peers_lists_one_row_per_person_with_all_their_devices(nodes, tmp_path):
    """Bob sees one alice in `kith peers` (issue "Bob sees one Alice"), with her devices
    in ``devices``; alice does not list her own devices as people to add."""
    from kith.p2p import commands

    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await link_laptop(nodes, tmp_path, desktop)
    await laptop.connect("127.0.0.1", bob.port)
    await until(lambda: bob.online_device(laptop.device_id), bob, laptop)

    rows = await commands.run(bob, "peers", {})
    assert [(r["name"], r["user_id"]) for r in rows] == [("alice", desktop.user_id.hex())]
    [alice] = rows
    assert sorted(alice["devices"]) == sorted([desktop.device_id.hex(), laptop.device_id.hex()])
    assert alice["device_id"] in alice["devices"]
    assert set(alice) >= {"name", "user_id", "device_id", "addresses", "contact", "key_changed"}
    assert (alice["contact"], alice["key_changed"], alice["connected"]) == (
        "accepted", False, True
    )
    assert len(alice["addresses"]) == 2  # one per device
    assert len(bob.peers()) == 2  # the per-device view stays (the app uses it)

    # Alice's devices list bob, not each other.
    for node in (desktop, laptop):
        rows = await commands.run(node, "peers", {})
        assert [(r["name"], r["devices"]) for r in rows] == [("bob", [bob.device_id.hex()])]


async def test_a_confirmed_new_key_follows_to_my_other_device(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await link_laptop(nodes, tmp_path, desktop)
    await until(lambda: [c.state for c in laptop.contacts()] == ["accepted"], laptop, desktop)
    reinstalled = await nodes("bob", profile="bob-reinstalled")  # same name, new key
    await reinstalled.connect("127.0.0.1", desktop.port)
    await reinstalled.add_contact(desktop.user_id.hex())
    await until(lambda: len(desktop.contacts()) == 2, desktop, reinstalled)
    await desktop.accept_contact(reinstalled.user_id.hex(), trust_new_key=True)

    def old_bob_on_laptop():
        return next((c for c in laptop.contacts() if c.user_id == bob.user_id), None)

    await until(lambda: old_bob_on_laptop().replaced_by == reinstalled.user_id, laptop, desktop)
    assert laptop.resolve("bob")[0] == reinstalled.user_id

    # Going back to the old key (it was someone else after all) follows too: the new key
    # is "not the bob you know" again and the old chat takes messages, on both devices.
    assert desktop.restore_old_key(bob.user_id) == reinstalled.user_id

    def new_bob(node):
        return next(c for c in node.contacts() if c.user_id == reinstalled.user_id)

    await until(lambda: old_bob_on_laptop().replaced_by is None, laptop, desktop)
    for node in (desktop, laptop):
        assert new_bob(node).key_changed
        node.queue_message(bob.user_id, "to the old key again")  # allowed again
        with pytest.raises(UserError, match="different identity key|not the"):
            node.queue_message(reinstalled.user_id, "to the new key")
    with pytest.raises(UserError, match="not been replaced"):
        desktop.restore_old_key(bob.user_id)
