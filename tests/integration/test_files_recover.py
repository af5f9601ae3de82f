"""Issue 11, "a resumed transfer re-sends nothing verified": blocks a receiver wrote to its
partial file but had not recorded when it stopped (killed between the write and the
fsync round that records it) are found at restart and not fetched again; one that is
damaged is. Nodes in one process; the receiver's bitmaps never reach its database, as
if it had been killed before every recording."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from nodekit import befriend, until

from kith.p2p.files import manifest as mf
from kith.p2p.files import recovery
from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.protocol import BlockRequest
from kith.p2p.keystore import KdfParams, KeyStore
from kith.p2p.node import Node
from kith.storage.files import FILE_COMPLETE

SIZE = 3 * 1000 * 1000  # 128 KiB blocks: 23 of them
FAST = KdfParams(opslimit=1, memlimit=8192)


class Holder:
    """Alice's block requests: served (and counted) up to ``limit``, then held back."""

    def __init__(self, alice: Node, limit: int) -> None:
        self.served: list[int] = []
        self.limit = limit
        self.real = alice.files.on_request
        alice.net.handlers[BlockRequest] = self.on_request

    def on_request(self, peer: Any, r: BlockRequest) -> None:
        if len(self.served) < self.limit:
            self.served.append(r.index)
            self.real(peer, r)

    def open(self) -> None:
        self.served.clear()
        self.limit = 10**9


async def _stopped_with_unrecorded_blocks(
    nodes: Any, tmp_path: Path, sealed: bool
) -> tuple[Node, Holder, mf.Manifest, bytes, bytes | None]:
    """Bob fetches half the file, writes it, records none of it, stops: (alice, her
    requests, the manifest, the file's bytes, bob's data key)."""
    key = KeyStore(tmp_path / "bob").create("none", kdf=FAST).key if sealed else None
    alice, bob = await nodes("alice"), await nodes("bob", data_key=key)
    await befriend(alice, bob)
    data = random.Random(5).randbytes(SIZE)
    src = tmp_path / "film.bin"
    src.write_bytes(data)
    m = mf.scan(src)
    fid = m.content_id
    dropped: list[bytes] = []
    real_update = bob.db.update_file

    def update_file(file: bytes, **kw: Any) -> None:  # (killed before each recording)
        if file == fid and "bitmap" in kw and kw.get("state") != FILE_COMPLETE:
            dropped.append(kw.pop("bitmap"))
            if not kw:
                return
        real_update(file, **kw)

    bob.db.update_file = update_file  # type: ignore[method-assign]
    holder = Holder(alice, m.count // 2)
    await alice.files.send(bob.user_id, "", [src])

    def written() -> int:
        t = bob.files.transfers.get(fid)
        return t.dl.bitmap.verified if t is not None and t.dl is not None else 0

    # (a block counts in memory once written: the hashing thread writes, then tells)
    await until(lambda: written() == m.count // 2, alice, bob)
    await nodes.stop(bob)
    assert dropped, "no bitmap was to be recorded"
    return alice, holder, m, data, key


async def _resume(nodes: Any, alice: Node, holder: Holder, m: mf.Manifest,
                  key: bytes | None) -> Node:
    holder.open()
    bob = await nodes("bob", data_key=key)
    row = bob.db.file(m.content_id)
    assert row is not None
    assert not row.bitmap or not Bitmap(m.count, row.bitmap).verified  # none recorded
    await bob.connect("127.0.0.1", alice.port)
    await until(lambda: bob.db.file(m.content_id).state == FILE_COMPLETE, alice, bob,
                timeout=30)
    return bob


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
async def test_blocks_written_but_not_recorded_are_not_fetched_again(
    nodes: Any, tmp_path: Path, sealed: bool
) -> None:
    alice, holder, m, data, key = await _stopped_with_unrecorded_blocks(nodes, tmp_path, sealed)
    before = set(holder.served)
    bob = await _resume(nodes, alice, holder, m, key)
    again = set(holder.served)
    assert not again & before, f"blocks sent again: {sorted(again & before)}"
    assert again == set(range(m.count)) - before
    assert bob.files.disk.read(m.content_id, 0, SIZE) == data
    row = bob.db.file(m.content_id)
    assert row is not None and Bitmap(m.count, row.bitmap).complete


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
async def test_a_damaged_unrecorded_block_is_fetched_again(
    nodes: Any, tmp_path: Path, sealed: bool
) -> None:
    alice, holder, m, data, key = await _stopped_with_unrecorded_blocks(nodes, tmp_path, sealed)
    before = set(holder.served)
    damaged = sorted(before)[1]
    part = tmp_path / "bob" / "files" / "partial" / f"{m.content_id.hex()}.part"
    lo, hi = recovery.stored_span(m.size, m.block_size, damaged, sealed)
    with part.open("r+b") as f:  # (a power cut's garbage in the middle of it)
        f.seek((lo + hi) // 2)
        was = f.read(64)
        f.seek((lo + hi) // 2)
        f.write(bytes(b ^ 0xFF for b in was))
    bob = await _resume(nodes, alice, holder, m, key)
    again = set(holder.served)
    assert again & before == {damaged}
    assert bob.files.disk.read(m.content_id, 0, SIZE) == data
