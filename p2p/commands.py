"""The command set shared by the control socket and the one-shot CLI.

Each command takes a running :class:`~p2p.node.Node` and JSON-able arguments and
returns a JSON-able result, or raises :class:`~p2p.errors.KithError` with a message
for the user. ``kith send`` run against a daemon and run on its own go through the
same function, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kith.p2p.commandbase import (  # noqa: F401 (part of this module's interface)
    CONFIG,
    ERROR_CODES,
    THEMES,
    BadArguments,
    ListenOverflow,
    NotAllowed,
    NotFound,
    TimedOut,
    error_code,
)
from kith.p2p.errors import UserError
from kith.p2p.events import direct_conversation
from kith.p2p.fingerprint import fingerprint_bytes, format_safety_number, numeric_fingerprint
from kith.p2p.identity import NAME_RULE, name_problem
from kith.p2p.node import (
    ContactChanged,
    GroupChanged,
    MessagesAdded,
    Node,
    NodeEvent,
    PeersChanged,
    parse_address,
)
from kith.storage import STATUS_DELIVERED

Handler = Callable[[Node, dict[str, Any]], Awaitable[Any]]
COMMANDS: dict[str, Handler] = {}
#: What each command's arguments must be: name -> (type or types, required). The control
#: socket takes JSON from anyone of the user's processes, so each is checked before use.
SPECS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {}

TEXT = (str,)
NUMBER = (int, float)
FLAG = (bool,)
ANY_JSON = (str, int, float, bool, list)


def command(
    name: str, **spec: tuple[type, ...] | tuple[tuple[type, ...], bool]
) -> Callable[[Handler], Handler]:
    """Register a command; ``spec`` names its arguments with their types (``TEXT``,
    ``NUMBER``...; ``(TEXT, True)`` for a required one)."""

    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        SPECS[name] = {
            key: (kind if len(kind) == 2 and isinstance(kind[1], bool) else (kind, False))
            for key, kind in spec.items()
        }
        return fn

    return register


_KIND_NAMES = {str: "text", int: "a number", float: "a number", bool: "true or false",
               list: "a list"}


def check_args(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """``args`` with only the arguments ``name`` takes, each of the right type (None is
    the same as absent); BadArguments otherwise."""
    spec = SPECS.get(name, {})
    out: dict[str, Any] = {}
    for key, (types, required) in spec.items():
        value = args.get(key)
        if value is None:
            if required:
                raise BadArguments(f"{name}: the argument {key!r} is missing")
            continue
        if isinstance(value, bool) and bool not in types:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            kinds = " or ".join(dict.fromkeys(_KIND_NAMES.get(t, t.__name__) for t in types))
            raise BadArguments(
                f"{name}: the argument {key!r} must be {kinds}, not {type(value).__name__}"
            )
        out[key] = value
    return out


async def run(node: Node, name: str, args: dict[str, Any]) -> Any:
    handler = COMMANDS.get(name)
    if handler is None:
        raise BadArguments(f"unknown command {name!r}")
    return await handler(node, check_args(name, args))


def whoami(node_or_identity: Any) -> dict[str, Any]:
    ident = getattr(node_or_identity, "identity", node_or_identity)
    return {
        "name": ident.name,
        "user_id": ident.user_id.hex(),
        "device_id": ident.device_id.hex(),
        "fingerprint": own_fingerprint(ident.user_id),
    }


def own_fingerprint(user_id: bytes) -> str:
    """The 30-digit half that this user contributes to every safety number, in 6 groups."""
    digits = numeric_fingerprint(user_id, user_id, user_id, user_id)[:30]
    del digits
    fp = fingerprint_bytes(user_id, user_id, 5200)
    chunks = [int.from_bytes(fp[i : i + 5], "big") % 100000 for i in range(0, 30, 5)]
    return " ".join(f"{c:05d}" for c in chunks)


@command("whoami")
async def _whoami(node: Node, args: dict[str, Any]) -> Any:
    info = whoami(node)
    info["port"] = node.port
    return info


async def settle(node: Node, wait: float, done: Callable[[], bool]) -> None:
    """Wait up to ``wait`` seconds, returning early once ``done()`` holds and the node
    has been quiet for a moment (no new peer or contact events for 0.3 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    changed = asyncio.Event()

    def on(e: NodeEvent) -> None:
        if isinstance(e, PeersChanged | ContactChanged):
            changed.set()

    unsubscribe = node.subscribe(on)
    try:
        while loop.time() < deadline:
            changed.clear()
            if done():
                try:
                    await asyncio.wait_for(changed.wait(), min(0.3, deadline - loop.time()))
                except TimeoutError:
                    return
                continue
            try:
                await asyncio.wait_for(changed.wait(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return
    finally:
        unsubscribe()


@command("peers", wait=NUMBER)
async def _peers(node: Node, args: dict[str, Any]) -> Any:
    """People on the network, one entry per person (see :meth:`Node.people`)."""
    wait = float(args.get("wait") or 0)
    if wait > 0:
        await settle(node, wait, lambda: any(p.user_id for p in node.people()))
    return [p.to_json() for p in node.people()]


@command("connect", address=(TEXT, True))
async def _connect(node: Node, args: dict[str, Any]) -> Any:
    host, port = parse_address(str(args["address"]))
    return (await node.connect(host, port)).to_json()


async def _resolve_soon(node: Node, query: str, wait: float) -> None:
    """Give discovery up to ``wait`` seconds to find the peer named ``query``."""

    def found() -> bool:
        try:
            node.resolve(query)
        except UserError:
            return False
        return True

    if not found() and wait > 0:
        await settle(node, wait, found)


@command("add", peer=(TEXT, True), trust_new_key=FLAG, discover=NUMBER)
async def _add(node: Node, args: dict[str, Any]) -> Any:
    await _resolve_soon(node, args["peer"], float(args.get("discover", 0)))
    info = await node.add_contact(args["peer"], trust_new_key=bool(args.get("trust_new_key")))
    return info.to_json()


@command("accept", peer=(TEXT, True), trust_new_key=FLAG)
async def _accept(node: Node, args: dict[str, Any]) -> Any:
    info = await node.accept_contact(args["peer"], trust_new_key=bool(args.get("trust_new_key")))
    return info.to_json()


@command("decline", peer=(TEXT, True))
async def _decline(node: Node, args: dict[str, Any]) -> Any:
    return (await node.decline_contact(args["peer"])).to_json()


@command("rename-contact", peer=(TEXT, True), new_name=TEXT, theirs=FLAG)
async def _rename_contact(node: Node, args: dict[str, Any]) -> Any:
    name = None if args.get("theirs") else args.get("new_name")
    if name is None and not args.get("theirs"):
        raise UserError("give a NAME, or --theirs for the name they chose")
    return node.set_contact_name(args["peer"], name).to_json()


@command("contacts")
async def _contacts(node: Node, args: dict[str, Any]) -> Any:
    intro = node.actions.introduction  # (who introduced a contact made from a card)
    return [{**c.to_json(), "introduced_by": intro(c.user_id)} for c in node.contacts()]


@command("send", peer=(TEXT, True), text=TEXT, wait=NUMBER, linger=NUMBER, files=(list,))
async def _send(node: Node, args: dict[str, Any]) -> Any:
    if args.get("files"):
        return await commands_files.send(node, args)
    if args.get("text") is None:
        raise BadArguments("send: the argument 'text' is missing (or give --file)")
    row = await node.send_to(args["peer"], str(args["text"]))  # (a contact or a group)
    wait = args.get("wait")
    if wait is None:
        wait = args.get("linger")  # a one-shot node gives delivery a moment
    if wait:
        await node.wait_status(row, STATUS_DELIVERED, float(wait))
    row = node.core.messages.current(row)  # (a message waiting for its log's head too)
    out = commands_groups.message_out(node, row, node.names())
    out["delivered"] = row.status >= STATUS_DELIVERED
    return out


@command("history", peer=(TEXT, True), limit=(int,))
async def _history(node: Node, args: dict[str, Any]) -> Any:
    limit = 50 if args.get("limit") is None else int(args["limit"])
    if limit < 1:
        raise UserError("--limit must be at least 1")
    # (a contact or a group; with files, replies, reactions, edits, tombstones, expiry
    # and cards; the plain copies of their sealed files made first, on a thread, so
    # that each complete file's path exists)
    conv = node.resolve_chat(args["peer"]).conv
    await node.files.prepare_views(
        a.file for m in node.db.messages(conv, limit=limit)
        for a in node.db.message_attachments(m.conv, m.author, m.seq))
    return commands_groups.history(node, args["peer"], limit)


@command("safety-number", peer=(TEXT, True))
async def _safety(node: Node, args: dict[str, Any]) -> Any:
    user, name = node.resolve(args["peer"])
    number = node.safety_number(user.hex())
    return {"peer": name, "user_id": user.hex(), "safety_number": number,
            "groups": format_safety_number(number)}


@command("sas", peer=(TEXT, True), wait=NUMBER)
async def _sas(node: Node, args: dict[str, Any]) -> Any:
    wait = float(args.get("wait") or 0)
    user, name = node.resolve(args["peer"])
    if wait and not node.online(user):
        await settle(node, wait, lambda: node.online(user))
    return {"peer": name, "emoji": [{"emoji": e, "name": n} for e, n in node.sas(user.hex())]}


@command("verify", peer=(TEXT, True), number=(TEXT, True))
async def _verify(node: Node, args: dict[str, Any]) -> Any:
    user, name = node.resolve(args["peer"])
    ok = node.verify(user.hex(), str(args["number"]))
    if not ok:
        raise UserError(
            f"that is NOT your safety number with {name}: not verified. If you compared it "
            "in person, this may be someone else; do not trust this contact."
        )
    return {"peer": name, "verified": True}


@command("devices")
async def _devices(node: Node, args: dict[str, Any]) -> Any:
    return [d.to_json() for d in node.devices()]


@command("devices-add", code=(TEXT, True), wait=NUMBER)
async def _devices_add(node: Node, args: dict[str, Any]) -> Any:
    wait = float(args.get("wait") or 15)
    return (await node.link_device(str(args["code"]), wait=wait)).to_json()


@command("devices-remove", device=(TEXT, True))
async def _devices_remove(node: Node, args: dict[str, Any]) -> Any:
    return (await node.remove_device(str(args["device"]))).to_json()


@command("read", peer=(TEXT, True))
async def _read(node: Node, args: dict[str, Any]) -> Any:
    await node.mark_read_in(node.resolve_chat(args["peer"]).conv)  # (a contact or a group)
    return {"ok": True}


@command("open", peer=TEXT, draft=TEXT)
async def _open(node: Node, args: dict[str, Any]) -> Any:
    """The chat with PEER is open here (with a draft): my other online devices offer to
    continue it, as long as this node runs (no PEER: the chat is closed)."""
    peer = args.get("peer")
    user, name = node.resolve(peer) if peer else (None, "")
    draft = str(args.get("draft") or "")
    node.set_open_chat(user, draft)
    return {"peer": name, "user_id": user.hex() if user else None, "draft": draft}


@command("handoff", wait=NUMBER)
async def _handoff(node: Node, args: dict[str, Any]) -> Any:
    """The chats open on my other devices, to continue here (with ``wait``: give them up to
    that long to show one)."""
    wait = float(args.get("wait") or 0)
    if wait > 0:
        await settle(node, wait, lambda: bool(node.handoffs))
    names = node.names()
    return [
        {
            "device_id": o.device_id.hex(),
            "device": o.device_name,
            "user_id": o.user.hex(),
            "peer": names.get(o.user, o.user.hex()[:12]),
            "draft": o.draft,
        }
        for o in node.handoffs.values()
        if o.user is not None
    ]


# -- settings (kith config) -------------------------------------------------------------


def _config_key(key: str) -> str:
    norm = key.strip().lower().replace("_", "-")
    norm = {"display-name": "name", "interfaces": "networks"}.get(norm, norm)
    if norm not in CONFIG:
        raise NotFound(f"no setting {key!r}; the settings are: {', '.join(CONFIG)}")
    return norm


def _config_value(node: Node, key: str) -> Any:
    setting, default, _, _ = CONFIG[key]
    if key == "name":
        return node.name
    return node.db.get_setting(setting, default)


@command("config-list")
async def _config_list(node: Node, args: dict[str, Any]) -> Any:
    return [
        {"key": key, "value": _config_value(node, key), "description": spec[3]}
        for key, spec in CONFIG.items()
    ]


@command("config-get", key=(TEXT, True))
async def _config_get(node: Node, args: dict[str, Any]) -> Any:
    key = _config_key(args["key"])
    return {"key": key, "value": _config_value(node, key)}


@command("config-set", key=(TEXT, True), value=(TEXT, True))
async def _config_set(node: Node, args: dict[str, Any]) -> Any:
    key = _config_key(args["key"])
    setting, _, parse, _ = CONFIG[key]
    value = parse(args["value"])
    if key == "name":
        problem = name_problem(value.strip())
        if problem:
            raise BadArguments(f"{problem} ({NAME_RULE})")
        await node.set_name(value.strip())
    elif key == "discoverable":
        if bool(node.db.get_setting(setting, True)) != value:
            await node.set_discoverable(value)
    elif node.db.get_setting(setting, None) != value:
        node.set_setting(setting, value)
    return {"key": key, "value": _config_value(node, key)}


async def listen(
    node: Node, emit: Callable[[dict[str, Any]], None], max_queue: int = 10_000
) -> None:
    """Call ``emit`` with every incoming message until cancelled. ``emit`` may raise
    ListenOverflow to end it (a reader that falls behind); so does a backlog of more
    than ``max_queue`` batches not yet handed to ``emit``."""
    queue: asyncio.Queue[MessagesAdded | GroupChanged] = asyncio.Queue(max_queue)
    overflow: list[bool] = []

    def on(e: NodeEvent) -> None:
        if isinstance(e, MessagesAdded) or (isinstance(e, GroupChanged) and e.lines):
            try:
                queue.put_nowait(e)
            except asyncio.QueueFull:
                overflow.append(True)

    unsubscribe = node.subscribe(on)
    try:
        while True:
            e = await queue.get()
            if overflow:
                raise ListenOverflow(f"more than {max_queue} message batches wait for it")
            if isinstance(e, GroupChanged):  # system lines of a group
                for line in e.lines:
                    emit(commands_groups.line_out(node, line))
                continue
            names = node.names()
            for m in e.messages:
                if not m.outgoing:
                    emit(commands_groups.message_out(node, m, names))
    finally:
        unsubscribe()


def conv_for(node: Node, user: bytes) -> bytes:
    return direct_conversation(node.user_id, user)



_ = time

# (these register their commands, and import this module)
from kith.p2p import commands_actions, commands_files, commands_groups  # noqa: E402, F401
