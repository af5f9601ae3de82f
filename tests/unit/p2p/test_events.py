"""p2p.events: signed event encoding, decoding, chain verification and body validation."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from p2p import events
from p2p.errors import RemoteProtocolError
from p2p.events import (
    GENESIS,
    MAX_EVENT,
    MAX_TEXT,
    ContactBody,
    Event,
    Head,
    MessageBody,
    ReceiptBody,
    SignedEvent,
)
from p2p.identity import Identity, sign

ALICE = Identity.generate("alice")
BOB = Identity.generate("bob")
CONV = events.direct_conversation(ALICE.user_id, BOB.user_id)


def _chain(
    who: Identity = ALICE, n: int = 5, *, conv: bytes = CONV, head: SignedEvent | None = None
) -> list[SignedEvent]:
    seq, prev = (head.seq, head.id) if head else (0, GENESIS)
    out = []
    for _ in range(n):
        seq += 1
        e = events.create(
            who.device_secret, conv=conv, seq=seq, prev=prev, lamport=seq * 2,
            time_ms=1_700_000_000_000 + seq, body=MessageBody(f"message {seq}"),
        )
        out.append(e)
        prev = e.id
    return out


def _wrap(event_bytes: bytes, sig: bytes) -> bytes:
    """raw = msgpack([event_bytes, sig]), as the module docstring specifies."""
    return msgspec.msgpack.encode([event_bytes, sig])


def _signed_raw(who: Identity, fields: list[object]) -> bytes:
    """An event with arbitrary fields, signed correctly by ``who``'s device key."""
    event_bytes = msgspec.msgpack.encode(fields)
    return _wrap(event_bytes, sign(who.device_secret, event_bytes))


def _fields(**changes: object) -> list[object]:
    base: dict[str, object] = {
        "conv": CONV, "author": ALICE.device_id, "seq": 1, "prev": GENESIS, "lamport": 1,
        "time": 5, "kind": "message", "body": events.encode_body(MessageBody("hi")),
    }
    base.update(changes)
    return list(base.values())


@pytest.fixture
def count_verifications(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    calls: list[bytes] = []
    real = events.verify_signature

    def counting(public_key: bytes, message: bytes, signature: bytes) -> bool:
        calls.append(message)
        return real(public_key, message, signature)

    monkeypatch.setattr(events, "verify_signature", counting)
    return lambda: len(calls)


# -- create / decode -------------------------------------------------------------------------


def test_create_decode_roundtrip_keeps_raw_bytes_and_id() -> None:
    e = events.create(
        ALICE.device_secret, conv=CONV, seq=1, prev=GENESIS, lamport=7, time_ms=123456,
        body=MessageBody("héllo ✓"),
    )
    d = events.decode(e.raw)
    assert d.raw == e.raw
    assert d.id == e.id
    assert d.event == e.event
    assert d.sig == e.sig
    assert (d.conv, d.author, d.seq) == (CONV, ALICE.device_id, 1)
    assert (d.event.prev, d.event.lamport, d.event.time, d.event.kind) == (
        GENESIS, 7, 123456, "message",
    )
    assert d.body() == MessageBody("héllo ✓")
    assert events.verify_signature_of(d)


def test_id_is_blake2b_256_of_raw() -> None:
    e = _chain(n=1)[0]
    assert e.id == hashlib.blake2b(e.raw, digest_size=32).digest()
    assert events.event_id(e.raw) == e.id
    assert len(e.id) == 32


@pytest.mark.parametrize(
    "body",
    [MessageBody("x"), ReceiptBody("read", BOB.device_id, 3), ContactBody("request", "Alice")],
)
def test_every_kind_roundtrips(body: msgspec.Struct) -> None:
    e = events.create(
        ALICE.device_secret, conv=CONV, seq=1, prev=GENESIS, lamport=1, time_ms=0, body=body
    )
    assert e.event.kind == events.kind_of(body)
    assert events.decode(e.raw).body() == body


def test_different_content_gives_different_ids() -> None:
    a = _chain(ALICE, 1)[0]
    b = _chain(BOB, 1)[0]
    c = _chain(ALICE, 1, conv=b"\x01" * 32)[0]
    assert len({a.id, b.id, c.id}) == 3


def test_decode_rejects_oversize_raw() -> None:
    big = _signed_raw(ALICE, _fields(body=events.encode_body(MessageBody("x" * MAX_EVENT))))
    assert len(big) > MAX_EVENT
    with pytest.raises(RemoteProtocolError, match="too large"):
        events.decode(big)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00", b"garbage!", b"\x92\xc4\x01", msgspec.msgpack.encode({"event": b"", "sig": b""}),
     msgspec.msgpack.encode([b"not an event", b"s" * 64]), msgspec.msgpack.encode([1, 2])],
)
def test_decode_rejects_garbage(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        events.decode(raw)


def test_decode_rejects_trailing_bytes() -> None:
    raw = _chain(n=1)[0].raw
    with pytest.raises(RemoteProtocolError):
        events.decode(raw + b"\x00")


@pytest.mark.parametrize(
    "changes",
    [
        {"conv": CONV[:31]},
        {"conv": CONV + b"\x00"},
        {"author": ALICE.device_id[:31]},
        {"author": b""},
        {"seq": 2, "prev": b"\x01" * 31},
    ],
    ids=["short conv", "long conv", "short author", "empty author", "short prev"],
)
def test_decode_rejects_wrong_key_sizes(changes: dict[str, object]) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed"):
        events.decode(_signed_raw(ALICE, _fields(**changes)))


@pytest.mark.parametrize("sig_size", [0, 63, 65])
def test_decode_rejects_wrong_signature_size(sig_size: int) -> None:
    raw = _wrap(msgspec.msgpack.encode(_fields()), b"s" * sig_size)
    with pytest.raises(RemoteProtocolError, match="size"):
        events.decode(raw)


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": 0},
        {"seq": -1},
        {"lamport": 0},
        {"seq": 1, "prev": b"\x01" * 32},
        {"seq": 2, "prev": GENESIS},
    ],
    ids=["seq 0", "negative seq", "lamport 0", "seq 1 with prev", "seq 2 without prev"],
)
def test_decode_rejects_bad_sequence_fields(changes: dict[str, object]) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed"):
        events.decode(_signed_raw(ALICE, _fields(**changes)))


