"""Linking a new device over loopback: the code, the handover, the first sync."""

from __future__ import annotations

import asyncio

import pytest
from nodekit import befriend, until

from kith.p2p import messages
from kith.p2p.connection import Timing
from kith.p2p.errors import UserError
from kith.p2p.link_driver import wait_for_link
from kith.p2p.linking import new_code
from kith.p2p.node import Node, NodeOptions

TIMING = Timing(handshake=2, keepalive=1, dead_after=3)


async def start_waiting(path, code, timeout=10.0, on_wrong_code=None):
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        wait_for_link(
            path, code, "laptop", interfaces=["127.0.0.1"], timeout=timeout, discovery=False,
            on_listening=listening.set_result, on_wrong_code=on_wrong_code, timing=TIMING,
        )
    )
    return task, await listening


async def test_link_hands_over_the_identity_and_the_history(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    await desktop.send_message("bob", "before the laptop existed")
    code = new_code()
    waiting, port = await start_waiting(tmp_path / "laptop", code)
    info = await desktop.link_device(code, address=("127.0.0.1", port))
    linked = await waiting
    assert info.name == "laptop" and not info.this_device
    assert linked.identity.user_id == desktop.user_id
    assert linked.identity.device_id == info.device_id and linked.events > 0

    laptop = Node(tmp_path / "laptop", NodeOptions(interfaces=["127.0.0.1"], port=0,
                                                    discovery=False, timing=TIMING))
    await laptop.start()
    try:
        await laptop.connect(linked.host, linked.port)
        await until(lambda: laptop.db.count_events() >= linked.events, laptop, timeout=10)
        assert [m.text for m in laptop.history("bob")] == ["before the laptop existed"]
        assert {d.name for d in desktop.devices()} == {"alice", "laptop"}
        await until(lambda: {d.name for d in laptop.devices()} == {"alice", "laptop"}, laptop)
    finally:
        await laptop.stop()


async def test_a_linked_device_finds_every_message_of_its_history_by_search(
    nodes, tmp_path, monkeypatch
):
    # (the index is filled a while after the sync: here not before the searches below,
    # which must find everything all the same)
    monkeypatch.setattr(messages, "SEARCH_INDEX_DELAY", 600.0)
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    n = 2 * messages.BULK_MESSAGES
    for i in range(n):
        desktop.queue_message(bob.user_id, f"line{i}z of the history")
    await desktop.flush()
    code = new_code()
    waiting, port = await start_waiting(tmp_path / "laptop", code)
    await desktop.link_device(code, address=("127.0.0.1", port))
    linked = await waiting
    laptop = Node(tmp_path / "laptop", NodeOptions(interfaces=["127.0.0.1"], port=0,
                                                    discovery=False, timing=TIMING))
    await laptop.start()
    try:
        await laptop.connect(linked.host, linked.port)
        await until(lambda: laptop.db.count_events() >= linked.events, laptop, timeout=20)
        conv = laptop.conv_with(bob.user_id)
        assert laptop.db.count_messages(conv) == n
        assert laptop.db.search_pending()  # (a history sync's batches: indexed later)
        for i in (0, 1, n // 2, n - 1):
            assert [m.text for m in laptop.db.search(f"line{i}z")] == [
                f"line{i}z of the history"]
        assert len(laptop.db.search("history", limit=2 * n)) == n
        assert not laptop.db.search_pending()
    finally:
        await laptop.stop()


async def test_wrong_code_fails_on_both_sides_three_times_ends(nodes, tmp_path):
    desktop = await nodes("alice")
    code = "123-456-789"
    told: list[int] = []  # what the new device was told after each wrong code: tries left
    waiting, port = await start_waiting(tmp_path / "laptop", code, on_wrong_code=told.append)
    for i, wrong in enumerate(("123-456-780", "123-456-781")):
        with pytest.raises(UserError, match="wrong code.*nothing was sent.*try again"):
            await desktop.link_device(wrong, address=("127.0.0.1", port))
        # (the new device answered the refusal with its count: it was told by then)
        assert len(told) == i + 1 and not waiting.done()
    assert told == [2, 1]
    # The third wrong code ends the attempt, and both sides say so.
    with pytest.raises(UserError, match="third wrong code: the new device stopped waiting"):
        await desktop.link_device("123-456-782", address=("127.0.0.1", port))
    with pytest.raises(UserError, match="three wrong codes were entered"):
        await waiting
    assert told == [2, 1]
    assert not (tmp_path / "laptop" / "identity.kith").exists()
    assert [d.name for d in desktop.devices()] == ["alice"]
    # Nobody waits any more, not even for the right code.
    with pytest.raises(UserError, match="cannot reach the new device"):
        await desktop.link_device(code, address=("127.0.0.1", port))


async def test_nobody_links_in_time(tmp_path):
    waiting, _ = await start_waiting(tmp_path / "laptop", new_code(), timeout=0.2)
    with pytest.raises(UserError, match="no device linked this one"):
        await waiting
