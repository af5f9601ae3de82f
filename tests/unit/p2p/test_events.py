"""p2p.events: both event formats (a signed head and a body kept apart), decoding,
canonical encoding, chain verification with one signature, erasable bodies."""

from __future__ import annotations

import gc
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from eventkit import make
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kith.p2p import events
from kith.p2p.contacts import ContactBody
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.events import GENESIS, MAX_COUNTER, MAX_EVENT, MAX_KIND, Event, Head, SignedEvent
from kith.p2p.identity import Identity, sign
from kith.p2p.messages import MessageBody, ReceiptBody
from kith.storage import Store

ALICE = Identity.generate("alice")
BOB = Identity.generate("bob")
CONV = events.direct_conversation(ALICE.user_id, BOB.user_id)
_enc = msgspec.msgpack.encode


def _chain(
    who: Identity = ALICE, n: int = 5, *, conv: bytes = CONV, head: SignedEvent | None = None
) -> list[SignedEvent]:
    """``n`` format-2 message events continuing ``head`` (or from genesis)."""
    seq, prev = (head.seq, head.id) if head else (0, GENESIS)
    out = []
    for _ in range(n):
        seq += 1
        e = make(
            who.device_secret, conv=conv, seq=seq, prev=prev, lamport=seq * 2,
            time_ms=1_700_000_000_000 + seq, body=MessageBody(f"message {seq}"),
        )
        out.append(e)
        prev = e.id
    return out


def _wrap(header: bytes, sig: bytes) -> bytes:
    """head = msgpack([header, sig]), as the module docstring specifies."""
    return _enc([header, sig])


def _signed_head(who: Identity, fields: list[object]) -> bytes:
    """A head with arbitrary header fields, signed correctly by ``who``'s device key."""
    header = _enc(fields)
    return _wrap(header, sign(who.device_secret, header))


BODY = _enc(MessageBody("hi"))


def _fields(**changes: object) -> list[object]:
    """Format-2 header fields: [2, conv, author, seq, prev, lamport, time, kind, body_hash]."""
    base: dict[str, object] = {
        "format": 2, "conv": CONV, "author": ALICE.device_id, "seq": 1, "prev": GENESIS,
        "lamport": 1, "time": 5, "kind": "message", "body_hash": events.body_hash(BODY),
    }
    base.update(changes)
    return list(base.values())


def _v1_fields(**changes: object) -> list[object]:
    """Format-1 event fields: [conv, author, seq, prev, lamport, time, kind, body]."""
    base: dict[str, object] = {
        "conv": CONV, "author": ALICE.device_id, "seq": 1, "prev": GENESIS, "lamport": 1,
        "time": 5, "kind": "message", "body": BODY,
    }
    base.update(changes)
    return list(base.values())


def _v1_chain(who: Identity = ALICE, n: int = 3, *, conv: bytes = CONV) -> list[SignedEvent]:
    """Events as the first release wrote them: the body inside the signed event."""
    prev, out = GENESIS, []
    for seq in range(1, n + 1):
        head = _signed_head(who, _v1_fields(
            conv=conv, author=who.device_id, seq=seq, prev=prev, lamport=seq,
            body=_enc(MessageBody(f"old {seq}")),
        ))
        e = events.decode(head)
        out.append(e)
        prev = e.id
    return out


