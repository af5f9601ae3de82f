"""Unlocking a profile on the command line (issue 16): the one way every command, ``kith
daemon`` and ``kith link`` get the profile's data key (:func:`open_profile`), how ``kith
init`` chooses the protection, ``kith config protection`` changes it and ``kith recover``
opens a profile whose keyring is gone with the recovery code.

A passphrase comes from ``--passphrase-fd N``, else the file ``$KITH_PASSPHRASE_FILE``
(a service's credential), else a prompt on the terminal, else one line of stdin. A new
passphrase (``--protect passphrase``) comes from ``--new-passphrase-fd N``, a prompt
(asked twice), or the next line of stdin.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from kith.app import cli_output as out
from kith.p2p.errors import UserError
from kith.p2p.keystore import (
    PASSPHRASE_FILE_ENV,
    PROTECTIONS,
    Created,
    KeyringProblem,
    KeyStore,
    PassphraseRequired,
    Protection,
    WrongPassphrase,
    WrongRecoveryCode,
    read_passphrase,
)
from kith.p2p.profile import require_identity

# (kith.p2p.unlock, and with it the database, is imported by the functions that open a
# profile: a command that a running Kith answers needs none of it)

PROMPT_TRIES = 3  # on a terminal, wrong passphrases before the command gives up
NONE_WARNING = (
    "WARNING: this profile's data key is stored unprotected next to the history: anyone "
    "who can read the profile folder can read your messages. Protect it with `kith config "
    "protection keyring` or `kith config protection passphrase`."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options every command shares (given before the command)."""
    p.add_argument("--passphrase-fd", type=int, default=None, metavar="N",
                   help=f"read the profile's passphrase from file descriptor N "
                   f"(else ${PASSPHRASE_FILE_ENV}, a prompt, or stdin)")


def add_protect(s: argparse.ArgumentParser, *, required: bool = False) -> None:
    s.add_argument("--protect", choices=list(PROTECTIONS), default=None, required=required,
                   help="how the history's key is kept: the OS keyring (default where one "
                   "works), a passphrase, or none (not recommended)")
    s.add_argument("--new-passphrase-fd", type=int, default=None, metavar="N",
                   help="read the new passphrase from file descriptor N")


class _Stdin:
    """Successive lines of a non-terminal stdin (current, then new passphrase)."""

    @staticmethod
    def line(what: str) -> str:
        text = sys.stdin.readline() if sys.stdin is not None else ""
        if not text:
            raise PassphraseRequired(f"{what} is needed: give it with --passphrase-fd, "
                                     f"${PASSPHRASE_FILE_ENV}, a terminal or stdin")
        return text[:-1] if text.endswith("\n") else text


def _tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def passphrase(args: argparse.Namespace, prompt: str = "Passphrase for Kith: ") -> str:
    fd = getattr(args, "passphrase_fd", None)
    if fd is not None:
        return read_passphrase(fd)
    path = os.environ.get(PASSPHRASE_FILE_ENV)
    if path:
        return read_passphrase(path)
    if _tty():
        return getpass.getpass(prompt)
    return _Stdin.line("the profile's passphrase")


def new_passphrase(args: argparse.Namespace) -> str:
    fd = getattr(args, "new_passphrase_fd", None)
    if fd is not None:
        text = read_passphrase(fd)
    elif _tty():
        text = getpass.getpass("Choose a passphrase: ")
        if getpass.getpass("The same passphrase again: ") != text:
            raise UserError("the two passphrases differ; nothing was changed")
    else:
        text = _Stdin.line("a new passphrase")
    if not text:
        raise UserError("choose a passphrase (it cannot be empty)")
    return text


