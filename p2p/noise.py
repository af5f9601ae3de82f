"""Sans-IO Noise Protocol Framework (revision 34): patterns XX, IK, NK; 25519, ChaChaPoly.

Only what Kith needs: no PSK modifiers, no fallback, hash BLAKE2b or SHA256. The primitives
are libsodium's through PyNaCl (X25519, ChaCha20-Poly1305 IETF) and hashlib/hmac.

Kith's secure channel is ``Noise_XX_25519_ChaChaPoly_BLAKE2b``::

    initiator                                      responder
        | -> e                                          |  msg 0: e in clear, payload in clear
        | <- e, ee, s, es                               |  msg 1: responder static encrypted
        | -> s, se                                      |  msg 2: initiator static encrypted
        |            split(): (send, recv) each side    |
        | ==== transport: CipherState per direction ====|

Use: each side builds a :class:`HandshakeState`, calls ``write_message`` when ``is_my_turn``
and ``read_message`` on what the peer sent, until ``complete``; then ``split()`` once.
Any error after a message was half processed leaves the handshake failed for good.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable
from typing import Final

import nacl.exceptions
import nacl.utils
from nacl.bindings import (
    crypto_aead_chacha20poly1305_ietf_decrypt,
    crypto_aead_chacha20poly1305_ietf_encrypt,
    crypto_scalarmult,
    crypto_scalarmult_base,
)

__all__ = [
    "MAX_MESSAGE",
    "BytesLike",
    "CipherState",
    "DecryptError",
    "HandshakeState",
    "NoiseError",
]

MAX_MESSAGE: Final = 65535
"""Largest Noise message (handshake or transport) in bytes, tag included."""

DHLEN: Final = 32
TAGLEN: Final = 16
KEYLEN: Final = 32
_MAX_NONCE: Final = 2**64 - 1  # reserved by the spec: used by rekey(), never for a message
_MAX_PLAINTEXT: Final = MAX_MESSAGE - TAGLEN
_ZERO_DH: Final = bytes(DHLEN)

BytesLike = bytes | bytearray | memoryview


class NoiseError(Exception):
    """The handshake or a transport message failed (bad input, wrong state, limits)."""


class DecryptError(NoiseError):
    """A ciphertext failed authentication: corrupted, forged, replayed or out of order."""


# --- AEAD -------------------------------------------------------------------------------------
# PyNaCl's public bindings only. They re-check their arguments and zero each output buffer,
# which makes a 200-byte seal + open about 2.5 times slower than calling libsodium through
# PyNaCl's private cffi module (an earlier version did); still about 7 us per message both
# ways on one core (tests/bench/bench_noise.py, figures in CHANGELOG.md).


def _aead_encrypt(key: bytes, nonce: bytes, ad: bytes, plaintext: bytes) -> bytes:
    ciphertext: bytes = crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)
    return ciphertext


def _aead_decrypt(key: bytes, nonce: bytes, ad: bytes, ciphertext: bytes) -> bytes:
    try:
        plaintext: bytes = crypto_aead_chacha20poly1305_ietf_decrypt(ciphertext, ad, nonce, key)
    except nacl.exceptions.CryptoError:
        raise DecryptError("message failed authentication") from None
    return plaintext


_pack_nonce = struct.Struct("<4xQ").pack  # 32 zero bits, then the counter little-endian


class CipherState:
    """One direction of a Noise session: a key and a message counter ``n`` (the nonce).

    Without a key, encryption is the identity (as the spec requires during a handshake).
    The counter advances only when a message is encrypted or authenticated successfully.
    """

    __slots__ = ("_key", "n")

    def __init__(self, key: bytes | None = None) -> None:
        if key is not None and (type(key) is not bytes or len(key) != KEYLEN):
            raise NoiseError(f"a cipher key is {KEYLEN} bytes")
        self._key = key
        self.n = 0

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def encrypt_with_ad(self, ad: bytes, plaintext: BytesLike) -> bytes:
        """Encrypt ``plaintext`` bound to ``ad``; returns ciphertext with a 16-byte tag."""
        if type(plaintext) is not bytes:
            plaintext = bytes(plaintext)
        key = self._key
        if key is None:
            return plaintext
        n = self.n
        if n >= _MAX_NONCE:
            raise NoiseError("nonce counter exhausted: the session must be renewed")
        if len(plaintext) > _MAX_PLAINTEXT:
            raise NoiseError(f"plaintext of {len(plaintext)} bytes exceeds {_MAX_PLAINTEXT}")
        ciphertext = _aead_encrypt(key, _pack_nonce(n), ad, plaintext)
        self.n = n + 1
        return ciphertext

    def decrypt_with_ad(self, ad: bytes, ciphertext: BytesLike) -> bytes:
        """Authenticate and decrypt; raises :class:`DecryptError` if the tag does not match."""
        if type(ciphertext) is not bytes:
            ciphertext = bytes(ciphertext)
        key = self._key
        if key is None:
            return ciphertext
        n = self.n
        if n >= _MAX_NONCE:
            raise NoiseError("nonce counter exhausted: the session must be renewed")
        size = len(ciphertext)
        if size < TAGLEN:
            raise DecryptError(f"ciphertext of {size} bytes is shorter than its tag")
        if size > MAX_MESSAGE:
            raise NoiseError(f"ciphertext of {size} bytes exceeds {MAX_MESSAGE}")
        plaintext = _aead_decrypt(key, _pack_nonce(n), ad, ciphertext)
        self.n = n + 1
        return plaintext

    def derive_key(self, person: bytes) -> bytes:
        """A 32-byte key for another use, derived from this cipher's: BLAKE2b-256 of the
        empty string keyed with it, personalised ``person`` (at most 16 bytes). The
        channel's faster transport cipher is keyed so (p2p.channel_cipher)."""
        key = self._key
        if key is None:
            raise NoiseError("cannot derive a key from a cipher without a key")
        return hashlib.blake2b(b"", key=key, person=person, digest_size=32).digest()

    def rekey(self) -> None:
        """Replace the key by one derived from it (spec 4.2); the counter is unchanged."""
        key = self._key
        if key is None:
            raise NoiseError("cannot rekey a cipher without a key")
        self._key = _aead_encrypt(key, _pack_nonce(_MAX_NONCE), b"", bytes(KEYLEN))[:KEYLEN]


