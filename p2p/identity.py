"""Identity keys and device certificates.

A user *is* an Ed25519 key pair: its public key is the ``user_id``. Each device has
its own Ed25519 key pair (``device_id``); the identity key signs a certificate binding
``(device_id, device name, created_at)`` to the user. The device key's X25519 form is
the device's Noise static key, so a completed handshake proves possession of the
device key, and the certificate proves the device belongs to the user.

All keys of a profile live in one file, ``identity.kith``, created with mode 0600 and
written atomically. A profile with a data key (:mod:`p2p.keystore`) keeps it sealed with
that key: ``SEALED_MAGIC`` then ``keystore.seal(data key, the msgpack key file)``. A
plain key file (the first release's) still opens, and :func:`seal_key_file` seals it
(the plain copy is overwritten before it is removed).
"""

from __future__ import annotations

import os
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nacl.bindings as sodium
import nacl.exceptions

from kith.p2p.errors import EnvironmentProblem, RemoteProtocolError

KEY_FILE = "identity.kith"
SEALED_MAGIC = b"KITH-SEALED-1\n"  # a key file sealed with the data key starts so
PLAIN_OLD = KEY_FILE + ".plain-old"  # the plain key file while it is sealed, then wiped
_CERT_CONTEXT = b"kith-device-cert-v1"
_REVOKE_CONTEXT = b"kith-device-revoke-v1"
MAX_NAME = 64


class DeviceCertificate(msgspec.Struct, array_like=True, frozen=True):
    """The identity key's signature over a device's key, name and creation time."""

    user: bytes
    device: bytes
    name: str
    created: int
    sig: bytes

    def signed_bytes(self) -> bytes:
        return _cert_bytes(self.user, self.device, self.name, self.created)

    def verify(self) -> None:
        """Raise RemoteProtocolError unless the certificate is well formed and signed."""
        if len(self.user) != 32 or len(self.device) != 32 or len(self.sig) != 64:
            raise RemoteProtocolError("device certificate has keys of the wrong size")
        if not valid_name(self.name):
            raise RemoteProtocolError("device certificate has an invalid name")
        if not verify_signature(self.user, self.signed_bytes(), self.sig):
            raise RemoteProtocolError("device certificate signature does not verify")


class DeviceRevocation(msgspec.Struct, array_like=True, frozen=True):
    """The identity key's statement that one of its devices is removed, for good."""

    user: bytes
    device: bytes
    created: int
    sig: bytes

    def signed_bytes(self) -> bytes:
        return msgspec.msgpack.encode([_REVOKE_CONTEXT, self.user, self.device, self.created])

    def verify(self) -> None:
        """Raise RemoteProtocolError unless well formed and signed by ``user``."""
        if len(self.user) != 32 or len(self.device) != 32 or len(self.sig) != 64:
            raise RemoteProtocolError("device revocation has keys of the wrong size")
        if not verify_signature(self.user, self.signed_bytes(), self.sig):
            raise RemoteProtocolError("device revocation signature does not verify")


def revoke_device(
    user_secret: bytes, device_id: bytes, created: int | None = None
) -> DeviceRevocation:
    created = int(time.time()) if created is None else created
    unsigned = DeviceRevocation(user_secret[32:], device_id, created, b"")
    return DeviceRevocation(
        unsigned.user, device_id, created, sign(user_secret, unsigned.signed_bytes())
    )


def _cert_bytes(user: bytes, device: bytes, name: str, created: int) -> bytes:
    return msgspec.msgpack.encode([_CERT_CONTEXT, user, device, name, created])


