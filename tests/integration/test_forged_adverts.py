"""Forged mDNS adverts (issue: hardening #4 and #9): an advert is a hint. One that names a
contact's device at another address neither replaces nor blocks the address where the
contact proved itself; redialling goes on; strangers' adverts are bounded."""

from __future__ import annotations

import logging

from nodekit import befriend, until

from kith.p2p import adverts
from kith.p2p.discovery import PeerAdvert


def _advert(instance: str, device: bytes, port: int, name: str = "bob") -> PeerAdvert:
    return PeerAdvert(instance, device.hex(), name, ("127.0.0.1",), port, 2)


async def _forget_by_hand(alice, bob) -> None:
    """(befriend connected them by hand; from here on alice knows bob only from adverts)"""
    for p in list(alice.net.peers.values()):
        if p.conn is not None:
            p.manual = False
            p.where.manual.clear()
            p.conn.close("test: start over")
    await until(lambda: not alice.online(bob.user_id), alice, bob)
    alice.net.peers.pop(bob.device_id, None)


async def test_a_forged_advert_with_a_contacts_device_id_keeps_nobody_apart(
        nodes, caplog):
    alice, bob, mallory = await nodes("alice"), await nodes("bob"), await nodes("mallory")
    await befriend(alice, bob)
    await _forget_by_hand(alice, bob)
    alice.net.on_advert(_advert("kith-bob", bob.device_id, bob.port))
    await until(lambda: alice.online(bob.user_id), alice, bob)

    # mallory advertises bob's device id at mallory's own address, over and over
    caplog.set_level(logging.WARNING, logger="kith.p2p.network")
    for _ in range(3):
        alice.net.on_advert(_advert("kith-forged", bob.device_id, mallory.port))
    peer = alice.net.peers[bob.device_id]
    assert ("127.0.0.1", bob.port) in peer.addresses  # the proven address stays
    peer.conn.close("test: the connection breaks")
    await until(lambda: alice.online(bob.user_id), alice, bob, mallory)
    for _ in range(3):  # re-sent while they are connected: nothing changes
        alice.net.on_advert(_advert("kith-forged", bob.device_id, mallory.port))
    assert alice.net.peers[bob.device_id] is peer and alice.online(bob.user_id)

    # the forged address first in line (bob's own advert is gone): it is tried, refuted,
    # and the proven address still gets through
    alice.net.on_advert_lost("kith-bob")
    peer.where.proven.reverse()
    peer.conn.close("test: and breaks again")
    await until(lambda: alice.online(bob.user_id), alice, bob, mallory)
    assert alice.net.peers[bob.device_id] is peer
    msg = await bob.send_message("alice", "still here")
    await until(lambda: any(m.event_id == msg.event_id for m in alice.history("bob")),
                alice, bob)


async def test_a_dial_that_finds_another_device_refutes_only_that_address(nodes, caplog):
    alice, bob, mallory = await nodes("alice"), await nodes("bob"), await nodes("mallory")
    await befriend(alice, bob)
    await _forget_by_hand(alice, bob)
    caplog.set_level(logging.WARNING, logger="kith.p2p.network")
    # only the forged advert first: alice dials mallory thinking it is bob
    alice.net.on_advert(_advert("kith-forged", bob.device_id, mallory.port))
    await until(lambda: any("claims to be device" in r.getMessage() for r in caplog.records),
                alice, mallory)
    peer = alice.net.peers.get(bob.device_id)
    assert peer is not None  # not dropped: bob's real advert can still bring him
    assert ("127.0.0.1", mallory.port) not in peer.addresses  # refuted for bob
    alice.net.on_advert(_advert("kith-forged", bob.device_id, mallory.port))  # again
    assert ("127.0.0.1", mallory.port) not in peer.addresses
    alice.net.on_advert(_advert("kith-bob", bob.device_id, bob.port))
    await until(lambda: alice.online(bob.user_id), alice, bob)


async def test_strangers_adverts_are_capped(nodes, monkeypatch):
    alice = await nodes("alice")
    monkeypatch.setattr(adverts, "MAX_STRANGER_PEERS", 5)
    for i in range(20):  # forged strangers nobody listens for
        alice.net.on_advert(_advert(f"kith-s{i}", bytes([i + 1]) * 32, 1, name=f"s{i}"))
    strangers = [k for k in alice.net.peers if len(k) == 32]
    assert len(strangers) == 5


async def test_an_advert_outside_this_hosts_networks_is_not_dialled(nodes):
    alice = await nodes("alice")
    alice.net.on_advert(PeerAdvert(
        "kith-far", (b"\x09" * 32).hex(), "far", ("198.51.100.7",), 4000, 2))
    assert b"\x09" * 32 not in alice.net.peers
