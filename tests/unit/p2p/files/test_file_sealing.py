"""Files sealed at rest (p2p.files.sealing through the disk layer): random-access reads
and writes, tampering, and sealing the previous release's plain files in place."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from kith.p2p.files import sealing as sl
from kith.p2p.files.disk import Disk
from kith.p2p.files.protocol import PIECE

KEY = bytes(range(32))


def data_of(size: int, seed: int = 3) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def test_an_imported_file_is_sealed_and_reads_back_at_any_offset(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "profile", KEY)
    src = tmp_path / "a.bin"
    data = data_of(3 * sl.UNIT + 1234)
    src.write_bytes(data)
    m = disk.import_file(src)
    raw = disk.path(m.content_id).read_bytes()
    assert len(raw) == sl.sealed_size(len(data)) and sl.plain_size(len(raw)) == len(data)
    assert data[:64] not in raw and data[-64:] not in raw
    for off, n in ((0, 10), (sl.UNIT - 5, 10), (2 * sl.UNIT, sl.UNIT + 1234), (5, PIECE)):
        assert disk.read(m.content_id, off, n) == data[off:off + n]
    plain = disk.plain_path(m.content_id)
    assert plain.read_bytes() == data and not plain.is_relative_to(tmp_path / "profile")
    disk.close()
    assert not plain.exists()  # (the plain copy goes with the node)
    assert Disk(tmp_path / "profile").read(m.content_id, 0, 8) != data[:8]  # no key: noise


def test_pieces_written_out_of_record_alignment_seal_whole_records(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "profile", KEY)
    fid = b"\x05" * 32
    block = 2 * sl.UNIT  # blocks start on records; pieces (63 KiB) do not
    data = data_of(block + 1000)
    disk.open_partial(fid, len(data))
    for start in (block, 0):  # the second block first, as from two holders
        end = min(start + block, len(data))
        for off in range(start, end, PIECE):
            disk.write(fid, off, data[off:min(off + PIECE, end)])
    assert disk.read(fid, 0, len(data), partial=True) == data
    disk.write(fid, 0, b"x" * 10)  # a block asked again starts its record again
    with pytest.raises(OSError, match="out of order"):
        disk.write(fid, 20, b"y")
    disk.write(fid, 0, data[:block])
    disk.sync(fid)
    assert data[:64] not in disk.partial(fid).read_bytes()
    assert disk.finish(fid).stat().st_size == sl.sealed_size(len(data))
    assert disk.read(fid, sl.UNIT - 3, 2000) == data[sl.UNIT - 3:sl.UNIT + 1997]
    disk.close()


def test_a_changed_or_moved_record_does_not_open(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "profile", KEY)
    disk.ensure()  # (a new folder: nothing of the previous release here)
    src = tmp_path / "a.bin"
    src.write_bytes(data_of(3 * sl.UNIT))
    fid = disk.import_file(src).content_id
    path = disk.path(fid)
    raw = bytearray(path.read_bytes())
    raw[sl.record_offset(1) + 100] ^= 1
    path.write_bytes(raw)
    disk.read(fid, 0, 10)
    with pytest.raises(OSError, match="does not open"):
        disk.read(fid, sl.UNIT, 10)
    disk.close()
    a, b = sl.record_offset(0), sl.record_offset(2)
    raw[a:a + sl.RECORD], raw[b:b + sl.RECORD] = raw[b:b + sl.RECORD], raw[a:a + sl.RECORD]
    path.write_bytes(raw)
    with pytest.raises(OSError, match="does not open"):
        Disk(tmp_path / "profile", KEY).read(fid, 0, 10)
    with pytest.raises(OSError, match="does not open"):
        Disk(tmp_path / "profile", bytes(32)).read(fid, 0, 10)  # another profile's key


def _plain_profile(tmp_path: Path) -> tuple[Path, dict[bytes, bytes]]:
    """Files as the previous release stored them: two complete, one partial."""
    profile = tmp_path / "profile"
    old = Disk(profile)
    files: dict[bytes, bytes] = {}
    for i, size in enumerate((5 * sl.UNIT + 7, 1000)):
        src = tmp_path / f"{i}.bin"
        # (the second starts like a sealed file: it is still read as the plain file it is)
        src.write_bytes(data_of(size, i) if i == 0 else sl.MAGIC + data_of(size - 8, i))
        files[old.import_file(src).content_id] = src.read_bytes()
    fid = b"\x0b" * 32
    part = data_of(2 * sl.UNIT, 9)
    old.open_partial(fid)
    old.write(fid, 0, part)
    old.close()
    files[fid] = part
    return profile, files


def _raw(profile: Path) -> bytes:
    return b"".join(p.read_bytes() for p in profile.rglob("*") if p.is_file())


def test_plain_files_of_the_previous_release_are_sealed_in_place(tmp_path: Path) -> None:
    profile, files = _plain_profile(tmp_path)
    disk = Disk(profile, KEY)
    partial = b"\x0b" * 32
    for fid, data in files.items():  # readable before they are sealed
        assert disk.read(fid, 0, 100, partial=fid == partial) == data[:100]
    disk.close()
    assert disk.seal_existing() == 3
    assert all(data[:64] not in _raw(profile) for data in files.values())
    for fid, data in files.items():
        assert disk.read(fid, 0, len(data), partial=fid == partial) == data
    assert Disk(profile, KEY).seal_existing() == 0
    # (and its recorded blocks are to be hashed again: the old release did not sync them)
    assert sorted(p.name for p in disk.partial_root.iterdir()) == [
        f"{partial.hex()}.part", f"{partial.hex()}.recheck"]
    assert disk.needs_recheck(partial)
    assert (disk.root / ".sealed").exists()


def test_sealing_interrupted_at_any_record_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile, files = _plain_profile(tmp_path)
    total = 6 + 1 + 2  # records of the three files
    real = sl.FileKey.seal
    for stop_at in range(1, total + 1, 2):
        calls = 0

        def seal(self: sl.FileKey, index: int, data: bytes | bytearray | memoryview,
                 stop_at: int = stop_at) -> bytes:
            nonlocal calls
            calls += 1
            if calls == stop_at:
                raise KeyboardInterrupt  # (a kill between any two records)
            return real(self, index, data)

        monkeypatch.setattr(sl.FileKey, "seal", seal)
        with pytest.raises(KeyboardInterrupt):
            Disk(profile, KEY).seal_existing()
        monkeypatch.setattr(sl.FileKey, "seal", real)
        disk = Disk(profile, KEY)
        for fid, data in files.items():
            assert disk.read(fid, 0, len(data), partial=fid == b"\x0b" * 32) == data
        disk.close()
        assert not (profile / "files" / ".sealed").exists()
        _undo(profile)  # plain again for the next interruption point
    disk = Disk(profile, KEY)
    disk.seal_existing()
    assert not [p for p in disk.partial_root.iterdir() if p.name.startswith("seal-")]
    assert all(data[:64] not in _raw(profile) for data in files.values())


def _undo(profile: Path) -> None:
    disk = Disk(profile, KEY)
    for p in [*disk.root.iterdir(), *disk.partial_root.iterdir()]:
        if p.is_file() and disk.sealer and disk.sealer.open_header(p.read_bytes()[:sl.HEADER]):
            fid = bytes.fromhex(p.name.removesuffix(".part"))
            size = sl.plain_size(p.stat().st_size)
            data = disk.read(fid, 0, size, partial=p.name.endswith(".part"))
            disk.close()
            p.write_bytes(data)
    for p in disk.partial_root.glob("seal-*"):
        os.unlink(p)


@pytest.mark.parametrize("key", [KEY, None], ids=["sealed", "plain"])
def test_whole_blocks_written_at_once_read_back(tmp_path: Path, key: bytes | None) -> None:
    disk = Disk(tmp_path / "profile", key)
    fid = b"\x06" * 32
    block = 2 * sl.UNIT
    data = data_of(2 * block + 777)  # (the last block is short, its last record too)
    disk.open_partial(fid, len(data))
    for start in (2 * block, 0, block):
        disk.write_block(fid, start, data[start:start + block])
    disk.write(fid, 0, data[:PIECE])  # (a piece-wise try left behind…)
    disk.write_block(fid, 0, data[:block])  # (…is forgotten when the block comes whole)
    assert disk.read(fid, 0, len(data), partial=True) == data
    disk.sync(fid)
    raw = disk.partial(fid).read_bytes()
    assert (data[:64] in raw) is (key is None)
    assert disk.finish(fid).stat().st_size == (sl.sealed_size(len(data)) if key else len(data))
    assert disk.read(fid, block - 5, 10) == data[block - 5:block + 5]


def test_a_block_off_a_record_boundary_or_past_the_end_is_refused(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "profile", KEY)
    fid = b"\x07" * 32
    disk.open_partial(fid, 3 * sl.UNIT)
    with pytest.raises(OSError, match="boundary"):
        disk.write_block(fid, 100, b"x" * sl.UNIT)
    with pytest.raises(OSError, match="boundary"):
        disk.write_block(fid, 2 * sl.UNIT, b"x" * (sl.UNIT + 1))


def test_each_record_of_a_block_gets_its_own_nonce() -> None:
    key = sl.FileKey(KEY)
    data = data_of(3 * sl.UNIT)
    pieces = key.seal_block(4, data)
    nonces = pieces[0::2]
    assert len(nonces) == 3 and len(set(nonces)) == 3
    for i, (nonce, sealed) in enumerate(zip(nonces, pieces[1::2], strict=True)):
        assert key.open(4 + i, nonce + sealed) == data[i * sl.UNIT:(i + 1) * sl.UNIT]
    with pytest.raises(sl.SealError):
        key.open(0, pieces[0] + pieces[1])  # (another index: does not open)


def test_sealing_the_previous_releases_files_tells_its_progress(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profile, files = _plain_profile(tmp_path)
    # (a larger one, so that the bytes go in several steps)
    big = tmp_path / "big.bin"
    big.write_bytes(data_of(40 * sl.UNIT, 5))
    Disk(profile).import_file(big)
    total = sum(len(d) for d in files.values()) + 40 * sl.UNIT
    told: list[tuple[int, int, int, int]] = []
    caplog.set_level(logging.INFO, logger="kith.p2p.files.oldfiles")
    assert Disk(profile, KEY).seal_existing(lambda *a: told.append(a)) == 4
    assert told[0] == (0, 4, 0, total) and told[-1] == (4, 4, total, total)
    assert [t[2] for t in told] == sorted(t[2] for t in told) and len(told) > 6
    assert [t[0] for t in told] == sorted(t[0] for t in told)
    lines = [r.getMessage() for r in caplog.records if r.name == "kith.p2p.files.oldfiles"]
    assert lines[0].startswith("sealing 4 file(s) of the previous release")
    assert any("sealing the previous release's files:" in line and "%" in line
               for line in lines)
    assert lines[-1] == "sealed 4 file(s) of the previous release with the profile's key"
    told.clear()
    assert Disk(profile, KEY).seal_existing(lambda *a: told.append(a)) == 0 and told == []


def test_the_cli_shows_the_sealing_lines_without_verbose() -> None:
    import io

    from kith.app.cli import setup_logging

    sealing, root = logging.getLogger("kith.p2p.files.oldfiles"), logging.getLogger()
    before, root_level, handlers = sealing.level, root.level, list(root.handlers)
    try:
        setup_logging(0, io.StringIO())
        assert sealing.isEnabledFor(logging.INFO)
    finally:
        sealing.setLevel(before)
        root.setLevel(root_level)
        root.handlers[:] = handlers
