"""A profile restored from a backup (hardening #5): the device takes back the end of its
own log from the peers that hold it, and writes on after it, so nothing is lost and no
conversation breaks."""

from __future__ import annotations

import logging
import shutil

from nodekit import befriend, until

from storage import STATUS_DELIVERED


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

    caplog.set_level(logging.WARNING, logger="p2p.receive")
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
