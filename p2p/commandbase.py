"""What the command set says without running anything: its kinds of error, their codes
(the exit status of ``kith``), and the settings ``kith config`` knows. Light to import
(no node, no database): the command line builds its parser and reports errors from it
before, or without, starting a node. :mod:`kith.p2p.commands` re-exports all of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kith.p2p.errors import KithError, UserError


class BadArguments(UserError):
    """A request whose arguments are missing or of the wrong type."""


class NotFound(UserError):
    """Nobody or nothing of that name (a peer, a device, a setting)."""


class NotAllowed(UserError):
    """Refused on purpose: a changed key not confirmed, not a contact yet, a removed
    device, a profile of someone else."""


class TimedOut(UserError):
    """The command did not finish within the time it was given."""


class ListenOverflow(KithError):
    """A ``listen`` client falls too far behind; it is dropped."""


#: The ``code`` of an error reply, and the exit status of ``kith`` for it.
ERROR_CODES = {
    "failed": 1,  # could not be done as asked
    "usage": 2,  # bad arguments
    "not_found": 3,
    "not_allowed": 4,
    "timed_out": 5,
    "busy": 6,  # another Kith already runs for the profile
    "locked": 7,  # the profile's data key did not open (passphrase, keyring: issue 16)
    "damaged": 8,  # the database failed its integrity check (storage.integrity)
}

# The node raises UserError for every refusal; these say which kind it is.
_KINDS = (
    ("no peer or contact called", "not_found"),
    ("no contact or group called", "not_found"),
    ("no group called", "not_found"),
    ("matches several", "usage"),
    ("only the owner", "not_allowed"),
    ("you were removed from", "not_allowed"),
    ("you left", "not_allowed"),
    ("you are no longer in", "not_allowed"),
    ("no device of yours called", "not_found"),
    ("there is no contact request from", "not_found"),
    ("--trust-new-key", "not_allowed"),
    ("is not a contact yet", "not_allowed"),
    ("uses a new key now", "not_allowed"),
    ("this device was removed", "not_allowed"),
    ("this is the device you are using", "not_allowed"),
    ("no identity in", "not_found"),
    ("no device waiting with that code was found", "not_found"),
    ("no device linked this one within", "timed_out"),
    ("did not answer in time", "timed_out"),
    ("did not arrive in time", "timed_out"),
)


def error_code(e: BaseException) -> str:
    """The kind of a failure, one of :data:`ERROR_CODES`."""
    from kith.p2p.profile import AlreadyRunning
    from kith.p2p.safefs import UntrustedProfile

    if isinstance(e, BadArguments):
        return "usage"
    if isinstance(e, NotFound):
        return "not_found"
    if isinstance(e, NotAllowed | UntrustedProfile | PermissionError):
        return "not_allowed"
    if isinstance(e, TimedOut | TimeoutError):
        return "timed_out"
    if isinstance(e, AlreadyRunning):
        return "busy"
    from kith.p2p import keyerrors
    from kith.p2p.identity import ProfileLocked

    if isinstance(e, keyerrors.WrongPassphrase | keyerrors.WrongRecoveryCode
                  | keyerrors.PassphraseRequired | keyerrors.KeyringProblem | ProfileLocked):
        return "locked"
    from kith.storage.integrity import DatabaseDamaged

    if isinstance(e, DatabaseDamaged) or isinstance(e.__cause__, DatabaseDamaged):
        return "damaged"
    text = str(e)
    for marker, code in _KINDS:
        if marker in text:
            return code
    return "failed"



# -- settings (kith config) -------------------------------------------------------------

THEMES = ("system", "light", "dark")  # as in Settings → Theme
_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}


def _flag(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise BadArguments(f"{text!r} is not on or off (also: true/false, yes/no, 1/0)")


def _theme(text: str) -> str:
    if text.strip().lower() not in THEMES:
        raise BadArguments(f"{text!r} is not a theme: {', '.join(THEMES)}")
    return text.strip().lower()


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}


def _size(text: str) -> int:
    """``25MB``, ``500kb``, ``1000`` (bytes) or off (0)."""
    low = text.strip().lower().replace(" ", "")
    if low in _FALSE:
        return 0
    number = low.rstrip("kmgb")
    unit = low[len(number):]
    try:
        value = float(number)
    except ValueError:
        value = -1
    if unit not in _UNITS or value < 0:
        raise BadArguments(f"{text!r} is not a size (like 25MB, 500KB, or off)")
    return int(value * _UNITS[unit])


def _networks(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if text.strip().lower() == "all" or not names:
        return []
    for n in names:
        if not n.isprintable() or "/" in n or len(n) > 64:
            raise BadArguments(f"{n!r} is not a network interface name (like wlan0)")
    return names


#: The settings the app has (Settings dialog): config key -> (setting key, default,
#: parse text, description). ``name`` is the display name (kept in the key file).
CONFIG: dict[str, tuple[str, Any, Callable[[str], Any], str]] = {
    "name": ("name", "", str, "your display name, as others see it"),
    "discoverable": ("discoverable", True, _flag,
                     "on: people on the network see you; off: only contacts and your devices"),
    "read-receipts": ("read_receipts", True, _flag, "send read receipts (on/off)"),
    "typing-indicators": ("typing_indicators", True, _flag,
                          "show when you are typing (on/off)"),
    "theme": ("theme", "system", _theme, "the app's theme: system, light or dark"),
    "auto-download": ("auto_download", 25 * 10**6, _size,
                      "files up to this size from contacts download by themselves "
                      "(like 25MB; off: none)"),
    "networks": ("interfaces", [], _networks,
                 "interfaces Kith uses, comma-separated names (all: every LAN interface); "
                 "takes effect at the next start"),
}