@pytest.fixture
def count_verifications(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    calls: list[bytes] = []
    real = events.verify_signature

    def counting(public_key: bytes, message: bytes, signature: bytes) -> bool:
        calls.append(message)
        return real(public_key, message, signature)

    monkeypatch.setattr(events, "verify_signature", counting)
    return lambda: len(calls)


# -- format 2: create / decode -----------------------------------------------------------


def test_create_decode_roundtrip_keeps_head_body_and_id() -> None:
    body = _enc(MessageBody("héllo ✓"))
    e = events.create(
        ALICE.device_secret, conv=CONV, seq=1, prev=GENESIS, lamport=7, time_ms=123456,
        kind="message", body=body,
    )
    d = events.decode(e.head, e.body)
    assert (d.head, d.body, d.id, d.event, d.sig) == (e.head, body, e.id, e.event, e.sig)
    assert (d.conv, d.author, d.seq, d.kind) == (CONV, ALICE.device_id, 1, "message")
    x = d.event
    assert (x.format, x.prev, x.lamport, x.time) == (2, GENESIS, 7, 123456)
    assert x.body_hash == hashlib.blake2b(body, digest_size=32).digest()
    assert msgspec.msgpack.decode(body, type=MessageBody) == MessageBody("héllo ✓")
    assert d.erasable
    assert d.wire() == (e.head, body)
    assert events.verify_signature_of(d)


def test_the_head_is_the_signed_header_and_its_signature() -> None:
    e = _chain(n=1)[0]
    header, sig = msgspec.msgpack.decode(e.head)
    assert sig == e.sig
    assert msgspec.msgpack.decode(header) == [
        2, CONV, ALICE.device_id, 1, GENESIS, 2, 1_700_000_000_001, "message",
        events.body_hash(e.body or b""),
    ]
    # The signature covers the header (with the body's hash), not the body.
    assert events.verify_signature(ALICE.device_id, header, sig)


def test_id_is_blake2b_256_of_the_head() -> None:
    e = _chain(n=1)[0]
    assert e.id == hashlib.blake2b(e.head, digest_size=32).digest()
    assert events.event_id(e.head) == e.id
    assert events.decode(e.head).id == e.id  # the body is not part of the id
    assert len(e.id) == 32


def test_different_content_gives_different_ids() -> None:
    a = _chain(ALICE, 1)[0]
    b = _chain(BOB, 1)[0]
    c = _chain(ALICE, 1, conv=b"\x01" * 32)[0]
    assert len({a.id, b.id, c.id}) == 3


def test_a_body_that_does_not_match_its_hash_is_refused() -> None:
    e = _chain(n=1)[0]
    with pytest.raises(RemoteProtocolError, match="does not match its signed hash"):
        events.decode(e.head, _enc(MessageBody("something else")))
    with pytest.raises(RemoteProtocolError, match="does not match"):
        events.decode(e.head, b"")


def test_a_head_without_its_body_decodes_and_verifies() -> None:
    e = _chain(n=1)[0]
    d = events.decode(e.head)
    assert d.body is None
    assert (d.id, d.event) == (e.id, e.event)
    assert d.wire() == (e.head, None)
    assert events.verify_signature_of(d)
    events.verify_chain(None, [d])


def test_without_body_erases_the_body_and_keeps_the_id() -> None:
    e = _chain(n=1)[0]
    erased = events.without_body(e)
    assert erased.body is None
    assert (erased.id, erased.head, erased.event, erased.sig) == (e.id, e.head, e.event, e.sig)
    assert events.verify_signature_of(erased)


def test_verify_chain_over_erased_middle_bodies_checks_one_signature(
    count_verifications: Callable[[], int],
) -> None:
    run = _chain(n=6)
    wire = [(e.head, e.body if e.seq in (1, 6) else None) for e in run]
    decoded = [events.decode(h, b) for h, b in wire]
    assert [d.body is None for d in decoded] == [False, True, True, True, True, False]
    events.verify_chain(None, decoded)
    assert count_verifications() == 1


def test_verify_chain_of_only_heads_checks_one_signature(
    count_verifications: Callable[[], int],
) -> None:
    run = [events.decode(e.head) for e in _chain(n=10)]
    events.verify_chain(None, run)
    assert count_verifications() == 1


# -- format 1 (the first release) ----------------------------------------------------------


def test_a_format_1_event_decodes_and_verifies() -> None:
    head = _signed_head(ALICE, _v1_fields(lamport=3, time=77))
    e = events.decode(head)
    assert e.event.format == 1
    assert (e.conv, e.author, e.seq, e.kind) == (CONV, ALICE.device_id, 1, "message")
    assert (e.event.lamport, e.event.time, e.event.body_hash) == (3, 77, b"")
    assert e.body == BODY  # the body rides in the head
    assert e.id == hashlib.blake2b(head, digest_size=32).digest()
    assert not e.erasable
    assert e.wire() == (head, None)
    assert events.verify_signature_of(e)


def test_a_format_1_body_cannot_be_erased() -> None:
    e = events.decode(_signed_head(ALICE, _v1_fields()))
    with pytest.raises(ValueError, match="format-1"):
        events.without_body(e)


def test_a_format_1_event_with_a_separate_body_is_refused() -> None:
    head = _signed_head(ALICE, _v1_fields())
    with pytest.raises(RemoteProtocolError, match="body in its head"):
        events.decode(head, BODY)


def test_a_format_1_chain_verifies_with_one_signature(
    count_verifications: Callable[[], int],
) -> None:
    run = _v1_chain(n=8)
    events.verify_chain(None, run)
    assert count_verifications() == 1


def test_a_log_goes_on_in_format_2_after_format_1_events(
    count_verifications: Callable[[], int],
) -> None:
    old = _v1_chain(n=3)
    new = _chain(n=3, head=old[-1])
    events.verify_chain(None, [*old, *new])
    events.verify_chain(Head(3, old[-1].id), new)
    assert count_verifications() == 2


def test_a_tampered_format_1_body_breaks_its_signature() -> None:
    head = _signed_head(ALICE, _v1_fields())
    header, sig = msgspec.msgpack.decode(head)
    forged = _wrap(_enc(_v1_fields(body=_enc(MessageBody("ho")))), sig)
    e = events.decode(forged)
    with pytest.raises(RemoteProtocolError, match="bad signature"):
        events.verify_chain(None, [e])


# -- structural checks (both formats) ---------------------------------------------------------


FIELDS = {"2": _fields, "1": _v1_fields}
both_formats = pytest.mark.parametrize("fmt", ["2", "1"])


def test_decode_rejects_an_oversize_event() -> None:
    big = _enc(MessageBody("x" * MAX_EVENT))
    head = _signed_head(ALICE, _fields(body_hash=events.body_hash(big)))
    with pytest.raises(RemoteProtocolError, match="too large"):
        events.decode(head, big)  # the body counts
    v1 = _signed_head(ALICE, _v1_fields(body=big))
    with pytest.raises(RemoteProtocolError, match="too large"):
        events.decode(v1)


def test_an_event_just_within_the_size_limit_is_accepted() -> None:
    head_len = len(_signed_head(ALICE, _fields()))
    body = b"\x00" * (MAX_EVENT - head_len)
    head = _signed_head(ALICE, _fields(body_hash=events.body_hash(body)))
    assert len(head) + len(body) == MAX_EVENT
    assert events.decode(head, body).body == body


@pytest.mark.parametrize(
    "head",
    [b"", b"\x00", b"garbage!", b"\x92\xc4\x01", _enc({"event": b"", "sig": b""}),
     _enc([b"not an event", b"s" * 64]), _enc([1, 2]), _enc([b"", b"s" * 64]),
     _enc([_enc([1, 2, 3, 4, 5, 6, 7]), b"s" * 64])],
)
def test_decode_rejects_garbage(head: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        events.decode(head)


def test_decode_rejects_an_unknown_format_number() -> None:
    with pytest.raises(RemoteProtocolError, match="unknown event format 3"):
        events.decode(_signed_head(ALICE, _fields(format=3)))
    with pytest.raises(RemoteProtocolError, match="unknown event format 1"):
        events.decode(_signed_head(ALICE, _fields(format=1)))  # format 1 has 8 fields


@both_formats
def test_decode_rejects_trailing_bytes(fmt: str) -> None:
    head = _signed_head(ALICE, FIELDS[fmt]())
    events.decode(head)
    with pytest.raises(RemoteProtocolError):
        events.decode(head + b"\x00")


@both_formats
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
def test_decode_rejects_wrong_key_sizes(fmt: str, changes: dict[str, object]) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed"):
        events.decode(_signed_head(ALICE, FIELDS[fmt](**changes)))


@pytest.mark.parametrize("size", [0, 31, 33])
def test_decode_rejects_a_wrong_body_hash_size(size: int) -> None:
    with pytest.raises(RemoteProtocolError, match="bad body hash"):
        events.decode(_signed_head(ALICE, _fields(body_hash=b"h" * size)))


@both_formats
@pytest.mark.parametrize("sig_size", [0, 63, 65])
def test_decode_rejects_a_wrong_signature_size(fmt: str, sig_size: int) -> None:
    """A signature is 64 bytes; a format-2 event may also have none (a later signed event
    of its log vouches for it: see test_signing_batches)."""
    head = _wrap(_enc(FIELDS[fmt]()), b"s" * sig_size)
    if fmt == "2" and sig_size == 0:
        assert not events.decode(head).signed
        return
    with pytest.raises(RemoteProtocolError, match="size"):
        events.decode(head)


@both_formats
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
def test_decode_rejects_bad_sequence_fields(fmt: str, changes: dict[str, object]) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed"):
        events.decode(_signed_head(ALICE, FIELDS[fmt](**changes)))


@both_formats
@pytest.mark.parametrize("kind", ["", "k" * (MAX_KIND + 1)], ids=["empty", "too long"])
def test_decode_rejects_a_bad_kind_name(fmt: str, kind: str) -> None:
    with pytest.raises(RemoteProtocolError, match="bad kind"):
        events.decode(_signed_head(ALICE, FIELDS[fmt](kind=kind)))
    assert events.decode(_signed_head(ALICE, FIELDS[fmt](kind="k" * MAX_KIND)))


@both_formats
def test_decode_rejects_wrong_field_types(fmt: str) -> None:
    with pytest.raises(RemoteProtocolError):
        events.decode(_signed_head(ALICE, FIELDS[fmt](seq="1")))
    with pytest.raises(RemoteProtocolError):
        events.decode(_signed_head(ALICE, FIELDS[fmt]()[:-1]))
    with pytest.raises(RemoteProtocolError):
        events.decode(_signed_head(ALICE, [*FIELDS[fmt](), 0]))


@both_formats
@pytest.mark.parametrize("field", ["seq", "lamport", "time"])
def test_decode_rejects_counters_out_of_range(fmt: str, field: str) -> None:
    changes: dict[str, object] = {field: MAX_COUNTER}
    if field == "seq":
        changes["prev"] = b"\x01" * 32
    with pytest.raises(RemoteProtocolError, match="counter out of range"):
        events.decode(_signed_head(ALICE, FIELDS[fmt](**changes)))
    changes[field] = MAX_COUNTER - 1
    assert events.decode(_signed_head(ALICE, FIELDS[fmt](**changes)))


@both_formats
def test_decode_rejects_a_time_far_in_the_past(fmt: str) -> None:
    with pytest.raises(RemoteProtocolError, match="counter out of range"):
        events.decode(_signed_head(ALICE, FIELDS[fmt](time=-MAX_COUNTER)))
    assert events.decode(_signed_head(ALICE, FIELDS[fmt](time=-5))).event.time == -5


@both_formats
@pytest.mark.parametrize("field", ["lamport", "time"])
def test_decode_rejects_integers_sqlite_cannot_store(fmt: str, field: str) -> None:
    with pytest.raises(RemoteProtocolError):
        events.decode(_signed_head(ALICE, FIELDS[fmt](**{field: 2**63})))


@both_formats
def test_decode_rejects_invalid_utf8_in_the_kind(fmt: str) -> None:
    head = _signed_head(ALICE, FIELDS[fmt](kind="messagé"))
    bad = head.replace("messagé".encode(), b"messag\x80\x80")
    assert bad != head
    with pytest.raises(RemoteProtocolError):
        events.decode(bad)


# -- one event, one encoding ----------------------------------------------------------------


def test_decode_rejects_a_non_canonical_wrapper() -> None:
    e = _chain(n=1)[0]
    assert e.head[0] == 0x92  # fixarray of 2
    same_event_new_bytes = b"\xdc\x00\x02" + e.head[1:]  # array16 of 2
    with pytest.raises(RemoteProtocolError, match="canonical"):
        events.decode(same_event_new_bytes)


def test_decode_rejects_extra_wrapper_elements() -> None:
    e = _chain(n=1)[0]
    header = msgspec.msgpack.decode(e.head)[0]
    with pytest.raises(RemoteProtocolError):
        events.decode(_enc([header, e.sig, 0]))


@both_formats
def test_decode_rejects_a_non_canonical_header(fmt: str) -> None:
    """The same fields re-encoded longer (array16, a wide integer) are another header.
    Format 1 refuses them, as the first release did. Format 2 takes the header as it is:
    the signature (or the next event's prev) binds its exact bytes, so only its author
    could have written it otherwise, and that is just another event of the author's
    (a fork, if its seq is taken); not re-encoding every header is a tenth of decode."""
    canonical = _enc(FIELDS[fmt]())
    assert canonical[0] in (0x99, 0x98)
    for header in (
        b"\xdc\x00" + bytes([canonical[0] & 0x0F]) + canonical[1:],  # array16
        canonical.replace(b"\x01\xc4\x00\x01", b"\xcd\x00\x01\xc4\x00\x01", 1),  # seq uint16
    ):
        assert header != canonical
        assert msgspec.msgpack.decode(header) == FIELDS[fmt]()
        head = _wrap(header, sign(ALICE.device_secret, header))
        if fmt == "2" and header[0] == 0x99:  # (an array16 is not a header layout at all)
            assert events.decode(head).event == events.decode(_wrap(canonical, b"s" * 64)).event
            continue
        with pytest.raises(RemoteProtocolError):
            events.decode(head)


# -- verify_chain -----------------------------------------------------------------------------


def test_verify_chain_from_genesis_checks_one_signature(
    count_verifications: Callable[[], int],
) -> None:
    run = [events.decode(e.head, e.body) for e in _chain(n=40)]
    events.verify_chain(None, run)
    assert count_verifications() == 1


def test_verify_chain_from_a_head_checks_one_signature(
    count_verifications: Callable[[], int],
) -> None:
    stored = _chain(n=10)
    run = [events.decode(e.head, e.body) for e in _chain(n=25, head=stored[-1])]
    events.verify_chain(Head(stored[-1].seq, stored[-1].id), run)
    assert count_verifications() == 1


def test_verify_chain_of_nothing_checks_nothing(count_verifications: Callable[[], int]) -> None:
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
    events.verify_chain(Head(2, run[1].id), run[2:])


def test_verify_chain_rejects_a_gap() -> None:
    run = _chain(n=5)
    with pytest.raises(RemoteProtocolError, match="broken chain"):
        events.verify_chain(None, [run[0], run[1], run[3], run[4]])


def test_verify_chain_rejects_a_wrong_prev() -> None:
    run = _chain(n=3)
    wrong = make(
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


def test_verify_chain_rejects_a_tampered_middle_header() -> None:
    run = _chain(n=4)
    middle = run[1]
    forged = msgspec.structs.replace(middle.event, time=middle.event.time + 1)
    tampered = events.decode(_wrap(_enc(forged), middle.sig), middle.body)
    assert tampered.id != middle.id
    with pytest.raises(RemoteProtocolError, match="broken chain at seq 3"):
        events.verify_chain(None, [run[0], tampered, run[2], run[3]])


def test_a_tampered_middle_body_is_refused_before_the_chain() -> None:
    run = _chain(n=4)
    with pytest.raises(RemoteProtocolError, match="does not match"):
        events.decode(run[1].head, _enc(MessageBody("message 9")))


def test_verify_chain_rejects_a_bad_signature_on_the_tip() -> None:
    run = _chain(n=3)
    tip = run[-1]
    header = msgspec.msgpack.decode(tip.head)[0]
    bad_sig = bytes([tip.sig[0] ^ 0x80]) + tip.sig[1:]
    forged = events.decode(_wrap(header, bad_sig), tip.body)
    with pytest.raises(RemoteProtocolError, match="bad signature"):
        events.verify_chain(None, [run[0], run[1], forged])


def test_verify_chain_rejects_a_tip_signed_by_another_device() -> None:
    run = _chain(n=2)
    impostor = events.decode(  # the author field says ALICE, BOB signed it
        _signed_head(BOB, _fields(seq=3, prev=run[1].id, lamport=6)), BODY
    )
    assert impostor.author == ALICE.device_id
    with pytest.raises(RemoteProtocolError, match="bad signature"):
        events.verify_chain(None, [*run, impostor])


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


def test_self_conversation_is_per_user_and_not_a_direct_one() -> None:
    a, b = events.self_conversation(ALICE.user_id), events.self_conversation(BOB.user_id)
    assert len({a, b}) == 2 and len(a) == 32
    assert events.self_conversation(ALICE.user_id) == a
    assert a != events.direct_conversation(ALICE.user_id, ALICE.user_id)


# -- fuzz ------------------------------------------------------------------------------------


_VALID = _chain(n=3)[-1]
_VALID_V1 = _v1_chain(n=2)[-1].head


@settings(database=None, max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.none() | st.binary(max_size=100))
def test_decode_of_arbitrary_bytes_raises_only_remote_protocol_error(
    head: bytes, body: bytes | None
) -> None:
    try:
        e = events.decode(head, body)
    except RemoteProtocolError:
        return
    events.verify_signature_of(e)


@settings(database=None, max_examples=300, deadline=None)
@example(head=_VALID.head, position=_VALID.head.index(b"message") + 1, value=0x80, cut=0)
@example(head=_VALID_V1, position=_VALID_V1.index(b"message") + 1, value=0x80, cut=0)
@given(
    head=st.sampled_from([_VALID.head, _VALID_V1]),
    position=st.integers(min_value=0, max_value=len(_VALID_V1) - 1),
    value=st.integers(min_value=0, max_value=255),
    cut=st.integers(min_value=0, max_value=len(_VALID_V1)),
)
def test_decode_of_mutated_events_raises_only_remote_protocol_error(
    head: bytes, position: int, value: int, cut: int
) -> None:
    mutated = bytearray(head)
    mutated[position % len(head)] = value
    for candidate in (bytes(mutated), bytes(mutated[:cut])):
        for body in (None, _VALID.body):
            try:
                e = events.decode(candidate, body)
                events.verify_chain(Head(e.seq - 1, e.event.prev) if e.seq > 1 else None, [e])
            except RemoteProtocolError:
                continue


# -- the structs ------------------------------------------------------------------------------


def test_event_struct_fields_are_the_documented_ones() -> None:
    assert Event.__struct_fields__ == (
        "format", "conv", "author", "seq", "prev", "lamport", "time", "kind", "body_hash",
    )


@both_formats
def test_decoded_events_are_not_tracked_by_the_garbage_collector(fmt: str) -> None:
    """A history sync decodes millions of events; objects the collector tracks made it a
    tenth slower. These can hold no reference cycle, so they opt out (``gc=False``)."""
    e = events.decode(_signed_head(ALICE, FIELDS[fmt]()), BODY if fmt == "2" else None)
    assert not gc.is_tracked(e)
    assert not gc.is_tracked(e.event)
    created = _chain(n=1)[0]
    assert not gc.is_tracked(created)
    assert not gc.is_tracked(events.without_body(created))
    for body in (
        MessageBody("x"), ReceiptBody("read", ALICE.device_id, 1), ContactBody("request", "x")
    ):
        assert not gc.is_tracked(body)


# -- what the first release stored ---------------------------------------------------------------


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "profile-v1"


@pytest.mark.parametrize("profile", ["alice", "alice-laptop", "bob"])
def test_the_first_releases_stored_logs_decode_and_verify(
    tmp_path: Path, profile: str, count_verifications: Callable[[], int]
) -> None:
    shutil.copytree(FIXTURE / profile, tmp_path / profile)
    store = Store(tmp_path / profile / "kith.db")  # (migrated to the current schema)
    try:
        heads = store.heads()
        assert heads
        for h in heads:
            stored = store.events_after(h.conv, h.author, 0, limit=10_000)
            run = [events.decode(head, body) for head, body in stored]
            assert {e.event.format for e in run} == {1}
            assert all(body is None for _, body in stored)  # inside the head
            events.verify_chain(None, run)
            assert (run[-1].seq, run[-1].id) == (h.seq, h.id)
        assert count_verifications() == len(heads)  # one per log
    finally:
        store.close()
