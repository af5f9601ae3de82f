"""Pausing a send between nodes in one process: the sender's device stops serving the
file (the receiver waits, or fetches from another holder) until it resumes."""

from __future__ import annotations

from pathlib import Path

from nodekit import add_device, befriend, until
from test_files import MB, make_file, send, state_of

from kith.storage.files import FILE_COMPLETE, FILE_REMOTE


async def test_a_paused_send_waits_for_resume_and_other_holders_still_serve(
    nodes, tmp_path: Path
) -> None:
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    bob.set_setting("auto_download", 0)
    src = make_file(tmp_path / "talk.bin", 2 * MB)
    conv, fid = await send(desktop, bob, src)
    await until(lambda: state_of(laptop, conv) == FILE_COMPLETE, desktop, laptop)
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, desktop, bob)

    desktop.files.pause(fid)  # the sender pauses: the desktop serves none of it
    bob.files.start(fid)
    # Bob learnt the manifest from the desktop, and that it holds nothing to serve.
    await until(lambda: (t := bob.files.transfers.get(fid)) is not None and t.dl is not None
                and not t.dl.holders, desktop, bob)
    to_bob = (bob.device_id, fid)
    assert desktop.files.served_to[to_bob] == 0 and bob.files.transfers[fid].dl.have == 0

    # Another holder (the laptop, which did not pause) may serve it.
    await bob.connect("127.0.0.1", laptop.port)
    assert await bob.files.wait_complete(fid, 20)
    assert desktop.files.served_to[to_bob] == 0
    assert laptop.files.served_to[to_bob] == 2 * MB
    assert (bob.profile / "files" / fid.hex()).read_bytes() == src.read_bytes()


async def test_resuming_a_send_lets_the_waiting_download_finish(nodes, tmp_path: Path) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    bob.set_setting("auto_download", 0)
    conv, fid = await send(alice, bob, make_file(tmp_path / "f.bin", 1 * MB))
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, alice, bob)
    alice.files.pause(fid)
    bob.files.start(fid)
    await until(lambda: (t := bob.files.transfers.get(fid)) is not None and t.dl is not None,
                alice, bob)
    assert alice.files.served[fid] == 0
    alice.files.resume(fid)  # tells bob it holds the file again: bob asks for the blocks
    assert await bob.files.wait_complete(fid, 20)
    assert alice.files.served[fid] == 1 * MB
