"""Hostile peers: garbage, oversize or stalled input, forged events. The connection is
closed with a logged reason, nothing is stored, and the node keeps serving others."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from eventkit import make
from nodekit import befriend, until

from kith.p2p import events as ev
from kith.p2p import wire
from kith.p2p.contacts import ContactBody
from kith.p2p.identity import Identity
from kith.p2p.messages import MessageBody
from kith.p2p.session import HandshakeComplete, MessageReceived, Session
from kith.storage import STATUS_DELIVERED


class RawPeer:
    """A hand-driven Kith client: real Noise session, arbitrary messages."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.session = Session(identity, initiator=True)

    async def open(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(self.session.initiate())
        while self.session.peer is None:
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            assert data, "node closed during handshake"
            evs = self.session.receive_data(data)
            self.writer.write(self.session.pending_output())
            if any(isinstance(e, HandshakeComplete) for e in evs):
                break

    def send(self, msg: wire.Message) -> None:
        self.writer.write(self.session.send(msg))

    async def closed_by_node(self) -> bool:
        """Read until the node hangs up; True if it did within 5 s."""
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), 5)
                if not data:
                    return True
                for e in self.session.receive_data(data):
                    if isinstance(e, MessageReceived) and isinstance(e.message, wire.Close):
                        continue
        except (TimeoutError, ConnectionError):
            return False
        finally:
            self.close()

    def close(self) -> None:
        self.writer.close()


async def assert_still_serves(alice, bob) -> None:
    row = await alice.send_message("bob", "still here")
    assert await alice.wait_status(row, STATUS_DELIVERED, 5)


def sockname(writer: asyncio.StreamWriter) -> str:
    """Our end of a connection: the address the node knows it by (and logs)."""
    host, port = writer.get_extra_info("sockname")[:2]
    return f"{host}:{port}"


def close_logs(caplog: pytest.LogCaptureFixture, address: str) -> list[logging.LogRecord]:
    """What the node logged about closing its connection to ``address``."""
    return [
        r for r in caplog.records
        if r.name == "kith.p2p.connection" and f"closing connection to {address}:" in r.getMessage()
    ]


def close_log(caplog: pytest.LogCaptureFixture, address: str) -> logging.LogRecord:
    """The one record in which the node gave its reason for closing ``address``."""
    found = close_logs(caplog, address)
    assert len(found) == 1, f"no single close reason for {address} in:\n{caplog.text}"
    return found[0]


@pytest.mark.parametrize(
    ("payload", "level", "reason"),
    [
        (b"\x00\x00", logging.WARNING, "empty frame"),
        # "GE" announces an 18 KiB frame that never comes: the client waits for an answer
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", logging.INFO, "handshake timed out"),
        # announces 64 KiB, sends 100 bytes, then EOF mid-frame
        (b"\xff\xff" + b"\x00" * 100, logging.INFO, "peer closed during handshake"),
        # a 1-byte frame where handshake message 1 (an ephemeral key) must be 32 bytes
        (bytes(range(256)) * 4, logging.WARNING,
         "noise: handshake message 0 of 1 bytes is shorter than the 32 bytes"),
    ],
    ids=["empty-frame", "http", "truncated", "garbage"],
)
async def test_garbage_is_refused_and_others_still_served(nodes, payload, level, reason, caplog):
    caplog.set_level(logging.INFO, logger="kith.p2p")
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    stored = bob.store.count_events()
    reader, writer = await asyncio.open_connection("127.0.0.1", bob.port)
    address = sockname(writer)
    writer.write(payload)
    await writer.drain()
    if payload.startswith(b"\xff\xff"):
        writer.write_eof()  # a truncated frame: the node sees EOF mid-frame
    data = await asyncio.wait_for(reader.read(), 5)
    assert data == b"" or len(data) < 200  # at most our handshake reply, then closed
    writer.close()
    # The node says why it hung up (logged before it closes the socket).
    logged = close_log(caplog, address)
    assert reason in logged.getMessage()
    assert logged.levelno == level
    assert bob.store.count_events() == stored
    await assert_still_serves(alice, bob)


