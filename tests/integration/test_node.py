"""Several nodes in one process over loopback: contacts, chat, receipts, offline delivery,
restart, key change, tie-break."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from nodekit import befriend, until

from kith.p2p.errors import UserError
from kith.p2p.events import direct_conversation
from kith.storage import STATUS_DELIVERED, STATUS_READ


async def test_request_accept_chat_and_receipts(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await alice.connect("127.0.0.1", bob.port)
    assert [p.name for p in alice.peers()] == ["bob"]
    await alice.add_contact("bob")
    await until(lambda: [c.state for c in bob.contacts()] == ["pending_in"], alice, bob)
    assert [c.state for c in alice.contacts()] == ["pending_out"]
    with pytest.raises(UserError, match="not a contact yet"):
        await alice.send_message("bob", "too early")
    await bob.accept_contact("alice")
    await until(lambda: alice.contacts()[0].state == "accepted", alice, bob)

    row = await alice.send_message("bob", "hello bob")
    assert row.status_name == "sending"
    assert await alice.wait_status(row, STATUS_DELIVERED, 5)
    assert [(m.text, m.status_name) for m in bob.history("alice")] == [("hello bob", "received")]
    row2 = await bob.send_message("alice", "hi alice")
    assert await bob.wait_status(row2, STATUS_DELIVERED, 5)
    assert [m.text for m in alice.history("bob")] == ["hello bob", "hi alice"]
    # Same order on both sides.
    assert [m.event_id for m in alice.history("bob")] == [m.event_id for m in bob.history("alice")]

    # Read receipts.
    await bob.mark_read(alice.user_id)
    assert await alice.wait_status(row, STATUS_READ, 5)
    assert bob.db.unread_count(direct_conversation(alice.user_id, bob.user_id)) == 0


async def test_safety_number_sas_and_verify(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    number = alice.safety_number("bob")
    assert number == bob.safety_number("alice") and len(number) == 60 and number.isdigit()
    assert alice.sas("bob") == bob.sas("alice") and len(alice.sas("bob")) == 7
    wrong = ("1" if number[0] != "1" else "2") + number[1:]
    assert not alice.verify("bob", wrong)
    assert not alice.contacts()[0].verified
    assert alice.verify("bob", " ".join(number[i : i + 5] for i in range(0, 60, 5)))
    assert alice.contacts()[0].verified


async def test_offline_delivery_when_peer_returns(nodes, tmp_path):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    port = bob.port
    await nodes.stop(bob)
    await until(lambda: not alice.online(bob.user_id), alice)
    rows = [await alice.send_message("bob", f"while you were out {i}") for i in range(3)]
    assert all(r.status_name == "sending" for r in rows)
    bob = await nodes("bob", port=port)  # same profile, same address: alice redials
    assert await alice.wait_status(rows[-1], STATUS_DELIVERED, 10)
    assert [m.text for m in bob.history("alice")] == [f"while you were out {i}" for i in range(3)]


async def test_restart_keeps_history_contacts_and_trust(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    row = await alice.send_message("bob", "remember me")
    assert await alice.wait_status(row, STATUS_DELIVERED, 5)
    assert alice.verify("bob", alice.safety_number("bob"))
    await nodes.stop(alice)
    alice = await nodes("alice")
    c = alice.contacts()[0]
    assert (c.name, c.state, c.verified) == ("bob", "accepted", True)
    [m] = alice.history("bob")
    assert (m.text, m.status_name) == ("remember me", "delivered")
    # The chain continues where it stopped: a new message after restart is accepted.
    await alice.connect("127.0.0.1", bob.port)
    row = await alice.send_message("bob", "back again")
    assert await alice.wait_status(row, STATUS_DELIVERED, 5)
    assert [m.text for m in bob.history("alice")] == ["remember me", "back again"]


async def test_impostor_with_a_contacts_name_is_flagged_and_gets_nothing(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    mallory = await nodes("bob", profile="mallory")  # same display name, other key
    await alice.connect("127.0.0.1", mallory.port)
    [impostor] = [p for p in alice.peers() if p.user_id == mallory.user_id]
    assert impostor.key_changed and impostor.name == "bob"
    # "bob" still means the contact alice knows, not the newcomer with the same name.
    assert alice.resolve("bob")[0] == bob.user_id
    with pytest.raises(UserError, match="already a contact"):
        await alice.add_contact("bob")
    with pytest.raises(UserError, match="different identity key"):
        await alice.add_contact(mallory.user_id.hex())
    assert mallory.contacts() == []

    await until(lambda: mallory.online(alice.user_id), alice, mallory)
    # Mallory asks alice: the request is flagged and cannot be accepted by accident.
    await mallory.add_contact(alice.user_id.hex())
    await until(lambda: len(alice.contacts()) == 2, alice, mallory)
    flagged = [c for c in alice.contacts() if c.user_id == mallory.user_id][0]
    assert flagged.state == "pending_in" and flagged.key_changed
    with pytest.raises(UserError, match="different identity key"):
        await alice.accept_contact(mallory.user_id.hex())
    # Nothing of alice's reached mallory.
    conv = direct_conversation(alice.user_id, mallory.user_id)
    assert alice.device_id not in mallory.db.vector(conv)

    # The user confirms explicitly: now it is a contact like any other. Taken as bob's
    # new key, it costs the old one its verified mark.
    assert alice.verify("bob", alice.safety_number("bob"))
    await alice.accept_contact(mallory.user_id.hex(), trust_new_key=True)
    await until(lambda: mallory.contacts()[0].state == "accepted", alice, mallory)
    assert {c.user_id: c.verified for c in alice.contacts()} == {
        bob.user_id: False, mallory.user_id: False,
    }
    # "bob" now means the new key; the old one keeps its history but takes no messages.
    assert [c.replaced_by for c in alice.contacts() if c.user_id == bob.user_id] == [
        mallory.user_id
    ]
    assert alice.resolve("bob")[0] == mallory.user_id
    with pytest.raises(UserError, match="uses a new key now"):
        alice.queue_message(bob.user_id, "to the old key")


async def test_simultaneous_dial_keeps_one_connection(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    # Both dial each other at once: two TCP connections, one survives the tie-break.
    await asyncio.gather(
        alice.connect("127.0.0.1", bob.port), bob.connect("127.0.0.1", alice.port)
    )
    await until(
        lambda: len([c for c in alice.net.conns if c.established]) == 1
        and len([c for c in bob.net.conns if c.established]) == 1,
        alice, bob,
    )
    await befriend(alice, bob)
    row = await alice.send_message("bob", "still works")
    assert await alice.wait_status(row, STATUS_DELIVERED, 5)
    assert len([c for c in alice.net.conns if c.established]) == 1


async def test_mdns_discovery_finds_and_connects(nodes):
    alice = await nodes("alice", discovery=True)
    bob = await nodes("bob", discovery=True)
    await until(
        lambda: any(p.user_id == bob.user_id for p in alice.peers())
        and any(p.user_id == alice.user_id for p in bob.peers()),
        alice, bob, timeout=10,
    )
    [p] = alice.peers()
    assert p.name == "bob" and p.contact is None and not p.key_changed


async def test_not_discoverable_hides_from_strangers_not_from_contacts(nodes):
    alice = await nodes("alice", discovery=True)
    mallory = await nodes("mallory", discovery=True)
    carol = await nodes("carol", discovery=True)
    await befriend(alice, carol)

    def sees(node, other):
        return any(p.user_id == other.user_id for p in node.people())

    await until(lambda: sees(mallory, alice) and mallory.online(alice.user_id), mallory, alice)
    await alice.set_discoverable(False)
    # The stranger is let go, does not dial again and no longer lists her...
    await until(lambda: not sees(mallory, alice), mallory, alice)
    assert not mallory.online(alice.user_id) and not alice.online(mallory.user_id)
    # ...and cannot connect by address either (she dials no strangers herself): she
    # refuses right after the handshake.
    with contextlib.suppress(UserError):
        await mallory.connect("127.0.0.1", alice.port, timeout=3)
    await until(lambda: not mallory.online(alice.user_id), mallory, alice)
    assert not alice.online(mallory.user_id)
    # Her contact still reaches her, also from a restart on a new port that only mDNS
    # tells about.
    await nodes.stop(carol)
    carol = await nodes("carol", discovery=True, port=None)
    await until(lambda: carol.online(alice.user_id) and alice.online(carol.user_id), carol, alice)
    assert sees(carol, alice)
    # Visible again: the stranger finds her as before.
    await alice.set_discoverable(True)
    await until(lambda: sees(mallory, alice), mallory, alice)


async def test_vanished_peer_is_noticed_by_keepalive(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    # Bob's machine goes silent without closing anything (cable pulled, laptop asleep):
    # it neither reads nor sends any more.
    [conn] = [c for c in bob.net.conns if c.established]
    conn.writer.transport.pause_reading()
    conn.send = lambda message: None  # no pings, no pongs
    await until(lambda: not alice.online(bob.user_id), alice, timeout=10)


async def test_name_change_reaches_contacts(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await alice.set_name("Alice Martin")
    await until(lambda: bob.contacts()[0].name == "Alice Martin", alice, bob)
    await nodes.stop(alice)
    alice = await nodes("alice")  # the profile keeps the new name
    assert alice.name == "Alice Martin"


async def test_typing_signal_expires(nodes, monkeypatch):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    conv = bob.conv_with(alice.user_id)
    alice.set_typing(bob.user_id, True)
    await until(lambda: bob.typing(conv) == [alice.user_id], alice, bob)
    import kith.p2p.signals

    monkeypatch.setattr(kith.p2p.signals, "TYPING_TTL", 0.0)  # as if the signal were old
    assert bob.typing(conv) == []


async def test_trust_new_key_clears_the_flag_without_verifying(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    mallory = await nodes("bob", profile="mallory")
    await mallory.connect("127.0.0.1", alice.port)
    await until(lambda: mallory.online(alice.user_id), alice, mallory)
    await mallory.add_contact(alice.user_id.hex())
    await until(lambda: len(alice.contacts()) == 2, alice, mallory)
    alice.trust_new_key(mallory.user_id)
    c = [c for c in alice.contacts() if c.user_id == mallory.user_id][0]
    assert not c.key_changed
    assert not c.verified


async def test_mark_read_up_to_what_was_on_screen(nodes):
    """The app marks read only up to the newest message it showed: one that arrived
    after it stays unread, here and for the sender."""
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    seen = await alice.send_message("bob", "on screen")
    later = await alice.send_message("bob", "arrived after the screen was drawn")
    await until(lambda: len(bob.history("alice")) == 2, alice, bob)
    conv = direct_conversation(alice.user_id, bob.user_id)
    shown = next(m for m in bob.history("alice") if m.event_id == seen.event_id)

    await bob.mark_read(alice.user_id, up_to=shown.lamport)
    assert await alice.wait_status(seen, STATUS_READ, 5)
    assert bob.db.unread_count(conv) == 1
    assert alice.db.message_at(conv, later.author, later.seq).status < STATUS_READ
    await bob.mark_read(alice.user_id, up_to=shown.lamport)  # again: nothing more
    assert bob.db.unread_count(conv) == 1

    await bob.mark_read(alice.user_id)  # everything
    assert await alice.wait_status(later, STATUS_READ, 5)
    assert bob.db.unread_count(conv) == 0
