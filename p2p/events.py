"""Signed events: the one durable data model, in two formats.

Every durable fact is an event appended to a per-(conversation, author device) log. An
event travels and is stored as two parts, its signed **head** and its **body**::

    format 2 (written since protocol 2)
    head   = msgpack([header, sig])
    header = msgpack([2, conv, author, seq, prev, lamport, time, kind, body_hash])
    sig    = Ed25519(author device key, header)
    body   = msgpack of the kind's body struct; body_hash = BLAKE2b-256(body)

    format 1 (the first release; still read, never written)
    head   = msgpack([event, sig])
    event  = msgpack([conv, author, seq, prev, lamport, time, kind, body])
    sig    = Ed25519(author device key, event)

    id = BLAKE2b-256(head)   (both formats)

The signature of format 2 covers the body's hash, not the body: a body can be erased
(unsend, disappearing messages) and the head still verifies and syncs, so no chain ever
breaks. A format-1 body is inside its head and cannot be erased.

``prev`` is the id of the author's previous event in the conversation, so the last event
of a contiguous run commits to every head before it. That is what lets
:func:`verify_chain` check a batch with a single signature verification: the links are
hashes, one signature covers the tip, and each body is checked against its own hash.

The same holds when writing: a format-2 event may carry an empty signature if a later
event of its log, at most :data:`MAX_UNSIGNED` further on, is signed; the group commit
signs the last event of each log in each batch (and every :data:`SIGN_EVERY`-th), so a
burst of messages costs one signature per batch, not one per message. A receiver accepts
unsigned events only together with the signed one that vouches for them.

What a body means is not this module's business: each kind is declared, with its body
struct, in its feature's module (see :mod:`p2p.kinds`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from kith.p2p.errors import RemoteProtocolError
from kith.p2p.identity import sign, verify_signature

GENESIS = b""  # prev of an author's first event in a conversation
FORMAT = 2  # the format new events are written in
MAX_EVENT = 32 * 1024  # bytes of one event, head and body; always fits in one frame
MAX_COUNTER = 2**62  # seq, lamport and time stay far below SQLite's 64-bit integers
MAX_KIND = 32  # characters of a kind's name
SIGN_EVERY = 128  # a writer signs at least every SIGN_EVERY-th event of a log...
MAX_UNSIGNED = 256  # ...and a reader holds at most this many unsigned ones waiting


class Event(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A decoded header (format 2 layout; a format-1 event is read into it too)."""

    format: int
    conv: bytes
    author: bytes
    seq: int
    prev: bytes
    lamport: int
    time: int  # author's wall clock, milliseconds; display only
    kind: str
    body_hash: bytes  # format 1: empty (the body is inside the head)


class _EventV1(msgspec.Struct, array_like=True, frozen=True, gc=False):
    conv: bytes
    author: bytes
    seq: int
    prev: bytes
    lamport: int
    time: int
    kind: str
    body: bytes


class _Signed(msgspec.Struct, array_like=True, frozen=True, gc=False):
    header: bytes
    sig: bytes


_encoder = msgspec.msgpack.Encoder()
_signed_decoder = msgspec.msgpack.Decoder(_Signed)
_event_decoder = msgspec.msgpack.Decoder(Event)
_v1_decoder = msgspec.msgpack.Decoder(_EventV1)
_blake2b = hashlib.blake2b
_FIXARRAY_9, _FIXARRAY_8 = 0x99, 0x98  # first byte of a format-2 / format-1 header


class SignedEvent(msgspec.Struct, frozen=True, gc=False):
    """A decoded event: its id, exact head bytes, body (None: erased) and header.

    (``gc=False``, like the structs above: millions of these pass through a history
    sync, and objects the garbage collector tracks made it a tenth slower. None of them
    can be part of a reference cycle: they hold only bytes, str, int and each other.)
    """

    id: bytes
    head: bytes
    body: bytes | None
    event: Event
    sig: bytes

    @property
    def conv(self) -> bytes:
        return self.event.conv

    @property
    def author(self) -> bytes:
        return self.event.author

    @property
    def seq(self) -> int:
        return self.event.seq

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def signed(self) -> bool:
        return len(self.sig) == 64

    @property
    def erasable(self) -> bool:
        """Format 2: the body can go while the head stays (format 1 signs the body)."""
        return self.event.format >= 2

    def wire(self) -> tuple[bytes, bytes | None]:
        """What goes in an ``ev`` frame: (head, body); a format-1 body rides in its head."""
        return (self.head, self.body if self.event.format >= 2 else None)


def event_id(head: bytes) -> bytes:
    return _blake2b(head, digest_size=32).digest()


def body_hash(body: bytes) -> bytes:
    return _blake2b(body, digest_size=32).digest()


def create(
    device_secret: bytes,
    *,
    conv: bytes,
    seq: int,
    prev: bytes,
    lamport: int,
    time_ms: int,
    kind: str,
    body: bytes,
    signed: bool = True,
) -> SignedEvent:
    """A new (format 2) event by the device whose 64-byte secret key is given, signed
    unless ``signed`` is False (then a later event of its log must be: see
    :func:`signed_copy`). ``body`` is the encoded body (the kind table encodes it)."""
    event = Event(
        FORMAT, conv, device_secret[32:], seq, prev, lamport, time_ms, kind, body_hash(body)
    )
    header = _encoder.encode(event)
    sig = sign(device_secret, header) if signed else b""
    head = _encoder.encode(_Signed(header, sig))
    return SignedEvent(event_id(head), head, body, event, sig)


def signed_copy(device_secret: bytes, e: SignedEvent) -> SignedEvent:
    """The same event with its signature (a new id: only for an event that nothing
    refers to yet, the last of its log)."""
    if e.signed:
        return e
    header = _encoder.encode(e.event)
    sig = sign(device_secret, header)
    head = _encoder.encode(_Signed(header, sig))
    return SignedEvent(event_id(head), head, e.body, e.event, sig)


