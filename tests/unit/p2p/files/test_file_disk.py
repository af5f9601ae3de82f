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
    disk.open_partial(fid)
    disk.write(fid, 0, b"old bytes")
    disk.drop_partial(fid)
    assert not disk.has_partial(fid)
    disk.open_partial(fid)
    disk.write(fid, 0, b"new")  # (a fresh file, not the closed descriptor)
    assert disk.partial(fid).read_bytes() == b"new"
    disk.finish(fid)
    disk.read(fid, 0, 3)
    disk.path(fid).unlink()  # behind Kith's back
    with pytest.raises(FileNotFoundError):
        disk.read(fid, 0, 3)
    disk.remove(fid)
    disk.close()


@pytest.mark.parametrize("key", [None, b"\x05" * 32])
def test_the_writers_disk_never_brings_back_a_cancelled_partial_file(
    tmp_path: Path, key: bytes | None,
) -> None:
    """The writer's Disk (on the hashing thread) opens what the loop's Disk created; jobs
    queued before a cancel run after the loop removed the file, and must not create it
    again (a partial file of a cancelled download left behind)."""
    loop_disk, writer = Disk(tmp_path / "profile", key), Disk(tmp_path / "profile", key)
    fid = b"\x0a" * 32
    loop_disk.open_partial(fid, 4096)
    loop_disk.drop_partial(fid)  # cancelled, before the writer's queued open came
    assert writer.open_partial(fid, 4096, create=False) is False
    with pytest.raises(FileNotFoundError):
        writer.write_block(fid, 0, b"x" * 4096)
    assert not loop_disk.has_partial(fid)
    loop_disk.open_partial(fid, 4096)  # started again: the writer opens the new one
    assert writer.open_partial(fid, 4096, create=False) is True
    writer.write_block(fid, 0, b"y" * 4096)
    writer.close()
    assert loop_disk.read(fid, 0, 4096, partial=True) == b"y" * 4096
    loop_disk.close()
