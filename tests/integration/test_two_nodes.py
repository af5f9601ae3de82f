"""Two nodes in one process over loopback (no mDNS): contact, chat, receipts, offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from p2p.connection import Timing
from p2p.node import MessagesAdded, Node, NodeOptions
from p2p.profile import create_identity
from storage import STATUS_DELIVERED


def make_node(root: Path, name: str, port: int | None = 0) -> Node:
    profile = root / name
    if not (profile / "identity.kith").exists():
        create_identity(profile, name)
    return Node(
        profile,
        NodeOptions(
            interfaces=["127.0.0.1"],
            port=port,
            discovery=False,
            timing=Timing(handshake=5, keepalive=1, dead_after=3),
            reconnect_min=0.05,
            reconnect_max=0.5,
        ),
    )


async def wait_for(pred, timeout: float = 10.0) -> None:
    """Poll-free wait isn't possible for arbitrary predicates across nodes without
    events; nodes emit events on every change, so wake on those."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def pair(tmp_path):
    alice = make_node(tmp_path, "alice")
    bob = make_node(tmp_path, "bob")
    await alice.start()
    await bob.start()
    yield alice, bob
    await alice.stop()
    await bob.stop()


async def test_request_accept_chat_and_receipts(pair):
    alice, bob = pair
    await alice.connect("127.0.0.1", bob.port)
    await alice.add_contact("bob")
    await wait_for(lambda: any(c.state == "pending_in" for c in bob.contacts()))
    await bob.accept_contact("alice")
    await wait_for(lambda: alice.contacts()[0].state == "accepted")
    row = await alice.send_message("bob", "hello bob")
    assert await alice.wait_status(row, STATUS_DELIVERED, 5)
    hist = bob.history("alice")
    assert [m.text for m in hist] == ["hello bob"]
    row2 = await bob.send_message("alice", "hi alice")
    assert await bob.wait_status(row2, STATUS_DELIVERED, 5)
    assert [m.text for m in alice.history("bob")] == ["hello bob", "hi alice"]
    assert alice.safety_number("bob") == bob.safety_number("alice")
    assert alice.sas("bob") == bob.sas("alice")
