"""Which blocks of a file are verified on disk: one bit per block, persisted as bytes."""

from __future__ import annotations

from collections.abc import Iterator


class Bitmap:
    def __init__(self, count: int, data: bytes | None = None) -> None:
        if count < 0:
            raise ValueError("negative block count")
        self.count = count
        self._bits = bytearray((count + 7) // 8)
        if data:
            if len(data) != len(self._bits):
                raise ValueError(f"a bitmap of {len(data)} bytes for {count} blocks")
            self._bits[:] = data
            spare = len(self._bits) * 8 - count
            if spare and self._bits[-1] >> (8 - spare):
                raise ValueError("bits set past the last block")
        self._set = sum(bin(b).count("1") for b in self._bits)

    @classmethod
    def full(cls, count: int) -> Bitmap:
        b = cls(count)
        for i in range(count):
            b.add(i)
        return b

    def __contains__(self, index: int) -> bool:
        if not 0 <= index < self.count:
            return False
        return bool(self._bits[index >> 3] & (1 << (index & 7)))

    def add(self, index: int) -> bool:
        """Mark block ``index`` verified; True if it was not yet."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        mask = 1 << (index & 7)
        if self._bits[index >> 3] & mask:
            return False
        self._bits[index >> 3] |= mask
        self._set += 1
        return True

    def discard(self, index: int) -> None:
        if index in self:
            self._bits[index >> 3] &= ~(1 << (index & 7)) & 0xFF
            self._set -= 1

    def clear(self) -> None:
        self._bits = bytearray(len(self._bits))
        self._set = 0

    @property
    def verified(self) -> int:
        return self._set

    @property
    def complete(self) -> bool:
        return self._set == self.count

    def missing(self, start: int = 0) -> Iterator[int]:
        """Blocks not verified, in order from ``start``."""
        for i in range(start, self.count):
            if not self._bits[i >> 3] & (1 << (i & 7)):
                yield i

    def have_bytes(self, size: int, block_size: int) -> int:
        """How many bytes of a ``size``-byte file the verified blocks hold."""
        if not self.count:
            return 0
        n = self._set * block_size
        last = self.count - 1
        if last in self:
            n -= block_size - (size - last * block_size)
        return n

    def to_bytes(self) -> bytes:
        return bytes(self._bits)
