"""Signed events: the one durable data model.

Every durable fact is an event appended to a per-(conversation, author device) log::

    raw = msgpack([event_bytes, sig])          what is stored and sent, never re-encoded
    event_bytes = msgpack(Event)               conv, author, seq, prev, lamport, time, kind, body
    sig = Ed25519(author device key, event_bytes)
    id  = BLAKE2b-256(raw)

``prev`` is the id of the author's previous event in the conversation, so the last
event of a contiguous run commits to every byte (signatures included) of the ones
before it. That is what lets :func:`verify_chain` check a batch with a single
signature verification: the chain links are hashes, and one signature covers the tip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from p2p.errors import RemoteProtocolError
from p2p.identity import sign, verify_signature

GENESIS = b""  # prev of an author's first event in a conversation
MAX_TEXT = 16 * 1024  # characters of one message
MAX_EVENT = 32 * 1024  # bytes of one raw event; always fits in one transport frame
MAX_COUNTER = 2**62  # seq, lamport and time stay far below SQLite's 64-bit integers


class Event(msgspec.Struct, array_like=True, frozen=True, gc=False):
    conv: bytes
    author: bytes
    seq: int
    prev: bytes
    lamport: int
    time: int  # author's wall clock, milliseconds; display only
    kind: str
    body: bytes  # msgpack of the kind's body struct


class _Signed(msgspec.Struct, array_like=True, frozen=True, gc=False):
    event: bytes
    sig: bytes


# -- bodies ---------------------------------------------------------------------------


class MessageBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    text: str


class ReceiptBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Every message by ``author`` (a device) in this conversation up to ``seq`` reached
    ``status`` ("delivered" or "read") on the receipt author's side."""

    status: str
    author: bytes
    seq: int


class ContactBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A contact request ("request"), its acceptance ("accept") or refusal ("decline")."""

    action: str
    name: str


class RosterBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Own devices only (the self conversation): the user's view of one contact, as set
    on one of their devices. Last writer (lamport, author) wins per contact."""

    user: bytes
    name: str
    state: str
    verified: bool
    replaces: bytes | None = None  # the contact this key took over from (a reinstall)


class SettingBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Own devices only: a per-user setting (``value`` is JSON). Last writer wins per key."""

    key: str
    value: str


class ReadBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Own devices only: I have read every message by ``author`` (a device) in ``conv`` up
    to ``seq``. Read state syncs between my devices through this even when read receipts
    to contacts are off (a "read" receipt, when sent, already tells my devices)."""

    conv: bytes
    author: bytes
    seq: int


KINDS: dict[str, type[msgspec.Struct]] = {
    "message": MessageBody,
    "receipt": ReceiptBody,
    "contact": ContactBody,
    "roster": RosterBody,
    "setting": SettingBody,
    "read": ReadBody,
}
CONTACT_STATES = ("pending_in", "pending_out", "accepted", "declined")
RECEIPT_STATUSES = ("delivered", "read")
CONTACT_ACTIONS = ("request", "accept", "decline")

_event_encoder = msgspec.msgpack.Encoder()
_signed_decoder = msgspec.msgpack.Decoder(_Signed)
_event_decoder = msgspec.msgpack.Decoder(Event)
_body_decoders = {k: msgspec.msgpack.Decoder(t) for k, t in KINDS.items()}


class SignedEvent(msgspec.Struct, frozen=True, gc=False):
    """A decoded event together with its exact wire bytes and id.

    (``gc=False``, like the structs above: millions of these pass through a history
    sync, and objects the garbage collector tracks made it a tenth slower. None of them
    can be part of a reference cycle: they hold only bytes, str, int and each other.)
    """

    id: bytes
    raw: bytes
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

    def body(self) -> msgspec.Struct:
        return decode_body(self.event.kind, self.event.body)


_blake2b = hashlib.blake2b


def event_id(raw: bytes) -> bytes:
    return _blake2b(raw, digest_size=32).digest()


def encode_body(body: msgspec.Struct) -> bytes:
    return _event_encoder.encode(body)


def decode_body(kind: str, body: bytes) -> msgspec.Struct:
    decoder = _body_decoders.get(kind)
    if decoder is None:
        raise RemoteProtocolError(f"unknown event kind {kind!r}")
    try:
        value: msgspec.Struct = decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise RemoteProtocolError(f"malformed {kind} body: {e}") from e
    _check_body(value)
    return value


