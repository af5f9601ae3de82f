"""Attachments between nodes in one process over loopback (p2p.files)."""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from nodekit import add_device, befriend, until

from kith.p2p.api import FileChanged
from kith.p2p.errors import UserError
from kith.p2p.files.protocol import BlockPiece, BlockRefused, BlockRequest
from kith.p2p.node import Node
from kith.storage.files import FILE_COMPLETE, FILE_DOWNLOADING, FILE_PAUSED, FILE_REMOTE

MB = 1000 * 1000


def make_file(path: Path, size: int, seed: int = 1) -> Path:
    """A file of ``size`` pseudo-random bytes (incompressible, reproducible)."""
    import random

    rnd = random.Random(seed)
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n
    return path


def read(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def only(node: Node, conv: bytes) -> dict[str, Any]:
    [f] = node.files.list_files(conv)
    return f


def state_of(node: Node, conv: bytes) -> str | None:
    files = node.files.list_files(conv)
    return files[0]["state"] if files else None


async def send(a: Node, b: Node, path: Path, text: str = "") -> tuple[bytes, bytes]:
    e = await a.files.send(b.user_id, text, [path])
    await a.flush()
    conv = e.event.conv
    return conv, bytes.fromhex(a.files.list_files(conv)[-1]["id"])


async def test_small_file_downloads_by_itself_and_is_verified(nodes, tmp_path: Path) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    src = make_file(tmp_path / "notes.bin", 700_000)
    conv, fid = await send(alice, bob, src, "here")
    f = only(alice, conv)
    assert f["state"] == FILE_COMPLETE and f["name"] == "notes.bin"
    assert f["mime"] == "application/octet-stream"
    await until(lambda: state_of(bob, conv) == FILE_COMPLETE, alice, bob)
    got = only(bob, conv)
    assert read(got["path"]) == read(src)
    assert got["have"] == got["size"] == 700_000 and got["message"] == f["message"]
    assert alice.files.served[fid] == 700_000  # every block once
    assert not list((bob.profile / "files" / "partial").iterdir())
    [m] = bob.history("alice")
    assert m.text == "here"


async def test_a_message_may_be_only_files_but_not_nothing(nodes, tmp_path: Path) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    conv, _ = await send(alice, bob, make_file(tmp_path / "a", 10))
    assert [m.text for m in alice.history("bob")] == [""]
    with pytest.raises(UserError, match="no file"):
        await alice.files.send(bob.user_id, "x", [])
    with pytest.raises(UserError, match="is not a file"):
        await alice.files.send(bob.user_id, "x", [tmp_path / "missing"])


async def test_large_files_wait_for_a_fetch(nodes, tmp_path: Path) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    bob.set_setting("auto_download", 1 * MB)
    conv, fid = await send(alice, bob, make_file(tmp_path / "big.bin", 3 * MB))
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, alice, bob)
    assert fid not in bob.files.transfers
    bob.files.start(fid)
    assert await bob.files.wait_complete(fid, 20)
    assert len(read(only(bob, conv)["path"])) == 3 * MB
    # The sender heard that the file is complete on a device of bob's.
    assert await alice.files.wait_held_by([fid], [bob.user_id], 5)


async def test_same_file_twice_is_stored_once_and_deleting_chats_frees_it(
    nodes, tmp_path: Path
) -> None:
    alice, bob, carol = await nodes("alice"), await nodes("bob"), await nodes("carol")
    await befriend(alice, bob)
    await befriend(alice, carol)
    src = make_file(tmp_path / "same.bin", 300_000)
    conv_b, fid = await send(alice, bob, src)
    conv_c, fid2 = await send(alice, carol, src)
    copy = make_file(tmp_path / "other-name.bin", 300_000)  # same bytes, another name
    _, fid3 = await send(alice, bob, copy)
    assert fid == fid2 == fid3
    stored = [p for p in (alice.profile / "files").iterdir() if p.is_file()]
    assert [p.name for p in stored] == [fid.hex()]
    assert alice.files.delete_chat(conv_b) == []  # carol's chat still names it
    assert (alice.profile / "files" / fid.hex()).exists()
    assert alice.files.delete_chat(conv_c) == [fid]
    assert not (alice.profile / "files" / fid.hex()).exists()


