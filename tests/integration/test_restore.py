"""A profile restored from a backup (hardening #5): the device takes back the end of its
own log from the peers that hold it, and writes on after it, so nothing is lost and no
conversation breaks."""

from __future__ import annotations

import asyncio
import logging
import shutil

from nodekit import befriend, until

from kith.storage import STATUS_DELIVERED, STATUS_WAITING


async def test_a_restored_device_takes_back_its_own_events_and_writes_on(
        nodes, tmp_path, caplog):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    one = await alice.send_message("bob", "one")
    assert await alice.wait_status(one, STATUS_DELIVERED, 10)
    await nodes.stop(alice)
    shutil.copytree(tmp_path / "alice", tmp_path / "alice-backup")  # the backup

    alice = await nodes("alice")
    await alice.connect("127.0.0.1", bob.port)
    for text in ("two", "three"):
        row = await alice.send_message("bob", text)
        assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    await nodes.stop(alice)
    shutil.rmtree(tmp_path / "alice")
    shutil.copytree(tmp_path / "alice-backup", tmp_path / "alice")  # restored

    caplog.set_level(logging.WARNING, logger="kith.p2p.receive")
    alice = await nodes("alice")
    assert [m.text for m in alice.history("bob")] == ["one"]
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: [m.text for m in alice.history("bob")] == ["one", "two", "three"],
                alice, bob)
    assert all(m.outgoing for m in alice.history("bob"))
    assert any("restored from a backup" in r.getMessage() for r in caplog.records)

    four = await alice.send_message("bob", "four")  # after the true head: no fork
    assert four.seq > max(m.seq for m in alice.history("bob") if m.text == "three")
    assert await alice.wait_status(four, STATUS_DELIVERED, 10)
    assert [m.text for m in bob.history("alice")] == ["one", "two", "three", "four"]
    assert alice.online(bob.user_id)


def _texts(node, who):
    """What is written (a waiting message of ours has seq 0: not written yet)."""
    return [m.text for m in node.history(who) if m.seq]


def _waiting(node, who):
    return [m.text for m in node.history(who) if m.status == STATUS_WAITING]


async def test_a_message_written_at_once_after_a_restore_waits_for_the_true_head(
        nodes, tmp_path, caplog):
    """The restore window: written before any peer answered, the message waits (shown as
    waiting, not delivered), then goes after the log's true head; nobody sees a fork."""
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    one = await alice.send_message("bob", "one")
    assert await alice.wait_status(one, STATUS_DELIVERED, 10)
    await nodes.stop(alice)
    shutil.copytree(tmp_path / "alice", tmp_path / "alice-backup")
    alice = await nodes("alice")
    await alice.connect("127.0.0.1", bob.port)
    for text in ("two", "three"):
        row = await alice.send_message("bob", text)
        assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    three = max(m.seq for m in bob.history("alice"))
    await nodes.stop(alice)
    shutil.rmtree(tmp_path / "alice")
    shutil.copytree(tmp_path / "alice-backup", tmp_path / "alice")

    caplog.set_level(logging.INFO)
    alice = await nodes("alice")
    four = await alice.send_message("bob", "four")  # at once: before any peer answered
    assert four.seq == 0 and four.status == STATUS_WAITING and four.text == "four"
    assert _texts(alice, "bob") == ["one"]  # (not written yet: it would reuse seq 2)
    assert _waiting(alice, "bob") == ["four"]  # (shown, as waiting)
    await alice.connect("127.0.0.1", bob.port)
    assert await alice.wait_status(four, STATUS_DELIVERED, 20)
    want = ["one", "two", "three", "four"]
    await until(lambda: _texts(alice, "bob") == want and _texts(bob, "alice") == want,
                alice, bob)
    written = alice.core.messages.current(four)
    assert written.seq == three + 1
    assert bob.history("alice")[-1].seq == three + 1
    assert not any("equivocated" in r.getMessage() for r in caplog.records)
    five = await alice.send_message("bob", "five")  # the log is open now: written at once
    assert five.seq == three + 2


async def test_with_no_peer_that_holds_the_log_writes_go_ahead(nodes):
    """A single-device user's own log in the self conversation: nobody else holds it, so
    nothing waits after a start."""
    alice = await nodes("alice")
    alice.set_setting("read_receipts", False)
    await alice.core.log.commit()
    await nodes.stop(alice)
    alice = await nodes("alice")
    core = alice.core
    assert core.convs.self_conv in core.log.gate.unsure  # (known at start: unsure)
    alice.set_setting("read_receipts", True)
    await core.log.commit()
    assert core.convs.self_conv not in core.log.gate.unsure
    me = (core.convs.self_conv, core.device_id)
    assert core.log.durable[core.convs.self_conv][core.device_id] == core.log.heads[me][0]
    assert not core.log._held


