"""Issue 11, "a power cut may lose blocks recorded as verified": a block counts (its bit
is recorded) only once its data is durable; blocks a previous release recorded before
their data was durable are hashed again on resume. Nodes in one process; the receiver's
disk layer keeps every write in memory until an fsync, as a disk's cache does until a
power cut."""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from nodekit import befriend, until

from kith.p2p.files import disk as disk_module
from kith.p2p.files import manifest as mf
from kith.p2p.files import sealing as sl
from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.protocol import BlockRequest
from kith.p2p.keystore import KdfParams, KeyStore
from kith.storage.files import FILE_COMPLETE

SIZE = 3 * 1000 * 1000  # 128 KiB blocks: 23 of them
FAST = KdfParams(opslimit=1, memlimit=8192)


class CachingOs:
    """``os`` for the disk layer, but pwrite only reaches a file at an fsync of it
    (through any of its descriptors: the cache is the file's, as a page cache is); reads
    see the cached writes. A power cut loses what is cached."""

    def __init__(self) -> None:
        self.cached: dict[int, list[tuple[int, bytes]]] = defaultdict(list)  # inode ->
        self.lock = threading.Lock()  # (the writer's thread and the fsync's thread)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def pwrite(self, fd: int, data: Any, offset: int) -> int:
        with self.lock:
            self.cached[os.fstat(fd).st_ino].append((offset, bytes(data)))
        return len(data)

    def pread(self, fd: int, n: int, offset: int) -> bytes:
        with self.lock:
            buf = bytearray(os.pread(fd, n, offset))
            cached = list(self.cached.get(os.fstat(fd).st_ino, []))
        for at, data in cached:
            lo, hi = max(at, offset), min(at + len(data), offset + n)
            if lo < hi:
                if len(buf) < hi - offset:
                    buf.extend(bytes(hi - offset - len(buf)))
                buf[lo - offset:hi - offset] = data[lo - at:hi - at]
        return bytes(buf)

    def pwritev(self, fd: int, buffers: list[bytes], offset: int) -> int:
        return self.pwrite(fd, b"".join(buffers), offset)

    def fsync(self, fd: int) -> None:
        with self.lock:
            for at, data in self.cached.pop(os.fstat(fd).st_ino, []):
                os.pwrite(fd, data, at)
        os.fsync(fd)


async def _plain_path(node: Any, conv: bytes, *others: Any) -> str:
    """The listed path of the chat's one file, once its plain copy for other programs is
    made (off the loop: listed as preparing until then)."""
    await until(lambda: node.files.list_files(conv)[0].get("path") is not None, node, *others)
    return str(node.files.list_files(conv)[0]["path"])


