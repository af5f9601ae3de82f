"""The OS keyring (the ``keyring`` package: Secret Service on Linux, the Keychain,
Windows' Credential Locker) as the data key's wrapping keeps it: is one usable here, and
get, set and delete one entry with errors that say what opens the profile instead."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from kith.p2p.keyerrors import (
    KeyringEntryChanged,
    KeyringEntryMissing,
    KeyringProblem,
    KeyringUnavailable,
)

KEYRING_SERVICE = "Kith"
KEY_BYTES = 32
RECOVERY_HINT = "Open it with your recovery code; then choose how to protect it again."


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


class OsKeyring:
    """One backend's entries for Kith. ``backend``: a keyring backend (for tests;
    default: the OS keyring that the ``keyring`` package finds)."""

    def __init__(self, backend: Any = None) -> None:
        self._backend = backend

    def status(self) -> KeyringStatus:
        return keyring_status(self._backend)

    def _keyring(self) -> Any:
        status = self.status()
        if not status.usable:
            raise KeyringUnavailable(
                f"this profile's key is kept in the OS keyring, which is not available "
                f"here: {status.reason}. {RECOVERY_HINT}"
            )
        return self._backend if self._backend is not None else _default_keyring()

    def get(self, user: str) -> bytes:
        try:
            value = self._keyring().get_password(KEYRING_SERVICE, user)
        except KeyringProblem:
            raise
        except Exception as e:  # the backend's own errors (locked, D-Bus gone)
            raise KeyringUnavailable(
                f"the OS keyring did not give this profile's key ({e}). {RECOVERY_HINT}"
            ) from e
        if value is None:
            raise KeyringEntryMissing(
                "the OS keyring has no entry for this Kith profile (it was reset, or this "
                f"is another user account or machine). {RECOVERY_HINT}"
            )
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) != KEY_BYTES:
            raise KeyringEntryChanged(
                f"the OS keyring's entry for this Kith profile was changed. {RECOVERY_HINT}"
            )
        return raw

    def set(self, user: str, secret: bytes) -> None:
        try:
            self._keyring().set_password(KEYRING_SERVICE, user, secret.hex())
        except KeyringProblem:
            raise
        except Exception as e:  # the backend's own errors
            raise KeyringUnavailable(f"the OS keyring refused to store the key ({e})") from e

    def delete(self, user: str) -> None:
        with contextlib.suppress(Exception):  # a stale entry left behind is harmless
            self._keyring().delete_password(KEYRING_SERVICE, user)
