"""A profile restored from a backup (hardening #5): the device takes back the end of its
own log from the peers that hold it, and writes on after it, so nothing is lost and no
conversation breaks."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

from nodekit import befriend, until

from kith.p2p.keystore import KeyStore
from kith.storage import STATUS_DELIVERED, STATUS_WAITING
from kith.storage.migrations import LATEST

FIXTURE_V9 = Path(__file__).resolve().parents[1] / "fixtures" / "profile-v9"


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


# -- a restored device killed while its writes wait -------------------------------------

ROOT = Path(__file__).resolve().parents[2]


async def _kith(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kith.app.cli", *args, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def _run_json(*args: str):
    proc = await _kith(*args, "--json")
    out, err = await proc.communicate()
    assert proc.returncode == 0, (out + err).decode()
    return json.loads(out)


async def _restored_with_bob_away(nodes, tmp_path):
    """alice wrote one, two, three to bob (all delivered), then her profile was restored
    from a backup made after one; bob is away. Returns bob's seq of three."""
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
    await nodes.stop(bob)
    shutil.rmtree(tmp_path / "alice")
    shutil.copytree(tmp_path / "alice-backup", tmp_path / "alice")
    return three


async def test_a_restored_device_killed_while_its_writes_wait_loses_nothing_and_forks_not(
        nodes, tmp_path, caplog):
    """Hardening #5 without the start window: the restored device writes three messages
    while bob (the only other holder of its log) is away, longer than the old 10 s; it
    is killed (SIGKILL) and opened again; then bob comes back. No fork, the messages land
    after the true head, none is lost, none is shown delivered before bob has it."""
    three = await _restored_with_bob_away(nodes, tmp_path)
    profile = str(tmp_path / "alice")
    daemon = await _kith("--profile", profile, "--interface", "127.0.0.1", "daemon")
    try:
        assert daemon.stdout is not None
        line = (await asyncio.wait_for(daemon.stdout.readline(), 60)).decode()
        assert "ready" in line, line
        for text in ("w1", "w2", "w3"):
            sent = await _run_json("--profile", profile, "send", "bob", text)
            assert (sent["status"], sent["delivered"], sent["text"]) == ("waiting", False, text)
        shown = await _run_json("--profile", profile, "history", "bob")
        assert [(m["text"], m["status"]) for m in shown] == [
            ("one", "delivered"), ("w1", "waiting"), ("w2", "waiting"), ("w3", "waiting")]
        daemon.send_signal(signal.SIGKILL)  # nothing was written but the waiting rows
        await daemon.wait()
        assert daemon.returncode == -signal.SIGKILL
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()

    caplog.set_level(logging.INFO)
    key = KeyStore(tmp_path / "alice").unlock()  # (the CLI encrypted it: the test keyring)
    alice = await nodes("alice", data_key=key)  # opened again after the kill
    assert _texts(alice, "bob") == ["one"]
    assert _waiting(alice, "bob") == ["w1", "w2", "w3"]
    waiting = alice.core.log.waiting
    now = [0.0]
    waiting.clock = lambda: now[0]
    now[0] += 11.0  # longer than the old START_WAIT, every holder still away
    waiting.tick()
    await asyncio.sleep(0)
    assert _waiting(alice, "bob") == ["w1", "w2", "w3"] and _texts(alice, "bob") == ["one"]

    bob = await nodes("bob")
    early: list[str] = []  # shown delivered while bob did not have it

    def check(_e: object) -> None:
        have = set(_texts(bob, "alice"))
        early.extend(m.text for m in alice.history("bob")
                     if m.status >= STATUS_DELIVERED and m.text not in have)

    unsubscribe = alice.subscribe(check)
    try:
        await alice.connect("127.0.0.1", bob.port)
        want = ["one", "two", "three", "w1", "w2", "w3"]
        await until(lambda: _texts(alice, "bob") == want and _texts(bob, "alice") == want
                    and all(m.status >= STATUS_DELIVERED for m in alice.history("bob")),
                    alice, bob, timeout=20)
    finally:
        unsubscribe()
    assert early == []
    assert [m.seq for m in bob.history("alice")][-3:] == [three + 1, three + 2, three + 3]
    assert alice.db.waiting() == [] and not _waiting(alice, "bob")
    assert not any("equivocated" in r.getMessage() or "fork" in r.getMessage()
                   for r in caplog.records)
    four = await alice.send_message("bob", "four")  # the log is open: at once
    assert four.seq == three + 4


async def test_a_schema_9_profile_opens_and_its_first_message_waits_for_the_true_head(
        nodes, tmp_path):
    """The profile fixture of schema 9 (tests/fixtures/make_profile_v9.py) migrates to
    the waiting table, keeps its messages, and a message written at once after the start
    waits (kept on disk) until bob tells where alice's log ends."""
    for name in ("alice", "bob"):
        shutil.copytree(FIXTURE_V9 / name, tmp_path / name)
    alice = await nodes("alice")
    assert alice.db.schema_version == LATEST >= 10
    assert [m.text for m in alice.history("bob")] == ["one", "two", "three"]
    row = await alice.send_message("bob", "four")
    assert row.status == STATUS_WAITING and len(alice.db.waiting()) == 1
    bob = await nodes("bob")
    await alice.connect("127.0.0.1", bob.port)
    assert await alice.wait_status(row, STATUS_DELIVERED, 20)
    assert _texts(bob, "alice") == ["one", "two", "three", "four"]
    assert alice.db.waiting() == []


