"""A history stream whose peer goes away mid-stream (hardening #11): the stream ends
quietly (no AssertionError, no task that dies), and the next connection completes it."""

from __future__ import annotations

import logging

from nodekit import befriend, until


async def test_a_peer_that_goes_away_mid_stream_ends_it_quietly(nodes, caplog):
    caplog.set_level(logging.WARNING)
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(bob)
    for i in range(6000):
        alice.queue_message(bob.user_id, f"m{i}")
    await alice.core.log.commit()
    bob = await nodes("bob")
    repl, pages = alice.core.repl, []
    send_items = repl.send_items

    def first_page_then_gone(peer, items):  # bob goes away right after the first page
        send_items(peer, items)
        pages.append(len(items))
        if len(pages) == 1:
            for p in bob.net.live_of(alice.user_id):
                p.conn.writer.transport.abort()

    repl.send_items = first_page_then_gone
    await bob.connect("127.0.0.1", alice.port)
    await until(lambda: pages and not alice.online(bob.user_id), alice, bob)
    repl.send_items = send_items
    await until(lambda: not any(p.streaming for p in alice.net.peers.values()), alice, bob)
    bad = [r for r in caplog.records
           if r.levelno >= logging.ERROR or r.exc_info is not None
           or "Task exception" in r.getMessage()]
    assert not bad, "\n".join(r.getMessage() for r in bad[:5])
    await bob.connect("127.0.0.1", alice.port)
    await until(lambda: len(bob.history("alice", limit=10_000)) == 6000, alice, bob,
                timeout=60)