def choose(args: argparse.Namespace, profile: Path) -> tuple[Protection, str | None]:
    """The protection asked for (``--protect``), else the keyring where one works; on a
    headless box a passphrase (from the terminal, or ``--new-passphrase-fd``)."""
    from kith.p2p import unlock

    status = unlock.inspect(profile).keyring
    protection: Protection | None = getattr(args, "protect", None)
    if protection is None:
        protection = unlock.suggested(status)
        if protection == "passphrase":
            if not (_tty() or getattr(args, "new_passphrase_fd", None) is not None):
                raise UserError(
                    f"no OS keyring here ({status.reason}); choose --protect passphrase "
                    "(with --new-passphrase-fd N, or on a terminal) or --protect none"
                )
            out.warn(f"no OS keyring here ({status.reason}): protect the history with a "
                     "passphrase instead")
    if protection == "keyring" and not status.usable:
        raise UserError(f"cannot use the OS keyring: {status.reason}")
    secret = new_passphrase(args) if protection == "passphrase" else None
    return protection, secret


def show_recovery_code(created: Created) -> None:
    out.warn(
        "Your recovery code (write it down and keep it safe; it is shown only this once; it "
        "opens your history if the keyring is lost or the passphrase forgotten):\n"
        f"    {created.recovery_code}"
    )


def create_key(args: argparse.Namespace, profile: Path, *, show: bool = True) -> Created:
    from kith.p2p import unlock

    protection, secret = choose(args, profile)
    created = unlock.create(profile, protection, passphrase=secret)
    if protection == "none":
        out.warn(NONE_WARNING)
    if show:
        show_recovery_code(created)
    return created


def open_profile(profile: Path, args: argparse.Namespace, *, upgrade: bool = True) -> bytes | None:
    """The profile's data key for a node of this process: unlocked by the keyring, a
    passphrase (see the module) or nothing. A first-release profile (no key yet) gets
    one now (``upgrade``), by the keyring where it works, else a passphrase if one can be
    asked; otherwise it stays plain for now (None) and says how to encrypt it."""
    from kith.p2p import unlock

    require_identity_exists(profile)
    state = unlock.inspect(profile)
    if state.needs_choice:
        if not upgrade:
            return None
        if not state.keyring.usable and not (
            _tty() or getattr(args, "new_passphrase_fd", None) is not None
        ):
            out.warn(
                f"your history in {profile} is not encrypted yet, and there is no OS keyring "
                f"here ({state.keyring.reason}): encrypt it with a passphrase by `kith config "
                "protection passphrase`"
            )
            return None
        out.warn("encrypting this profile: its history will be kept encrypted from now on")
        return create_key(args, profile).key
    assert state.info is not None
    if state.info.protection != "passphrase":
        try:
            return unlock.unlock(profile)
        except KeyringProblem as e:
            if not (_tty() and _from_prompt(args)):  # (a script or a service: exit 7)
                raise type(e)(f"{e} Run `kith recover` to open it with the recovery code.") \
                    from None
            return _recover_inline(profile, args, str(e))
    tries = PROMPT_TRIES if _tty() and _from_prompt(args) else 1
    for left in range(tries - 1, -1, -1):
        try:
            return unlock.unlock(profile, passphrase=passphrase(args))
        except WrongPassphrase:
            if not left:
                raise WrongPassphrase(
                    "wrong passphrase; the profile stays locked (forgotten it? `kith "
                    "recover` opens it with the recovery code)"
                ) from None
            out.warn(f"wrong passphrase; try again ({left} left)")
    raise AssertionError("unreachable")


def _recover_inline(profile: Path, args: argparse.Namespace, problem: str) -> bytes:
    """The keyring is gone or changed and a person is at the terminal: as the app does,
    say what happened, ask for the recovery code (a passphrase-protected profile is asked
    its passphrase already), then how to keep the key from now on."""
    from kith.p2p import unlock

    out.warn(f"{problem} It opens with the recovery code you wrote down when the profile "
             "was made.")
    key: bytes | None = None
    for left in range(PROMPT_TRIES - 1, -1, -1):
        try:
            key = unlock.unlock(profile, recovery_code=getpass.getpass("Recovery code: "))
            break
        except WrongRecoveryCode:
            if not left:
                raise WrongRecoveryCode(
                    "the recovery code does not open this profile; it stays locked "
                    "(`kith recover` tries again)") from None
            out.warn(f"the recovery code does not open this profile; try again ({left} left)")
    assert key is not None
    out.warn("the profile is open again: how should its key be kept from now on?")
    protection, secret = choose(args, profile)
    unlock.change(profile, key, protection, passphrase=secret)
    if protection == "none":
        out.warn(NONE_WARNING)
    out.warn(f"protected by {protection} from now on")
    return key