async def test_a_file_sent_while_the_log_waits_is_reported_waiting_and_arrives(
        nodes, tmp_path):
    from kith.p2p import commands_files, commands_groups

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(alice)
    await nodes.stop(bob)
    alice = await nodes("alice")
    photo = tmp_path / "note.txt"
    photo.write_bytes(b"what I wrote while bob was away\n" * 100)
    out = await commands_files.send(alice, {"peer": "bob", "files": [str(photo)],
                                            "text": "see this"})
    assert (out["status"], out["delivered"], out["text"]) == ("waiting", False, "see this")
    assert [f["name"] for f in out["files"]] == ["note.txt"]
    assert [w.files for w in alice.db.waiting()] == [bytes.fromhex(out["files"][0]["id"])]
    listed = commands_groups.history(alice, "bob", 10)
    assert [(m["text"], m["status"]) for m in listed] == [("see this", "waiting")]
    assert [(f["name"], f["state"]) for f in listed[0]["files"]] == [("note.txt", "complete")]
    await nodes.stop(alice)
    alice = await nodes("alice")
    bob = await nodes("bob")
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: _texts(bob, "alice") == ["see this"], alice, bob)
    got = bob.history("alice")[-1]
    sent = bytes.fromhex(out["files"][0]["id"])
    assert [a.file for a in bob.db.message_attachments(got.conv, got.author, got.seq)] == [
        sent]
    assert alice.db.waiting() == []


async def test_a_full_disk_refuses_a_waiting_message_with_a_clear_error_and_holds_nothing(
        nodes, monkeypatch):
    import sqlite3

    import pytest

    from kith.p2p.errors import EnvironmentProblem

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(alice)
    await nodes.stop(bob)
    alice = await nodes("alice")

    def full(*_a, **_k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(alice.db, "add_waiting", full)
    with pytest.raises(EnvironmentProblem, match="disk is full"):
        await alice.send_message("bob", "no room")
    assert not alice.core.log._held and _waiting(alice, "bob") == []
    monkeypatch.undo()
    row = await alice.send_message("bob", "room again")  # (nothing lost in between)
    assert row.status == STATUS_WAITING and _waiting(alice, "bob") == ["room again"]


async def test_a_database_only_node_keeps_what_waits_and_writes_behind_it(nodes, tmp_path):
    """A command that opens the profile without the network (`kith history`) shows what
    waits, never writes it (it cannot learn the head), and what it writes in that
    conversation goes behind it, in order."""
    from kith.p2p.node import Node, NodeOptions

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    await nodes.stop(alice)
    await nodes.stop(bob)
    alice = await nodes("alice")
    await alice.send_message("bob", "first")
    await nodes.stop(alice)

    offline = Node(tmp_path / "alice", NodeOptions(network=False))
    await offline.start()
    try:
        assert _waiting(offline, "bob") == ["first"]
        row = await offline.send_message("bob", "second")  # (behind it: waits too)
        assert row.status == STATUS_WAITING
        offline.core.log.waiting.tick()
        await asyncio.sleep(0)
        assert _texts(offline, "bob") == [] and _waiting(offline, "bob") == ["first", "second"]
    finally:
        await offline.stop()

    alice, bob = await nodes("alice"), await nodes("bob")
    assert _waiting(alice, "bob") == ["first", "second"]
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: _texts(bob, "alice") == ["first", "second"], alice, bob)


async def test_a_reply_written_while_the_log_waits_is_reported_waiting_and_arrives(nodes):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    hello = await bob.send_message("alice", "hello")
    await until(lambda: _texts(alice, "bob") == ["hello"], alice, bob)
    await nodes.stop(alice)
    await nodes.stop(bob)
    alice = await nodes("alice")
    row = await alice.core.actions.reply(hello.conv, hello.event_id.hex(), "hi back")
    assert (row.status, row.seq, row.reply_to) == (STATUS_WAITING, 0, hello.event_id)
    bob = await nodes("bob")
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: _texts(bob, "alice") == ["hello", "hi back"], alice, bob)
    assert bob.history("alice")[-1].reply_to == hello.event_id


async def test_a_contact_card_shared_while_the_log_waits_is_shown_waiting_and_arrives(nodes):
    alice, bob, carol = await nodes("alice"), await nodes("bob"), await nodes("carol")
    await befriend(alice, bob)
    await befriend(alice, carol)
    await until(lambda: sorted(c.state for c in alice.contacts()) == ["accepted"] * 2
                and [c.state for c in carol.contacts()] == ["accepted"], alice, carol)
    for n in (alice, bob, carol):
        await nodes.stop(n)
    alice = await nodes("alice")
    conv = alice.conv_with(next(c.user_id for c in alice.contacts() if c.name == "bob"))
    carol_id = next(c.user_id for c in alice.contacts() if c.name == "carol")
    row = await alice.core.actions.share_contact(conv, carol_id)
    assert (row.status, row.text) == (STATUS_WAITING, "carol")
    assert _waiting(alice, "bob") == ["carol"]
    bob = await nodes("bob")
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: _texts(bob, "alice") == ["carol"], alice, bob)
