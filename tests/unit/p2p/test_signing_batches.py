"""One signature per batch: unsigned format-2 events are vouched for by a later signed
event of their log (p2p.events), and the group commit signs the last event of each log
in each batch and every SIGN_EVERY-th (p2p.eventlog)."""

from __future__ import annotations

import msgspec
import pytest
from eventkit import TABLE

from kith.p2p import events as ev
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.identity import Identity
from kith.p2p.messages import MessageBody
from kith.p2p.node import Node, NodeOptions
from kith.p2p.profile import create_identity

ALICE = Identity.generate("alice")
CONV = ev.direct_conversation(ALICE.user_id, b"\x02" * 32)


def _run(signed: list[bool]) -> list[ev.SignedEvent]:
    out: list[ev.SignedEvent] = []
    prev = ev.GENESIS
    for i, sign in enumerate(signed, 1):
        kind, body = TABLE.encode(MessageBody(f"m{i}"))
        e = ev.create(ALICE.device_secret, conv=CONV, seq=i, prev=prev, lamport=i, time_ms=i,
                      kind=kind.name, body=body, signed=sign)
        out.append(e)
        prev = e.id
    return out


def test_an_unsigned_event_decodes_and_is_vouched_for_by_a_later_signature(monkeypatch):
    run = _run([False, False, True])
    assert [e.signed for e in run] == [False, False, True]
    again = [ev.decode(e.head, e.body) for e in run]
    assert [e.id for e in again] == [e.id for e in run]
    checks: list[bytes] = []
    real = ev.verify_signature
    monkeypatch.setattr(ev, "verify_signature", lambda *a: checks.append(a[1]) or real(*a))
    ev.verify_chain(None, again)
    assert len(checks) == 1  # the tip's signature vouches for the two before it
    assert ev.vouched(again) == 3 and ev.vouched(again[:2]) == 0


def test_a_run_that_ends_unsigned_does_not_verify() -> None:
    run = _run([True, False])
    with pytest.raises(RemoteProtocolError, match="not signed"):
        ev.verify_chain(None, run)
    assert ev.vouched(run) == 1
    ev.verify_chain(None, run[:1])


def test_a_tampered_unsigned_event_breaks_the_chain_under_the_signature() -> None:
    run = _run([False, True])
    forged_body = msgspec.msgpack.encode(MessageBody("forged"))
    header = msgspec.msgpack.decode(msgspec.msgpack.decode(run[0].head)[0])
    header[-1] = ev.body_hash(forged_body)
    forged_head = msgspec.msgpack.encode([msgspec.msgpack.encode(header), b""])
    forged = ev.decode(forged_head, forged_body)
    with pytest.raises(RemoteProtocolError, match="broken chain"):
        ev.verify_chain(None, [forged, run[1]])


def test_signed_copy_keeps_the_header_and_signs_it() -> None:
    [e] = _run([False])
    signed = ev.signed_copy(ALICE.device_secret, e)
    assert signed.event == e.event and signed.body == e.body and signed.signed
    assert signed.id != e.id
    ev.verify_chain(None, [ev.decode(signed.head, signed.body)])


def test_a_first_release_event_must_be_signed() -> None:
    event = msgspec.msgpack.encode([CONV, ALICE.device_id, 1, b"", 1, 1, "message", b"\x91\xa1x"])
    head = msgspec.msgpack.encode([event, b""])
    with pytest.raises(RemoteProtocolError, match="bad key or id size"):
        ev.decode(head)


async def test_the_group_commit_signs_each_batch_once_per_log(tmp_path) -> None:
    create_identity(tmp_path / "alice", "alice")
    bob = Identity.generate("bob")
    node = Node(tmp_path / "alice", NodeOptions(network=False))
    await node.start()
    try:
        node.core.contacts.save(bob.user_id, name="bob", state="accepted")
        n = 2 * ev.SIGN_EVERY + 44
        for i in range(n):
            node.queue_message(bob.user_id, f"message {i}")
        await node.flush()  # one batch
        node.queue_message(bob.user_id, "alone")
        await node.flush()  # another
        conv = node.conv_with(bob.user_id)
        run = [ev.decode(h, b) for h, b in node.db.events_after(conv, node.device_id, 0, n + 5)]
        signed = [e.seq for e in run if e.signed]
        assert signed == [ev.SIGN_EVERY, 2 * ev.SIGN_EVERY, n, n + 1]
        ev.verify_chain(None, run)
        assert node.core.log.head(conv, node.device_id).id == run[-1].id
    finally:
        await node.stop()
