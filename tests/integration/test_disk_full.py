"""A full disk: the write that fails takes nothing away (no sequence number, no event),
the user is told what to do, and once there is room everything flows again by itself, in
order, without a restart (the hardening issue's finding: a hole in the log, and two nodes
that spun for good)."""

from __future__ import annotations

import sqlite3

import pytest
from nodekit import befriend, until

from kith.p2p import events as ev
from kith.p2p.errors import EnvironmentProblem
from kith.storage import STATUS_DELIVERED


class FullDisk:
    """Makes a store's event inserts fail the way SQLite does on a full disk."""

    def __init__(self, store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = True
        self.failures = 0
        self.authors: set[bytes] = set()  # whose events could not be stored
        real = store.insert_events

        def insert_events(rows):
            if self.full and rows:
                self.failures += 1
                self.authors.update(r[2] for r in rows)
                raise sqlite3.OperationalError("database or disk is full")
            return real(rows)

        monkeypatch.setattr(store, "insert_events", insert_events)


async def test_a_full_disk_loses_nothing_and_recovers_by_itself(nodes, monkeypatch):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    conv = alice.conv_with(bob.user_id)
    before = alice.core.log.head(conv, alice.device_id)
    disk = FullDisk(alice.db, monkeypatch)

    with pytest.raises(EnvironmentProblem, match="the disk is full"):
        await alice.send_message("bob", "written while the disk is full")
    alice.queue_message(bob.user_id, "and one more")
    assert alice.core.log.problem is not None and "Free some space" in alice.core.log.problem
    assert alice.db.count_messages(conv) == 0 and disk.failures >= 1

    # Bob's message arrives: it cannot be stored yet, so it is not acknowledged...
    row = await bob.send_message("alice", "are you there?")
    await until(lambda: bob.device_id in disk.authors, alice, bob)
    assert not await bob.wait_status(row, STATUS_DELIVERED, 0.5)
    disk.full = False  # ...room again: the queued writes go through in order, by themselves
    await until(lambda: alice.db.count_messages(conv) == 3, alice, bob, timeout=30)
    assert alice.core.log.problem is None
    assert await bob.wait_status(row, STATUS_DELIVERED, 30)
    written = {"written while the disk is full", "and one more"}  # (their order: lamport)
    await until(lambda: written <= {m.text for m in bob.history("alice")}, alice, bob,
                timeout=30)
    # No hole in alice's log: the failed write took no sequence number away.
    run = [ev.decode(h, b) for h, b in alice.db.events_after(conv, alice.device_id, 0, 100)]
    assert [e.seq for e in run] == list(range(1, len(run) + 1))
    assert run[-1].seq > (before.seq if before else 0)
    ev.verify_chain(None, run)
    row = await alice.send_message("bob", "all good")
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
