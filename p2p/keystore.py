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
import os
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

from p2p import safefs
from p2p.errors import EnvironmentProblem, UserError

KEY_BYTES = 32
KEY_FILES = ("data-key.1", "data-key.2")
FORMAT = 1
KEYRING_SERVICE = "Kith"
KDF_TARGET_SECONDS = 0.5

Protection = Literal["keyring", "passphrase", "none"]
PROTECTIONS: tuple[Protection, ...] = ("keyring", "passphrase", "none")

# -- errors: each says what happened and what opens the profile ----------------------------


class KeystoreError(EnvironmentProblem):
    """The data key cannot be read; ``str(e)`` says why and what to do."""


class KeyMissing(KeystoreError):
    """The profile has no data key (neither copy of the key file exists)."""


class KeyFileDamaged(KeystoreError):
    """Both copies of the key file are damaged."""


class WrongPassphrase(UserError):
    """The passphrase does not open the key; the UI asks again."""


class WrongRecoveryCode(UserError):
    """The recovery code does not open the key."""


class PassphraseRequired(UserError):
    """The key is wrapped by a passphrase and none was given."""


class KeyringProblem(KeystoreError):
    """The OS keyring cannot give the wrapping key; the passphrase or the recovery code
    still opens the profile."""


class KeyringUnavailable(KeyringProblem):
    """No usable keyring on this machine (a headless box, a locked or absent service)."""


class KeyringEntryMissing(KeyringProblem):
    """The keyring works but holds no entry for this profile (reset, another account)."""


class KeyringEntryChanged(KeyringProblem):
    """The keyring's entry for this profile no longer opens the key."""


_RECOVERY_HINT = "Open it with your recovery code; then choose how to protect it again."


# -- sealing data with the data key ------------------------------------------------------------


def seal(key: bytes, data: bytes) -> bytes:
    """Encrypt and authenticate ``data`` with the data key (XSalsa20-Poly1305, random
    nonce first). For the identity key file and attachments."""
    return bytes(nacl.secret.SecretBox(key).encrypt(data))


def open_sealed(key: bytes, data: bytes) -> bytes:
    """The inverse of :func:`seal`; raises :class:`KeystoreError` if ``data`` was not
    sealed with ``key`` or was changed."""
    try:
        return bytes(nacl.secret.SecretBox(key).decrypt(data))
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as e:
        raise KeystoreError(
            "a file sealed with the profile's key does not open: it was changed or damaged"
        ) from e


open = open_sealed  # the pair's other name: keystore.seal / keystore.open


# -- Argon2id parameters ----------------------------------------------------------------------


class KdfParams(msgspec.Struct, frozen=True):
    """Argon2id's cost, stored with each passphrase wrapping."""

    opslimit: int
    memlimit: int


_measured: KdfParams | None = None


def measure_kdf(target: float = KDF_TARGET_SECONDS) -> KdfParams:
    """Argon2id parameters that take about ``target`` seconds here: 256 MiB (less on a
    machine too slow for that) and as many passes as fit. Measured once per process."""
    global _measured
    if _measured is not None and target == KDF_TARGET_SECONDS:
        return _measured
    mem = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
    while True:
        start = time.perf_counter()
        _derive(b"calibration", bytes(16), KdfParams(1, mem))
        took = max(time.perf_counter() - start, 1e-6)
        if took <= target or mem <= nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE:
            break
        mem //= 2
    ops = min(max(1, round(target / took)), nacl.pwhash.argon2id.OPSLIMIT_MAX)
    params = KdfParams(ops, mem)
    if target == KDF_TARGET_SECONDS:
        _measured = params
    return params


