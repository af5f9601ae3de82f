"""The manifest of a file: its size, its block size and the BLAKE2b-256 of every block.

The block size follows the file's size as Syncthing's block exchange does: the smallest
power of two from 128 KiB up that keeps a file under :data:`TARGET_BLOCKS` blocks (at
most 16 MiB). The **content id** is the BLAKE2b-256 of the encoded manifest, so an id
names the exact bytes of a file, and a manifest fetched from anyone is checked against
the id before any of its hashes is trusted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

MIN_BLOCK = 128 * 1024
MAX_BLOCK = 16 * 1024 * 1024
TARGET_BLOCKS = 2000
MAX_FILE = 4 * 1024**3  # bytes of one attachment
HASH_SIZE = 32
READ_SIZE = 1024 * 1024


class ManifestError(ValueError):
    """A manifest that does not match its content id or breaks the rules."""


def block_size_for(size: int) -> int:
    """The block size of a file of ``size`` bytes."""
    bs = MIN_BLOCK
    while bs < MAX_BLOCK and size > bs * TARGET_BLOCKS:
        bs *= 2
    return bs


def block_count(size: int, block_size: int) -> int:
    return (size + block_size - 1) // block_size


def block_span(size: int, block_size: int, index: int) -> tuple[int, int]:
    """(offset, length) of block ``index``."""
    offset = index * block_size
    return offset, min(block_size, size - offset)


def block_hash(data: bytes | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=HASH_SIZE).digest()


def new_hasher() -> Any:  # (hashlib's blake2b object)
    return hashlib.blake2b(digest_size=HASH_SIZE)


def sizes_problem(size: int, block_size: int) -> str | None:
    """Why (size, block size) cannot be a file's, or None."""
    if not 0 <= size <= MAX_FILE:
        return f"impossible size {size} (at most {MAX_FILE} bytes)"
    if block_size != block_size_for(size):
        return f"block size {block_size} does not fit a file of {size} bytes"
    return None


class Manifest(msgspec.Struct, array_like=True, frozen=True, gc=False):
    size: int
    block_size: int
    hashes: list[bytes]

    @property
    def count(self) -> int:
        return len(self.hashes)

    def encode(self) -> bytes:
        return _encoder.encode(self)

    @property
    def content_id(self) -> bytes:
        return block_hash(self.encode())

    def span(self, index: int) -> tuple[int, int]:
        return block_span(self.size, self.block_size, index)

    def verify_block(self, index: int, data: bytes | memoryview) -> bool:
        return 0 <= index < self.count and block_hash(data) == self.hashes[index]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Manifest)


def problem(m: Manifest) -> str | None:
    """Why a manifest breaks the rules, or None."""
    reason = sizes_problem(m.size, m.block_size)
    if reason:
        return reason
    if m.count != block_count(m.size, m.block_size):
        return f"{m.count} block hashes for {block_count(m.size, m.block_size)} blocks"
    if any(len(h) != HASH_SIZE for h in m.hashes):
        return "a block hash of the wrong length"
    return None


def decode(data: bytes, content_id: bytes) -> Manifest:
    """The manifest in ``data`` if it is the one ``content_id`` names; ManifestError."""
    if block_hash(data) != content_id:
        raise ManifestError("the manifest does not match the file's content id")
    try:
        m = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ManifestError(f"malformed manifest: {e}") from e
    reason = problem(m)
    if reason:
        raise ManifestError(f"bad manifest: {reason}")
    return m


class Builder:
    """Hashes a file as it is read (or copied) front to back, block by block."""

    def __init__(self, size: int) -> None:
        if not 0 <= size <= MAX_FILE:
            raise ManifestError(f"impossible size {size} (at most {MAX_FILE} bytes)")
        self.size = size
        self.block_size = block_size_for(size)
        self.hashes: list[bytes] = []
        self._h = new_hasher()
        self._filled = 0
        self._seen = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        self._seen += len(view)
        if self._seen > self.size:
            raise ManifestError("the file grew while it was read")
        while view:
            take = min(len(view), self.block_size - self._filled)
            self._h.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self.block_size:
                self.hashes.append(self._h.digest())
                self._h = new_hasher()
                self._filled = 0

    def finish(self) -> Manifest:
        if self._seen != self.size:
            raise ManifestError("the file changed size while it was read")
        if self._filled:
            self.hashes.append(self._h.digest())
        return Manifest(self.size, self.block_size, self.hashes)


def chunks(path: Path, size: int = READ_SIZE) -> Iterator[bytes]:
    with path.open("rb") as f:
        while data := f.read(size):
            yield data


def scan(path: Path) -> Manifest:
    """The manifest of the file at ``path`` (read once, never whole in memory)."""
    b = Builder(path.stat().st_size)
    for data in chunks(path):
        b.update(data)
    return b.finish()
