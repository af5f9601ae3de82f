"""The ``kith`` command line.

``kith`` alone opens the desktop app. Subcommands work headless: while a node runs
for the profile (``kith daemon`` or the app) they go through its control socket;
otherwise they start a node for the duration of the command. What is printed is in
``cli_output``, how a command runs in ``cli_run``, the system around it (systemd unit,
man page, completion, can the window open) in ``cli_system``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

from kith.app import (
    cli_actions,
    cli_check,
    cli_files,
    cli_groups,
    cli_run,
    cli_system,
    cli_unlock,
    desktop_install,
)
from kith.app import cli_output as out
from kith.p2p import commandbase
from kith.p2p.errors import KithError
from kith.p2p.identity import identity_exists
from kith.p2p.keystore import PROTECTIONS
from kith.p2p.profile import AlreadyRunning, create_identity, default_profile

log = logging.getLogger("kith")

EPILOG = """\
`kith` with no command opens the desktop app. While a node runs for the profile
(`kith daemon` or the app) the commands talk to it; otherwise each starts a node for
as long as it runs.

exit status: 0 ok, 1 failed, 2 usage (or no display for the app), 3 not found,
4 not allowed, 5 timed out, 6 another Kith already runs for the profile,
7 the profile stays locked (wrong passphrase, keyring gone: see `kith recover`),
130 interrupted, 141 output closed. Errors go to stderr.
"""


def version() -> str:
    from importlib import metadata

    for dist in ("kith-messenger", "kith"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(dist)
    return "unknown"


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (reading the
    package metadata costs every other `kith` start a few milliseconds)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"kith {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kith",
        description="Kith: a peer-to-peer messenger for your local network. "
        "No server, no account, no Internet.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action=_Version, nargs=0,
                   help="show program's version number and exit")  # (as argparse says)
    profile = p.add_argument("--profile", metavar="DIR",
                             help="profile folder (default: per-user data dir)")
    p.set_defaults(completes_dirs=[profile])  # (`kith completion`: folder names)
    p.add_argument(
        "--interface", metavar="ADDR", action="append", default=None,
        help="listen and discover only on this address (repeatable; default: all LAN interfaces)",
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log what the node does (-vv: also discovery and connection details)",
    )
    cli_unlock.add_arguments(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, text: str, *, json: bool = False) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
        if json:
            s.add_argument("--json", action="store_true", help="print JSON (one object or array)")
        return s

    def peer(s: argparse.ArgumentParser) -> None:
        s.add_argument("peer", metavar="PEER",
                       help="a name, a user id, or a unique prefix of either")

    def chat(s: argparse.ArgumentParser) -> None:
        s.add_argument("peer", metavar="CHAT",
                       help="a contact or a group: a name, an id, or a unique prefix of either")

    s = command("init", "create this device's identity", json=True)
    s.add_argument("--name", required=True, help="your display name")
    s.add_argument("--device-name", default=None, metavar="DEVICE_NAME",
                   help="what this device is called in `kith devices` (default: the host name)")
    cli_unlock.add_protect(s)
    command("whoami", "show this identity", json=True)
    s = command("daemon", "run the node headless until SIGINT/SIGTERM")
    s.add_argument("--port", type=int, default=None, help="TCP port to listen on")
    s = command("peers", "people discovered on the network (one row per person)", json=True)
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS")
    s = command("connect", "add a peer by address (remembered)", json=True)
    s.add_argument("address", metavar="HOST:PORT")
    for name, text in (("add", "send a contact request"), ("accept", "accept a request")):
        s = command(name, text, json=True)
        peer(s)
        s.add_argument(
            "--trust-new-key", action="store_true",
            help="go ahead although PEER has a known contact's name with another key",
        )
    peer(command("decline", "decline a contact request", json=True))
    s = command("rename-contact", "choose the name you know a contact by", json=True)
    peer(s)
    choice = s.add_mutually_exclusive_group(required=True)
    choice.add_argument("new_name", metavar="NAME", nargs="?", help="your name for them")
    choice.add_argument("--theirs", action="store_true",
                        help="go back to the name they chose for themselves")
    command("contacts", "your contacts and requests", json=True)
    s = command("send", "send a message", json=True)
    chat(s)
    s.add_argument("text", metavar="TEXT", nargs="?", default=None,
                   help="the message (may be left out with --file)")
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="wait until delivered (and every file is complete on a device of "
                   "the recipient); exit 5 if not in time")
    cli_files.add_send_options(s)
    cli_files.add_parsers(command, peer)
    s = command("history", "messages with a contact or in a group", json=True)
    chat(s)
    s.add_argument("--limit", type=_limit, default=50, metavar="N")
    command("listen", "print messages as they arrive", json=True)
    peer(command("safety-number", "the safety number to compare with a contact", json=True))
    peer(command("sas", "the 7 emoji to compare while connected", json=True))
    s = command("verify", "mark a contact verified if the number matches", json=True)
    peer(s)
    s.add_argument("number", metavar="NUMBER", nargs="+")
    chat(command("read", "mark a conversation read (sends read receipts)", json=True))
    s = command("link", "(new device) link to my other device with a code")
    s.add_argument("--name", default=None, metavar="DEVICE_NAME", help="this device's name")
    s.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="give up after this long (default 300; exit 5)")
    cli_unlock.add_protect(s)
    s = command("open", "tell my other devices the chat with PEER is open here (handoff); "
                "needs Kith running for this profile", json=True)
    s.add_argument("peer", metavar="PEER", nargs="?", default=None,
                   help="omit to say no chat is open any more")
    s.add_argument("--draft", default="", metavar="TEXT", help="what is typed so far")
    s = command("handoff", "chats open on my other devices, to continue here", json=True)
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS")
    s = command("devices", "my devices; add or remove one", json=True)
    dsub = s.add_subparsers(dest="devices_command", metavar="ACTION")
    d = dsub.add_parser("add", help="link the new device that shows CODE")
    d.add_argument("code", metavar="CODE")
    d.add_argument("--json", action="store_true", help="print JSON")
    d = dsub.add_parser("remove", help="remove (revoke) one of my devices")
    d.add_argument("device", metavar="DEVICE", help="its name or a prefix of its id")
    d.add_argument("--json", action="store_true", help="print JSON")
    desktop_install.add_parser(sub)
    s = command("config", "read or change the settings (those of the app's Settings)")
    csub = s.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    keys = ", ".join(commandbase.CONFIG)
    c = csub.add_parser("list", help="every setting with its value")
    c.add_argument("--json", action="store_true", help="print JSON")
    c = csub.add_parser("get", help="one setting's value")
    c.add_argument("key", metavar="KEY", choices=list(commandbase.CONFIG), help=keys)
    c.add_argument("--json", action="store_true", help="print JSON")
    c = csub.add_parser("set", help="change a setting")
    c.add_argument("key", metavar="KEY", choices=list(commandbase.CONFIG), help=keys)
    c.add_argument("value", metavar="VALUE",
                   help="on/off for switches; system, light or dark for theme; "
                   "interface names (comma-separated) or all for networks")
    c.add_argument("--json", action="store_true", help="print JSON")
    c = csub.add_parser("protection", help="how the history's key is kept; change it")
    c.add_argument("protect", metavar="PROTECTION", nargs="?", choices=list(PROTECTIONS),
                   help="keyring, passphrase or none (omit to show the current one)")
    c.add_argument("--new-passphrase-fd", type=int, default=None, metavar="N",
                   help="read the new passphrase from file descriptor N")
    c.add_argument("--new-recovery-code", action="store_true",
                   help="replace the recovery code (the old one stops working)")
    c.add_argument("--json", action="store_true", help="print JSON")
    s = command("recover", "open a profile whose keyring is gone (or passphrase forgotten) "
                "with the recovery code, then protect it again")
    cli_unlock.add_protect(s)
    s = command("daemon-install", "write a systemd user unit that runs `kith daemon`")
    s.add_argument("--uninstall", action="store_true", help="remove the unit instead")
    s = command("completion", "print the shell completion script")
    s.add_argument("shell", choices=["bash", "zsh", "fish"])
    command("man", "print the man page (roff): kith man > kith.1")
    cli_groups.add_parsers(command)
    cli_actions.add_parsers(sub)  # reply, react, edit, unsend, ... (app/cli_actions.py)
    cli_check.add_parser(command)  # check [--repair] (app/cli_check.py)
    return p


def _limit(text: str) -> int:
    """``--limit N``: a whole number of at least 1 (0 used to mean the default 50)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return n