def _derive(secret: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    return bytes(
        nacl.pwhash.argon2id.kdf(
            KEY_BYTES, secret, salt, opslimit=kdf.opslimit, memlimit=kdf.memlimit
        )
    )


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


# -- recovery codes ---------------------------------------------------------------------------

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I L O U


def _new_recovery_code() -> str:
    """160 random bits as 32 characters in 8 groups of 4."""
    raw = secrets.token_bytes(20)
    n = int.from_bytes(raw, "big")
    chars = "".join(_CODE_ALPHABET[(n >> (5 * i)) & 31] for i in range(31, -1, -1))
    return "-".join(chars[i : i + 4] for i in range(0, 32, 4))


def normalize_recovery_code(code: str) -> str:
    """What the user typed, as it is hashed: no spaces or dashes, upper case, and the
    letters Crockford's base32 reads as digits (O as 0, I and L as 1)."""
    s = "".join(code.split()).replace("-", "").upper()
    return s.translate(str.maketrans("OIL", "011"))


# -- the OS keyring -------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyringStatus:
    usable: bool
    backend: str
    reason: str  # why it is not usable, for the UI ("" when usable)


def keyring_status(backend: Any = None) -> KeyringStatus:
    """Whether an OS keyring can keep the wrapping key here. A headless box (no D-Bus
    session, no Secret Service) has only keyring's fail backend: offer a passphrase."""
    try:
        kr = backend if backend is not None else _default_keyring()
    except Exception as e:  # keyring's backend discovery raises many things
        return KeyringStatus(False, "none", f"no keyring could be loaded ({e})")
    name = f"{type(kr).__module__}.{type(kr).__name__}"
    try:
        priority = float(getattr(kr, "priority", 1))
    except Exception as e:  # a backend's priority probes its service and may raise
        return KeyringStatus(False, name, f"the keyring does not answer ({e})")
    if "fail" in type(kr).__module__.split(".") or priority <= 0:
        return KeyringStatus(
            False, name, "no keyring service on this machine (a desktop session's keyring "
            "such as GNOME Keyring or KWallet is needed): use a passphrase instead"
        )
    return KeyringStatus(True, name, "")


def _default_keyring() -> Any:
    import keyring

    return keyring.get_keyring()


# -- the store --------------------------------------------------------------------------------


class KeyStore:
    """The wrapped data key of one profile folder. ``backend``: a keyring backend (for
    tests; default: the OS keyring that the ``keyring`` package finds)."""

    def __init__(self, profile: Path | str, backend: Any = None) -> None:
        self.profile = Path(profile)
        self._backend = backend

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
            return self._open_box(kf, w, _derive(secret, w.salt, _kdf(w)), WrongRecoveryCode(
                "the recovery code does not open this profile; check it and try again"))
        if kf.protection == "none":
            return self._open_clear(kf, self._wrapping(kf, "clear"))
        if kf.protection == "passphrase":
            if passphrase is None:
                raise PassphraseRequired("this profile is protected by a passphrase: enter it")
            w = self._wrapping(kf, "passphrase")
            return self._open_box(kf, w, _derive(passphrase.encode(), w.salt, _kdf(w)),
                                  WrongPassphrase("wrong passphrase; try again"))
        w = self._wrapping(kf, "keyring")
        wrapping_key = self._keyring_get(w.keyring_user)
        return self._open_box(kf, w, wrapping_key, KeyringEntryChanged(
            "the keyring's entry for this Kith profile has changed and no longer opens it "
            f"(the keyring was reset or restored from elsewhere). {_RECOVERY_HINT}"))

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
        code = _new_recovery_code()
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
            self._keyring_delete(old.keyring_user)

    def new_recovery_code(self, key: bytes, *, kdf: KdfParams | None = None) -> str:
        """Replace the recovery code (the old one stops working); returns the new one."""
        kf = self._read()[0][1]
        if _check(key) != kf.check:
            raise UserError("this is not the data key of this profile")
        code = _new_recovery_code()
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
        self._keyring_set(user, wrapping_key)
        return Wrapping("keyring", bytes(nacl.secret.SecretBox(wrapping_key).encrypt(key)),
                        keyring_user=user)

    @staticmethod
    def _passphrase_wrapping(
        method: Literal["passphrase", "recovery"], key: bytes, secret: str, kdf: KdfParams
    ) -> Wrapping:
        salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
        box = nacl.secret.SecretBox(_derive(secret.encode(), salt, kdf)).encrypt(key)
        return Wrapping(method, bytes(box), salt=salt, kdf=kdf)

    # -- the keyring --

    def _keyring(self) -> Any:
        status = keyring_status(self._backend)
        if not status.usable:
            raise KeyringUnavailable(
                f"this profile's key is kept in the OS keyring, which is not available "
                f"here: {status.reason}. {_RECOVERY_HINT}"
            )
        return self._backend if self._backend is not None else _default_keyring()

    def _keyring_get(self, user: str) -> bytes:
        try:
            value = self._keyring().get_password(KEYRING_SERVICE, user)
        except KeyringProblem:
            raise
        except Exception as e:  # the backend's own errors (locked, D-Bus gone)
            raise KeyringUnavailable(
                f"the OS keyring did not give this profile's key ({e}). {_RECOVERY_HINT}"
            ) from e
        if value is None:
            raise KeyringEntryMissing(
                "the OS keyring has no entry for this Kith profile (it was reset, or this "
                f"is another user account or machine). {_RECOVERY_HINT}"
            )
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) != KEY_BYTES:
            raise KeyringEntryChanged(
                f"the OS keyring's entry for this Kith profile was changed. {_RECOVERY_HINT}"
            )
        return raw

    def _keyring_set(self, user: str, secret: bytes) -> None:
        try:
            self._keyring().set_password(KEYRING_SERVICE, user, secret.hex())
        except KeyringProblem:
            raise
        except Exception as e:  # the backend's own errors
            raise KeyringUnavailable(f"the OS keyring refused to store the key ({e})") from e

    def _keyring_delete(self, user: str) -> None:
        with contextlib.suppress(Exception):  # a stale entry left behind is harmless
            self._keyring().delete_password(KEYRING_SERVICE, user)

    # -- the two copies --

    def _read(self) -> list[tuple[str, KeyFile]]:
        """The copies that are whole (checksum right), first copy first."""
        good: list[tuple[str, KeyFile]] = []
        problems = []
        for name in KEY_FILES:
            try:
                good.append((name, _decode_file(_read_file(self.profile / name))))
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


