"""Running a ``kith`` command: through the node that runs for the profile, or on a node
of its own for the length of the command, and ``kith daemon`` / ``kith link``.

Who goes first does not matter (:func:`attach`): a command that finds a daemon or the
app starting waits for its control socket; a daemon or the app that finds a command
holding the profile waits until it is done (``p2p.profile.claim``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kith.app import cli_actions, cli_files, cli_unlock
from kith.app import cli_output as out
from kith.p2p.commandbase import TimedOut
from kith.p2p.control import ControlClient
from kith.p2p.errors import KithError, UserError
from kith.p2p.profile import (
    Holder,
    ProfileLock,
    claim,
    claim_nowait,
    default_device_name,
    read_holder,
    require_identity,
)

if TYPE_CHECKING:
    from kith.p2p.node import Node

# A command that a running node answers (through its control socket) imports neither the
# node nor the command set: they, the database and the network come in only where this
# command runs a node of its own (``_own_node``, ``serve``, ``_link``). Most `kith`
# processes (the suite starts hundreds) only ask a daemon.

# Commands a one-shot node runs without network (they only read or write the database).
OFFLINE = {
    "contacts", "history", "safety-number", "verify", "read", "whoami", "devices",
    "rename-contact",
    "config-list", "config-get", "config-set",
} | cli_files.OFFLINE
# How long a one-shot node looks for peers before acting, and lingers to deliver after.
DISCOVER_SECONDS = 3.0
LINGER_SECONDS = 3.0
# How long a command waits for a daemon or the app that holds the profile to open its
# control socket (it is starting; or the app shows its first-start dialog).
STARTING_SECONDS = float(os.environ.get("KITH_START_WAIT", 60))
POLL = 0.05

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class CommandFailed(KithError):
    """A failure reported by the running node, with its error code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def request_args(args: argparse.Namespace) -> dict[str, Any]:
    out_args: dict[str, Any] = {}
    for key in (
        "peer", "text", "wait", "limit", "address", "trust_new_key", "code", "device", "draft",
        "key", "value", "new_name", "theirs", "group", "group_name", "members", "member",
        "revoke", "on", *cli_actions.ARGS,
    ):
        if hasattr(args, key):
            out_args[key] = getattr(args, key)
    if args.command == "verify":
        out_args["number"] = "".join(args.number)
    cli_files.request_args(args, out_args)
    return out_args


async def attach(profile: Path, what: str) -> Streams | ProfileLock:
    """The running node's control socket, or the profile held by this command (it then
    runs a node of its own). Waits while someone else has the profile for a moment: a
    daemon or the app starting (until its socket answers), another command (until it
    is done)."""
    client = ControlClient(profile)
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    told: Holder | None = None
    while True:
        streams = await client.open()
        if streams is not None:
            return streams
        lock = claim_nowait(profile, "command", what)
        if lock is not None:
            return lock
        holder = read_holder(profile)
        if holder is not None and holder != told:
            told = holder
            deadline = loop.time() + STARTING_SECONDS
            out.hint(f"waiting for {holder.describe()}, which has this profile open")
        if deadline is not None and told is not None and loop.time() > deadline:
            if told.role == "command":
                raise TimedOut(
                    f"{told.describe()} still has {profile} open after "
                    f"{STARTING_SECONDS:g} s; to run several commands at once, start "
                    "`kith daemon` for this profile"
                )
            raise TimedOut(
                f"{told.describe()} holds {profile} but its control socket "
                f"{client.path} did not answer within {STARTING_SECONDS:g} s"
            )
        await asyncio.sleep(POLL)


async def run(profile: Path, args: argparse.Namespace) -> int:
    if not (ControlClient(profile).path.exists()):
        cli_unlock.require_identity_exists(profile)  # before anything is created in it
    got = await attach(profile, args.command)
    if isinstance(got, ProfileLock):
        try:
            return await _own_node(profile, args)
        finally:
            got.release()
    try:
        return await via_socket(ControlClient(profile), got, args)
    finally:
        got[1].close()


async def via_socket(client: ControlClient, streams: Streams, args: argparse.Namespace) -> int:
    name = args.command
    reply = await client.request(streams, name, request_args(args))
    if not reply.get("ok"):
        raise CommandFailed(
            str(reply.get("error", "the running Kith refused the command")),
            str(reply.get("code", "failed")),
        )
    if name == "listen":
        out.note("listening for messages (Ctrl+C to stop)")
        reader = streams[0]
        while True:
            line = await reader.readline()
            if not line:  # the node stopped
                return out.EXIT_OK
            event = _event(line)
            if event is not None:
                out.print_message(event, args.json)
    return out.output(name, reply["result"], bool(getattr(args, "json", False)),
                      getattr(args, "wait", None))


def _event(line: bytes) -> dict[str, Any] | None:
    import json

    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    event = obj.get("event") if isinstance(obj, dict) else None
    return event if isinstance(event, dict) else None


