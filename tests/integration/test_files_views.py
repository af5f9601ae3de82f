"""Plain copies of sealed files for other programs (p2p.files.views): made on a thread,
never on the loop; listed as ``path: null, preparing: true`` meanwhile, with a
FileChanged once the copy is there; the commands a script runs wait for it."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from nodekit import befriend, until
from test_files import make_file, read, send

from kith.p2p import commands
from kith.p2p.api import FileChanged
from kith.p2p.files.disk import Disk
from kith.p2p.node import Node
from kith.storage.files import FILE_COMPLETE


async def sealed_file(nodes, tmp_path: Path) -> tuple[Node, Node, bytes, bytes, Path]:
    alice = await nodes("alice", data_key=os.urandom(32))
    bob = await nodes("bob", data_key=os.urandom(32))
    await befriend(alice, bob)
    src = make_file(tmp_path / "report.bin", 700_000)
    conv, fid = await send(alice, bob, src)

    def complete() -> bool:
        row = bob.db.file(fid)
        return row is not None and row.state == FILE_COMPLETE

    await until(complete, alice, bob)
    return alice, bob, conv, fid, src


async def test_the_plain_copy_is_made_on_a_thread_and_told_when_ready(
    nodes, tmp_path: Path, monkeypatch
) -> None:
    alice, bob, conv, fid, src = await sealed_file(nodes, tmp_path)
    made_on: list[str] = []
    real = Disk.plain_path

    def plain_path(self: Disk, file: bytes) -> Path:
        made_on.append(threading.current_thread().name)
        return real(self, file)

    monkeypatch.setattr(Disk, "plain_path", plain_path)
    changed = asyncio.Event()
    bob.subscribe(lambda e: isinstance(e, FileChanged) and e.file == fid and changed.set())
    [f] = bob.files.list_files(conv)
    assert f["state"] == FILE_COMPLETE and f["path"] is None and f["preparing"] is True
    await asyncio.wait_for(changed.wait(), 30)
    [f] = bob.files.list_files(conv)
    assert "preparing" not in f and read(f["path"]) == read(src)
    assert made_on and all(name.startswith("kith-files-view") for name in made_on)
    assert not Path(f["path"]).is_relative_to(bob.profile)


async def test_kith_files_gives_a_path_that_exists_at_once(nodes, tmp_path: Path) -> None:
    alice, bob, conv, fid, src = await sealed_file(nodes, tmp_path)
    [f] = await commands.run(bob, "files", {"peer": "alice"})
    assert f["state"] == FILE_COMPLETE and read(f["path"]) == read(src)
    [m] = await commands.run(bob, "history", {"peer": "alice"})
    assert read(m["files"][0]["path"]) == read(src)
    [mine] = await commands.run(alice, "files", {"peer": "bob"})
    assert read(mine["path"]) == read(src)


async def test_a_sealed_file_that_does_not_open_is_reported_not_hung(
    nodes, tmp_path: Path
) -> None:
    alice, bob, conv, fid, src = await sealed_file(nodes, tmp_path)
    stored = bob.files.disk.path(fid)
    data = bytearray(stored.read_bytes())
    data[200] ^= 1  # (a record changed behind Kith's back)
    stored.write_bytes(bytes(data))
    [f] = await commands.run(bob, "files", {"peer": "alice"})
    assert "path" not in f and "does not open" in f["problem"]
    assert "preparing" not in f