# -- passphrases for services -----------------------------------------------------------------

PASSPHRASE_FILE_ENV = "KITH_PASSPHRASE_FILE"  # noqa: S105 (a variable name)
WRONG_TRIES_FREE = 5  # wrong passphrases before each try waits


def read_passphrase(source: Path | str | int) -> str:
    """A passphrase for the daemon: from a file (``KITH_PASSPHRASE_FILE``, a systemd
    credential) or an open file descriptor (``--passphrase-fd``); one trailing newline
    is dropped. Symlinks are not followed for a path."""
    try:
        if isinstance(source, int):
            chunks = []
            while chunk := os.read(source, 65536):
                chunks.append(chunk)
            data = b"".join(chunks)
        else:
            data = _read_file(Path(source))
    except FileNotFoundError as e:
        raise KeystoreError(f"the passphrase file {source} does not exist") from e
    except OSError as e:
        raise KeystoreError(f"cannot read the passphrase from {source}: {e.strerror}") from e
    try:
        text = data.decode()
    except UnicodeDecodeError as e:
        raise KeystoreError(f"the passphrase in {source} is not UTF-8 text") from e
    return text[:-1] if text.endswith("\n") else text


def retry_delay(wrong_tries: int) -> float:
    """Seconds the app waits before accepting another passphrase after ``wrong_tries``
    wrong ones: none for the first five, then doubling from 1 s up to a minute."""
    if wrong_tries < WRONG_TRIES_FREE:
        return 0.0
    return float(min(60, 2 ** (wrong_tries - WRONG_TRIES_FREE)))


# -- files --------------------------------------------------------------------------------


def _read_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as e:  # ELOOP: a symlink where the key file should be
        raise KeystoreError(f"cannot read {path} (a symlink is not followed): {e}") from e
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# Key files are written the way every profile file is: a fresh O_EXCL temporary file
# (mode 0600, a planted symlink removed, never followed), fsync, rename, fsync the folder.
_write_atomic = safefs.write_private_atomic
