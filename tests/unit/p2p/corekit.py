"""Sans-IO feature tests: a real node without a network, fed events by hand.

A :class:`Me` is a started :class:`~p2p.node.Node` (``network=False``: no socket, no
discovery) on a profile in ``tmp_path``, with a recorder of the node events it emits.
Other people and my other devices are :class:`Author` values that sign events the way a
node does (a chain per conversation). Events reach the node one of two ways:

* :func:`apply` runs them through the kind table into a :class:`~p2p.kinds.Batch` and
  writes it with ``core.log.write`` (the apply stage alone, as a feature sees it);
* :func:`receive` hands them to the real receive pipeline (``Receiver.receive``) as if a
  connected peer had sent them: entitlement, chain check, authorization and all.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from eventkit import TABLE as _TABLE

from kith.p2p import events as ev
from kith.p2p import wire
from kith.p2p.api import NodeEvent
from kith.p2p.identity import Identity, _new_secret, save_identity
from kith.p2p.kinds import Applying, Batch
from kith.p2p.network import Peer
from kith.p2p.node import Node, NodeOptions
from kith.p2p.profile import create_identity
from kith.storage import Store


@dataclass
class Author:
    """A device that signs events: one chain per conversation, as a node keeps them."""

    identity: Identity
    heads: dict[bytes, tuple[int, bytes]] = field(default_factory=dict)
    lamport: int = 0

    @property
    def user(self) -> bytes:
        return self.identity.user_id

    @property
    def device(self) -> bytes:
        return self.identity.device_id

    @property
    def name(self) -> str:
        return self.identity.cert.name

    def event(
        self, conv: bytes, body: msgspec.Struct, *, lamport: int | None = None,
        time_ms: int | None = None,
    ) -> ev.SignedEvent:
        """The next event of this device in ``conv`` (format 2)."""
        kind, data = _TABLE.encode(body)
        seq, prev = self.heads.get(conv, (0, ev.GENESIS))
        self.lamport = lamport if lamport is not None else self.lamport + 1
        e = ev.create(
            self.identity.device_secret, conv=conv, seq=seq + 1, prev=prev,
            lamport=self.lamport,
            time_ms=int(time.time() * 1000) if time_ms is None else time_ms,
            kind=kind.name, body=data,
        )
        self.heads[conv] = (seq + 1, e.id)
        return e

    def raw(self, conv: bytes, kind: str, body: bytes) -> ev.SignedEvent:
        """The next event with a kind name and body bytes of our choosing (no table)."""
        seq, prev = self.heads.get(conv, (0, ev.GENESIS))
        self.lamport += 1
        e = ev.create(
            self.identity.device_secret, conv=conv, seq=seq + 1, prev=prev,
            lamport=self.lamport, time_ms=0, kind=kind, body=body,
        )
        self.heads[conv] = (seq + 1, e.id)
        return e




def person(name: str) -> Author:
    return Author(Identity.generate(name, name))


def other_device(of: Identity, device_name: str) -> Author:
    """Another device of the user ``of`` (what linking produces)."""
    secret = _new_secret()
    cert = of.for_new_device(device_name, secret[32:])
    return Author(Identity.linked(of.name, of.user_secret, secret, cert))


class Me:
    """A started node without a network, and everything it emitted."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.core = node.core
        self.events: list[NodeEvent] = []
        node.subscribe(self.events.append)
        self.author = Author(node.identity)

    @property
    def db(self) -> Store:
        return self.core.db

    @property
    def user(self) -> bytes:
        return self.core.user_id

    def knows(self, *authors: Author) -> None:
        """Store the devices' certificates (what a handshake does)."""
        for a in authors:
            c = a.identity.cert
            self.db.upsert_device(c.device, c.user, c.name, c.created, wire.encode_cert(c))

    def emitted(self, cls: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def stored(self, conv: bytes, author: bytes) -> list[tuple[int, str, msgspec.Struct | None]]:
        """(seq, kind, body) of every stored event of one log."""
        out: list[tuple[int, str, msgspec.Struct | None]] = []
        for row in self.db.execute(
            "SELECT seq, kind, head, body FROM events WHERE conv = ? AND author = ? ORDER BY seq",
            (conv, author),
        ):
            e = ev.decode(row[2], row[3])
            kind = self.core.kinds.get(e.kind)
            body = kind.decode(e.body) if kind is not None and e.body is not None else None
            out.append((row[0], row[1], body))
        return out

    def mine(self, conv: bytes) -> list[tuple[int, str, msgspec.Struct | None]]:
        return self.stored(conv, self.core.device_id)


async def start_me(tmp_path: Path, name: str = "alice", profile: Path | None = None) -> Me:
    path = profile or tmp_path / name
    if not (path / "identity.kith").exists():
        create_identity(path, name, device_name=name)
    node = Node(path, NodeOptions(network=False))
    await node.start()
    return Me(node)


def linked_profile(root: Path, owner: Path, device_name: str) -> Path:
    """A second device profile of the user whose profile is ``owner``."""
    from kith.p2p.identity import load_identity

    ident = load_identity(owner)
    assert ident is not None
    secret = _new_secret()
    cert = ident.for_new_device(device_name, secret[32:])
    save_identity(root / device_name, Identity.linked(ident.name, ident.user_secret, secret, cert))
    return root / device_name


def apply(
    me: Me, events: Sequence[ev.SignedEvent], *, via: Author | None = None,
    peer_name: str | None = None,
) -> list[ev.SignedEvent]:
    """Apply ``events`` through the kind table into one batch and write it with the event
    log, as the receive pipeline does after its checks (``via``: the device that sent
    them, by default their author). Returns our own events written with the batch."""
    core = me.core
    batch = Batch()
    for e in events:
        device = core.db.device(e.author)
        assert device is not None, "call me.knows(author) first"
        author_user = device.user_id
        via_own = (via.user if via is not None else author_user) == core.user_id
        conv_type = core.convs.type_for_event(e.conv, author_user, via_own)
        assert conv_type is not None
        kind = core.kinds.get(e.kind)
        assert kind is not None
        assert e.body is not None
        ctx = Applying(
            core, batch, conv_type, author_user, author_user == core.user_id, via_own,
            peer_name if peer_name is not None else (via.name if via else device.name),
        )
        core.log.see_lamport(e.conv, e.event.lamport)
        kind.apply(ctx, e, kind.decode(e.body))
        if author_user != core.user_id:
            core.convs.note(batch, e.conv, author_user)
    mine = core.log.write(batch, events)
    for e in events:
        core.log.heads[(e.conv, e.author)] = (e.event.seq, e.id)
    return mine


class FakeConn:
    """What the receive pipeline needs of a connection: somewhere to send."""

    def __init__(self) -> None:
        self.sent: list[wire.Message] = []
        self.established = True

    def send(self, m: wire.Message) -> None:
        self.sent.append(m)


def peer(of: Author) -> Peer:
    """A connected peer for ``of``'s device (not registered with the network)."""
    return Peer(of.device, name=of.name, user_id=of.user, conn=FakeConn())  # type: ignore[arg-type]


def receive(me: Me, via: Peer, events: Sequence[ev.SignedEvent]) -> None:
    """Hand ``events`` to the node's real receive pipeline as sent by ``via``."""
    me.node._receiver.receive(via, [e.wire() for e in events])


async def _me(tmp_path: Path) -> AsyncIterator[Me]:
    me = await start_me(tmp_path)
    try:
        yield me
    finally:
        await me.node.stop()


# ``from corekit import me_fixture`` gives a test module the fixture ``me``.
me_fixture = pytest.fixture(name="me")(_me)