# --- SymmetricState ---------------------------------------------------------------------------

# name -> (hash of bytes, HASHLEN, hashlib name for hmac)
_HASHES: Final[dict[str, tuple[Callable[[bytes], bytes], int, str]]] = {
    "BLAKE2b": (lambda data: hashlib.blake2b(data).digest(), 64, "blake2b"),
    "SHA256": (lambda data: hashlib.sha256(data).digest(), 32, "sha256"),
}


class _SymmetricState:
    """Chaining key ``ck`` and handshake hash ``h`` (spec 5.2)."""

    __slots__ = ("_hash", "_hmac_name", "ck", "cipher", "h")

    def __init__(self, protocol_name: bytes, hash_name: str) -> None:
        self._hash, hashlen, self._hmac_name = _HASHES[hash_name]
        if len(protocol_name) <= hashlen:
            self.h = protocol_name.ljust(hashlen, b"\x00")
        else:
            self.h = self._hash(protocol_name)
        self.ck = self.h
        self.cipher = CipherState()

    def _hkdf(self, input_key: bytes) -> tuple[bytes, bytes]:
        name = self._hmac_name
        temp_key = hmac.digest(self.ck, input_key, name)
        out1 = hmac.digest(temp_key, b"\x01", name)
        out2 = hmac.digest(temp_key, out1 + b"\x02", name)
        return out1, out2

    def mix_key(self, input_key: bytes) -> None:
        self.ck, temp_key = self._hkdf(input_key)
        self.cipher = CipherState(temp_key[:KEYLEN])

    def mix_hash(self, data: bytes) -> None:
        self.h = self._hash(self.h + data)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = self.cipher.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        plaintext = self.cipher.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        temp_k1, temp_k2 = self._hkdf(b"")
        return CipherState(temp_k1[:KEYLEN]), CipherState(temp_k2[:KEYLEN])


# --- Handshake patterns -----------------------------------------------------------------------

# pattern -> (responder pre-message tokens, message token lists; initiator sends even ones).
# None of the supported patterns has an initiator pre-message.
_PATTERNS: Final[dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]]] = {
    "NK": (("s",), (("e", "es"), ("e", "ee"))),
    "IK": (("s",), (("e", "es", "s", "ss"), ("e", "ee", "se"))),
    "XX": ((), (("e",), ("e", "ee", "s", "es"), ("s", "se"))),
}