def test_decode_rejects_wrong_field_types() -> None:
    with pytest.raises(RemoteProtocolError):
        events.decode(_signed_raw(ALICE, _fields(seq="1")))
    with pytest.raises(RemoteProtocolError):
        events.decode(_signed_raw(ALICE, _fields()[:-1]))


def test_decode_rejects_non_canonical_wrapper() -> None:
    e = _chain(n=1)[0]
    assert e.raw[0] == 0x92  # fixarray of 2
    same_event_new_bytes = b"\xdc\x00\x02" + e.raw[1:]  # array16 of 2
    with pytest.raises(RemoteProtocolError):
        events.decode(same_event_new_bytes)


def test_decode_rejects_extra_wrapper_elements() -> None:
    e = _chain(n=1)[0]
    event_bytes = msgspec.msgpack.decode(e.raw)[0]
    with pytest.raises(RemoteProtocolError):
        events.decode(msgspec.msgpack.encode([event_bytes, e.sig, 0]))


@pytest.mark.parametrize("field", ["lamport", "time"])
def test_decode_rejects_integers_sqlite_cannot_store(field: str) -> None:
    with pytest.raises(RemoteProtocolError):
        events.decode(_signed_raw(ALICE, _fields(**{field: 2**63})))


# -- verify_chain ----------------------------------------------------------------------------


def test_verify_chain_from_genesis_checks_one_signature(count_verifications) -> None:
    run = [events.decode(e.raw) for e in _chain(n=40)]
    events.verify_chain(None, run)
    assert count_verifications() == 1


def test_verify_chain_from_a_head_checks_one_signature(count_verifications) -> None:
    stored = _chain(n=10)
    run = [events.decode(e.raw) for e in _chain(n=25, head=stored[-1])]
    events.verify_chain(Head(stored[-1].seq, stored[-1].id), run)
    assert count_verifications() == 1


def test_verify_chain_of_nothing_checks_nothing(count_verifications) -> None:
    events.verify_chain(None, [])
    assert count_verifications() == 0


def test_verify_chain_rejects_a_run_that_does_not_start_at_the_head() -> None:
    run = _chain(n=6)
    with pytest.raises(RemoteProtocolError, match="broken chain"):
        events.verify_chain(None, run[2:])
    with pytest.raises(RemoteProtocolError, match="broken chain"):
        events.verify_chain(Head(2, run[1].id), run)  # starts at 1, head is 2
    with pytest.raises(RemoteProtocolError, match="broken chain"):
        events.verify_chain(Head(2, b"\x00" * 32), run[2:])  # right seq, other head id