def decode(head: bytes, body: bytes | None = None) -> SignedEvent:
    """Parse and structurally check one event (either format). The signature is NOT
    checked here (see :func:`verify_chain`); a format-2 body is checked against its hash.
    Raises RemoteProtocolError."""
    if len(head) + (len(body) if body else 0) > MAX_EVENT:
        raise RemoteProtocolError("event too large")
    v1: _EventV1 | None = None
    try:
        signed = _signed_decoder.decode(head)
        header = signed.header
        first = header[0] if header else 0
        if first == _FIXARRAY_9:
            event = _event_decoder.decode(header)
            if event.format != 2:
                raise RemoteProtocolError(f"unknown event format {event.format}")
        elif first == _FIXARRAY_8:
            if body is not None:
                raise RemoteProtocolError("a format-1 event carries its body in its head")
            v1 = _v1_decoder.decode(header)
            event = Event(1, v1.conv, v1.author, v1.seq, v1.prev, v1.lamport, v1.time, v1.kind, b"")
            body = v1.body
        else:
            raise RemoteProtocolError("malformed event: unknown header layout")
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise RemoteProtocolError(f"malformed event: {e}") from e
    # One event, one encoding: otherwise a relay could re-wrap the same signed bytes
    # (a longer array header, a trailing element) and give the event another id. The
    # header itself is bound as it is: by the signature, or (unsigned) by the next
    # event's prev; only its author could write it otherwise, so format 2 does not pay
    # for re-encoding every header (format 1 keeps the first release's check).
    if _encoder.encode(signed) != head or (v1 is not None and _encoder.encode(v1) != header):
        raise RemoteProtocolError("malformed event: not in canonical encoding")
    seq, lamport, n_prev, n_sig = event.seq, event.lamport, len(event.prev), len(signed.sig)
    if seq >= MAX_COUNTER or lamport >= MAX_COUNTER or abs(event.time) >= MAX_COUNTER:
        raise RemoteProtocolError("malformed event: counter out of range")
    sig_ok = n_sig == 64 or (n_sig == 0 and event.format >= 2)
    if not sig_ok or len(event.author) != 32 or len(event.conv) != 32:
        raise RemoteProtocolError("malformed event: bad key or id size")
    if seq < 1 or lamport < 1 or (n_prev != 0 and n_prev != 32):
        raise RemoteProtocolError("malformed event: bad sequence fields")
    if (seq == 1) != (n_prev == 0):
        raise RemoteProtocolError("malformed event: prev does not match seq")
    if not 0 < len(event.kind) <= MAX_KIND:
        raise RemoteProtocolError("malformed event: bad kind")
    if event.format == 2:
        if len(event.body_hash) != 32:
            raise RemoteProtocolError("malformed event: bad body hash")
        if body is not None and _blake2b(body, digest_size=32).digest() != event.body_hash:
            raise RemoteProtocolError("event body does not match its signed hash")
    return SignedEvent(_blake2b(head, digest_size=32).digest(), head, body, event, signed.sig)



def without_body(e: SignedEvent) -> SignedEvent:
    """The same event with its body erased (format 2 only)."""
    if not e.erasable:
        raise ValueError("a format-1 event signs its body: it cannot be erased")
    return SignedEvent(e.id, e.head, None, e.event, e.sig)


def verify_signature_of(ev: SignedEvent) -> bool:
    signed = _signed_decoder.decode(ev.head)
    return verify_signature(ev.author, signed.header, ev.sig)


@dataclass(frozen=True, slots=True)
class Head:
    """The newest stored event of one (conversation, author) log."""

    seq: int
    id: bytes


def verify_chain(head: Head | None, run: Sequence[SignedEvent]) -> None:
    """Check a contiguous run of one author's events in one conversation.

    ``head`` is what we already hold for that log. Every event must follow its
    predecessor by seq and prev hash; the tip's signature then vouches for all of
    them (see the module docstring), so the tip must be signed (:func:`vouched` finds
    the part of a run that is). Raises RemoteProtocolError on the first problem.
    """
    if not run:
        return
    if not run[-1].signed:
        raise RemoteProtocolError(f"event seq {run[-1].seq} is not signed")
    seq, prev = (head.seq, head.id) if head else (0, GENESIS)
    conv, author = run[0].conv, run[0].author
    for ev in run:
        e = ev.event
        if e.conv != conv or e.author != author:
            raise RemoteProtocolError("event run mixes logs")
        if e.seq != seq + 1 or e.prev != prev:
            raise RemoteProtocolError(
                f"broken chain at seq {e.seq} (expected {seq + 1} after our head)"
            )
        seq, prev = e.seq, ev.id
    if not verify_signature_of(run[-1]):
        raise RemoteProtocolError(f"bad signature on event seq {run[-1].seq}")


def vouched(run: Sequence[SignedEvent]) -> int:
    """How many events at the start of ``run`` a signature vouches for: up to and
    including the last signed one."""
    for i in range(len(run) - 1, -1, -1):
        if run[i].signed:
            return i + 1
    return 0


def self_conversation(user: bytes) -> bytes:
    """The id of a user's own conversation: contacts, verification and settings, shared
    only between that user's devices."""
    return hashlib.blake2b(b"kith-self\0" + user, digest_size=32).digest()


def direct_conversation(user_a: bytes, user_b: bytes) -> bytes:
    """The id of the one-to-one conversation between two users (order-independent)."""
    lo, hi = sorted((user_a, user_b))
    return hashlib.blake2b(b"kith-direct\0" + lo + hi, digest_size=32).digest()