async def test_stalled_handshake_times_out(nodes, caplog):
    """A slow loris holds a connection open without finishing the handshake: bob
    keeps serving others meanwhile, then hangs up on it at the handshake deadline."""
    caplog.set_level(logging.INFO, logger="kith.p2p")
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(alice)  # it comes back, and connects, while the stall is going on
    await until(lambda: not bob.online(alice.user_id), bob)

    reader, writer = await asyncio.open_connection("127.0.0.1", bob.port)
    stalled_at = sockname(writer)
    writer.write(b"\x00")  # half a length prefix, then silence (slow loris)
    await writer.drain()

    alice = await nodes("alice")
    await alice.connect("127.0.0.1", bob.port)  # a full handshake with bob...
    row = await alice.send_message("bob", "while someone stalls")
    assert await alice.wait_status(row, STATUS_DELIVERED, 5)  # ...and a delivery

    # All of that happened while bob held the stalled connection open.
    stalled = next((c for c in bob.net.conns if c.address == stalled_at), None)
    assert stalled is not None and not stalled.closed, "the stall ended before alice was served"
    assert stalled.peer is None
    [with_alice] = [c for c in bob.net.conns if c.established]
    assert with_alice.peer is not None and with_alice.peer.user_id == alice.user_id
    assert stalled.opened_at < with_alice.opened_at  # accepted before alice's connection
    assert not reader.at_eof()
    assert close_logs(caplog, stalled_at) == []

    # Then its handshake deadline hangs up on it, with the reason in the log.
    data = await asyncio.wait_for(reader.read(), 5)  # handshake timeout is 2 s in tests
    assert data == b""
    writer.close()
    assert stalled.closed and stalled.close_reason == "handshake timed out"
    logged = close_log(caplog, stalled_at)
    assert logged.getMessage() == f"closing connection to {stalled_at}: handshake timed out"
    assert bob.online(alice.user_id)  # the stall cost alice nothing


async def _stranger(nodes_, tmp_path):
    bob = await nodes_("bob")
    ident = Identity.generate("eve")
    peer = RawPeer(ident)
    await peer.open(bob.port)
    await until(lambda: bob.online(ident.user_id), bob)
    return bob, ident, peer


async def test_forged_signature_is_refused(nodes, tmp_path, caplog):
    bob, eve, peer = await _stranger(nodes, tmp_path)
    conv = ev.direct_conversation(eve.user_id, bob.user_id)
    good = make(eve.device_secret, conv=conv, seq=1, prev=b"", lamport=1, time_ms=1,
                     body=ContactBody("request", "eve"))
    forged = (good.head[:-10] + bytes(10), good.body)  # signature bytes damaged
    with caplog.at_level(logging.WARNING):
        peer.send(wire.Events([forged]))
        assert await peer.closed_by_node()
    assert bob.store.count_events() == 0
    assert bob.contacts() == []
    assert "signature" in caplog.text


async def test_broken_chain_is_refused(nodes, tmp_path, caplog):
    bob, eve, peer = await _stranger(nodes, tmp_path)
    conv = ev.direct_conversation(eve.user_id, bob.user_id)
    first = make(eve.device_secret, conv=conv, seq=1, prev=b"", lamport=1, time_ms=1,
                      body=ContactBody("request", "eve"))
    bogus = make(eve.device_secret, conv=conv, seq=2, prev=b"\x01" * 32, lamport=2,
                      time_ms=2, body=ContactBody("request", "eve"))
    with caplog.at_level(logging.WARNING):
        peer.send(wire.Events([first.wire(), bogus.wire()]))
        assert await peer.closed_by_node()
    assert bob.store.count_events() == 0
    assert "broken chain" in caplog.text


async def test_event_for_foreign_conversation_is_refused(nodes, tmp_path):
    bob, eve, peer = await _stranger(nodes, tmp_path)
    conv = ev.direct_conversation(eve.user_id, b"\x07" * 32)  # not a conversation with bob
    e = make(eve.device_secret, conv=conv, seq=1, prev=b"", lamport=1, time_ms=1,
                  body=ContactBody("request", "eve"))
    peer.send(wire.Events([e.wire()]))
    assert await peer.closed_by_node()
    assert bob.store.count_events() == 0


async def test_messages_from_a_stranger_are_not_stored(nodes, tmp_path):
    bob, eve, peer = await _stranger(nodes, tmp_path)
    conv = ev.direct_conversation(eve.user_id, bob.user_id)
    e = make(eve.device_secret, conv=conv, seq=1, prev=b"", lamport=1, time_ms=1,
                  body=MessageBody("buy now"))
    peer.send(wire.Events([e.wire()]))
    peer.send(wire.Ping(1))
    await asyncio.wait_for(peer.reader.read(65536), 5)  # the pong: the batch was handled
    peer.close()
    assert bob.store.count_events() == 0


async def test_certificate_for_another_key_is_refused(nodes, tmp_path):
    bob = await nodes("bob")
    eve = Identity.generate("eve")
    other = Identity.generate("eve")
    liar = dataclasses.replace(eve, cert=other.cert)  # presents someone else's certificate
    peer = RawPeer(liar)
    await peer.open(bob.port)  # our side completes; bob checks our message 3 and hangs up
    assert await peer.closed_by_node()
    assert bob.peers() == []
