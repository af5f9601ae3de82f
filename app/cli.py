"""The ``kith`` command line.

``kith`` alone opens the desktop app. Subcommands work headless: while a node runs
for the profile (``kith daemon`` or the app) they go through its control socket;
otherwise they start a node for the duration of the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import desktop_install
from p2p import commands
from p2p.control import ControlClient, ControlServer
from p2p.errors import KithError, UserError
from p2p.identity import load_identity
from p2p.node import Node, NodeOptions
from p2p.profile import (
    create_identity,
    default_device_name,
    default_profile,
    require_identity,
)

log = logging.getLogger("kith")

# Commands a one-shot node runs without network (they only read or write the database).
OFFLINE = {"contacts", "history", "safety-number", "verify", "read", "whoami", "devices"}
# How long a one-shot node looks for peers before acting, and lingers to deliver after.
DISCOVER_SECONDS = 3.0
LINGER_SECONDS = 3.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kith",
        description="Kith: a peer-to-peer messenger for your local network. "
        "No server, no account, no Internet.",
    )
    p.add_argument("--profile", metavar="DIR", help="profile folder (default: per-user data dir)")
    p.add_argument(
        "--interface", metavar="ADDR", action="append", default=None,
        help="listen and discover only on this address (repeatable; default: all LAN interfaces)",
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log what the node does (-vv: also discovery and connection details)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("init", help="create this device's identity")
    s.add_argument("--name", required=True, help="your display name")
    s.add_argument("--device-name", default=None, metavar="DEVICE_NAME",
                   help="what this device is called in `kith devices` (default: the host name)")
    s = sub.add_parser("whoami", help="show this identity")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("daemon", help="run the node headless until SIGINT/SIGTERM")
    s.add_argument("--port", type=int, default=None, help="TCP port to listen on")
    s = sub.add_parser(
        "peers", help="people discovered on the network (one row per person, not per device)"
    )
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("connect", help="add a peer by address (remembered)")
    s.add_argument("address", metavar="HOST:PORT")
    for name, text in (("add", "send a contact request"), ("accept", "accept a request")):
        s = sub.add_parser(name, help=text)
        s.add_argument("peer", metavar="PEER")
        s.add_argument(
            "--trust-new-key", action="store_true",
            help="go ahead although PEER has a known contact's name with another key",
        )
    s = sub.add_parser("decline", help="decline a contact request")
    s.add_argument("peer", metavar="PEER")
    s = sub.add_parser("contacts", help="your contacts and requests")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("send", help="send a message")
    s.add_argument("peer", metavar="PEER")
    s.add_argument("text", metavar="TEXT")
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="wait until delivered; exit 1 if not delivered in time")
    s = sub.add_parser("history", help="messages with a contact")
    s.add_argument("peer", metavar="PEER")
    s.add_argument("--json", action="store_true")
    s.add_argument("--limit", type=_limit, default=50, metavar="N")
    s = sub.add_parser("listen", help="print messages as they arrive")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("safety-number", help="the safety number to compare with a contact")
    s.add_argument("peer", metavar="PEER")
    s = sub.add_parser("sas", help="the 7 emoji to compare while connected")
    s.add_argument("peer", metavar="PEER")
    s = sub.add_parser("verify", help="mark a contact verified if the number matches")
    s.add_argument("peer", metavar="PEER")
    s.add_argument("number", metavar="NUMBER", nargs="+")
    s = sub.add_parser("read", help="mark a conversation read (sends read receipts)")
    s.add_argument("peer", metavar="PEER")
    s = sub.add_parser("link", help="(new device) link to my other device with a code")
    s.add_argument("--name", default=None, metavar="DEVICE_NAME", help="this device's name")
    s.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="give up after this long (default 300)")
    s = sub.add_parser(
        "open", help="tell my other devices the chat with PEER is open here (handoff); "
        "needs Kith running for this profile"
    )
    s.add_argument("peer", metavar="PEER", nargs="?", default=None,
                   help="omit to say no chat is open any more")
    s.add_argument("--draft", default="", metavar="TEXT", help="what is typed so far")
    s = sub.add_parser("handoff", help="chats open on my other devices, to continue here")
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("devices", help="my devices; add or remove one")
    s.add_argument("--json", action="store_true")
    dsub = s.add_subparsers(dest="devices_command", metavar="ACTION")
    d = dsub.add_parser("add", help="link the new device that shows CODE")
    d.add_argument("code", metavar="CODE")
    d = dsub.add_parser("remove", help="remove (revoke) one of my devices")
    d.add_argument("device", metavar="DEVICE")
    desktop_install.add_parser(sub)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.verbose > 1:
        logging.getLogger("p2p").setLevel(logging.DEBUG)
    profile = Path(args.profile).expanduser() if args.profile else default_profile()
    try:
        if args.command is None:
            return _open_app(profile, args.interface)
        if args.command == "devices" and args.devices_command:
            args.command = f"devices-{args.devices_command}"
        if args.command == "desktop-install":
            return desktop_install.run(args)
        if args.command == "link":
            return asyncio.run(_link(profile, args))
        if args.command == "init":
            identity = create_identity(profile, args.name, args.device_name)
            print(f"Created {identity.name} in {profile}")
            _print_whoami(commands.whoami(identity), as_json=False)
            return 0
        return asyncio.run(_run(profile, args))
    except KithError as e:
        print(f"kith: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _open_app(profile: Path, interfaces: list[str] | None) -> int:
    try:
        from app.gui import run_app
    except ImportError as e:
        print(f"kith: the desktop app cannot start ({e}); see `kith --help`", file=sys.stderr)
        return 1
    return run_app(profile, interfaces)


def _request_args(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in (
        "peer", "text", "wait", "limit", "address", "trust_new_key", "code", "device", "draft",
    ):
        if hasattr(args, key):
            out[key] = getattr(args, key)
    if args.command == "verify":
        out["number"] = "".join(args.number)
    return out


async def _run(profile: Path, args: argparse.Namespace) -> int:
    if args.command == "daemon":
        return await _daemon(profile, args)
    client = ControlClient(profile)
    streams = await client.open()
    if streams is not None:
        try:
            return await _via_socket(client, streams, args)
        finally:
            streams[1].close()
    if args.command == "whoami":
        identity = require_identity(profile)
        _print_whoami(commands.whoami(identity), as_json=args.json)
        return 0
    if args.command == "open":
        raise UserError(
            "`kith open` tells your other devices what is open while Kith runs: start "
            "`kith daemon` (or the app) for this profile first"
        )
    return await _one_shot(profile, args)


async def _via_socket(
    client: ControlClient, streams: Any, args: argparse.Namespace
) -> int:
    name = args.command
    reply = await client.request(streams, name, _request_args(args))
    if not reply.get("ok"):
        raise UserError(str(reply.get("error", "the running Kith refused the command")))
    if name == "listen":
        print("kith: listening for messages (Ctrl+C to stop)", file=sys.stderr, flush=True)
        reader = streams[0]
        while True:
            line = await reader.readline()
            if not line:
                return 0
            event = json.loads(line).get("event")
            if event is not None:
                _print_message(event, args.json)
    return _output(name, reply["result"], args)


async def _one_shot(profile: Path, args: argparse.Namespace) -> int:
    name = args.command
    if load_identity(profile) is None:
        require_identity(profile)
    offline = name in OFFLINE
    node = Node(
        profile,
        NodeOptions(interfaces=args.interface, discovery=not offline, network=not offline),
    )
    await node.start()
    try:
        request = _request_args(args)
        if name == "listen":
            print("kith: listening for messages (Ctrl+C to stop)", file=sys.stderr, flush=True)
            await commands.listen(node, lambda m: _print_message(m, args.json))
            return 0
        if name in ("peers", "handoff") and request.get("wait") is None:
            request["wait"] = DISCOVER_SECONDS
        if name in ("add", "sas"):
            request["discover" if name == "add" else "wait"] = DISCOVER_SECONDS
        if name in ("send", "accept"):
            await commands.settle(node, DISCOVER_SECONDS, lambda: _online(node, args.peer))
        if name == "send":
            request["linger"] = LINGER_SECONDS
        result = await commands.run(node, name, request)
        if name in ("add", "accept"):
            await _linger(node, args.peer)
        if name in ("devices-add", "devices-remove"):
            await commands.settle(node, LINGER_SECONDS, lambda: False)  # let it spread
        return _output(name, result, args)
    finally:
        await node.stop()


async def _link(profile: Path, args: argparse.Namespace) -> int:
    """``kith link``: show a code, wait to be linked, then fetch the history."""
    import os

    from p2p import link_driver, linking

    if load_identity(profile) is not None:
        raise UserError(f"{profile} already has an identity; link a fresh profile")
    device_name = args.name or default_device_name()
    code = linking.new_code()
    print(code, flush=True)
    print(
        f"kith: on your other device run `kith devices add {code}` "
        f"(waiting up to {args.timeout:g} s)", file=sys.stderr, flush=True,
    )

    def wrong_code(left: int) -> None:
        print(
            f"kith: a wrong code was entered on the other device; nothing was sent or "
            f"received. {left} {'try' if left == 1 else 'tries'} left: enter {code} exactly.",
            file=sys.stderr, flush=True,
        )

    linked = await link_driver.wait_for_link(
        profile, code, device_name, interfaces=args.interface, timeout=args.timeout,
        on_wrong_code=wrong_code,
    )
    print(f"linked: this is now {linked.identity.name}'s device {device_name!r}", flush=True)
    node = Node(profile, NodeOptions(interfaces=args.interface))
    await node.start()
    try:
        await node.connect(linked.host, linked.port)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(os.environ.get("KITH_LINK_SYNC_SECONDS", 600))
        shown = -1
        while loop.time() < deadline:
            have = node.db.count_events()
            if have != shown:
                shown = have
                print(f"kith: history {min(have, linked.events)}/{linked.events} events",
                      file=sys.stderr, flush=True)
            if have >= linked.events:
                break
            await commands.settle(node, 0.5, lambda: False)
        else:
            raise UserError("the history did not arrive in time; it continues on next start")
        await node.flush()
    finally:
        await node.stop()
    print("synced", flush=True)
    return 0


def _online(node: Node, peer: str) -> bool:
    try:
        user, _ = node.resolve(peer)
    except UserError:
        return False
    return node.online(user)


async def _linger(node: Node, peer: str) -> None:
    """A one-shot node gives the peer a moment to receive what it just queued."""
    await commands.settle(node, LINGER_SECONDS, lambda: _online(node, peer))


async def _daemon(profile: Path, args: argparse.Namespace) -> int:
    node = Node(profile, NodeOptions(interfaces=args.interface, port=args.port))
    await node.start()
    control = ControlServer(node)
    told: list[bool] = []

    def tell_if_removed(_: object = None) -> None:
        # A removed device stays up for its history (control socket) but is off the
        # network; say so once, with what to do.
        if node.removed and not told:
            told.append(True)
            print(f"kith: {node.removed_notice()}", file=sys.stderr, flush=True)

    unsubscribe = node.subscribe(tell_if_removed)
    try:
        await control.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        where = (
            "off the network (this device was removed)" if node.removed
            else f"listening on port {node.port}"
        )
        print(
            f"kith daemon ready: {node.name} ({node.user_id.hex()[:12]}) {where}; "
            "stop with Ctrl+C",
            flush=True,
        )
        tell_if_removed()
        await stop.wait()
    finally:
        unsubscribe()
        await control.stop()
        await node.stop()
    print("kith daemon stopped", flush=True)
    return 0


# -- output ----------------------------------------------------------------------------


def _listing(
    rows: list[dict[str, Any]], as_json: bool, empty: str, line: Callable[[dict[str, Any]], str]
) -> None:
    """A JSON array with --json, else one line a row (``empty`` when there is none)."""
    if as_json:
        print(json.dumps(rows))
    elif not rows:
        print(empty)
    else:
        for row in rows:
            print(line(row))


def _peer_line(p: dict[str, Any]) -> str:
    tag = " [KEY CHANGED: not the contact you know]" if p["key_changed"] else ""
    contact = f" ({p['contact']})" if p["contact"] else ""
    uid = (p["user_id"] or "?")[:12]
    n = len(p.get("devices") or ())
    devices = f" [{n} devices]" if n > 1 else ""
    return f"{p['name'] or '?':20} {uid}  {', '.join(p['addresses'])}{contact}{devices}{tag}"


def _contact_line(c: dict[str, Any]) -> str:
    flags = " verified" if c["verified"] else ""
    flags += " KEY CHANGED" if c["key_changed"] else ""
    if c.get("replaced_by"):
        flags += f" old key (now {c['replaced_by'][:12]})"
    return f"{c['name']:20} {c['user_id'][:12]}  {c['state']}{flags}"


def _handoff_line(o: dict[str, Any]) -> str:
    draft = f": {o['draft']!r}" if o["draft"] else ""
    return f"Continue the chat with {o['peer']} (from {o['device']}){draft}"


def _device_line(d: dict[str, Any]) -> str:
    flags = " (this device)" if d["this_device"] else ""
    flags += " REMOVED" if d["removed"] else ""
    return f"{d['name']:20} {d['device_id'][:12]}{flags}"


def _output(name: str, result: Any, args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    if name == "whoami":
        _print_whoami(result, as_json)
    elif name == "peers":
        _listing(result, as_json, "Nobody found on the network yet.", _peer_line)
    elif name == "contacts":
        _listing(result, as_json,
                 "No contacts yet. Find people with `kith peers`, then `kith add NAME`.",
                 _contact_line)
    elif name == "history":
        if as_json:
            print(json.dumps(result))
        else:
            for m in result:
                _print_message(m, False)
    elif name == "send":
        if args.wait is not None and not result["delivered"]:
            print(
                f"kith: not delivered within {args.wait:g} s; the message stays queued and "
                "goes out when the contact is reachable",
                file=sys.stderr,
            )
            return 1
        print(f"{result['status']}: {result['id'][:12]}")
    elif name == "safety-number":
        groups = result["groups"]
        print(f"Safety number with {result['peer']}:")
        for row in range(3):
            print("  " + " ".join(groups[row * 4 : row * 4 + 4]))
    elif name == "sas":
        print(" ".join(e["emoji"] for e in result["emoji"]))
        print(" ".join(e["name"] for e in result["emoji"]))
    elif name == "verify":
        print(f"{result['peer']} is now verified.")
    elif name == "open":
        if result["peer"]:
            print(f"open: the chat with {result['peer']} (your other devices offer it)")
        else:
            print("no chat open")
    elif name == "handoff":
        _listing(result, as_json, "No chat is open on your other devices.", _handoff_line)
    elif name == "devices":
        _listing(result, as_json, "No devices.", _device_line)
    elif name == "devices-add":
        print(f"linked {result['name']} ({result['device_id'][:12]})")
    elif name == "devices-remove":
        print(f"removed {result['name']} ({result['device_id'][:12]})")
    elif name in ("add", "accept", "decline", "connect"):
        if name == "connect":
            print(f"connected to {result['name']} ({(result['user_id'] or '?')[:12]})")
        else:
            print(f"{result['name']}: {result['state']}")
    else:
        print(json.dumps(result))
    return 0


def _print_whoami(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(info))
        return
    print(f"name:        {info['name']}")
    print(f"user id:     {info['user_id']}")
    print(f"device id:   {info['device_id']}")
    print(f"fingerprint: {info['fingerprint']}")


def _print_message(m: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(m), flush=True)
        return
    import datetime

    when = datetime.datetime.fromtimestamp(m["time"]).strftime("%Y-%m-%d %H:%M")
    status = f"  [{m['status']}]" if m.get("outgoing") else ""
    print(f"{when}  {m['from']}: {m['text']}{status}", flush=True)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
