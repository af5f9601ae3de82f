"""Linking a new device to a user, sans-IO: a PAKE on a short one-time code.

The new device (no identity yet) shows a code ``HHH-NNN-NNN``. ``HHH`` is a public hint
it advertises over mDNS (TXT ``link=HHH``) so the existing device finds the right one;
all nine digits are the SPAKE2 password. The existing device dials it and runs a Noise
XX handshake (the new device uses a throwaway identity), then, inside that channel::

    existing (SPAKE2 side A)                       new (SPAKE2 side B)
    NEW        -- LinkPake(A) -------------------->  WAIT_PAKE
    WAIT_PAKE  <-- LinkPake(B), LinkConfirm(mac_B) - WAIT_GRANT
      mac_B wrong: -- LinkResult(False) -------->    FAILED for this try (3 tries, then over)
      mac_B right: -- LinkConfirm(mac_A), LinkGrant(box) -->
    DONE                                             check mac_A, open box -> DONE

``mac_X = BLAKE2b(key=K_X, data=side || noise handshake hash)`` with ``K_X`` derived from
the SPAKE2 key, so the code is bound to this very Noise channel: a man in the middle runs
two handshakes with different hashes and fails. A wrong code gives each side only a
failed MAC: SPAKE2 leaks nothing about the code beyond one guess per try. The grant (the
identity key seed, the display name and a certificate for the new device's key) is
sealed with ``SecretBox(K_box)`` and sent only after the new device proved the code.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass

import msgspec
import nacl.exceptions
import nacl.secret
from spake2 import SPAKE2_A, SPAKE2_B  # type: ignore[import-untyped]
from spake2.spake2 import SPAKEError  # type: ignore[import-untyped]

from kith.p2p.errors import LocalProtocolError, RemoteProtocolError
from kith.p2p.identity import DeviceCertificate

MAX_TRIES = 3  # wrong codes before a waiting device gives up
# LinkResult reasons the new device answers a refused code with (never shown as such:
# the other side only compares them, so a stranger cannot put text on its screen).
REASON_WRONG = "wrong code"
REASON_STOPPED = "wrong code; stopped"  # that was the last try: the new device gave up
CODE_DIGITS = 9
_ID_A = b"kith-link-existing-device"
_ID_B = b"kith-link-new-device"


# -- the code ------------------------------------------------------------------------


def new_code() -> str:
    """A fresh one-time code, ``HHH-NNN-NNN``."""
    digits = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    return f"{digits[0:3]}-{digits[3:6]}-{digits[6:9]}"


def normalize_code(text: str) -> str:
    """The nine digits of a typed code (spaces and dashes ignored); ValueError if not a code."""
    digits = "".join(ch for ch in text if ch not in " -")
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{text!r} is not a link code (nine digits, like 123-456-789)")
    return digits


def code_hint(code: str) -> str:
    """The public part of a code that the waiting device advertises."""
    return normalize_code(code)[:3]


# -- messages (carried in wire.Link) ------------------------------------------------------


class LinkPake(msgspec.Struct, tag="pake", array_like=True, frozen=True):
    msg: bytes


class LinkConfirm(msgspec.Struct, tag="conf", array_like=True, frozen=True):
    mac: bytes


class LinkGrant(msgspec.Struct, tag="grant", array_like=True, frozen=True):
    box: bytes


class LinkResult(msgspec.Struct, tag="res", array_like=True, frozen=True):
    ok: bool
    reason: str


LinkMessage = LinkPake | LinkConfirm | LinkGrant | LinkResult


class Grant(msgspec.Struct, array_like=True, frozen=True):
    """What the new device receives: the user's identity and its own certificate."""

    name: str  # the user's display name
    user_seed: bytes
    cert: DeviceCertificate
    port: int  # where the existing device listens, to sync from it right away
    events: int  # how many events it holds: the new device's progress target


_encoder = msgspec.msgpack.Encoder()
_grant_decoder = msgspec.msgpack.Decoder(Grant)
_message_decoder = msgspec.msgpack.Decoder(LinkMessage)


def encode_message(message: LinkMessage) -> bytes:
    return _encoder.encode(message)


def decode_message(data: bytes) -> LinkMessage:
    try:
        message: LinkMessage = _message_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise RemoteProtocolError(f"malformed link message: {e}") from e
    return message


# -- the state machines ---------------------------------------------------------------


class State(enum.Enum):
    NEW = "new"
    WAIT_PAKE = "wait-pake"  # existing: sent A, waits for B and its confirmation
    CONFIRMED = "confirmed"  # existing: the new device proved the code; grant() next
    WAIT_GRANT = "wait-grant"  # new: confirmed, waits for A's confirmation and the grant
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Keys:
    confirm_a: bytes
    confirm_b: bytes
    box: bytes


def _keys(pake_key: bytes) -> Keys:
    def derive(label: bytes) -> bytes:
        return hashlib.blake2b(pake_key, digest_size=32, person=label).digest()

    return Keys(derive(b"kith-link-conf-a"), derive(b"kith-link-conf-b"), derive(b"kith-link-box"))


def _mac(key: bytes, side: bytes, handshake_hash: bytes) -> bytes:
    return hashlib.blake2b(side + handshake_hash, key=key, digest_size=32).digest()


class WrongCode(Exception):  # noqa: N818 - a user-facing outcome, not a bug
    """The other device used another code."""