def _check_body(body: msgspec.Struct) -> None:
    if isinstance(body, MessageBody):
        if not 0 < len(body.text) <= MAX_TEXT:
            raise RemoteProtocolError("message text is empty or too long")
    elif isinstance(body, ReceiptBody):
        if body.status not in RECEIPT_STATUSES or len(body.author) != 32 or body.seq < 1:
            raise RemoteProtocolError("malformed receipt")
    elif isinstance(body, ContactBody) and body.action not in CONTACT_ACTIONS:
        raise RemoteProtocolError("malformed contact event")
    elif isinstance(body, RosterBody) and (
        len(body.user) != 32 or body.state not in CONTACT_STATES or len(body.name) > 64
    ):
        raise RemoteProtocolError("malformed roster event")
    elif isinstance(body, SettingBody) and not (
        0 < len(body.key) <= 64 and len(body.value) <= 4096
    ):
        raise RemoteProtocolError("malformed setting event")


_KIND_OF = {t: k for k, t in KINDS.items()}


def kind_of(body: msgspec.Struct) -> str:
    try:
        return _KIND_OF[type(body)]
    except KeyError:
        raise TypeError(f"not an event body: {body!r}") from None


def create(
    device_secret: bytes,
    *,
    conv: bytes,
    seq: int,
    prev: bytes,
    lamport: int,
    time_ms: int,
    body: msgspec.Struct,
) -> SignedEvent:
    """Sign a new event as the device whose 64-byte secret key is given."""
    _check_body(body)
    event = Event(
        conv, device_secret[32:], seq, prev, lamport, time_ms, kind_of(body), encode_body(body)
    )
    event_bytes = _event_encoder.encode(event)
    sig = sign(device_secret, event_bytes)
    raw = _event_encoder.encode(_Signed(event_bytes, sig))
    return SignedEvent(event_id(raw), raw, event, sig)


def decode(raw: bytes) -> SignedEvent:
    """Parse and structurally check one raw event; the signature is NOT checked here."""
    if len(raw) > MAX_EVENT:
        raise RemoteProtocolError("event too large")
    try:
        signed = _signed_decoder.decode(raw)
        event = _event_decoder.decode(signed.event)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise RemoteProtocolError(f"malformed event: {e}") from e
    # One event, one encoding: otherwise a relay could re-wrap the same signed bytes
    # (a longer array header, a trailing element) and give the event another id.
    if _event_encoder.encode(signed) != raw or _event_encoder.encode(event) != signed.event:
        raise RemoteProtocolError("malformed event: not in canonical encoding")
    if max(event.seq, event.lamport, abs(event.time)) >= MAX_COUNTER:
        raise RemoteProtocolError("malformed event: counter out of range")
    if len(signed.sig) != 64 or len(event.author) != 32 or len(event.conv) != 32:
        raise RemoteProtocolError("malformed event: bad key or id size")
    if event.seq < 1 or event.lamport < 1 or len(event.prev) not in (0, 32):
        raise RemoteProtocolError("malformed event: bad sequence fields")
    if (event.seq == 1) != (event.prev == GENESIS):
        raise RemoteProtocolError("malformed event: prev does not match seq")
    return SignedEvent(_blake2b(raw, digest_size=32).digest(), raw, event, signed.sig)


def verify_signature_of(ev: SignedEvent) -> bool:
    signed = _signed_decoder.decode(ev.raw)
    return verify_signature(ev.author, signed.event, ev.sig)


@dataclass(frozen=True, slots=True)
class Head:
    """The newest stored event of one (conversation, author) log."""

    seq: int
    id: bytes


def verify_chain(head: Head | None, run: Sequence[SignedEvent]) -> None:
    """Check a contiguous run of one author's events in one conversation.

    ``head`` is what we already hold for that log. Every event must follow its
    predecessor by seq and prev hash; the tip's signature then vouches for all of
    them (see the module docstring). Raises RemoteProtocolError on the first problem.
    """
    if not run:
        return
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


def self_conversation(user: bytes) -> bytes:
    """The id of a user's own conversation: contacts, verification and settings, shared
    only between that user's devices."""
    return hashlib.blake2b(b"kith-self\0" + user, digest_size=32).digest()


def direct_conversation(user_a: bytes, user_b: bytes) -> bytes:
    """The id of the one-to-one conversation between two users (order-independent)."""
    lo, hi = sorted((user_a, user_b))
    return hashlib.blake2b(b"kith-direct\0" + lo + hi, digest_size=32).digest()
