"""The channel's transport cipher between real nodes: AEGIS-256 between two of this
build; ChaChaPoly with a node of an earlier build of protocol 2 (its Hello names no
ciphers), which still sends and receives files and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from nodekit import befriend, until
from test_files import make_file, only, read, send, state_of
from versionkit import earlier_build

from kith.p2p import network
from kith.p2p.identity import Identity
from kith.p2p.node import Node
from kith.p2p.session import Session
from kith.storage.files import FILE_COMPLETE


def cipher(a: Node, b: Node) -> str:
    peer = a.net.peers[b.device_id]
    assert peer.conn is not None
    return peer.conn.session.cipher


async def test_two_nodes_of_this_build_send_a_file_over_aegis256(nodes, tmp_path: Path) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    assert cipher(alice, bob) == cipher(bob, alice) == "aegis256"
    src = make_file(tmp_path / "a.bin", 900_000)
    conv, _ = await send(alice, bob, src)
    await until(lambda: state_of(bob, conv) == FILE_COMPLETE, alice, bob)
    assert read(only(bob, conv)["path"]) == read(src)


@pytest.mark.parametrize("earlier", ["sender", "receiver"])
async def test_a_node_of_an_earlier_build_still_sends_and_receives_files(
    nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier: str
) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    old = alice if earlier == "sender" else bob

    def session(identity: Identity, *, initiator: bool) -> Session:
        if identity.cert.device == old.device_id:
            return earlier_build(identity, initiator=initiator)
        return Session(identity, initiator=initiator)

    monkeypatch.setattr(network, "Session", session)
    await befriend(alice, bob)
    assert cipher(alice, bob) == cipher(bob, alice) == "ChaChaPoly"
    src = make_file(tmp_path / "a.bin", 900_000)
    conv, _ = await send(alice, bob, src, "over chachapoly")
    await until(lambda: state_of(bob, conv) == FILE_COMPLETE, alice, bob)
    assert read(only(bob, conv)["path"]) == read(src)
    assert [m.text for m in bob.history("alice")] == ["over chachapoly"]