def _from_prompt(args: argparse.Namespace) -> bool:
    return getattr(args, "passphrase_fd", None) is None and not os.environ.get(
        PASSPHRASE_FILE_ENV)


def require_identity_exists(profile: Path) -> None:
    from kith.p2p.identity import identity_exists

    if not identity_exists(profile):
        require_identity(profile)  # raises its "create one first" error


def migrate(profile: Path, key: bytes) -> None:
    """With the profile held: encrypt a plain database (and seal the key file), with its
    progress on stderr."""
    from kith.p2p import unlock

    if not unlock.needs_migration(profile):
        return
    shown: dict[str, int] = {}
    words = {"copy": "copying", "check": "checking", "swap": "swapping in"}

    def progress(stage: str, done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        if pct // 10 > shown.get(stage, -1):
            shown[stage] = pct // 10
            out.note(f"encrypting the history: {words.get(stage, stage)} {pct}%")

    if unlock.migrate(profile, key, progress):
        out.warn("the history is encrypted; the plain copy was overwritten and removed")


# -- kith config protection, kith recover -----------------------------------------------


def config_protection(profile: Path, args: argparse.Namespace) -> int:
    from kith.p2p import unlock

    require_identity_exists(profile)
    state = unlock.inspect(profile)
    wanted: Protection | None = args.protect
    if wanted is None and not args.new_recovery_code:
        current = state.info.protection if state.info else "not encrypted"
        if args.json:
            out.say_json({"protection": current, "keyring": state.keyring.usable,
                            "recovery_code": bool(state.info and state.info.has_recovery)})
        else:
            out.say(f"protection: {current}")
            if not state.keyring.usable:
                out.say(f"keyring: not available ({state.keyring.reason})")
        if state.info is not None and state.info.unprotected:
            out.warn(NONE_WARNING)
        return 0
    if state.needs_choice:
        if wanted is None:
            raise UserError("this profile is not encrypted yet: choose --protect first")
        created = create_key(args, profile)
        _migrate_now(profile, created.key)
        out.say(f"protection: {wanted}")
        return 0
    key = open_profile(profile, args)
    assert key is not None
    if wanted is not None:
        protection, secret = choose(args, profile)
        unlock.change(profile, key, protection, passphrase=secret)
        if protection == "none":
            out.warn(NONE_WARNING)
        out.say(f"protection: {protection}")
    if args.new_recovery_code:
        code = unlock.new_recovery_code(profile, key)
        out.warn(f"Your new recovery code (the old one no longer works; write it down):\n"
                 f"    {code}")
    return 0


def recover(profile: Path, args: argparse.Namespace) -> int:
    """``kith recover``: open with the recovery code, then protect it again."""
    from kith.p2p import unlock

    require_identity_exists(profile)
    if not KeyStore(profile).exists():
        raise UserError(f"{profile} is not encrypted: there is nothing to recover")
    code = getpass.getpass("Recovery code: ") if _tty() else _Stdin.line("the recovery code")
    key = unlock.unlock(profile, recovery_code=code)
    protection, secret = choose(args, profile)
    unlock.change(profile, key, protection, passphrase=secret)
    if protection == "none":
        out.warn(NONE_WARNING)
    out.say(f"recovered: the profile opens again, protected by {protection}")
    return 0


def _migrate_now(profile: Path, key: bytes) -> None:
    """Migrate at once if nobody runs for the profile; else at the next start."""
    from kith.p2p.profile import claim_nowait

    lock = claim_nowait(profile, "command", "config protection")
    if lock is None:
        out.warn("Kith is running for this profile: the history is encrypted when it "
                 "next starts")
        return
    try:
        migrate(profile, key)
    finally:
        lock.release()
