"""The manifest: block sizes, per-block hashes, the content id, decoding checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kith.p2p.files import manifest as mf


def test_block_size_grows_with_the_file_like_syncthing() -> None:
    assert mf.block_size_for(0) == mf.MIN_BLOCK
    assert mf.block_size_for(250 * 1024 * 1024) == mf.MIN_BLOCK  # 2000 blocks of 128 KiB
    assert mf.block_size_for(250 * 1024 * 1024 + 1) == 2 * mf.MIN_BLOCK
    assert mf.block_size_for(1024**3) == 1024 * 1024
    assert mf.block_size_for(mf.MAX_FILE) == 4 * 1024 * 1024
    for size in (1, 10**6, 10**9, mf.MAX_FILE):
        bs = mf.block_size_for(size)
        assert mf.block_count(size, bs) <= mf.TARGET_BLOCKS


def test_scan_hashes_each_block_and_the_id_is_the_manifest_hash(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1500  # 384000 bytes: 3 blocks, the last one short
    path = tmp_path / "f"
    path.write_bytes(data)
    m = mf.scan(path)
    bs = mf.MIN_BLOCK
    assert m.size == len(data) and m.block_size == bs and m.count == 3
    for i in range(3):
        block = data[i * bs:(i + 1) * bs]
        assert m.hashes[i] == hashlib.blake2b(block, digest_size=32).digest()
        assert m.verify_block(i, block)
    assert not m.verify_block(0, data[1:bs + 1])
    assert not m.verify_block(3, b"")
    assert m.span(2) == (2 * bs, len(data) - 2 * bs)
    assert m.content_id == hashlib.blake2b(m.encode(), digest_size=32).digest()


def test_builder_gives_the_same_manifest_whatever_the_chunks() -> None:
    data = bytes(i % 251 for i in range(300_001))
    one = mf.Builder(len(data))
    one.update(data)
    many = mf.Builder(len(data))
    for i in range(0, len(data), 7777):
        many.update(data[i:i + 7777])
    assert one.finish() == many.finish()


def test_a_file_that_changes_while_read_is_refused() -> None:
    b = mf.Builder(10)
    with pytest.raises(mf.ManifestError):
        b.update(b"x" * 11)
    b = mf.Builder(10)
    b.update(b"x" * 5)
    with pytest.raises(mf.ManifestError):
        b.finish()


def test_empty_file_has_no_blocks(tmp_path: Path) -> None:
    (tmp_path / "e").write_bytes(b"")
    m = mf.scan(tmp_path / "e")
    assert m.count == 0 and mf.problem(m) is None


def test_decode_checks_the_id_and_the_rules() -> None:
    m = mf.Manifest(10, mf.MIN_BLOCK, [b"\x01" * 32])
    assert mf.decode(m.encode(), m.content_id) == m
    with pytest.raises(mf.ManifestError, match="content id"):
        mf.decode(m.encode(), b"\x00" * 32)
    for bad in (
        mf.Manifest(10, mf.MIN_BLOCK, []),  # a block short
        mf.Manifest(10, mf.MIN_BLOCK, [b"\x01" * 31]),
        mf.Manifest(10, 2 * mf.MIN_BLOCK, [b"\x01" * 32]),  # wrong block size
        mf.Manifest(mf.MAX_FILE + 1, mf.block_size_for(mf.MAX_FILE + 1), []),
        mf.Manifest(-1, mf.MIN_BLOCK, []),
    ):
        with pytest.raises(mf.ManifestError):
            mf.decode(bad.encode(), bad.content_id)
    junk = b"\x93garbage"
    with pytest.raises(mf.ManifestError, match="malformed"):
        mf.decode(junk, mf.block_hash(junk))


def test_impossible_sizes() -> None:
    assert mf.sizes_problem(-1, mf.MIN_BLOCK)
    assert mf.sizes_problem(mf.MAX_FILE + 1, mf.block_size_for(mf.MAX_FILE + 1))
    assert mf.sizes_problem(100, 0)
    assert mf.sizes_problem(mf.MAX_FILE, mf.block_size_for(mf.MAX_FILE)) is None
    with pytest.raises(mf.ManifestError):
        mf.Builder(mf.MAX_FILE + 1)