class SafeFormatter(logging.Formatter):
    """Log lines carry names and texts from the network: their control characters are
    escaped and a newline is shown as ``\\n``, so that nothing can forge a log line or
    drive the terminal (a traceback keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = out.clean(record.message, newlines="\\n")
        return super().formatMessage(record)


def setup_logging(verbose: int, stream: object = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    if not root.handlers:  # (as logging.basicConfig: a host that set up logging keeps it)
        root.addHandler(handler)
        root.setLevel(logging.INFO if verbose else logging.WARNING)
    if verbose > 1:
        logging.getLogger("kith.p2p").setLevel(logging.DEBUG)
    elif not verbose:  # (sealing the previous release's files takes a while: say so)
        logging.getLogger("kith.p2p.files.oldfiles").setLevel(logging.INFO)
    return handler


def exit_status(e: BaseException) -> int:
    code = e.code if isinstance(e, cli_run.CommandFailed) else commandbase.error_code(e)
    return commandbase.ERROR_CODES.get(code, out.EXIT_FAILED)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`kith listen | head -1`): end quietly, as `cat` does.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    given = Path(args.profile).expanduser().absolute() if args.profile else None
    profile = given or default_profile()
    try:
        if args.command is None:
            return _open_app(profile, args.interface)
        if args.command == "man":
            out.say(cli_system.man_page(parser, version()))
            return 0
        if args.command == "completion":
            print(cli_system.completion(parser, args.shell), end="")
            return 0
        if args.command == "daemon-install":
            out.say(cli_system.daemon_install(given, args.interface, args.uninstall))
            return 0
        if args.command == "devices" and args.devices_command:
            args.command = f"devices-{args.devices_command}"
        if args.command == "group":
            args.command = cli_groups.command_name(args)
        if args.command == "desktop-install":
            return desktop_install.run(args)
        if args.command == "config":
            args.command = f"config-{args.config_command}"
        if args.command == "config-protection":
            return cli_unlock.config_protection(profile, args)
        if args.command == "recover":
            return cli_unlock.recover(profile, args)
        if args.command == "check":
            return cli_check.run(profile, args)
        if args.command == "daemon":
            return cli_run.daemon(profile, args)
        if args.command == "link":
            return asyncio.run(cli_run.link(profile, args))
        if args.command == "init":
            if identity_exists(profile):
                create_identity(profile, args.name)  # (its error: already has one)
            key = cli_unlock.create_key(args, profile).key
            identity = create_identity(profile, args.name, args.device_name, key=key)
            if not args.json:
                out.say(f"Created {identity.name} in {profile}")
            from kith.p2p import commands

            out.print_whoami(commands.whoami(identity), as_json=args.json)
            return 0
        return asyncio.run(cli_run.run(profile, args))
    except KithError as e:
        out.warn(e)
        return exit_status(e)
    except PermissionError as e:  # an OSError that no layer turned into a KithError
        out.warn(f"permission denied: {e.filename or e}; is the profile folder yours and "
                 "writable?")
        return out.EXIT_NOT_ALLOWED
    except OSError as e:
        if e.errno == 30:  # EROFS
            out.warn(f"the profile is on a read-only file system ({e.filename}); use a "
                     "writable --profile folder")
            return out.EXIT_FAILED
        raise
    except KeyboardInterrupt:
        return out.EXIT_INTERRUPTED


def _open_app(profile: Path, interfaces: list[str] | None) -> int:
    problem = cli_system.gui_problem()
    if problem is not None:
        out.warn(cli_system.gui_message(problem))
        return out.EXIT_USAGE
    try:
        lock = cli_run.claim_for(profile, "app")
    except AlreadyRunning as e:
        out.warn(_already_running(e))
        return out.EXIT_BUSY
    try:
        try:
            from kith.app.gui import run_app
        except ImportError as e:  # a Qt library missing (the probe imports less)
            out.warn(cli_system.gui_message(f"Qt cannot be loaded ({e})"))
            return out.EXIT_USAGE
        return run_app(profile, interfaces)
    finally:
        lock.release()


def _already_running(e: AlreadyRunning) -> str:
    h = e.holder
    if h.role == "app":
        return f"Kith is already open for {e.profile} (pid {h.pid}): look for its window " \
               "or tray icon."
    return (
        f"{h.describe()} already runs for {e.profile}, and the window cannot attach to a "
        f"running daemon yet. Either stop the daemon and run `kith` again (`systemctl "
        f"--user stop kith` if `kith daemon-install` set it up, else `kill {h.pid}`), or keep "
        "it and use the commands: `kith contacts`, `kith send PEER TEXT`, `kith listen` "
        "(see `kith --help`)."
    )


if __name__ == "__main__":
    sys.exit(main())