async def _own_node(profile: Path, args: argparse.Namespace) -> int:
    from kith.p2p import commands
    from kith.p2p.node import Node, NodeOptions

    name = args.command
    as_json = bool(getattr(args, "json", False))
    key = cli_unlock.open_profile(profile, args)
    if key is not None:
        cli_unlock.migrate(profile, key)
    if name == "whoami":
        out.print_whoami(commands.whoami(require_identity(profile, key)), as_json)
        return 0
    if name == "open":
        raise UserError(
            "`kith open` tells your other devices what is open while Kith runs: start "
            "`kith daemon` (or the app) for this profile first"
        )
    offline = name in OFFLINE
    node = Node(
        profile,
        NodeOptions(interfaces=args.interface, discovery=not offline, network=not offline,
                    data_key=key),
    )
    await node.start()
    try:
        request = request_args(args)
        if name == "listen":
            out.note("listening for messages (Ctrl+C to stop)")
            await commands.listen(node, lambda m: out.print_message(m, as_json))
            return 0
        if name in ("peers", "handoff") and request.get("wait") is None:
            request["wait"] = DISCOVER_SECONDS
        if name in ("add", "sas"):
            request["discover" if name == "add" else "wait"] = DISCOVER_SECONDS
        if name in ("send", "accept", *cli_actions.SENDING):
            who = getattr(args, "peer", None) or args.chat  # (CHAT: the actions' commands)
            await commands.settle(node, DISCOVER_SECONDS, lambda: _online(node, who))
        if name in ("send", *cli_actions.SENDING):
            request["linger"] = LINGER_SECONDS
        result = await commands.run(node, name, request)
        if name in ("add", "accept"):
            await commands.settle(node, LINGER_SECONDS, lambda: _online(node, args.peer))
        if name in ("devices-add", "devices-remove"):
            await commands.settle(node, LINGER_SECONDS, lambda: False)  # let it spread
        return out.output(name, result, as_json, getattr(args, "wait", None))
    finally:
        await node.stop()


def _online(node: Node, peer: str) -> bool:
    try:
        user, _ = node.resolve(peer)
    except UserError:
        return False
    return node.online(user)


def claim_for(profile: Path, role: str, what: str = "") -> ProfileLock:
    """Hold the profile as the daemon or the app: wait while a command has it (saying
    so), AlreadyRunning if a daemon or the app does."""
    return claim(
        profile, role, what,
        wait_for=lambda h: h is None or h.role == "command",
        on_wait=lambda h: out.warn(
            f"waiting for {h.describe() if h else 'a command'} to finish with this profile"
        ),
    )


def daemon(profile: Path, args: argparse.Namespace) -> int:
    """``kith daemon``: wait while a command has the profile (in this thread: Ctrl+C and
    SIGTERM end the wait at once), then serve until SIGINT/SIGTERM."""
    cli_unlock.require_identity_exists(profile)

    def stop_now(signum: int, frame: object) -> None:
        raise SystemExit(0)  # a stop before it serves is a clean stop too

    previous = signal.signal(signal.SIGTERM, stop_now)
    try:
        lock = claim_for(profile, "daemon")
        try:
            key = cli_unlock.open_profile(profile, args)
            if key is not None:
                cli_unlock.migrate(profile, key)
            return asyncio.run(serve(profile, args, key))
        finally:
            lock.release()
    finally:
        signal.signal(signal.SIGTERM, previous)


async def serve(profile: Path, args: argparse.Namespace, key: bytes | None = None) -> int:
    from kith.p2p.control import ControlServer
    from kith.p2p.node import Node, NodeOptions

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    node = Node(profile, NodeOptions(interfaces=args.interface, port=args.port, data_key=key))
    await node.start()
    control = ControlServer(node)
    told: list[bool] = []

    def tell_if_removed(_: object = None) -> None:
        # A removed device stays up for its history (control socket) but is off the
        # network; say so once, with what to do.
        if node.removed and not told:
            told.append(True)
            out.warn(node.removed_notice())

    unsubscribe = node.subscribe(tell_if_removed)
    try:
        await control.start()
        where = (
            "off the network (this device was removed)" if node.removed
            else f"listening on port {node.port}"
        )
        out.say(
            f"kith daemon ready: {node.name} ({node.user_id.hex()[:12]}) {where}; "
            "stop with Ctrl+C"
        )
        tell_if_removed()
        await stop.wait()
    finally:
        unsubscribe()
        await control.stop()
        await node.stop()
    out.say("kith daemon stopped")
    return 0


async def link(profile: Path, args: argparse.Namespace) -> int:
    """``kith link``: show a code, wait to be linked, then fetch the history."""
    from kith.p2p.identity import identity_exists

    if identity_exists(profile):
        raise UserError(f"{profile} already has an identity; link a fresh profile")
    got = await attach(profile, "link")
    if not isinstance(got, ProfileLock):
        got[1].close()
        raise UserError(f"{profile} is in use by a running Kith; link a fresh profile")
    try:
        return await _link(profile, args)
    finally:
        got.release()


async def _link(profile: Path, args: argparse.Namespace) -> int:
    from kith.p2p import commands, link_driver, linking
    from kith.p2p.node import Node, NodeOptions

    device_name = args.name or default_device_name()
    key = cli_unlock.create_key(args, profile).key
    code = linking.new_code()
    out.say(code)
    out.warn(f"on your other device run `kith devices add {code}` "
             f"(waiting up to {args.timeout:g} s)")

    def wrong_code(left: int) -> None:
        out.warn(
            f"a wrong code was entered on the other device; nothing was sent or "
            f"received. {left} {'try' if left == 1 else 'tries'} left: enter {code} exactly."
        )

    linked = await link_driver.wait_for_link(
        profile, code, device_name, interfaces=args.interface, timeout=args.timeout,
        on_wrong_code=wrong_code, data_key=key,
    )
    out.say(f"linked: this is now {linked.identity.name}'s device {device_name!r}")
    node = Node(profile, NodeOptions(interfaces=args.interface, data_key=key))
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
                out.warn(f"history {min(have, linked.events)}/{linked.events} events")
            if have >= linked.events:
                break
            await commands.settle(node, 0.5, lambda: False)
        else:
            raise TimedOut(
                "the history did not arrive in time; it continues on next start"
            )
        await node.flush()
    finally:
        await node.stop()
    out.say("synced")
    return 0