class ExistingDeviceLink:
    """The device that already has the identity and types the code (SPAKE2 side A)."""

    def __init__(self, code: str, handshake_hash: bytes) -> None:
        self._pake = SPAKE2_A(normalize_code(code).encode(), idA=_ID_A, idB=_ID_B)
        self._hash = handshake_hash
        self._keys: Keys | None = None
        self.state = State.NEW

    def start(self) -> list[LinkMessage]:
        if self.state is not State.NEW:
            raise LocalProtocolError("start() once, on a fresh link")
        self.state = State.WAIT_PAKE
        return [LinkPake(self._pake.start())]

    def receive(self, message: LinkMessage) -> list[LinkMessage]:
        """Feed one message from the new device. Raises WrongCode (then send
        :meth:`refusal`) or RemoteProtocolError. State CONFIRMED: call :meth:`grant`."""
        if self.state is State.WAIT_PAKE and isinstance(message, LinkPake):
            try:
                self._keys = _keys(self._pake.finish(message.msg))
            except (SPAKEError, ValueError) as e:
                self.state = State.FAILED
                raise RemoteProtocolError(f"bad PAKE message: {e}") from e
            return []
        if self.state is State.WAIT_PAKE and isinstance(message, LinkConfirm):
            if self._keys is None:
                self.state = State.FAILED
                raise RemoteProtocolError("confirmation before the PAKE message")
            expected = _mac(self._keys.confirm_b, b"B", self._hash)
            if not secrets.compare_digest(expected, message.mac):
                self.state = State.FAILED
                raise WrongCode("the code does not match the one the new device shows")
            self.state = State.CONFIRMED
            return []
        if isinstance(message, LinkResult) and not message.ok:
            self.state = State.FAILED
            raise WrongCode("the new device refused the code")  # (its text is not shown)
        self.state = State.FAILED
        raise RemoteProtocolError(f"unexpected {type(message).__name__} in state {self.state}")

    def grant(self, grant: Grant) -> list[LinkMessage]:
        """Our confirmation and the sealed grant; only after the code was proven."""
        if self._keys is None or self.state is not State.CONFIRMED:
            raise LocalProtocolError("grant() before the code was confirmed")
        self.state = State.DONE
        box = nacl.secret.SecretBox(self._keys.box).encrypt(_encoder.encode(grant))
        return [LinkConfirm(_mac(self._keys.confirm_a, b"A", self._hash)), LinkGrant(bytes(box))]

    @staticmethod
    def refusal() -> LinkMessage:
        return LinkResult(False, REASON_WRONG)


class NewDeviceLink:
    """One try of the waiting new device (SPAKE2 side B). A wrong code ends this try;
    :class:`LinkAttempts` counts the tries."""

    def __init__(self, code: str, handshake_hash: bytes) -> None:
        self._pake = SPAKE2_B(normalize_code(code).encode(), idA=_ID_A, idB=_ID_B)
        self._hash = handshake_hash
        self._keys: Keys | None = None
        self._confirmed = False
        self.state = State.NEW
        self.grant: Grant | None = None

    def receive(self, message: LinkMessage) -> list[LinkMessage]:
        if self.state is State.NEW and isinstance(message, LinkPake):
            mine = self._pake.start()
            try:
                self._keys = _keys(self._pake.finish(message.msg))
            except (SPAKEError, ValueError) as e:
                self.state = State.FAILED
                raise RemoteProtocolError(f"bad PAKE message: {e}") from e
            self.state = State.WAIT_GRANT
            return [LinkPake(mine), LinkConfirm(_mac(self._keys.confirm_b, b"B", self._hash))]
        if self.state is State.WAIT_GRANT and isinstance(message, LinkConfirm):
            assert self._keys is not None
            expected = _mac(self._keys.confirm_a, b"A", self._hash)
            if not secrets.compare_digest(expected, message.mac):
                self.state = State.FAILED
                raise WrongCode("the other device used another code")
            self._confirmed = True
            return []
        if self.state is State.WAIT_GRANT and isinstance(message, LinkGrant):
            assert self._keys is not None
            if not self._confirmed:
                self.state = State.FAILED
                raise RemoteProtocolError("grant before confirmation")
            try:
                plain = nacl.secret.SecretBox(self._keys.box).decrypt(message.box)
                grant = _grant_decoder.decode(plain)
            except (nacl.exceptions.CryptoError, msgspec.DecodeError, ValueError) as e:
                self.state = State.FAILED
                raise RemoteProtocolError(f"unreadable grant: {e}") from e
            self.state = State.DONE
            self.grant = grant
            return [LinkResult(True, "linked")]
        if isinstance(message, LinkResult) and not message.ok:
            self.state = State.FAILED
            raise WrongCode(message.reason or "the other device refused the code")
        self.state = State.FAILED
        raise RemoteProtocolError(f"unexpected {type(message).__name__} in state {self.state}")


class LinkAttempts:
    """The waiting device's budget: :data:`MAX_TRIES` wrong codes end the attempt."""

    def __init__(self, code: str, max_tries: int = MAX_TRIES) -> None:
        self.code = code
        self.failures = 0
        self.max_tries = max_tries

    def new_try(self, handshake_hash: bytes) -> NewDeviceLink:
        if self.over:
            raise LocalProtocolError("the linking attempt is over")
        return NewDeviceLink(self.code, handshake_hash)

    def wrong_code(self) -> None:
        self.failures += 1

    @property
    def over(self) -> bool:
        return self.failures >= self.max_tries