def test_verify_chain_rejects_a_gap() -> None:
    run = _chain(n=5)
    with pytest.raises(RemoteProtocolError, match="broken chain"):
        events.verify_chain(None, [run[0], run[1], run[3], run[4]])


def test_verify_chain_rejects_a_wrong_prev() -> None:
    run = _chain(n=3)
    wrong = events.create(
        ALICE.device_secret, conv=CONV, seq=4, prev=run[1].id, lamport=8, time_ms=0,
        body=MessageBody("my prev skips seq 3"),
    )
    with pytest.raises(RemoteProtocolError, match="broken chain"):
        events.verify_chain(None, [*run, wrong])


def test_verify_chain_rejects_a_mixed_author_run() -> None:
    a = _chain(ALICE, 2)
    b = _chain(BOB, 3)
    with pytest.raises(RemoteProtocolError, match="mixes"):
        events.verify_chain(None, [a[0], a[1], b[2]])


def test_verify_chain_rejects_a_mixed_conversation_run() -> None:
    a = _chain(ALICE, 2)
    elsewhere = _chain(ALICE, 3, conv=b"\x02" * 32)
    with pytest.raises(RemoteProtocolError, match="mixes"):
        events.verify_chain(None, [a[0], a[1], elsewhere[2]])


def test_verify_chain_rejects_a_tampered_middle_event() -> None:
    run = _chain(n=4)
    middle = run[1]
    body = bytearray(middle.event.body)
    body[-1] ^= 0x01  # "message 2" -> "message 3"
    forged = msgspec.structs.replace(middle.event, body=bytes(body))
    forged_raw = _wrap(msgspec.msgpack.encode(forged), middle.sig)
    tampered = events.decode(forged_raw)
    assert tampered.body() != middle.body()
    with pytest.raises(RemoteProtocolError, match="broken chain at seq 3"):
        events.verify_chain(None, [run[0], tampered, run[2], run[3]])


def test_verify_chain_rejects_a_bad_signature_on_the_tip() -> None:
    run = _chain(n=3)
    tip = run[-1]
    event_bytes = msgspec.msgpack.decode(tip.raw)[0]
    bad_sig = bytes([tip.sig[0] ^ 0x80]) + tip.sig[1:]
    forged = events.decode(_wrap(event_bytes, bad_sig))
    with pytest.raises(RemoteProtocolError, match="bad signature"):
        events.verify_chain(None, [run[0], run[1], forged])


def test_verify_chain_rejects_a_tip_signed_by_another_device() -> None:
    run = _chain(n=2)
    impostor = events.decode(
        _signed_raw(BOB, _fields(seq=3, prev=run[1].id, lamport=6))  # author field = ALICE
    )
    assert impostor.author == ALICE.device_id
    with pytest.raises(RemoteProtocolError, match="bad signature"):
        events.verify_chain(None, [*run, impostor])


# -- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("message", MessageBody("")),
        ("message", MessageBody("x" * (MAX_TEXT + 1))),
        ("receipt", ReceiptBody("seen", BOB.device_id, 1)),
        ("receipt", ReceiptBody("read", b"short", 1)),
        ("receipt", ReceiptBody("read", BOB.device_id, 0)),
        ("contact", ContactBody("befriend", "Bob")),
    ],
    ids=["empty text", "text too long", "bad receipt status", "receipt author size",
         "receipt seq 0", "bad contact action"],
)
def test_invalid_bodies_are_rejected(kind: str, body: msgspec.Struct) -> None:
    with pytest.raises(RemoteProtocolError):
        events.decode_body(kind, events.encode_body(body))


def test_longest_text_is_accepted() -> None:
    assert events.decode_body("message", events.encode_body(MessageBody("x" * MAX_TEXT)))


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError, match="unknown event kind"):
        events.decode_body("poke", events.encode_body(MessageBody("hi")))
    e = events.decode(_signed_raw(ALICE, _fields(kind="poke")))
    with pytest.raises(RemoteProtocolError, match="unknown event kind"):
        e.body()


def test_body_of_the_wrong_shape_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError, match="malformed"):
        events.decode_body("receipt", events.encode_body(MessageBody("hi")))
    with pytest.raises(RemoteProtocolError, match="malformed"):
        events.decode_body("message", b"\xc1")


