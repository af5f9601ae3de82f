"""A peer of another protocol version, for the tests that need one."""

from __future__ import annotations

import asyncio

import msgspec

from kith.p2p import wire
from kith.p2p.identity import DeviceCertificate, Identity
from kith.p2p.session import HandshakeComplete, MessageReceived, Session


def session_of_version(identity: Identity, *, initiator: bool, version: int) -> Session:
    """A session that introduces itself as Kith protocol ``version``."""
    s = Session(identity, initiator=initiator)
    s._hello = wire.encode(wire.Hello(version, identity.cert, identity.name))
    return s


class EarlierHello(msgspec.Struct, array_like=True, frozen=True):
    """The Hello of the builds of protocol 2 before the ``ciphers`` field."""

    version: int
    cert: DeviceCertificate
    name: str


def earlier_build(identity: Identity, *, initiator: bool) -> Session:
    """A session that introduces itself as a build before the field (it offers nothing)."""
    s = Session(identity, initiator=initiator)
    s._hello = msgspec.msgpack.encode(EarlierHello(wire.PROTOCOL_VERSION, identity.cert,
                                                   identity.name))
    return s


def byes(events: list) -> list[str]:
    return [
        e.message.reason for e in events
        if isinstance(e, MessageReceived) and isinstance(e.message, wire.Close)
    ]


async def read_until_closed(reader: asyncio.StreamReader, session: Session) -> list[str]:
    """The reasons of every ``bye`` the other side sent before it hung up."""
    out: list[str] = []
    while True:
        data = await asyncio.wait_for(reader.read(65536), 10)
        if not data:
            return out
        out += byes(session.receive_data(data))


async def dial_as_version(port: int, name: str, version: int) -> list[str]:
    """Dial 127.0.0.1:``port`` as a node of protocol ``version``; the byes it got."""
    session = session_of_version(Identity.generate(name), initiator=True, version=version)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(session.initiate())
        done = False
        while not done:
            data = await asyncio.wait_for(reader.read(65536), 10)
            assert data, "the node hung up during the handshake"
            done = any(isinstance(e, HandshakeComplete) for e in session.receive_data(data))
            writer.write(session.pending_output())
        return await read_until_closed(reader, session)
    finally:
        writer.close()
