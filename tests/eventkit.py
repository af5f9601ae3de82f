"""Making events in tests the way a node does: a body struct in, a signed event out."""

from __future__ import annotations

import msgspec

from kith.p2p import events as ev
from kith.p2p.actions import KINDS as ACTION_KINDS
from kith.p2p.contacts import KINDS as CONTACT_KINDS
from kith.p2p.groups import KINDS as GROUP_KINDS
from kith.p2p.kinds import KindTable
from kith.p2p.messages import KINDS as MESSAGE_KINDS
from kith.p2p.settings import SETTING

TABLE = KindTable([*MESSAGE_KINDS, *CONTACT_KINDS, SETTING, *GROUP_KINDS, *ACTION_KINDS])


def make(
    device_secret: bytes,
    *,
    conv: bytes,
    seq: int,
    prev: bytes,
    lamport: int,
    time_ms: int,
    body: msgspec.Struct,
) -> ev.SignedEvent:
    """A new (format 2) event with ``body``, signed by the device ``device_secret``."""
    kind, data = TABLE.encode(body)
    return ev.create(
        device_secret, conv=conv, seq=seq, prev=prev, lamport=lamport, time_ms=time_ms,
        kind=kind.name, body=data,
    )


def body_of(e: ev.SignedEvent) -> msgspec.Struct:
    kind = TABLE.get(e.kind)
    assert kind is not None and e.body is not None
    return kind.decode(e.body)
