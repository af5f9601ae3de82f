"""Safety numbers, their QR payload, and the emoji short authentication string (SAS).

- The safety number is Signal's NumericFingerprint (iterated SHA-512, 60 digits shown as
  12 groups of 5) over two users' identity keys. Both screens show the same digits.
- The QR payload is Signal's "scannable fingerprint" (version 2 protobuf) over the same data;
  the scanning side checks it with :func:`qr_payload_matches`.
- The SAS is 7 emoji of the Matrix table derived from a Noise handshake hash: a man in the
  middle runs two different handshakes, so the two screens would show different emoji.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

__all__ = [
    "ITERATIONS",
    "SAS_EMOJI",
    "fingerprint_bytes",
    "format_safety_number",
    "normalize_safety_number",
    "numeric_fingerprint",
    "qr_payload_matches",
    "safety_number",
    "safety_qr_payload",
    "sas_emoji",
    "scannable_payload",
]

ITERATIONS: Final = 5200
"""SHA-512 rounds of Signal's NumericFingerprint."""

_FINGERPRINT_VERSION: Final = b"\x00\x00"  # NumericFingerprint version 0, as a 16-bit short
_SCANNABLE_VERSION: Final = 2
_DIGITS_PER_PARTY: Final = 30
_IDENTITY_KEY_LEN: Final = 32
_DASHES: Final = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2212")


def _iterated_hash(key: bytes, stable_id: bytes, iterations: int) -> bytes:
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    digest = hashlib.sha512(_FINGERPRINT_VERSION + key + stable_id + key).digest()
    for _ in range(iterations - 1):
        digest = hashlib.sha512(digest + key).digest()
    return digest


def _displayable_half(digest: bytes) -> str:
    """Six 5-byte big-endian chunks, each modulo 100000: 30 digits."""
    return "".join(
        f"{int.from_bytes(digest[i : i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5)
    )


def fingerprint_bytes(key: bytes, stable_id: bytes, iterations: int = ITERATIONS) -> bytes:
    """One party's 32-byte fingerprint, as carried in the scannable (QR) payload."""
    return _iterated_hash(key, stable_id, iterations)[:32]


def numeric_fingerprint(
    local_key: bytes,
    local_id: bytes,
    remote_key: bytes,
    remote_id: bytes,
    iterations: int = ITERATIONS,
) -> str:
    """Signal's 60-digit displayable fingerprint; the same string on both sides."""
    local = _displayable_half(_iterated_hash(local_key, local_id, iterations))
    remote = _displayable_half(_iterated_hash(remote_key, remote_id, iterations))
    return local + remote if local <= remote else remote + local


def _length_delimited(field: int, data: bytes) -> bytes:
    assert len(data) < 0x80  # a one-byte varint length is all these messages need
    return bytes([field << 3 | 2, len(data)]) + data


def scannable_payload(
    local_key: bytes,
    local_id: bytes,
    remote_key: bytes,
    remote_id: bytes,
    iterations: int = ITERATIONS,
) -> bytes:
    """Signal's CombinedFingerprints protobuf: version 2, local then remote fingerprint."""
    local = _length_delimited(1, fingerprint_bytes(local_key, local_id, iterations))
    remote = _length_delimited(1, fingerprint_bytes(remote_key, remote_id, iterations))
    version = bytes([1 << 3 | 0, _SCANNABLE_VERSION])
    return version + _length_delimited(2, local) + _length_delimited(3, remote)


# --- Kith's use: the identity key is the user ---------------------------------------------------


def _check_identity(user: bytes) -> None:
    if not isinstance(user, bytes) or len(user) != _IDENTITY_KEY_LEN:
        raise ValueError(f"an identity key is {_IDENTITY_KEY_LEN} bytes (Ed25519 public key)")


def safety_number(user_a: bytes, user_b: bytes) -> str:
    """The 60-digit safety number of two users (their Ed25519 identity public keys).

    Signal hashes each identity key with a separate stable identifier (a phone number or
    account id) because its keys can change under the same account. In Kith the identity
    key *is* the user, so it also serves as the stable identifier. The result is symmetric.
    """
    _check_identity(user_a)
    _check_identity(user_b)
    return numeric_fingerprint(user_a, user_a, user_b, user_b)


def format_safety_number(digits: str) -> list[str]:
    """Split the 60 digits into the 12 groups of 5 shown to the user."""
    if len(digits) != 60 or not (digits.isascii() and digits.isdigit()):
        raise ValueError("a safety number is 60 digits")
    return [digits[i : i + 5] for i in range(0, 60, 5)]


