"""Content-addressed files on disk: import, partial writes, finish, read, remove."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kith.p2p.files import manifest as mf
from kith.p2p.files.disk import Disk


def test_import_stores_a_file_once_under_its_content_id(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "profile")
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(300_000))
    m = disk.import_file(src)
    assert m == mf.scan(src)
    assert disk.path(m.content_id).read_bytes() == src.read_bytes()
    copy = tmp_path / "b.bin"
    copy.write_bytes(src.read_bytes())
    assert disk.import_file(copy).content_id == m.content_id
    assert [p.name for p in disk.root.iterdir() if p.is_file()] == [m.content_id.hex()]
    assert list(disk.partial_root.iterdir()) == []  # no leftover import-* copy
    assert oct(disk.root.stat().st_mode & 0o777) == "0o700"


def test_partial_writes_finish_into_the_file(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "profile")
    fid = b"\x07" * 32
    disk.open_partial(fid)
    disk.write(fid, 5, b"world")
    disk.write(fid, 0, b"hello")
    assert disk.has_partial(fid) and not disk.complete(fid)
    assert disk.read(fid, 0, 10, partial=True) == b"helloworld"
    assert disk.finish(fid).read_bytes() == b"helloworld"
    assert disk.complete(fid) and not disk.has_partial(fid)
    assert disk.read(fid, 5, 5) == b"world"
    with pytest.raises(OSError, match="shorter"):
        disk.read(fid, 8, 5)
    disk.close()


def test_a_dropped_partial_starts_again_empty_and_a_removed_file_is_noticed(
    tmp_path: Path,
) -> None:
    disk = Disk(tmp_path / "profile")
    fid = b"\x09" * 32
    disk.write(fid, 0, b"old bytes")
    disk.drop_partial(fid)
    assert not disk.has_partial(fid)
    disk.write(fid, 0, b"new")  # (a fresh file, not the closed descriptor)
    assert disk.partial(fid).read_bytes() == b"new"
    disk.finish(fid)
    disk.read(fid, 0, 3)
    disk.path(fid).unlink()  # behind Kith's back
    with pytest.raises(FileNotFoundError):
        disk.read(fid, 0, 3)
    disk.remove(fid)
    disk.close()
