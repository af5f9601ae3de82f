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

from p2p.errors import UserError
from p2p.events import direct_conversation
from p2p.fingerprint import fingerprint_bytes, format_safety_number, numeric_fingerprint
from p2p.node import (
    ContactChanged,
    MessagesAdded,
    Node,
    NodeEvent,
    PeersChanged,
    message_json,
    parse_address,
)
from storage import STATUS_DELIVERED

Handler = Callable[[Node, dict[str, Any]], Awaitable[Any]]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


async def run(node: Node, name: str, args: dict[str, Any]) -> Any:
    handler = COMMANDS.get(name)
    if handler is None:
        raise UserError(f"unknown command {name!r}")
    return await handler(node, args)


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


@command("peers")
async def _peers(node: Node, args: dict[str, Any]) -> Any:
    """People on the network, one entry per person (see :meth:`Node.people`)."""
    wait = float(args.get("wait") or 0)
    if wait > 0:
        await settle(node, wait, lambda: any(p.user_id for p in node.people()))
    return [p.to_json() for p in node.people()]


@command("connect")
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


@command("add")
async def _add(node: Node, args: dict[str, Any]) -> Any:
    await _resolve_soon(node, args["peer"], float(args.get("discover", 0)))
    info = await node.add_contact(args["peer"], trust_new_key=bool(args.get("trust_new_key")))
    return info.to_json()


@command("accept")
async def _accept(node: Node, args: dict[str, Any]) -> Any:
    info = await node.accept_contact(args["peer"], trust_new_key=bool(args.get("trust_new_key")))
    return info.to_json()


@command("decline")
async def _decline(node: Node, args: dict[str, Any]) -> Any:
    return (await node.decline_contact(args["peer"])).to_json()


@command("contacts")
async def _contacts(node: Node, args: dict[str, Any]) -> Any:
    return [c.to_json() for c in node.contacts()]


@command("send")
async def _send(node: Node, args: dict[str, Any]) -> Any:
    row = await node.send_message(args["peer"], str(args["text"]))
    wait = args.get("wait")
    if wait is None:
        wait = args.get("linger")  # a one-shot node gives delivery a moment
    if wait:
        await node.wait_status(row, STATUS_DELIVERED, float(wait))
    row = node.db.message_at(row.conv, row.author, row.seq) or row
    out = message_json(row, node.user_id, node.names())
    out["delivered"] = row.status >= STATUS_DELIVERED
    return out


@command("history")
async def _history(node: Node, args: dict[str, Any]) -> Any:
    limit = 50 if args.get("limit") is None else int(args["limit"])
    if limit < 1:
        raise UserError("--limit must be at least 1")
    names = node.names()
    return [message_json(m, node.user_id, names) for m in node.history(args["peer"], limit)]


@command("safety-number")
async def _safety(node: Node, args: dict[str, Any]) -> Any:
    user, name = node.resolve(args["peer"])
    number = node.safety_number(user.hex())
    return {"peer": name, "user_id": user.hex(), "safety_number": number,
            "groups": format_safety_number(number)}


@command("sas")
async def _sas(node: Node, args: dict[str, Any]) -> Any:
    wait = float(args.get("wait") or 0)
    user, name = node.resolve(args["peer"])
    if wait and not node.online(user):
        await settle(node, wait, lambda: node.online(user))
    return {"peer": name, "emoji": [{"emoji": e, "name": n} for e, n in node.sas(user.hex())]}


@command("verify")
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


@command("devices-add")
async def _devices_add(node: Node, args: dict[str, Any]) -> Any:
    wait = float(args.get("wait") or 15)
    return (await node.link_device(str(args["code"]), wait=wait)).to_json()


@command("devices-remove")
async def _devices_remove(node: Node, args: dict[str, Any]) -> Any:
    return (await node.remove_device(str(args["device"]))).to_json()


@command("read")
async def _read(node: Node, args: dict[str, Any]) -> Any:
    user, _ = node.resolve(args["peer"])
    await node.mark_read(user)
    return {"ok": True}


@command("open")
async def _open(node: Node, args: dict[str, Any]) -> Any:
    """The chat with PEER is open here (with a draft): my other online devices offer to
    continue it, as long as this node runs (no PEER: the chat is closed)."""
    peer = args.get("peer")
    user, name = node.resolve(peer) if peer else (None, "")
    draft = str(args.get("draft") or "")
    node.set_open_chat(user, draft)
    return {"peer": name, "user_id": user.hex() if user else None, "draft": draft}


@command("handoff")
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


async def listen(node: Node, emit: Callable[[dict[str, Any]], None]) -> None:
    """Call ``emit`` with every incoming message until cancelled."""
    queue: asyncio.Queue[MessagesAdded] = asyncio.Queue()

    def on(e: NodeEvent) -> None:
        if isinstance(e, MessagesAdded):
            queue.put_nowait(e)

    unsubscribe = node.subscribe(on)
    try:
        while True:
            e = await queue.get()
            names = node.names()
            for m in e.messages:
                if not m.outgoing:
                    emit(message_json(m, node.user_id, names))
    finally:
        unsubscribe()


def conv_for(node: Node, user: bytes) -> bytes:
    return direct_conversation(node.user_id, user)


_ = time