def normalize_safety_number(text: str) -> str:
    """Drop whitespace and dashes from a typed or pasted safety number."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in _DASHES)


def safety_qr_payload(local_user: bytes, remote_user: bytes) -> bytes:
    """The bytes for the QR code this side shows (local half first, as in Signal)."""
    _check_identity(local_user)
    _check_identity(remote_user)
    return scannable_payload(local_user, local_user, remote_user, remote_user)


def qr_payload_matches(payload: bytes, local_user: bytes, remote_user: bytes) -> bool:
    """True if ``payload``, scanned from the remote side's screen, is what it should show.

    The other side put *its* fingerprint first, so the halves are swapped from our view.
    """
    expected = safety_qr_payload(remote_user, local_user)
    return isinstance(payload, bytes) and hmac.compare_digest(payload, expected)


# --- Short authentication string ----------------------------------------------------------------

_SAS_PERSON: Final = b"kith-sas"
_SAS_COUNT: Final = 7

# The 64 emoji and names of the Matrix SAS verification spec (matrix-org/matrix-spec, Apache-2.0).
SAS_EMOJI: Final[list[tuple[str, str]]] = [
    ("🐶", "Dog"),  # 0
    ("🐱", "Cat"),  # 1
    ("🦁", "Lion"),  # 2
    ("🐎", "Horse"),  # 3
    ("🦄", "Unicorn"),  # 4
    ("🐷", "Pig"),  # 5
    ("🐘", "Elephant"),  # 6
    ("🐰", "Rabbit"),  # 7
    ("🐼", "Panda"),  # 8
    ("🐓", "Rooster"),  # 9
    ("🐧", "Penguin"),  # 10
    ("🐢", "Turtle"),  # 11
    ("🐟", "Fish"),  # 12
    ("🐙", "Octopus"),  # 13
    ("🦋", "Butterfly"),  # 14
    ("🌷", "Flower"),  # 15
    ("🌳", "Tree"),  # 16
    ("🌵", "Cactus"),  # 17
    ("🍄", "Mushroom"),  # 18
    ("🌏", "Globe"),  # 19
    ("🌙", "Moon"),  # 20
    ("\u2601\ufe0f", "Cloud"),  # 21: U+2601 + VS16 (emoji presentation)
    ("🔥", "Fire"),  # 22
    ("🍌", "Banana"),  # 23
    ("🍎", "Apple"),  # 24
    ("🍓", "Strawberry"),  # 25
    ("🌽", "Corn"),  # 26
    ("🍕", "Pizza"),  # 27
    ("🎂", "Cake"),  # 28
    ("\u2764\ufe0f", "Heart"),  # 29: U+2764 + VS16 (emoji presentation)
    ("😀", "Smiley"),  # 30
    ("🤖", "Robot"),  # 31
    ("🎩", "Hat"),  # 32
    ("👓", "Glasses"),  # 33
    ("🔧", "Spanner"),  # 34
    ("🎅", "Santa"),  # 35
    ("👍", "Thumbs Up"),  # 36
    ("\u2602\ufe0f", "Umbrella"),  # 37: U+2602 + VS16 (emoji presentation)
    ("⌛", "Hourglass"),  # 38
    ("⏰", "Clock"),  # 39
    ("🎁", "Gift"),  # 40
    ("💡", "Light Bulb"),  # 41
    ("📕", "Book"),  # 42
    ("\u270f\ufe0f", "Pencil"),  # 43: U+270F + VS16 (emoji presentation)
    ("📎", "Paperclip"),  # 44
    ("\u2702\ufe0f", "Scissors"),  # 45: U+2702 + VS16 (emoji presentation)
    ("🔒", "Lock"),  # 46
    ("🔑", "Key"),  # 47
    ("🔨", "Hammer"),  # 48
    ("\u260e\ufe0f", "Telephone"),  # 49: U+260E + VS16 (emoji presentation)
    ("🏁", "Flag"),  # 50
    ("🚂", "Train"),  # 51
    ("🚲", "Bicycle"),  # 52
    ("\u2708\ufe0f", "Aeroplane"),  # 53: U+2708 + VS16 (emoji presentation)
    ("🚀", "Rocket"),  # 54
    ("🏆", "Trophy"),  # 55
    ("⚽", "Ball"),  # 56
    ("🎸", "Guitar"),  # 57
    ("🎺", "Trumpet"),  # 58
    ("🔔", "Bell"),  # 59
    ("⚓", "Anchor"),  # 60
    ("🎧", "Headphones"),  # 61
    ("📁", "Folder"),  # 62
    ("📌", "Pin"),  # 63
]


def sas_emoji(handshake_hash: bytes) -> list[tuple[str, str]]:
    """The 7 (emoji, English name) pairs both sides of a Noise session show.

    Derivation: BLAKE2b-256 of the handshake hash, personalised ``kith-sas``; its first 42 bits,
    most significant first, are seven 6-bit indices into :data:`SAS_EMOJI` (Matrix's split).
    """
    if len(handshake_hash) < 32:
        raise ValueError("expected a Noise handshake hash (32 or 64 bytes)")
    digest = hashlib.blake2b(handshake_hash, digest_size=32, person=_SAS_PERSON).digest()
    bits = int.from_bytes(digest[:6], "big")
    return [SAS_EMOJI[(bits >> (42 - 6 * i)) & 0x3F] for i in range(_SAS_COUNT)]