async def test_my_other_device_gets_the_file_and_serves_it_when_i_am_gone(
    nodes, tmp_path: Path
) -> None:
    """Three nodes: a file sent from the desktop reaches the laptop (my devices get my
    files); bob fetches it later from the laptop, the desktop being gone."""
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    bob.set_setting("auto_download", 0)
    conv, fid = await send(desktop, bob, make_file(tmp_path / "photo.bin", 2 * MB))
    await until(lambda: state_of(laptop, conv) == FILE_COMPLETE, desktop, laptop)
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, desktop, bob)
    await nodes.stop(desktop)
    await bob.connect("127.0.0.1", laptop.port)
    bob.files.start(fid)
    assert await bob.files.wait_complete(fid, 20)
    assert laptop.files.served[fid] == 2 * MB
    assert (bob.profile / "files" / fid.hex()).read_bytes() == (
        tmp_path / "photo.bin").read_bytes()


async def test_a_holder_that_goes_away_mid_transfer(nodes, tmp_path: Path, monkeypatch) -> None:
    """Bob pulls from the desktop and the laptop; the desktop stops half way (after
    serving some blocks it answers no more): the laptop serves the rest, and no verified
    block is fetched twice."""
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    bob.set_setting("auto_download", 0)
    size = 20 * MB  # 128 KiB blocks: 153 of them, more than two holders' windows
    conv, fid = await send(desktop, bob, make_file(tmp_path / "video.bin", size))
    await until(lambda: state_of(laptop, conv) == FILE_COMPLETE, desktop, laptop)
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, desktop, bob)
    await bob.connect("127.0.0.1", laptop.port)

    # The desktop answers the first 10 block requests, then sits on the rest.
    answered: list[int] = []
    held: list[Any] = []
    real = desktop.files.on_request

    def on_request(peer, r: BlockRequest) -> None:
        if len(answered) < 10:
            answered.append(r.index)
            real(peer, r)
        else:
            held.append(r)

    monkeypatch.setattr(desktop.files, "on_request", on_request)
    desktop.net.handlers[BlockRequest] = on_request
    laptop_real = laptop.files.on_request
    laptop_hold: list[Any] = []

    def laptop_request(peer, r: BlockRequest) -> None:  # (until the desktop is gone)
        if desktop.core.running:
            laptop_hold.append((peer, r))
        else:
            laptop_real(peer, r)

    laptop.net.handlers[BlockRequest] = laptop_request
    d0, l0 = desktop.files.served[fid], laptop.files.served[fid]  # (what the laptop got)
    bob.files.start(fid)
    await until(lambda: len(answered) == 10 and held and bob.files.transfers[fid].dl
                and bob.files.transfers[fid].dl.bitmap.verified >= 10, bob, desktop)
    await nodes.stop(desktop)  # gone: its blocks in flight go back to the others
    for peer, r in laptop_hold:
        laptop_real(peer, r)
    assert await bob.files.wait_complete(fid, 30)
    assert (bob.profile / "files" / fid.hex()).read_bytes() == (
        tmp_path / "video.bin").read_bytes()
    block = 128 * 1024
    by_desktop, by_laptop = desktop.files.served[fid] - d0, laptop.files.served[fid] - l0
    assert by_desktop + by_laptop == size  # not one verified block twice
    assert by_desktop == 10 * block