def _read(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def _random_file(path: Path, size: int) -> Path:
    import random

    path.write_bytes(random.Random(11).randbytes(size))
    return path


def _durable_blocks(raw: bytes, m: mf.Manifest, key: bytes | None) -> list[bytes]:
    """The blocks as a power cut leaves them in the partial file's bytes ``raw``."""
    if key is not None:  # (sealed: open each record; one that does not open is lost)
        file_key = sl.Sealer(key).open_header(raw[:sl.HEADER])
        assert file_key is not None
        plain = bytearray()
        for i in range((m.size + sl.UNIT - 1) // sl.UNIT):
            record = raw[sl.record_offset(i):sl.record_offset(i) + sl.RECORD]
            try:
                plain += file_key.open(i, record)
            except sl.SealError:
                plain += bytes(min(sl.UNIT, m.size - i * sl.UNIT))
        raw = bytes(plain)
    return [raw[s:s + n] for s, n in (mf.block_span(m.size, m.block_size, i)
                                      for i in range(m.count))]


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
async def test_a_block_is_recorded_only_once_its_data_is_durable(
    nodes, tmp_path: Path, monkeypatch, sealed: bool
) -> None:
    key = KeyStore(tmp_path / "bob").create("none", kdf=FAST).key if sealed else None
    alice, bob = await nodes("alice"), await nodes("bob", data_key=key)
    await befriend(alice, bob)
    src = _random_file(tmp_path / "film.bin", SIZE)
    m = mf.scan(src)
    fake = CachingOs()
    monkeypatch.setattr(disk_module, "os", fake)
    recorded: list[bytes] = []
    lost: list[int] = []
    real_update = bob.db.update_file

    def update_file(file: bytes, **kw: Any) -> None:
        bits = kw.get("bitmap")
        if file == m.content_id and bits and kw.get("state") != FILE_COMPLETE:
            recorded.append(bits)
            # a power cut now: what is on the disk is the partial file without the cache
            durable = _durable_blocks(bob.files.disk.partial(file).read_bytes(), m, key)
            b = Bitmap(m.count, bits)
            lost.extend(i for i in range(m.count)
                        if i in b and mf.block_hash(durable[i]) != m.hashes[i])
        real_update(file, **kw)

    monkeypatch.setattr(bob.db, "update_file", update_file)
    held: list[tuple[Any, BlockRequest]] = []
    real_request = alice.files.on_request

    def on_request(peer: Any, r: BlockRequest) -> None:  # half the blocks, then wait
        if r.index < m.count // 2 or recorded:
            real_request(peer, r)
        else:
            held.append((peer, r))

    alice.net.handlers[BlockRequest] = on_request
    conv = (await alice.files.send(bob.user_id, "", [src])).event.conv
    await until(lambda: bool(recorded), alice, bob)  # a bitmap recorded mid-way
    for peer, r in held:
        real_request(peer, r)
    await until(lambda: [f["state"] for f in bob.files.list_files(conv)] == [FILE_COMPLETE],
                alice, bob)
    assert recorded, "no bitmap was recorded on the way"
    assert lost == [], f"blocks recorded as verified but not durable: {sorted(set(lost))}"
    assert _read(await _plain_path(bob, conv, alice)) == _read(src)


async def test_blocks_the_previous_release_recorded_are_checked_again_on_resume(
    nodes, tmp_path: Path
) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    src = _random_file(tmp_path / "film.bin", SIZE)
    m = mf.scan(src)
    half = m.count // 2
    served: list[int] = []
    real = alice.files.on_request

    def on_request(peer: Any, r: BlockRequest) -> None:  # serve half, then hold back
        if len(served) < half or gate:
            served.append(r.index)
            real(peer, r)

    gate: list[bool] = []
    alice.net.handlers[BlockRequest] = on_request
    await alice.files.send(bob.user_id, "", [src])
    fid = m.content_id

    def recorded() -> set[int]:
        row = bob.db.file(fid)
        b = Bitmap(m.count, row.bitmap) if row is not None and row.bitmap else Bitmap(m.count)
        return {i for i in range(m.count) if i in b}

    await until(lambda: len(recorded()) == half, alice, bob)
    await nodes.stop(bob)  # (a plain profile of the previous release)
    # ...whose power cut lost a block it had recorded as verified
    part = bob.files.disk.partial(fid)
    lost = sorted(recorded_before := set(served))[1]
    start, length = mf.block_span(m.size, m.block_size, lost)
    with part.open("r+b") as f:
        f.seek(start)
        f.write(bytes(length))
    served.clear()
    gate.append(True)

    key = KeyStore(tmp_path / "bob").create("none", kdf=FAST).key
    bob = await nodes("bob", data_key=key)  # the upgrade: sealed, then re-checked
    await bob.connect("127.0.0.1", alice.port)
    await until(lambda: bob.db.file(fid) is not None
                and bob.db.file(fid).state == FILE_COMPLETE, alice, bob, timeout=20)
    assert lost in served  # asked again
    assert not set(served) & (recorded_before - {lost})  # and only that one of the half
    conv = bob.db.attachments_of(fid)[0].conv
    assert _read(await _plain_path(bob, conv, alice)) == _read(src)
    assert not bob.files.disk.needs_recheck(fid)
