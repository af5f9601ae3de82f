"""kill -9 of the receiver mid-transfer (a real `kith daemon` process), then a restart:
the file completes, and no block verified before the kill is sent again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from clikit import eventually, spawn
from nodekit import befriend

from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.disk import Disk
from kith.p2p.files.protocol import BlockRequest
from kith.p2p.keystore import KeyStore
from kith.p2p.profile import DB_FILE
from kith.storage import Store

SIZE = 24 * 1000 * 1000  # 128 KiB blocks: 184 of them
HALF = 92


def _random_file(path: Path, size: int) -> Path:
    import random

    path.write_bytes(random.Random(7).randbytes(size))
    return path


def _persisted(profile: Path, fid: bytes, count: int) -> set[int]:
    keys = KeyStore(profile)  # (the daemon encrypted bob's profile at its first start)
    store = Store(profile / DB_FILE, key=keys.unlock() if keys.exists() else None)
    try:
        row = store.execute("SELECT bitmap FROM files WHERE id = ?", (fid,))
        row = row[0] if row else None
    finally:
        store.close()
    if row is None or row[0] is None:
        return set()
    b = Bitmap(count, row[0])
    return {i for i in range(count) if i in b}


async def _ready(proc: Any) -> None:
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.startswith(b"kith daemon ready"), line


async def test_kill_9_of_the_receiver_then_restart(nodes, tmp_path, mdns_isolated) -> None:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    bob.set_setting("auto_download", 10**9)
    port = bob.port
    await nodes.stop(bob)
    src = _random_file(tmp_path / "movie.bin", SIZE)

    # alice serves HALF the blocks, then sits on the requests (bob is killed meanwhile).
    served: list[int] = []
    held: list[tuple[Any, BlockRequest]] = []
    gate = {"open": False}
    real = alice.files.on_request

    def on_request(peer, r: BlockRequest) -> None:
        if gate["open"] or len(served) < HALF:
            served.append(r.index)
            real(peer, r)
        else:
            held.append((peer, r))

    alice.net.handlers[BlockRequest] = on_request
    profile = tmp_path / "bob"
    daemon = await spawn(profile, "daemon", "--port", str(port))
    try:
        await _ready(daemon)
        e = await alice.files.send(bob.user_id, "", [src])
        await alice.flush()
        [f] = alice.files.list_files(e.event.conv)
        fid = bytes.fromhex(f["id"])
        count = (SIZE + 128 * 1024 - 1) // (128 * 1024)
        await eventually(lambda: len(served) == HALF and bool(held), timeout=60)
        await eventually(lambda: alice.files.served[fid] >= HALF * 128 * 1024, timeout=60)
        # bob verified and recorded every block alice sent (its window is still full):
        await eventually(lambda: _persisted(profile, fid, count) == set(served), timeout=60)
        daemon.kill()  # SIGKILL
        await daemon.wait()
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()
    before = _persisted(profile, fid, count)
    assert before == set(served) and len(before) == HALF
    held.clear()
    served.clear()
    gate["open"] = True

    daemon = await spawn(profile, "daemon", "--port", str(port))
    try:
        await _ready(daemon)
        target = profile / "files" / fid.hex()
        await eventually(target.exists, timeout=90)
    finally:
        daemon.terminate()
        await daemon.wait()
    disk = Disk(profile, KeyStore(profile).unlock())  # (the file is sealed at rest)
    assert disk.read(fid, 0, SIZE) == src.read_bytes()
    disk.close()
    again = set(served)
    assert not again & before, f"blocks sent again: {sorted(again & before)}"
    assert len(before) + len(again) >= count
