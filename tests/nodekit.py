"""Nodes in one process on loopback, and waiting on their events instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from kith.p2p.connection import Timing
from kith.p2p.node import Node, NodeOptions
from kith.p2p.profile import create_identity


def make_node(
    root: Path, name: str, *, discovery: bool = False, port: int | None = 0, profile: str = "",
    data_key: bytes | None = None,
) -> Node:
    path = root / (profile or name)
    if not (path / "identity.kith").exists():
        create_identity(path, name, device_name=name, key=data_key)  # host-independent names
    return Node(
        path,
        NodeOptions(
            interfaces=["127.0.0.1"],
            port=port,
            discovery=discovery,
            timing=Timing(handshake=2, keepalive=1, dead_after=3),
            reconnect_min=0.05,
            reconnect_max=0.3,
            data_key=data_key,
        ),
    )


async def until(pred: Callable[[], bool], *nodes: Node, timeout: float = 10.0) -> None:
    """Wait until ``pred()`` holds, re-checking whenever one of ``nodes`` emits an event
    (and every 50 ms, for what changes without one, as qtbot.waitUntil polls)."""
    changed = asyncio.Event()
    unsubs = [n.subscribe(lambda e: changed.set()) for n in nodes]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not pred():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout} s")
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                continue
    finally:
        for u in unsubs:
            u()


async def befriend(a: Node, b: Node) -> None:
    """Connect two nodes and make them accepted contacts through the real flow."""
    await a.connect("127.0.0.1", b.port)
    await a.add_contact(b.name)
    await until(lambda: any(c.state == "pending_in" for c in b.contacts()), a, b)
    await b.accept_contact(a.name)
    await until(lambda: any(c.state == "accepted" for c in a.contacts()), a, b)


def add_device(root: Path, owner: str, device_name: str, key: bytes | None = None) -> str:
    """Give ``owner``'s identity a second device profile (what linking produces) and
    return its profile name under ``root`` (``key``: the owner's data key, if any)."""
    from kith.p2p.identity import Identity, _new_secret, load_identity, save_identity

    ident = load_identity(root / owner, key)
    assert ident is not None
    secret = _new_secret()
    cert = ident.for_new_device(device_name, secret[32:])
    save_identity(root / device_name, Identity.linked(ident.name, ident.user_secret, secret, cert))
    return device_name