async def test_bad_blocks_are_asked_again_and_a_liar_is_disconnected(
    nodes, tmp_path: Path, caplog
) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    bob.set_setting("auto_download", 0)
    conv, fid = await send(alice, bob, make_file(tmp_path / "f.bin", 1 * MB))
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, alice, bob)
    # alice's node corrupts the first piece of every block it sends.
    real_read = alice.files.reader.read  # (the Disk serving reads through)
    corrupt = {"on": True}

    def bad_read(file: bytes, offset: int, length: int, *, partial: bool = False) -> bytes:
        data = real_read(file, offset, length, partial=partial)
        if corrupt["on"] and offset % (128 * 1024) == 0:
            return bytes([data[0] ^ 1]) + data[1:]
        return data

    alice.files.reader.read = bad_read  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING)
    bob.files.start(fid)
    await until(lambda: not bob.online(alice.user_id), alice, bob)
    assert "failed its hash" in caplog.text
    assert "keeps sending blocks" in caplog.text and "closing connection" in caplog.text
    assert bob.files.transfers[fid].dl.bitmap.verified == 0  # nothing bad was kept
    corrupt["on"] = False
    await bob.connect("127.0.0.1", alice.port)
    assert await bob.files.wait_complete(fid, 20)
    assert (bob.profile / "files" / fid.hex()).read_bytes() == (tmp_path / "f.bin").read_bytes()


async def test_disk_full_pauses_with_the_space_needed_and_resume_finishes(
    nodes, tmp_path: Path
) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    bob.set_setting("auto_download", 0)
    conv, fid = await send(alice, bob, make_file(tmp_path / "f.bin", 2 * MB))
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, alice, bob)
    real_write = bob.files.writer.write_block
    writes = {"n": 0}

    def full_write(file: bytes, offset: int, data: bytes) -> None:
        writes["n"] += 1
        if writes["n"] > 3:  # (blocks of 128 KiB: the disk fills after three)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(file, offset, data)

    bob.files.writer.write_block = full_write  # type: ignore[method-assign]
    bob.files.start(fid)
    await until(lambda: state_of(bob, conv) == FILE_PAUSED, alice, bob)
    f = only(bob, conv)
    assert "disk is full" in f["problem"] and "MB more are needed" in f["problem"]
    assert 0 < f["have"] < 2 * MB or f["have"] == 0
    assert [m.text for m in bob.history("alice")] == [""]  # nothing else harmed
    bob.files.writer.write_block = real_write  # type: ignore[method-assign]
    before = alice.files.served[fid]
    bob.files.start(fid)  # (kith resume)
    assert await bob.files.wait_complete(fid, 20)
    assert (bob.profile / "files" / fid.hex()).read_bytes() == (tmp_path / "f.bin").read_bytes()
    assert alice.files.served[fid] - before <= 2 * MB - f["have"] + 4 * 128 * 1024


async def test_not_enough_free_space_pauses_before_starting(
    nodes, tmp_path: Path, monkeypatch
) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    bob.set_setting("auto_download", 0)
    conv, fid = await send(alice, bob, make_file(tmp_path / "f.bin", 500_000))
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, alice, bob)
    monkeypatch.setattr(bob.files.disk, "free", lambda: 1000)
    bob.files.start(fid)
    f = only(bob, conv)
    assert f["state"] == FILE_PAUSED and "free space are needed" in f["problem"]


async def test_a_file_removed_behind_our_back_is_reported_and_fetched_again(
    nodes, tmp_path: Path
) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    conv, fid = await send(alice, bob, make_file(tmp_path / "f.bin", 400_000))
    await until(lambda: state_of(bob, conv) == FILE_COMPLETE, alice, bob)
    (bob.profile / "files" / fid.hex()).unlink()
    f = only(bob, conv)  # listing notices it
    assert f["state"] in (FILE_DOWNLOADING, FILE_COMPLETE)
    assert "removed from disk" in f.get("problem", "") or f["state"] == FILE_COMPLETE
    assert await bob.files.wait_complete(fid, 20)
    assert (bob.profile / "files" / fid.hex()).read_bytes() == (tmp_path / "f.bin").read_bytes()
    # The sender's own copy removed: asked for it, it says so and fetches it from bob.
    (alice.profile / "files" / fid.hex()).unlink()
    only(alice, conv)
    assert await alice.files.wait_complete(fid, 20)
    assert bob.files.served[fid] == 400_000


