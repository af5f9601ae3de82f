"""Mixed versions on one LAN fail clearly: a peer of another protocol version completes
the handshake, is told why in a ``bye``, and both sides can show it; nothing else is
exchanged."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from versionkit import byes, dial_as_version, read_until_closed, session_of_version

from kith.p2p.errors import UserError
from kith.p2p.identity import Identity

_session = session_of_version
_read_until_closed = read_until_closed
_byes = byes


@pytest.mark.parametrize(
    ("version", "problem", "bye"),
    [
        (1, "oldbob runs an older version of Kith: ask them to update",
         "protocol version 2 here, 1 there: update Kith"),
        (3, "oldbob runs a newer version of Kith: update Kith to talk to them",
         "protocol version 2 here, 3 there: alice runs an older version of Kith"),
    ],
)
async def test_a_peer_of_another_version_is_told_and_shown(nodes, version, problem, bye):
    alice = await nodes("alice")
    # alice finishes the handshake, says why in a bye both can read, and hangs up
    assert await dial_as_version(alice.port, "oldbob", version) == [bye]
    [peer] = [p for p in alice.people() if p.name == "oldbob"]
    assert peer.problem == problem and not peer.connected
    assert alice.contacts() == [] and alice.db.count_events() == 0


async def test_dialling_a_peer_of_an_older_version_says_so(nodes):
    alice = await nodes("alice")
    old = Identity.generate("oldbob")
    told: list[list[str]] = []
    heard = asyncio.Event()

    async def old_node(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _session(old, initiator=False, version=1)
        byes: list[str] = []
        try:
            while session.peer is None:
                data = await reader.read(65536)
                if not data:
                    return
                byes += _byes(session.receive_data(data))  # (the bye may come along)
                writer.write(session.pending_output())
            told.append(byes + await _read_until_closed(reader, session))
            heard.set()
        finally:
            writer.close()

    server = await asyncio.start_server(old_node, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(UserError, match="oldbob runs an older version of Kith"):
            await alice.connect("127.0.0.1", port, timeout=10)
        await asyncio.wait_for(heard.wait(), 10)
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
    assert told[0] == ["protocol version 2 here, 1 there: update Kith"]
    [peer] = [p for p in alice.people() if p.name == "oldbob"]
    assert peer.problem == "oldbob runs an older version of Kith: ask them to update"
