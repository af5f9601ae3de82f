"""Opening a profile's data key: the steps the command line, the daemon and the app share
(issue 16). Nothing here prompts: the caller asks the user and passes what they said.

- :func:`inspect` says what a profile needs before it opens: nothing yet (no identity),
  a first choice of protection (a first-release profile: an identity but no data key),
  or unlocking (by the keyring, a passphrase, or nothing).
- :func:`suggested` is the protection to offer: the OS keyring where one works, else a
  passphrase (a headless box), never "none" unless the user says so.
- :func:`create` makes the data key of a new or first-release profile (an orphan key
  left by an interrupted ``init`` is dropped first); :func:`unlock` opens it;
  :func:`change` wraps it another way.
- :func:`migrate` (with the profile lock held) encrypts a plain database and seals a
  plain key file, reporting progress; a kill at any point loses nothing and the next
  call finishes the job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kith.p2p.identity import identity_exists, seal_key_file
from kith.p2p.keystore import (
    KEY_FILES,
    Created,
    KdfParams,
    KeyInfo,
    KeyringStatus,
    KeyStore,
    Protection,
    keyring_status,
)
from kith.p2p.profile import DB_FILE
from kith.storage import cipher

Progress = cipher.Progress


@dataclass(frozen=True)
class ProfileState:
    has_identity: bool
    has_key: bool  # a data key exists (protected, or "none")
    info: KeyInfo | None  # how the key is wrapped (None without a key)
    keyring: KeyringStatus

    @property
    def needs_choice(self) -> bool:
        """A first-release profile: its history is plain until a protection is chosen."""
        return self.has_identity and not self.has_key

    @property
    def needs_passphrase(self) -> bool:
        return self.info is not None and self.info.protection == "passphrase"


def inspect(profile: Path, backend: Any = None) -> ProfileState:
    store = KeyStore(profile, backend)
    has_key = store.exists()
    return ProfileState(
        identity_exists(profile), has_key, store.info() if has_key else None,
        keyring_status(backend),
    )


def suggested(status: KeyringStatus) -> Protection:
    """What to offer first: the keyring (no prompt) where it works, else a passphrase."""
    return "keyring" if status.usable else "passphrase"


def create(
    profile: Path, protection: Protection, *, passphrase: str | None = None,
    backend: Any = None, kdf: KdfParams | None = None,
) -> Created:
    """A new data key for ``profile``. A key without an identity (``init`` or ``link``
    interrupted before the identity was written: nothing was encrypted with it) is
    replaced."""
    store = KeyStore(profile, backend)
    if store.exists() and not identity_exists(profile):
        for name in KEY_FILES:
            with contextlib.suppress(FileNotFoundError):
                (profile / name).unlink()
    return store.create(protection, passphrase=passphrase, kdf=kdf)


def unlock(
    profile: Path, *, passphrase: str | None = None, recovery_code: str | None = None,
    backend: Any = None,
) -> bytes:
    """The data key (errors of :mod:`p2p.keyerrors` say what failed and what to do)."""
    return KeyStore(profile, backend).unlock(passphrase=passphrase, recovery_code=recovery_code)


def change(
    profile: Path, key: bytes, protection: Protection, *, passphrase: str | None = None,
    backend: Any = None, kdf: KdfParams | None = None,
) -> None:
    KeyStore(profile, backend).change(key, protection, passphrase=passphrase, kdf=kdf)


def new_recovery_code(profile: Path, key: bytes, *, kdf: KdfParams | None = None) -> str:
    return KeyStore(profile).new_recovery_code(key, kdf=kdf)


def files_need_sealing(profile: Path, key: bytes) -> bool:
    """Files of the previous release are still plain under the profile (sealed at the
    node's start, or before it with progress: :func:`seal_files`)."""
    from kith.p2p.files import oldfiles
    from kith.p2p.files.disk import Disk

    return bool(oldfiles.plain_left(Disk(profile, key)))


def seal_files(profile: Path, key: bytes,
               progress: Callable[[int, int, int, int], None] | None = None) -> int:
    """Seal the previous release's plain files with ``key`` (with the profile held; on a
    thread: a second or so per GB); ``progress(files done, files, bytes done, bytes)``.
    The number of files sealed."""
    from kith.p2p.files.disk import Disk

    disk = Disk(profile, key)
    try:
        return disk.seal_existing(progress)
    finally:
        disk.close_handles()


def needs_migration(profile: Path) -> bool:
    """The database or the key file is still plain (or a migration was interrupted)."""
    from kith.p2p.identity import PLAIN_OLD, is_sealed

    path = profile / DB_FILE
    plain_db = path.exists() and path.stat().st_size > 0 and not cipher.is_encrypted(path)
    leftovers = any(
        (profile / (DB_FILE + s)).exists()
        for s in (cipher.ENCRYPTING_SUFFIX, cipher.PLAIN_OLD_SUFFIX)
    )
    return (plain_db or leftovers or (identity_exists(profile) and not is_sealed(profile))
            or (profile / PLAIN_OLD).exists())


def migrate(profile: Path, key: bytes, progress: Progress | None = None) -> bool:
    """Encrypt a plain database and seal a plain key file with ``key`` (run it with the
    profile held). True if the database was migrated. Raises ``MigrationFailed`` (the
    plain database kept as it was) if the copy could not be made or checked."""
    migrated = cipher.ensure_encrypted(profile / DB_FILE, key, progress)
    seal_key_file(profile, key)
    return migrated
