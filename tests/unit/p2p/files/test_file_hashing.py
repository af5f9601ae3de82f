"""p2p.files.hashing: whole blocks hashed, written only if they match, in order, with
the results told on the loop."""

from __future__ import annotations

import asyncio
import errno
import hashlib

from kith.p2p.files.hashing import HashWorker


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


async def test_a_block_is_written_only_if_its_hash_matches_and_in_order() -> None:
    worker = HashWorker()
    written: list[bytes] = []
    results: list[tuple[int, bool]] = []
    failures: list[OSError] = []
    done = asyncio.Event()
    blocks = [[b"a" * 1000, b"b" * 10], [b"c" * 5000], [b"d" * 7, b"e"]]
    expected = [digest(b"".join(blocks[0])), digest(b"wrong"), digest(b"".join(blocks[2]))]
    try:
        for i, (parts, want) in enumerate(zip(blocks, expected, strict=True)):
            def told(ok: bool, i: int = i) -> None:
                results.append((i, ok))
                if len(results) == len(blocks):
                    done.set()

            worker.block(list(parts), want, written.append, told, failures.append)
        await asyncio.wait_for(done.wait(), 30)
    finally:
        worker.stop()
    assert results == [(0, True), (1, False), (2, True)]
    assert written == [b"".join(blocks[0]), b"".join(blocks[2])]  # never the bad one
    assert failures == []


async def test_a_write_that_fails_is_told_before_the_block_fails() -> None:
    worker = HashWorker()
    told: list[object] = []
    done = asyncio.Event()

    def full(data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def result(ok: bool) -> None:
        told.append(ok)
        done.set()

    try:
        worker.block([b"x" * 100], digest(b"x" * 100), full, result, told.append)
        await asyncio.wait_for(done.wait(), 30)
    finally:
        worker.stop()
    assert len(told) == 2 and isinstance(told[0], OSError) and told[1] is False
    assert told[0].errno == errno.ENOSPC
