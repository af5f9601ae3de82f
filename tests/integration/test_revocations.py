"""Revocations count only from the user whose device they remove, for users I know, and
travel only to those who need them (the hardening issue's critical finding: any stranger
could store revocations forever on every node and cut the network off)."""

from __future__ import annotations

import asyncio
import os

from nodekit import befriend, until
from test_hostile import RawPeer

from kith.p2p import wire
from kith.p2p.identity import Identity, revoke_device


async def test_a_strangers_revocations_are_neither_kept_nor_passed_on(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    eve = Identity.generate("eve")
    peer = RawPeer(eve)
    await peer.open(bob.port)
    await until(lambda: bob.online(eve.user_id), bob)
    # Signed correctly, by eve, for devices of eve's: valid, and nobody's business.
    flood = [revoke_device(eve.user_secret, os.urandom(32)) for _ in range(300)]
    peer.send(wire.Revoke(flood))
    peer.send(wire.Ping(3))
    await asyncio.wait_for(peer.reader.read(65536), 5)  # handled
    assert bob.db.revocations() == []
    row = await bob.send_message("alice", "still friends")  # a barrier on bob -> alice
    assert await bob.wait_status(row, 2, 10)
    assert alice.db.revocations() == []
    peer.close()


async def test_a_contacts_removed_device_reaches_my_other_contacts_and_no_stranger(nodes):
    alice, bob, carol = await nodes("alice"), await nodes("bob"), await nodes("carol")
    await befriend(alice, bob)
    await befriend(bob, carol)
    gone = os.urandom(32)
    bob.core.devices.on_revoke([revoke_device(bob.identity.user_secret, gone)])
    # carol and alice, bob's contacts, learn of it; a stranger who meets bob does not
    await until(lambda: carol.core.devices.is_revoked(gone), carol, bob)
    await until(lambda: alice.core.devices.is_revoked(gone), alice, bob)
    eve = Identity.generate("eve")
    peer = RawPeer(eve)
    await peer.open(alice.port)
    heard: list[wire.Message] = []
    peer.send(wire.Ping(9))
    while not any(isinstance(m, wire.Pong) for m in heard):
        data = await asyncio.wait_for(peer.reader.read(65536), 5)
        heard += [e.message for e in peer.session.receive_data(data) if hasattr(e, "message")]
    # alice tells a stranger only of her own removed devices (none), not bob's
    assert not any(isinstance(m, wire.Revoke) for m in heard)
    peer.close()