def _message_overheads(messages: tuple[tuple[str, ...], ...]) -> tuple[int, ...]:
    """Bytes each handshake message carries besides the payload (its minimum length)."""
    overheads = []
    has_key = False
    for tokens in messages:
        size = 0
        for step in tokens:
            if step == "e":
                size += DHLEN
            elif step == "s":
                size += DHLEN + (TAGLEN if has_key else 0)
            else:
                has_key = True
        overheads.append(size + (TAGLEN if has_key else 0))
    return tuple(overheads)


def _check_key(name: str, key: bytes | None) -> bytes | None:
    if key is not None and (not isinstance(key, bytes) or len(key) != DHLEN):
        raise NoiseError(f"{name} must be a {DHLEN}-byte X25519 key")
    return key


def _dh(private: bytes, public: bytes) -> bytes:
    try:
        shared: bytes = crypto_scalarmult(private, public)
    except nacl.exceptions.CryptoError:  # libsodium refuses small-order points itself
        shared = _ZERO_DH
    if shared == _ZERO_DH:
        raise NoiseError("Diffie-Hellman with a low-order public key (an invalid peer key)")
    return shared


class HandshakeState:
    """One side of a Noise handshake (spec 5.3), driven by the caller's I/O.

    ``s`` and ``e`` are X25519 private keys (``e`` only for deterministic tests); ``rs`` is the
    responder's static public key, which IK and NK initiators must know in advance.
    """

    __slots__ = (
        "_e",
        "_e_public",
        "_failed",
        "_index",
        "_messages",
        "_overheads",
        "_re",
        "_rs",
        "_s",
        "_s_public",
        "_split_done",
        "_symmetric",
        "initiator",
        "pattern",
        "protocol_name",
    )

    def __init__(
        self,
        pattern: str,
        initiator: bool,
        prologue: bytes = b"",
        s: bytes | None = None,
        rs: bytes | None = None,
        *,
        hash_name: str = "BLAKE2b",
        e: bytes | None = None,
    ) -> None:
        if pattern not in _PATTERNS:
            raise NoiseError(f"unsupported handshake pattern {pattern!r}")
        if hash_name not in _HASHES:
            raise NoiseError(f"unsupported hash {hash_name!r}")
        responder_pre, messages = _PATTERNS[pattern]
        self.pattern = pattern
        self.initiator = initiator
        self.protocol_name = f"Noise_{pattern}_25519_ChaChaPoly_{hash_name}"
        self._messages = messages
        self._overheads = _message_overheads(messages)
        self._s = _check_key("s", s)
        self._s_public: bytes | None = crypto_scalarmult_base(s) if s is not None else None
        self._e = _check_key("e", e)
        self._e_public: bytes | None = None
        self._rs = _check_key("rs", rs)
        self._re: bytes | None = None
        self._index = 0
        self._failed = False
        self._split_done = False

        sends_static = any("s" in m for m in messages[(0 if initiator else 1) :: 2])
        if (sends_static or (not initiator and responder_pre)) and s is None:
            raise NoiseError(f"{self._role} of {pattern} needs a static key s")
        if initiator and responder_pre and rs is None:
            raise NoiseError(f"initiator of {pattern} needs the responder's static key rs")
        if rs is not None and not (initiator and responder_pre):
            raise NoiseError(f"the {self._role} of {pattern} learns rs during the handshake")

        self._symmetric = _SymmetricState(self.protocol_name.encode("ascii"), hash_name)
        self._symmetric.mix_hash(prologue)
        if responder_pre:  # "<- s": the responder's static public key, known to both
            responder_static = self._rs if initiator else self._s_public
            assert responder_static is not None
            self._symmetric.mix_hash(responder_static)

    @classmethod
    def from_protocol_name(
        cls,
        name: str,
        initiator: bool,
        prologue: bytes = b"",
        s: bytes | None = None,
        rs: bytes | None = None,
        *,
        e: bytes | None = None,
    ) -> HandshakeState:
        """Build from a full name such as ``Noise_XX_25519_ChaChaPoly_BLAKE2b``."""
        parts = name.split("_")
        if (
            len(parts) != 5
            or parts[0] != "Noise"
            or parts[1] not in _PATTERNS
            or parts[2] != "25519"
            or parts[3] != "ChaChaPoly"
            or parts[4] not in _HASHES
        ):
            raise NoiseError(f"unsupported Noise protocol {name!r}")
        return cls(parts[1], initiator, prologue, s, rs, hash_name=parts[4], e=e)

    @property
    def _role(self) -> str:
        return "initiator" if self.initiator else "responder"

    @property
    def complete(self) -> bool:
        """True once every handshake message was written or read."""
        return self._index == len(self._messages)

    @property
    def is_my_turn(self) -> bool:
        """True when the next step is ``write_message`` (False when complete or failed)."""
        if self._failed or self.complete:
            return False
        return (self._index % 2 == 0) == self.initiator

    @property
    def handshake_hash(self) -> bytes:
        """The final ``h``: the same on both sides only if nobody tampered (channel binding)."""
        if not self.complete:
            raise NoiseError("the handshake hash is only final once the handshake is complete")
        return self._symmetric.h

    @property
    def remote_static(self) -> bytes | None:
        """The peer's static X25519 public key once known (authenticated only when complete)."""
        return self._rs

    def _check_turn(self, writing: bool) -> None:
        if self._failed:
            raise NoiseError("the handshake failed earlier; start a new one")
        if self.complete:
            raise NoiseError("the handshake is already complete")
        if self.is_my_turn != writing:
            expected = "write_message" if self.is_my_turn else "read_message"
            raise NoiseError(f"out of turn: the {self._role} must call {expected} next")

    def write_message(self, payload: bytes = b"") -> bytes:
        """Produce the next handshake message carrying ``payload`` (encrypted once possible)."""
        self._check_turn(writing=True)
        size = self._overheads[self._index] + len(payload)
        if size > MAX_MESSAGE:
            raise NoiseError(f"handshake message of {size} bytes exceeds {MAX_MESSAGE}")
        try:
            message = self._write(self._messages[self._index], payload)
        except BaseException:
            self._failed = True
            raise
        self._index += 1
        return message

    def read_message(self, message: BytesLike) -> bytes:
        """Consume the peer's next handshake message and return its payload."""
        self._check_turn(writing=False)
        if type(message) is not bytes:
            message = bytes(message)
        size = len(message)
        if size > MAX_MESSAGE:
            raise NoiseError(f"handshake message of {size} bytes exceeds {MAX_MESSAGE}")
        if size < self._overheads[self._index]:
            raise NoiseError(
                f"handshake message {self._index} of {size} bytes is shorter than "
                f"the {self._overheads[self._index]} bytes it must carry"
            )
        try:
            payload = self._read(self._messages[self._index], message)
        except BaseException:
            self._failed = True
            raise
        self._index += 1
        return payload

    def split(self) -> tuple[CipherState, CipherState]:
        """Return ``(send, recv)`` transport ciphers for this side; allowed once."""
        if not self.complete:
            raise NoiseError("split() before the handshake is complete")
        if self._split_done:
            raise NoiseError("split() may be called only once (nonces would repeat)")
        self._split_done = True
        first, second = self._symmetric.split()
        self._symmetric.ck = b""  # the transport keys' secret is no longer needed
        return (first, second) if self.initiator else (second, first)

    # -- token processing ----------------------------------------------------------------------

    def _dh_token(self, step: str) -> bytes:
        # "es" is DH(initiator's e, responder's s); seen from the responder it is DH(s, re).
        if not self.initiator:
            step = step[::-1]
        private = self._e if step[0] == "e" else self._s
        public = self._re if step[1] == "e" else self._rs
        assert private is not None  # the pattern guarantees both keys exist by now
        assert public is not None
        return _dh(private, public)

    def _write(self, tokens: tuple[str, ...], payload: bytes) -> bytes:
        symmetric = self._symmetric
        parts: list[bytes] = []
        for step in tokens:
            if step == "e":
                if self._e is None:
                    self._e = nacl.utils.random(DHLEN)
                e_public: bytes = crypto_scalarmult_base(self._e)
                self._e_public = e_public
                parts.append(e_public)
                symmetric.mix_hash(e_public)
            elif step == "s":
                assert self._s_public is not None
                parts.append(symmetric.encrypt_and_hash(self._s_public))
            else:
                symmetric.mix_key(self._dh_token(step))
        parts.append(symmetric.encrypt_and_hash(payload))
        return b"".join(parts)

    def _read(self, tokens: tuple[str, ...], message: bytes) -> bytes:
        symmetric = self._symmetric
        offset = 0
        for step in tokens:
            if step == "e":
                self._re = message[offset : offset + DHLEN]
                offset += DHLEN
                symmetric.mix_hash(self._re)
            elif step == "s":
                size = DHLEN + (TAGLEN if symmetric.cipher.has_key else 0)
                self._rs = symmetric.decrypt_and_hash(message[offset : offset + size])
                offset += size
            else:
                symmetric.mix_key(self._dh_token(step))
        return symmetric.decrypt_and_hash(message[offset:])