# Characters that are printable by Python's rule but let a name pass for another or
# rearrange the text around it: zero-width characters, joiners, bidi marks, embeddings,
# overrides and isolates, the word joiner and invisible operators, the BOM, and the
# Mongolian vowel separator.
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b"
    "\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a display name or a device name, or None if it can.

    The one rule for every name Kith accepts, shows or signs (``kith init``, Settings,
    device certificates, the handshake's hello, mDNS adverts): 1 to 64 characters, no
    space at either end, no control characters (newline, escape, NUL...), no
    zero-width characters and no bidi marks, overrides or isolates."""
    if not isinstance(name, str):
        return "a name must be text"
    if not 0 < len(name) <= MAX_NAME:
        return f"a name is 1 to {MAX_NAME} characters"
    if name.strip() != name:
        return "a name has no spaces at either end"
    for ch in name:
        kind = unicodedata.category(ch)
        if kind == "Cc":
            return f"a name cannot contain the control character U+{ord(ch):04X}"
        if kind == "Cf" or ch in _INVISIBLE:
            return f"a name cannot contain the invisible or bidi character U+{ord(ch):04X}"
        if not ch.isprintable() and ch != " ":
            return f"a name cannot contain the unprintable character U+{ord(ch):04X}"
    return None


def valid_name(name: object) -> bool:
    """True if ``name`` follows the name rule (see :func:`name_problem`)."""
    return name_problem(name) is None


NAME_RULE = (
    f"a name is 1 to {MAX_NAME} characters, without spaces at either end, control "
    "characters, zero-width characters or bidi marks"
)


def sign(secret_key: bytes, message: bytes) -> bytes:
    """Detached Ed25519 signature (64 bytes) with a 64-byte libsodium secret key."""
    return sodium.crypto_sign(message, secret_key)[:64]


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        sodium.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True


def ed25519_to_x25519_public(public_key: bytes) -> bytes:
    return sodium.crypto_sign_ed25519_pk_to_curve25519(public_key)


class _KeyFile(msgspec.Struct, array_like=True):
    version: int
    name: str
    user_seed: bytes
    device_seed: bytes
    cert: DeviceCertificate


@dataclass(frozen=True)
class Identity:
    """This device's keys: the user identity key, the device key and its certificate."""

    name: str
    user_secret: bytes  # 64-byte libsodium secret key
    device_secret: bytes
    cert: DeviceCertificate

    @property
    def user_id(self) -> bytes:
        return self.cert.user

    @property
    def device_id(self) -> bytes:
        return self.cert.device

    @property
    def noise_static(self) -> bytes:
        """X25519 private key for the Noise handshake."""
        return sodium.crypto_sign_ed25519_sk_to_curve25519(self.device_secret)

    def sign_as_device(self, message: bytes) -> bytes:
        return sign(self.device_secret, message)

    @classmethod
    def generate(cls, name: str, device_name: str | None = None) -> Identity:
        problem = name_problem(name) or name_problem(device_name or name)
        if problem:
            raise ValueError(f"{problem} ({NAME_RULE})")
        _, user_secret = sodium.crypto_sign_seed_keypair(os.urandom(32))
        device_secret = _new_secret()
        cert = certify_device(user_secret, device_secret[32:], device_name or name)
        return cls(name, user_secret, device_secret, cert)

    def encode(self) -> bytes:
        return msgspec.msgpack.encode(
            _KeyFile(1, self.name, self.user_secret[:32], self.device_secret[:32], self.cert)
        )

    @classmethod
    def decode(cls, data: bytes) -> Identity:
        f = msgspec.msgpack.decode(data, type=_KeyFile)
        _, user_secret = sodium.crypto_sign_seed_keypair(f.user_seed)
        _, device_secret = sodium.crypto_sign_seed_keypair(f.device_seed)
        if user_secret[32:] != f.cert.user or device_secret[32:] != f.cert.device:
            raise ValueError("certificate does not match the keys")
        return cls(f.name, user_secret, device_secret, f.cert)

    def for_new_device(self, device_name: str, device_id: bytes) -> DeviceCertificate:
        """A certificate, by the identity key, for another device of this user."""
        problem = name_problem(device_name)
        if problem:
            raise ValueError(f"device name: {problem}")
        return certify_device(self.user_secret, device_id, device_name)

    @classmethod
    def linked(
        cls, name: str, user_secret: bytes, device_secret: bytes, cert: DeviceCertificate
    ) -> Identity:
        """This device's identity after linking: the user's keys, our device key and the
        certificate another of the user's devices made for it."""
        if cert.user != user_secret[32:] or cert.device != device_secret[32:]:
            raise ValueError("certificate does not match the keys")
        cert.verify()
        return cls(name, user_secret, device_secret, cert)

    def with_name(self, name: str) -> Identity:
        return Identity(name, self.user_secret, self.device_secret, self.cert)


def _new_secret() -> bytes:
    _, secret = sodium.crypto_sign_seed_keypair(os.urandom(32))
    return secret


def certify_device(
    user_secret: bytes, device_id: bytes, device_name: str, created: int | None = None
) -> DeviceCertificate:
    created = int(time.time()) if created is None else created
    user = user_secret[32:]
    sig = sign(user_secret, _cert_bytes(user, device_id, device_name, created))
    return DeviceCertificate(user, device_id, device_name, created, sig)


class ProfileLocked(EnvironmentProblem):
    """The key file is sealed with the profile's data key and no (or another) key was
    given: the profile must be unlocked first."""


def identity_exists(profile: Path) -> bool:
    """The profile has a key file (sealed or not), without reading it."""
    from kith.p2p import safefs

    return safefs.check_folder(profile) and os.path.lexists(profile / KEY_FILE)


def is_sealed(profile: Path) -> bool:
    from kith.p2p import safefs

    try:
        return safefs.read_private(profile / KEY_FILE).startswith(SEALED_MAGIC)
    except FileNotFoundError:
        return False


def load_identity(profile: Path, key: bytes | None = None) -> Identity | None:
    """The profile's identity, or None if it has none yet. The key file must be the
    user's own, closed to others and not a symlink (see :mod:`p2p.safefs`). A sealed key
    file needs the profile's data key ``key`` (:class:`ProfileLocked` otherwise); a
    plain one opens with or without it."""
    from kith.p2p import safefs
    from kith.p2p.keysecrets import open_sealed

    path = profile / KEY_FILE
    if not safefs.check_folder(profile):
        return None
    try:
        data = safefs.read_private(path)
    except FileNotFoundError:
        return None
    except IsADirectoryError as e:
        raise EnvironmentProblem(f"cannot read {path}: it is a folder") from e
    if data.startswith(SEALED_MAGIC):
        if key is None:
            raise ProfileLocked(
                f"the key file {path} is encrypted with the profile's data key: unlock "
                "the profile first"
            )
        try:
            data = open_sealed(key, data[len(SEALED_MAGIC):])
        except EnvironmentProblem as e:
            raise ProfileLocked(
                f"the key file {path} does not open with this profile's data key: it was "
                "changed or damaged, or belongs to another profile; restore it from a backup"
            ) from e
    try:
        return Identity.decode(data)
    except (msgspec.DecodeError, ValueError) as e:
        raise EnvironmentProblem(
            f"the key file {path} is damaged ({e}); restore it from a backup"
        ) from e


def save_identity(
    profile: Path, identity: Identity, *, replace: bool = False, key: bytes | None = None
) -> None:
    """Write the key file with mode 0600, atomically, never through a symlink; refuse to
    overwrite unless asked. With the profile's data key ``key``, sealed with it."""
    from kith.p2p import safefs
    from kith.p2p.keysecrets import seal

    safefs.ensure_folder(profile)
    path = profile / KEY_FILE
    if os.path.lexists(path) and not replace:
        raise EnvironmentProblem(f"{path} already exists: this profile has an identity")
    data = identity.encode()
    if key is not None:
        data = SEALED_MAGIC + seal(key, data)
    safefs.write_private_atomic(path, data)


def seal_key_file(profile: Path, key: bytes) -> bool:
    """Seal a plain key file with the data key ``key`` (the upgrade of a first-release
    profile); True if it did. The plain file is kept under a second name while the sealed
    one replaces it, then overwritten and removed, so that a crash at any point leaves a
    whole key file (a leftover plain copy is wiped on the next call)."""
    from kith.storage.cipher import wipe_file

    old = profile / PLAIN_OLD
    if not identity_exists(profile):
        return False
    if is_sealed(profile):
        if os.path.lexists(old):
            wipe_file(old)
        return False
    identity = load_identity(profile)
    assert identity is not None
    if os.path.lexists(old):
        old.unlink()
    os.link(profile / KEY_FILE, old)  # the plain data stays reachable for wiping
    save_identity(profile, identity, replace=True, key=key)
    wipe_file(old)
    return True
