"""What a stranger may make a node hold (hardening #6): a small memory budget per
connection, a bounded number of strangers at once; the people I know get more."""

from __future__ import annotations

import logging

from nodekit import befriend, until

from kith.p2p import limits, wire
from kith.storage import STATUS_DELIVERED

BIG = "x" * (limits.STRANGER_ASSEMBLED + 1024)  # one message past a stranger's budget


async def test_a_stranger_may_not_make_me_hold_a_large_message(nodes):
    alice, bob, mallory = await nodes("alice"), await nodes("bob"), await nodes("mallory")
    await befriend(alice, bob)
    await mallory.connect("127.0.0.1", alice.port)
    await until(lambda: alice.online(mallory.user_id), alice, mallory)
    (to_alice,) = mallory.net.live_of(alice.user_id)
    to_alice.conn.send(wire.Profile(BIG))  # 257 KiB in chunks: past the budget
    await until(lambda: not alice.online(mallory.user_id), alice, mallory)
    # a contact may send that much (the name is refused, the connection stays)
    (bob_to_alice,) = bob.net.live_of(alice.user_id)
    bob_to_alice.conn.send(wire.Profile(BIG))
    conv = alice.conv_with(bob.user_id)
    bob_to_alice.conn.send(wire.Typing(conv, True))  # after it, in order
    await until(lambda: bob.user_id in alice.typing(conv), alice, bob)
    assert alice.online(bob.user_id)


async def test_strangers_at_once_are_bounded(nodes, monkeypatch, caplog):
    monkeypatch.setattr(limits, "MAX_STRANGER_CONNECTIONS", 2)
    caplog.set_level(logging.WARNING, logger="kith.p2p.network")
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    strangers = [await nodes(f"s{i}") for i in range(3)]
    for s in strangers[:2]:
        await s.connect("127.0.0.1", alice.port)
    await until(lambda: all(alice.online(s.user_id) for s in strangers[:2]), alice)
    late = strangers[2]
    late.net.remember_manual("127.0.0.1", alice.port, None)
    await until(lambda: any("strangers connected already" in r.getMessage()
                            for r in caplog.records), alice, late)
    assert not alice.online(late.user_id)
    assert alice.online(bob.user_id)  # contacts are not counted
    await nodes.stop(strangers[0])  # room again: the late one gets in on its redial
    await until(lambda: alice.online(late.user_id), alice, late, timeout=30)


async def test_a_stranger_who_only_holds_a_connection_makes_room(nodes, monkeypatch, caplog):
    """Strangers that only keep a connection open (keepalives) cannot keep a newcomer
    out: when strangers are full, the one idle the longest is let go."""
    monkeypatch.setattr(limits, "MAX_STRANGER_CONNECTIONS", 1)
    monkeypatch.setattr(limits, "STRANGER_IDLE", 0.0)  # (idle at once, for the test)
    alice, idler, newcomer = await nodes("alice"), await nodes("idler"), await nodes("new")
    await idler.connect("127.0.0.1", alice.port)
    await until(lambda: alice.online(idler.user_id), alice, idler)
    await newcomer.connect("127.0.0.1", alice.port)
    await until(lambda: alice.online(newcomer.user_id), alice, newcomer)
    assert not alice.online(idler.user_id)


async def test_requests_waiting_and_strangers_remembered_are_bounded(
        nodes, monkeypatch, caplog):
    from kith.p2p import contacts, devices

    caplog.set_level(logging.WARNING, logger="kith.p2p.receive")
    monkeypatch.setattr(contacts, "MAX_PENDING_REQUESTS", 2)
    monkeypatch.setattr(devices, "MAX_STRANGER_DEVICES", 1)
    alice = await nodes("alice")
    askers = [await nodes(f"asker{i}") for i in range(3)]
    for a in askers:
        await a.connect("127.0.0.1", alice.port)
        await a.add_contact(alice.user_id.hex())
    await until(lambda: len(alice.contacts()) == 2, alice, *askers)
    # the third waits in vain, and nothing of it is stored
    await until(lambda: any("contact requests wait for an answer" in r.getMessage()
                            for r in caplog.records), alice, *askers)
    third = askers[2]
    conv = alice.conv_with(third.user_id)
    assert third.user_id not in {c.user_id for c in alice.contacts()}
    assert alice.db.vector(conv) == {}
    # answering one makes room
    await alice.decline_contact(askers[0].user_id.hex())
    await third.add_contact(alice.user_id.hex())  # (asked again: it is sent once more)
    await until(lambda: third.user_id in {c.user_id for c in alice.contacts()},
                alice, third, timeout=15)
    # strangers met but not asking are remembered up to the bound
    lookers = [await nodes(f"looker{i}") for i in range(3)]
    for lk in lookers:
        await lk.connect("127.0.0.1", alice.port)
    await until(lambda: all(alice.online(lk.user_id) for lk in lookers), alice)
    remembered = [lk for lk in lookers if alice.db.device_claims(lk.device_id)]
    assert len(remembered) == 1


