"""The wire format: typed msgspec Structs, encoded as msgpack.

Handshake payloads carry a :class:`Hello`; after the handshake every transport
message is one :data:`Message`, a tagged union decoded and validated in one step.
Tags are short strings; fields are positional (``array_like``) to keep frames small.

Sync messages (see ``p2p/sync.py``)::

    Digest{convs}          "for these conversations, my version vectors hash to ..."
    Want{conv, vector}     "here is my vector for conv; send me what I lack"
    Events{events}         events as (head, body) pairs, oldest first per log
    Certs{certs}           device certificates of event authors
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from kith.p2p.files.protocol import (
    BlockPiece,
    BlockRefused,
    BlockRequest,
    FileHave,
    FileQuery,
    FileStop,
)
from kith.p2p.group_protocol import Bodies, BodyWant
from kith.p2p.identity import DeviceCertificate, DeviceRevocation

# The protocol version, carried in Hello; peers of another version are told so with a
# ``bye`` and nothing else is exchanged. 2: events sign their body's hash (p2p/events.py).
PROTOCOL_VERSION = 2
# The Noise prologue names the handshake's own format, which is the same in every
# protocol version so far: two versions complete the handshake and can tell each other.
PROLOGUE = b"kith/1"
NOISE_PROTOCOL = "Noise_XX_25519_ChaChaPoly_BLAKE2b"


class Hello(msgspec.Struct, array_like=True, frozen=True):
    """Handshake payload: who this device is."""

    version: int
    cert: DeviceCertificate
    name: str  # the user's display name (may differ from the device name in the cert)
    # The transport ciphers it can use besides ChaChaPoly (p2p.channel_cipher); earlier
    # builds of version 2 send none and read past the field, so both keep talking.
    ciphers: Annotated[tuple[Annotated[str, Meta(max_length=32)], ...],
                       Meta(max_length=16)] = ()


class Ping(msgspec.Struct, tag="ping", array_like=True, frozen=True):
    nonce: int


class Pong(msgspec.Struct, tag="pong", array_like=True, frozen=True):
    nonce: int


class Digest(msgspec.Struct, tag="dig", array_like=True, frozen=True):
    convs: list[tuple[bytes, bytes]]  # (conv, digest of my vector)


class Want(msgspec.Struct, tag="want", array_like=True, frozen=True):
    conv: bytes
    vector: dict[bytes, int]  # author device -> highest contiguous seq I hold


class Events(msgspec.Struct, tag="ev", array_like=True, frozen=True):
    events: list[tuple[bytes, bytes | None]]  # (head, body); body None: erased or format 1


class Certs(msgspec.Struct, tag="cert", array_like=True, frozen=True):
    certs: list[DeviceCertificate]


class Revoke(msgspec.Struct, tag="rev", array_like=True, frozen=True):
    revocations: list[DeviceRevocation]


class Link(msgspec.Struct, tag="link", array_like=True, frozen=True):
    data: bytes  # one p2p.linking message (only on a linking connection)


class Typing(msgspec.Struct, tag="typ", array_like=True, frozen=True):
    conv: bytes
    active: bool


class Profile(msgspec.Struct, tag="prof", array_like=True, frozen=True):
    name: str


class Close(msgspec.Struct, tag="bye", array_like=True, frozen=True):
    reason: str


class Handoff(msgspec.Struct, tag="hand", array_like=True, frozen=True):
    """Between one user's own devices only: the chat open here and its draft
    (``conv`` empty: no chat open). Ephemeral, never stored."""

    conv: bytes
    draft: str


class Presence(msgspec.Struct, tag="pres", array_like=True, frozen=True):
    """Between one user's own devices only: the users (other than us) this device has a
    live session with right now, so that my other devices can say a person is reachable
    through it. Ephemeral, never stored; at most MAX_PRESENCE users."""

    users: list[bytes]


MAX_PRESENCE = 1024

Message = (
    Ping | Pong | Digest | Want | Events | Certs | Revoke | Link | Typing | Handoff | Profile
    | Presence | Close
    | FileQuery | FileHave | BlockRequest | BlockPiece | BlockRefused | FileStop  # p2p.files
    | BodyWant | Bodies  # p2p.group_bodies
)

_encoder = msgspec.msgpack.Encoder()
_message_decoder = msgspec.msgpack.Decoder(Message)
_hello_decoder = msgspec.msgpack.Decoder(Hello)


def encode(msg: Message | Hello) -> bytes:
    return _encoder.encode(msg)


def decode_message(data: bytes | memoryview) -> Message:
    """Decode one transport message; raises msgspec.DecodeError (or ValidationError)."""
    msg: Message = _message_decoder.decode(data)
    return msg


def decode_hello(data: bytes) -> Hello:
    return _hello_decoder.decode(data)


_cert_decoder = msgspec.msgpack.Decoder(DeviceCertificate)


_revocation_decoder = msgspec.msgpack.Decoder(DeviceRevocation)


def encode_revocation(r: DeviceRevocation) -> bytes:
    return _encoder.encode(r)


def decode_revocation(data: bytes) -> DeviceRevocation:
    return _revocation_decoder.decode(data)


def encode_cert(cert: DeviceCertificate) -> bytes:
    return _encoder.encode(cert)


def decode_cert(data: bytes) -> DeviceCertificate:
    return _cert_decoder.decode(data)