async def test_pause_resume_and_cancel(nodes, tmp_path: Path) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    bob.set_setting("auto_download", 0)
    conv, fid = await send(alice, bob, make_file(tmp_path / "f.bin", 1 * MB))
    await until(lambda: state_of(bob, conv) == FILE_REMOTE, alice, bob)
    events: list[FileChanged] = []
    bob.subscribe(lambda e: events.append(e) if isinstance(e, FileChanged) else None)
    # the writer's thread is held while the download starts, pauses and is cancelled, so
    # its queued open of the partial file comes after the cancel removed it (as it may
    # on a busy machine): the file must stay gone
    held, drained = threading.Event(), threading.Event()
    bob.files.hashing.call(lambda: held.wait(30) and None)
    bob.files.start(fid)
    bob.files.pause(fid)
    assert only(bob, conv)["state"] == FILE_PAUSED and fid not in bob.files.transfers
    bob.files.cancel(fid)
    assert only(bob, conv)["state"] == FILE_REMOTE and only(bob, conv)["have"] == 0
    held.set()
    bob.files.hashing.call(drained.set)
    await until(drained.is_set, bob)
    assert not (bob.profile / "files" / "partial" / f"{fid.hex()}.part").exists()
    bob.files.start(fid)
    assert await bob.files.wait_complete(fid, 20)
    assert [e.state for e in events][:3] == [FILE_DOWNLOADING, FILE_PAUSED, FILE_REMOTE]
    assert events[-1].state == FILE_COMPLETE and events[-1].have == 1 * MB
    with pytest.raises(UserError, match="complete"):
        bob.files.pause(fid)


async def test_only_members_of_the_conversation_may_fetch(nodes, tmp_path: Path) -> None:
    alice, bob, eve = await nodes("alice"), await nodes("bob"), await nodes("eve")
    await befriend(alice, bob)
    await befriend(alice, eve)  # a contact of alice's, not in the chat with bob
    conv, fid = await send(alice, bob, make_file(tmp_path / "secret.bin", 200_000))
    await until(lambda: state_of(bob, conv) == FILE_COMPLETE, alice, bob)
    got: list[Any] = []
    arrived = asyncio.Event()

    def record(peer, m) -> None:
        got.append(m)
        arrived.set()

    eve.net.handlers[BlockPiece] = record
    eve.net.handlers[BlockRefused] = record
    peer = eve.net.peers[alice.device_id]
    assert peer.conn is not None
    peer.conn.send(BlockRequest(fid, 0))
    await asyncio.wait_for(arrived.wait(), 10)
    assert [type(m).__name__ for m in got] == ["BlockRefused"]
    assert got[0].reason == "not entitled"
    assert alice.files.served[fid] == 200_000  # bob's copy, nothing for eve


async def test_a_flood_of_block_requests_is_refused_past_the_queue(nodes, tmp_path: Path) -> None:
    from kith.p2p.files.feature import MAX_QUEUED

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    conv, fid = await send(alice, bob, make_file(tmp_path / "f.bin", 1000))
    await until(lambda: state_of(bob, conv) == FILE_COMPLETE, alice, bob)
    refused: list[Any] = []
    done = asyncio.Event()

    def on_refused(peer, m: BlockRefused) -> None:
        refused.append(m)
        if len(refused) == 100:
            done.set()

    bob.net.handlers[BlockRefused] = on_refused
    bob.net.handlers[BlockPiece] = lambda peer, m: None
    conn = bob.net.peers[alice.device_id].conn
    assert conn is not None
    conn.send_many([BlockRequest(fid, 0)] * (MAX_QUEUED + 100))  # one write: one batch
    await asyncio.wait_for(done.wait(), 10)
    assert {m.reason for m in refused} == {"too many requests at once"}
    assert alice.online(bob.user_id)  # (refused, not disconnected: it may ask again)
