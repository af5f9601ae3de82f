"""The event formats and the kind table, end to end between nodes: an erased body leaves
a head that still verifies and syncs; the table is closed to undeclared kinds and to kinds
out of place, refused with a logged reason and nothing stored."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from nodekit import add_device, befriend, until
from test_hostile import RawPeer, _stranger

from kith.p2p import events as ev
from kith.p2p import wire
from kith.p2p.contacts import RosterBody
from kith.p2p.identity import Identity
from kith.storage import STATUS_DELIVERED


async def test_a_head_whose_body_was_erased_syncs_as_a_head(nodes, tmp_path):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    for text in ("one", "two (to be erased)", "three"):
        row = await alice.send_message("bob", text)
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    conv = alice.conv_with(bob.user_id)
    seq_two = next(m.seq for m in alice.history("bob") if m.text.startswith("two"))
    assert alice.db.erase_bodies([(conv, alice.device_id, seq_two)]) == 1
    head, body = alice.db.event(conv, alice.device_id, seq_two)
    assert body is None

    # A device that syncs now gets the head alone, and the log verifies past it.
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", alice.port)
    await until(lambda: [m.text for m in laptop.db.messages(conv)] == ["one", "three"],
                laptop, alice)
    assert laptop.db.event(conv, alice.device_id, seq_two) == (head, None)
    run = [ev.decode(h, b) for h, b in laptop.db.events_after(conv, alice.device_id, 0, 100)]
    ev.verify_chain(None, run)  # the erased body's head still links the chain
    # ...and the log goes on after it, on every device.
    row = await alice.send_message("bob", "four")
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    await until(lambda: [m.text for m in laptop.db.messages(conv)][-1:] == ["four"],
                laptop, alice)
    assert [m.text for m in bob.history("alice")] == ["one", "two (to be erased)", "three", "four"]


def _event(eve: Identity, conv: bytes, kind: str, body: bytes) -> ev.SignedEvent:
    return ev.create(eve.device_secret, conv=conv, seq=1, prev=ev.GENESIS, lamport=1,
                     time_ms=1, kind=kind, body=body)


async def _refused(bob, peer: RawPeer, e: ev.SignedEvent, caplog) -> str:
    """Send ``e``; the node refuses it (no disconnect) and says why in its log."""
    with caplog.at_level(logging.WARNING):
        peer.send(wire.Events([e.wire()]))
        peer.send(wire.Ping(7))
        await asyncio.wait_for(peer.reader.read(65536), 5)  # the pong: the batch was handled
    assert bob.db.count_events() == 0 and bob.contacts() == []
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "kith.p2p.receive")


async def test_an_undeclared_kind_is_refused_with_a_reason(nodes, tmp_path, caplog):
    bob, eve, peer = await _stranger(nodes, tmp_path)
    conv = ev.direct_conversation(eve.user_id, bob.user_id)
    e = _event(eve, conv, "poke", msgspec.msgpack.encode(["hello"]))
    logged = await _refused(bob, peer, e, caplog)
    assert "refusing events from eve: undeclared event kind 'poke'" in logged
    assert bob.online(eve.user_id)  # a refusal is not a reason to hang up
    peer.close()


async def test_a_kind_out_of_its_place_is_refused_with_a_reason(nodes, tmp_path, caplog):
    bob, eve, peer = await _stranger(nodes, tmp_path)
    conv = ev.direct_conversation(eve.user_id, bob.user_id)
    roster = RosterBody(eve.user_id, "eve", "accepted", True)
    e = _event(eve, conv, "roster", msgspec.msgpack.encode(roster))
    logged = await _refused(bob, peer, e, caplog)
    assert "roster events do not belong in a direct conversation" in logged
    peer.close()


async def test_unsigned_events_wait_for_the_signature_that_vouches_for_them(nodes, tmp_path):
    bob, eve, peer = await _stranger(nodes, tmp_path)
    conv = ev.direct_conversation(eve.user_id, bob.user_id)
    run, prev = [], ev.GENESIS
    for seq, sign in ((1, False), (2, False), (3, True)):
        e = ev.create(eve.device_secret, conv=conv, seq=seq, prev=prev, lamport=seq,
                      time_ms=seq, kind="contact", body=msgspec.msgpack.encode(["request", "eve"]),
                      signed=sign)
        run.append(e)
        prev = e.id
    peer.send(wire.Events([e.wire() for e in run[:2]]))
    peer.send(wire.Ping(1))
    await asyncio.wait_for(peer.reader.read(65536), 5)  # handled: held, nothing stored
    assert bob.db.count_events() == 0 and bob.contacts() == []
    peer.send(wire.Events([run[2].wire()]))  # the signature comes: all three count
    await until(lambda: bob.db.vector(conv).get(eve.device_id) == 3, bob)
    assert [(c.name, c.state) for c in bob.contacts()] == [("eve", "pending_in")]
    peer.close()