async def test_a_connected_holder_that_says_nothing_does_not_hold_writes_for_good(nodes):
    from kith.p2p import wire
    from kith.p2p.restore import SILENT_HOLDER

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    one = await alice.send_message("bob", "one")
    assert await alice.wait_status(one, STATUS_DELIVERED, 10)
    await nodes.stop(alice)
    # bob says nothing about any conversation (as a peer whose rules keep it quiet)
    bob.net.connected[:] = [h for h in bob.net.connected if h != bob.core.repl.send_digest]
    bob.net.handlers[wire.Digest] = lambda peer, m: None
    alice = await nodes("alice")
    waiting = alice.core.log.waiting
    now = [0.0]
    waiting.clock = lambda: now[0]
    two = await alice.send_message("bob", "two")
    assert two.seq == 0
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: alice.core.log.holder_live(two.conv), alice)
    waiting.tick()  # (bob connected: the silence counts from now)
    now[0] += SILENT_HOLDER - 1
    waiting.tick()
    await asyncio.sleep(0)
    assert alice.core.messages.current(two).seq == 0  # (not yet)
    now[0] += 1
    waiting.tick()
    await until(lambda: alice.core.messages.current(two).seq > 0, alice, bob)
    assert _texts(alice, "bob") == ["one", "two"]


async def test_many_messages_written_while_the_log_waits_all_arrive(nodes):
    """Held events are signed as any (at least every SIGN_EVERY-th), so a long run of them
    is never refused as too many unsigned events in a row."""
    from kith.p2p import events as ev

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(alice)
    alice = await nodes("alice")
    count = ev.MAX_UNSIGNED + 50
    for i in range(count):
        alice.queue_message(bob.user_id, f"w{i}")
    assert alice.core.log._held  # (they wait: bob has not said where our log ends)
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: len(bob.history("alice", limit=1000)) == count, alice, bob,
                timeout=30)


async def test_what_still_waits_at_stop_stays_waiting_and_goes_out_when_bob_is_back(nodes):
    """No peer that holds the log answered during the run (a one-shot `kith send` to a
    contact who is away): the message is kept, shown as waiting after the next start,
    and written after the true head once bob is back."""
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(alice)
    await nodes.stop(bob)
    alice = await nodes("alice")
    row = await alice.send_message("bob", "while bob is away")
    assert row.seq == 0 and _texts(alice, "bob") == []
    await nodes.stop(alice)
    alice = await nodes("alice")
    assert _texts(alice, "bob") == [] and _waiting(alice, "bob") == ["while bob is away"]
    assert alice.history("bob")[-1].event_id == row.event_id  # (the same message)
    bob = await nodes("bob")
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: _texts(bob, "alice") == ["while bob is away"], alice, bob)
    await until(lambda: _texts(alice, "bob") == ["while bob is away"]
                and not _waiting(alice, "bob") and not alice.db.waiting(), alice)
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)


async def test_with_every_holder_away_a_write_waits_however_long(nodes):
    """No start window any more: with every holder away for longer than the old 10 s
    (a clock the test drives), the message still waits, shown as waiting and kept on
    disk, and goes out, after the true head, when the contact is back."""
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(alice)
    await nodes.stop(bob)
    alice = await nodes("alice")
    waiting = alice.core.log.waiting
    now = [1000.0]
    waiting.clock = lambda: now[0]
    row = await alice.send_message("bob", "while bob is away")
    for _ in range(3):
        now[0] += 3600.0  # an hour at a time
        waiting.tick()
    await asyncio.sleep(0)  # (what an opened log releases goes on the next loop turn)
    assert alice.core.messages.current(row).seq == 0
    later = await alice.send_message("bob", "and later")  # (behind it, in order)
    assert later.seq == 0
    assert _waiting(alice, "bob") == ["while bob is away", "and later"]
    assert [w.conv for w in alice.db.waiting()] == [row.conv, row.conv]
    bob = await nodes("bob")
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: _texts(bob, "alice") == ["while bob is away", "and later"],
                alice, bob)
    assert [m.time for m in bob.history("alice")] == [row.time, later.time]  # as written