def test_create_refuses_an_invalid_body() -> None:
    with pytest.raises(RemoteProtocolError):
        events.create(
            ALICE.device_secret, conv=CONV, seq=1, prev=GENESIS, lamport=1, time_ms=0,
            body=MessageBody(""),
        )


# -- conversations ---------------------------------------------------------------------------


def test_direct_conversation_is_symmetric_and_unique_per_pair() -> None:
    carol = Identity.generate("carol")
    ab = events.direct_conversation(ALICE.user_id, BOB.user_id)
    assert ab == events.direct_conversation(BOB.user_id, ALICE.user_id)
    assert len(ab) == 32
    ac = events.direct_conversation(ALICE.user_id, carol.user_id)
    bc = events.direct_conversation(carol.user_id, BOB.user_id)
    assert len({ab, ac, bc}) == 3
    assert events.direct_conversation(ALICE.user_id, ALICE.user_id) not in {ab, ac}


# -- fuzz ------------------------------------------------------------------------------------


@settings(database=None, max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_decode_of_arbitrary_bytes_raises_only_remote_protocol_error(raw: bytes) -> None:
    try:
        e = events.decode(raw)
    except RemoteProtocolError:
        return
    events.verify_signature_of(e)


_VALID = _chain(n=3)[-1].raw


# msgspec raises UnicodeDecodeError, not DecodeError, for invalid UTF-8 in a str field.


def test_decode_rejects_invalid_utf8_kind() -> None:
    raw = _signed_raw(ALICE, _fields(kind="messagé"))
    bad = raw.replace("messagé".encode(), b"messag\x80\x80")
    assert bad != raw
    with pytest.raises(RemoteProtocolError):
        events.decode(bad)


@pytest.mark.parametrize("kind", ["message", "receipt", "contact"])
def test_decode_body_rejects_invalid_utf8_text(kind: str) -> None:
    body = {
        "message": MessageBody("é"),
        "receipt": ReceiptBody("é", BOB.device_id, 1),
        "contact": ContactBody("é", "x"),
    }[kind]
    bad = events.encode_body(body).replace("é".encode(), b"\x80\x80")
    with pytest.raises(RemoteProtocolError):
        events.decode_body(kind, bad)


@settings(database=None, max_examples=300, deadline=None)
@example(position=_VALID.index(b"message") + 1, value=0x80, cut=0)
@given(
    position=st.integers(min_value=0, max_value=len(_VALID) - 1),
    value=st.integers(min_value=0, max_value=255),
    cut=st.integers(min_value=0, max_value=len(_VALID)),
)
def test_decode_of_mutated_events_raises_only_remote_protocol_error(
    position: int, value: int, cut: int
) -> None:
    mutated = bytearray(_VALID)
    mutated[position] = value
    for raw in (bytes(mutated), bytes(mutated[:cut])):
        try:
            e = events.decode(raw)
        except RemoteProtocolError:
            continue
        try:
            e.body()
            events.verify_chain(Head(e.seq - 1, e.event.prev) if e.seq > 1 else None, [e])
        except RemoteProtocolError:
            continue


@settings(database=None, max_examples=200, deadline=None)
@given(kind=st.sampled_from([*events.KINDS, "other"]), body=st.binary(max_size=200))
def test_decode_body_of_arbitrary_bytes_raises_only_remote_protocol_error(
    kind: str, body: bytes
) -> None:
    try:
        events.decode_body(kind, body)
    except RemoteProtocolError:
        pass


def test_event_struct_fields_are_the_documented_ones() -> None:
    assert Event.__struct_fields__ == (
        "conv", "author", "seq", "prev", "lamport", "time", "kind", "body",
    )


def test_decoded_events_are_not_tracked_by_the_garbage_collector() -> None:
    """A history sync decodes millions of events; objects the collector tracks made it a
    tenth slower (collections over the objects each batch keeps alive). These can hold no
    reference cycle, so they opt out (msgspec ``gc=False``)."""
    import gc

    e = events.decode(_chain(n=1)[0].raw)
    assert not gc.is_tracked(e)
    assert not gc.is_tracked(e.event)
    assert not gc.is_tracked(e.body())
    for body in (ReceiptBody("read", ALICE.device_id, 1), ContactBody("request", "x")):
        assert not gc.is_tracked(body)
