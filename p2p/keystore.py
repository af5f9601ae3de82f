"""The profile's data key and how it is wrapped (issue 16: the history encrypted at rest).

Each profile has one random 32-byte data key: it encrypts the database (SQLCipher, see
``storage.cipher``) and, through :func:`seal`/:func:`open_sealed`, the identity key file
(and attachments later). The data key itself never changes; what the user chooses is
how it is *wrapped* on disk (like LUKS's key slots):

- ``keyring``: by a random wrapping key kept in the OS keyring (Secret Service on
  Linux, the Keychain, Windows' Credential Locker): opens with no prompt;
- ``passphrase``: by a key derived from a passphrase with Argon2id (parameters measured
  on this machine to take about 0.5 s, stored with the wrapping so they can change);
- ``none``: stored in clear, flagged (:attr:`KeyInfo.unprotected`) so the UI warns.

Every profile also has a ``recovery`` wrapping made at creation, by a random code shown
to the user once (:attr:`Created.recovery_code`): when the keyring is gone or changed
(Signal Desktop's users' lock-out) or the passphrase is forgotten, the code opens it.

The wrapped key lives in two files, ``data-key.1`` and ``data-key.2``, each written
atomically (temp file, fsync, rename, fsync of the folder) one after the other, as Briar
does: a crash while the wrapping changes leaves at least one whole copy, and both copies
wrap the same data key. Each copy carries a checksum, so a damaged one is told apart from
a wrong passphrase and the other copy is used (and the damaged one rewritten). Files are
0600; symlinks are never followed (O_NOFOLLOW).

Typical use::

    store = KeyStore(profile)
    if not store.exists():
        created = store.create("keyring")        # or "passphrase", passphrase=...
        show_once(created.recovery_code)
    key = store.unlock()                         # or passphrase=..., recovery_code=...
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from kith.p2p import safefs
from kith.p2p.errors import UserError
from kith.p2p.keyerrors import (  # noqa: F401 (the errors are part of this module's interface)
    KeyFileDamaged,
    KeyMissing,
    KeyringEntryChanged,
    KeyringEntryMissing,
    KeyringProblem,
    KeyringUnavailable,
    KeystoreError,
    PassphraseRequired,
    WrongPassphrase,
    WrongRecoveryCode,
)
from kith.p2p.keysecrets import (  # noqa: F401 (re-exported: keystore.seal / keystore.open)
    KDF_TARGET_SECONDS,
    PASSPHRASE_FILE_ENV,
    WRONG_TRIES_FREE,
    KdfParams,
    derive,
    measure_kdf,
    new_recovery_code,
    normalize_recovery_code,
    open_sealed,
    read_file,
    read_passphrase,
    retry_delay,
    seal,
)
from kith.p2p.oskeyring import (  # noqa: F401
    KEYRING_SERVICE,
    RECOVERY_HINT,
    KeyringStatus,
    OsKeyring,
    keyring_status,
)

open = open_sealed  # the pair's other name: keystore.seal / keystore.open

KEY_BYTES = 32
KEY_FILES = ("data-key.1", "data-key.2")
FORMAT = 1

Protection = Literal["keyring", "passphrase", "none"]
PROTECTIONS: tuple[Protection, ...] = ("keyring", "passphrase", "none")

# -- the key file -------------------------------------------------------------------------------


class Wrapping(msgspec.Struct, frozen=True):
    """One wrapped copy of the data key. ``box``: SecretBox(wrapping key, data key), or
    for ``clear`` the data key itself."""

    method: Literal["keyring", "passphrase", "recovery", "clear"]
    box: bytes
    salt: bytes = b""
    kdf: KdfParams | None = None
    keyring_user: str = ""


class KeyFile(msgspec.Struct, frozen=True):
    version: int
    protection: Protection
    profile_id: str  # names this profile's keyring entry
    check: bytes  # a keyed hash of the data key: tells a key that opened is the right one
    wrappings: tuple[Wrapping, ...]
    created: int = 0


@dataclass(frozen=True)
class KeyInfo:
    """What the UI shows before unlocking."""

    protection: Protection
    has_recovery: bool
    kdf: KdfParams | None  # of the passphrase wrapping

    @property
    def unprotected(self) -> bool:
        """The key is stored in clear: the UI shows a warning."""
        return self.protection == "none"


@dataclass(frozen=True)
class Created:
    key: bytes
    recovery_code: str  # shown to the user once, never stored


def _check(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=16, person=b"kith-data-key").digest()


def _encode_file(kf: KeyFile) -> bytes:
    body = msgspec.json.encode(kf)
    return body + b"\n" + hashlib.blake2b(body, digest_size=32).hexdigest().encode() + b"\n"


def _decode_file(data: bytes) -> KeyFile:
    body, _, rest = data.rstrip(b"\n").rpartition(b"\n")
    if hashlib.blake2b(body, digest_size=32).hexdigest().encode() != rest:
        raise ValueError("checksum mismatch")
    kf = msgspec.json.decode(body, type=KeyFile)
    if kf.version != FORMAT:
        raise ValueError(f"key file format {kf.version}, this Kith knows {FORMAT}")
    return kf


# -- the store --------------------------------------------------------------------------------


class KeyStore:
    """The wrapped data key of one profile folder. ``backend``: a keyring backend (for
    tests; default: the OS keyring that the ``keyring`` package finds)."""

    def __init__(self, profile: Path | str, backend: Any = None) -> None:
        self.profile = Path(profile)
        self._backend = backend
        self._ring = OsKeyring(backend)

    # -- reading --

    def exists(self) -> bool:
        return any((self.profile / name).exists() for name in KEY_FILES)

    def info(self) -> KeyInfo:
        kf = self._read()[0][1]
        pw = next((w for w in kf.wrappings if w.method == "passphrase"), None)
        return KeyInfo(
            kf.protection,
            any(w.method == "recovery" for w in kf.wrappings),
            pw.kdf if pw else None,
        )

    def unlock(
        self, *, passphrase: str | None = None, recovery_code: str | None = None
    ) -> bytes:
        """The data key. With ``recovery_code``, by the recovery wrapping; otherwise by
        the chosen protection (``passphrase`` needed for a passphrase). Repairs a damaged
        or stale copy of the key file on the way."""
        copies = self._read()
        errors: list[Exception] = []
        for _, kf in copies:
            try:
                key = self._unwrap(kf, passphrase, recovery_code)
            except (WrongPassphrase, WrongRecoveryCode, PassphraseRequired, KeyringProblem,
                    KeyFileDamaged) as e:
                errors.append(e)  # the other copy may hold an older (or newer) wrapping
                continue
            self._repair(copies, kf)
            return key
        raise errors[0]

    def _unwrap(self, kf: KeyFile, passphrase: str | None, recovery_code: str | None) -> bytes:
        if recovery_code is not None:
            w = self._wrapping(kf, "recovery")
            secret = normalize_recovery_code(recovery_code).encode()
            return self._open_box(kf, w, derive(secret, w.salt, _kdf(w)), WrongRecoveryCode(
                "the recovery code does not open this profile; check it and try again"))
        if kf.protection == "none":
            return self._open_clear(kf, self._wrapping(kf, "clear"))
        if kf.protection == "passphrase":
            if passphrase is None:
                raise PassphraseRequired("this profile is protected by a passphrase: enter it")
            w = self._wrapping(kf, "passphrase")
            return self._open_box(kf, w, derive(passphrase.encode(), w.salt, _kdf(w)),
                                  WrongPassphrase("wrong passphrase; try again"))
        w = self._wrapping(kf, "keyring")
        wrapping_key = self._ring.get(w.keyring_user)
        return self._open_box(kf, w, wrapping_key, KeyringEntryChanged(
            "the keyring's entry for this Kith profile has changed and no longer opens it "
            f"(the keyring was reset or restored from elsewhere). {RECOVERY_HINT}"))

    @staticmethod
    def _wrapping(kf: KeyFile, method: str) -> Wrapping:
        for w in kf.wrappings:
            if w.method == method:
                return w
        raise KeyFileDamaged(f"the key file has no {method} wrapping")

    @staticmethod
    def _open_box(kf: KeyFile, w: Wrapping, wrapping_key: bytes, wrong: Exception) -> bytes:
        try:
            key = bytes(nacl.secret.SecretBox(wrapping_key).decrypt(w.box))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise wrong from None
        if _check(key) != kf.check:
            raise wrong
        return key

    @staticmethod
    def _open_clear(kf: KeyFile, w: Wrapping) -> bytes:
        if len(w.box) != KEY_BYTES or _check(w.box) != kf.check:
            raise KeyFileDamaged("the key stored in clear does not match its check")
        return w.box

    # -- writing --

    def create(
        self,
        protection: Protection,
        *,
        passphrase: str | None = None,
        kdf: KdfParams | None = None,
    ) -> Created:
        """A new random data key for this profile, wrapped as chosen, plus a recovery
        code (returned once, never stored). Refuses if the profile has a key."""
        if self.exists():
            raise UserError(f"{self.profile} already has a data key")
        key = nacl.utils.random(KEY_BYTES)
        code = new_recovery_code()
        kdf = kdf or measure_kdf()
        recovery = self._passphrase_wrapping("recovery", key, normalize_recovery_code(code), kdf)
        profile_id = secrets.token_hex(16)
        primary = self._primary(protection, key, profile_id, passphrase, kdf)
        kf = KeyFile(FORMAT, protection, profile_id, _check(key), (primary, recovery),
                     int(time.time()))
        self._write(kf)
        return Created(key, code)

    def change(
        self,
        key: bytes,
        protection: Protection,
        *,
        passphrase: str | None = None,
        kdf: KdfParams | None = None,
    ) -> None:
        """Wrap the (unlocked) data key another way; the recovery code stays valid. The
        old keyring entry is removed once both copies are written."""
        kf = self._read()[0][1]
        if _check(key) != kf.check:
            raise UserError("this is not the data key of this profile")
        old = next((w for w in kf.wrappings if w.method == "keyring"), None)
        primary = self._primary(protection, key, kf.profile_id, passphrase, kdf)
        others = tuple(w for w in kf.wrappings if w.method == "recovery")
        self._write(msgspec.structs.replace(kf, protection=protection,
                                            wrappings=(primary, *others)))
        if old is not None and old.keyring_user != primary.keyring_user:
            self._ring.delete(old.keyring_user)

    def new_recovery_code(self, key: bytes, *, kdf: KdfParams | None = None) -> str:
        """Replace the recovery code (the old one stops working); returns the new one."""
        kf = self._read()[0][1]
        if _check(key) != kf.check:
            raise UserError("this is not the data key of this profile")
        code = new_recovery_code()
        recovery = self._passphrase_wrapping(
            "recovery", key, normalize_recovery_code(code), kdf or measure_kdf())
        kept = tuple(w for w in kf.wrappings if w.method != "recovery")
        self._write(msgspec.structs.replace(kf, wrappings=(*kept, recovery)))
        return code

    def _primary(
        self, protection: Protection, key: bytes, profile_id: str, passphrase: str | None,
        kdf: KdfParams | None,
    ) -> Wrapping:
        if protection == "none":
            return Wrapping("clear", key)
        if protection == "passphrase":
            if not passphrase:
                raise UserError("choose a passphrase (it cannot be empty)")
            return self._passphrase_wrapping("passphrase", key, passphrase, kdf or measure_kdf())
        if protection != "keyring":
            raise UserError(f"unknown protection {protection!r}; one of {PROTECTIONS}")
        status = keyring_status(self._backend)
        if not status.usable:
            raise KeyringUnavailable(f"cannot use the keyring: {status.reason}")
        wrapping_key = nacl.utils.random(KEY_BYTES)
        # A new entry name each time: a crash between writing it and the key file
        # leaves the entry the old key file names untouched.
        user = f"profile {profile_id} data key {secrets.token_hex(4)}"
        self._ring.set(user, wrapping_key)
        return Wrapping("keyring", bytes(nacl.secret.SecretBox(wrapping_key).encrypt(key)),
                        keyring_user=user)

    @staticmethod
    def _passphrase_wrapping(
        method: Literal["passphrase", "recovery"], key: bytes, secret: str, kdf: KdfParams
    ) -> Wrapping:
        salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
        box = nacl.secret.SecretBox(derive(secret.encode(), salt, kdf)).encrypt(key)
        return Wrapping(method, bytes(box), salt=salt, kdf=kdf)

    # -- the two copies --

    def _read(self) -> list[tuple[str, KeyFile]]:
        """The copies that are whole (checksum right), first copy first."""
        good: list[tuple[str, KeyFile]] = []
        problems = []
        for name in KEY_FILES:
            try:
                good.append((name, _decode_file(read_file(self.profile / name))))
            except FileNotFoundError:
                problems.append(f"{name} missing")
            except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as e:
                problems.append(f"{name} damaged ({e})")
        if good:
            return good
        if all(p.endswith("missing") for p in problems):
            raise KeyMissing(f"{self.profile} has no data key")
        raise KeyFileDamaged(
            f"both copies of the key file in {self.profile} are damaged "
            f"({'; '.join(problems)}); restore one from a backup"
        )

    def _repair(self, copies: list[tuple[str, KeyFile]], opened: KeyFile) -> None:
        """Make both copies the one that opened (a crash or damage left them apart)."""
        by_name = dict(copies)
        for name in KEY_FILES:
            if by_name.get(name) != opened:
                with contextlib.suppress(OSError):
                    _write_atomic(self.profile / name, _encode_file(opened))

    def _write(self, kf: KeyFile) -> None:
        self.profile.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = _encode_file(kf)
        for name in KEY_FILES:  # one after the other: one whole copy at every moment
            _write_atomic(self.profile / name, data)


def _kdf(w: Wrapping) -> KdfParams:
    if w.kdf is None:
        raise KeyFileDamaged(f"the {w.method} wrapping has no Argon2id parameters")
    return w.kdf


# Key files are written the way every profile file is: a fresh O_EXCL temporary file
# (mode 0600, a planted symlink removed, never followed), fsync, rename, fsync the folder.
_write_atomic = safefs.write_private_atomic