async def test_a_stranger_that_does_not_read_what_it_asks_for_is_let_go(
        nodes, monkeypatch, caplog):
    """The asyncio write buffer counts (hardening #6): a stranger that asks (pings) and
    never reads the answers cannot make the node hold more than its budget unsent."""
    import socket

    monkeypatch.setattr(limits, "STRANGER_UNSENT", 8 * 1024)
    caplog.set_level(logging.WARNING, logger="kith.p2p.connection")
    alice, bob, mallory = await nodes("alice"), await nodes("bob"), await nodes("mallory")
    await befriend(alice, bob)
    await mallory.connect("127.0.0.1", alice.port)
    await until(lambda: alice.online(mallory.user_id), alice, mallory)
    (to_alice,) = mallory.net.live_of(alice.user_id)
    (to_mallory,) = alice.net.live_of(mallory.user_id)
    # (small kernel buffers both ways, so the answers pile up in asyncio at once)
    to_alice.conn.writer.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    to_mallory.conn.writer.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    to_alice.conn.writer.transport.pause_reading()  # mallory never reads again
    held = to_mallory.conn
    most = 0
    for i in range(20_000):
        to_alice.conn.send(wire.Ping(i))
        if i % 200 == 0:
            await to_alice.conn.drain()
            most = max(most, held.unsent)
            if held.closed:
                break
    await until(lambda: not alice.online(mallory.user_id), alice, mallory)
    assert held.close_reason == "not reading what we send"
    assert most <= limits.STRANGER_UNSENT + 1024  # (one answer past it, at most)
    assert any("does not read what we send" in r.getMessage() for r in caplog.records)
    row = await bob.send_message("alice", "still here")  # the node keeps serving
    assert await bob.wait_status(row, STATUS_DELIVERED, 10)


async def test_a_contact_that_reads_slowly_is_paused_not_dropped(nodes, monkeypatch):
    """For the people I know there is no unsent cap: past the high-water mark the node
    stops reading from them until they have taken what it sent."""
    import socket

    from kith.p2p import connection

    monkeypatch.setattr(connection, "HIGH_WATER", 8 * 1024)
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    (to_alice,) = bob.net.live_of(alice.user_id)
    (to_bob,) = alice.net.live_of(bob.user_id)
    to_alice.conn.writer.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    to_bob.conn.writer.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    for c in (to_alice.conn, to_bob.conn):  # (the pause lasts as long as the test needs)
        c.timing = connection.Timing(handshake=2, keepalive=1, dead_after=600)
    to_alice.conn.writer.transport.pause_reading()
    mine = to_bob.conn
    for i in range(6_000):  # (no drain: alice stops reading these once congested)
        to_alice.conn.send(wire.Ping(i))
    await until(lambda: mine.congested or mine.closed, alice, bob)
    assert not mine.closed, mine.close_reason
    # alice stopped reading: what she holds unsent is the answers to one read at most
    assert to_bob.conn.unsent < connection.HIGH_WATER + connection.READ_SIZE // 2
    to_alice.conn.writer.transport.resume_reading()
    await until(lambda: mine.closed or not mine.congested, alice, bob)
    assert not mine.closed, mine.close_reason
    row = await bob.send_message("alice", "after the pause")
    assert await bob.wait_status(row, STATUS_DELIVERED, 10)
    assert alice.online(bob.user_id)
