"""Blocks written to a partial file but not recorded: found from its data regions, and
counted only when whole and matching their hash (p2p.files.recovery)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from kith.p2p.files import manifest as mf
from kith.p2p.files import recovery
from kith.p2p.files import sealing as sl
from kith.p2p.files.disk import Disk

KEY = bytes(range(32))
SIZE = 5 * mf.MIN_BLOCK + 1000  # 6 blocks, the last one short


def _manifest(data: bytes) -> mf.Manifest:
    bs = mf.block_size_for(len(data))
    return mf.Manifest(len(data), bs, [mf.block_hash(data[i:i + bs])
                                       for i in range(0, len(data), bs)])


def _partial(tmp_path: Path, key: bytes | None, blocks: list[int]) -> tuple[Disk, bytes,
                                                                            mf.Manifest]:
    """A partial file holding ``blocks`` (the others never written: holes)."""
    data = random.Random(3).randbytes(SIZE)
    m = _manifest(data)
    disk = Disk(tmp_path / "profile", key)
    fid = m.content_id
    disk.open_partial(fid, SIZE)
    for i in blocks:
        start, length = m.span(i)
        disk.write_block(fid, start, data[start:start + length])
    disk.close_handles()
    return disk, fid, m


def _holes_supported(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        regions = recovery.data_regions(fd)
    finally:
        os.close(fd)
    return regions is not None and len(regions) > 1


@pytest.mark.parametrize("key", [KEY, None], ids=["sealed", "plain"])
def test_blocks_written_whole_are_found_and_holes_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: bytes | None
) -> None:
    disk, fid, m = _partial(tmp_path, key, [0, 2, 3, 5])
    if not _holes_supported(disk.partial(fid)):
        pytest.skip("this file system does not tell holes from data")
    read: list[int] = []
    real = Disk.read

    def counting(self: Disk, file: bytes, offset: int, length: int, **kw: bool) -> bytes:
        read.append(offset // m.block_size)
        return real(self, file, offset, length, **kw)

    monkeypatch.setattr(Disk, "read", counting)
    assert disk.unrecorded_blocks(fid, m.hashes, m.block_size, m.size, [1, 2, 4, 5]) == [2, 5]
    assert sorted(read) == [2, 5]  # (1 and 4 are holes: never read; 0 and 3 recorded)


@pytest.mark.parametrize("key", [KEY, None], ids=["sealed", "plain"])
def test_a_damaged_or_torn_block_stays_missing(tmp_path: Path, key: bytes | None) -> None:
    disk, fid, m = _partial(tmp_path, key, [0, 1, 2, 3])
    part = disk.partial(fid)
    lo, hi = recovery.stored_span(m.size, m.block_size, 1, key is not None)
    with part.open("r+b") as f:  # block 1: a byte changed in its middle
        f.seek((lo + hi) // 2)
        byte = f.read(1)
        f.seek((lo + hi) // 2)
        f.write(bytes([byte[0] ^ 1]))
    lo, hi = recovery.stored_span(m.size, m.block_size, 3, key is not None)
    os.truncate(part, hi - 100)  # block 3: torn (the end never written)
    assert disk.unrecorded_blocks(fid, m.hashes, m.block_size, m.size, [1, 2, 3]) == [2]


def test_another_profiles_sealed_blocks_do_not_count(tmp_path: Path) -> None:
    disk, fid, m = _partial(tmp_path, KEY, [0, 1])
    other = Disk(tmp_path / "profile", bytes(32))
    assert other.unrecorded_blocks(fid, m.hashes, m.block_size, m.size, [0, 1]) == []


def test_nothing_is_checked_where_holes_cannot_be_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk, fid, m = _partial(tmp_path, None, [0, 1, 2])
    assert disk.unrecorded_blocks(fid, m.hashes, m.block_size, m.size, [1]) == [1]
    monkeypatch.setattr(recovery, "data_regions", lambda fd: None)
    assert disk.unrecorded_blocks(fid, m.hashes, m.block_size, m.size, [1]) == []
    fd = os.open(disk.partial(fid), os.O_RDONLY)
    try:
        monkeypatch.delattr(os, "SEEK_DATA")  # (a system without it)
        assert recovery.data_regions(fd) is None
    finally:
        os.close(fd)


def test_no_partial_file_finds_nothing(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "profile")
    assert disk.unrecorded_blocks(b"\x01" * 32, [b"\x00" * 32], mf.MIN_BLOCK, 10, [0]) == []


def test_a_block_counts_only_wholly_inside_a_region() -> None:
    bs = mf.MIN_BLOCK
    size = 4 * bs
    regions = [(0, bs), (2 * bs, 3 * bs - 1)]  # block 0 whole; block 2 one byte short
    assert recovery.within(regions, [0, 1, 2, 3], size, bs, sealed=False) == [0]
    # sealed: a block's records (nonce and tag each) lie past its plain bytes
    lo, hi = recovery.stored_span(size, bs, 1, sealed=True)
    assert (lo, hi) == (sl.record_offset(2), sl.record_offset(4))
    assert recovery.within([(lo, hi)], [0, 1, 2], size, bs, sealed=True) == [1]
    assert recovery.within([(lo, hi - 1)], [1], size, bs, sealed=True) == []
    assert recovery.within([], [0], size, bs, sealed=False) == []
