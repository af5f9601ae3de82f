"""The secrets around the data key: sealing data with it, the Argon2id parameters that
turn a passphrase or a recovery code into a wrapping key, recovery codes, and reading a
passphrase for a service (a file or a descriptor) with the app's retry delay."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import msgspec
import nacl.exceptions
import nacl.pwhash
import nacl.secret

from kith.p2p.keyerrors import KeystoreError

KEY_BYTES = 32
KDF_TARGET_SECONDS = 0.5

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
# For the test suite only: Argon2id's minimum cost instead of 0.5 s per passphrase.
FAST_KDF_ENV = "KITH_KDF_FAST"
FAST_KDF = KdfParams(opslimit=1, memlimit=8192)


def measure_kdf(target: float = KDF_TARGET_SECONDS) -> KdfParams:
    """Argon2id parameters that take about ``target`` seconds here: 256 MiB (less on a
    machine too slow for that) and as many passes as fit. Measured once per process."""
    global _measured
    if os.environ.get(FAST_KDF_ENV):
        return FAST_KDF
    if _measured is not None and target == KDF_TARGET_SECONDS:
        return _measured
    mem = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
    while True:
        start = time.perf_counter()
        derive(b"calibration", bytes(16), KdfParams(1, mem))
        took = max(time.perf_counter() - start, 1e-6)
        if took <= target or mem <= nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE:
            break
        mem //= 2
    ops = min(max(1, round(target / took)), nacl.pwhash.argon2id.OPSLIMIT_MAX)
    params = KdfParams(ops, mem)
    if target == KDF_TARGET_SECONDS:
        _measured = params
    return params


def derive(secret: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    return bytes(
        nacl.pwhash.argon2id.kdf(
            KEY_BYTES, secret, salt, opslimit=kdf.opslimit, memlimit=kdf.memlimit
        )
    )


# -- recovery codes ---------------------------------------------------------------------------

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I L O U


def new_recovery_code() -> str:
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
            data = read_file(Path(source))
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


def read_file(path: Path) -> bytes:
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
