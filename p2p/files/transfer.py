"""One download, sans-IO: which block to ask of which holder, and what arrives.

The receiver pulls. Each holder (a device that said which blocks it has) gets a window
of requests in flight (:data:`WINDOW_BYTES` worth of blocks), so a fast link stays full
and a slow holder does not hold up the others. Pieces of a block arrive in order; they
are written where they belong as they come and hashed on the way, and the block counts
only once its hash matches the manifest's::

    missing --request--> in flight --last piece, hash ok--> verified
                             |  \\--hash wrong--> missing (asked of another holder
                             |                    first; MAX_STRIKES bad blocks from one
                             |                    holder: it is disconnected)
                             \\--holder gone / refused--> missing

Nothing here touches a socket or a file: :class:`Download` returns what to do.
"""

from __future__ import annotations

import collections
import enum
import time
from dataclasses import dataclass, field
from typing import Any

from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.manifest import Manifest, block_count, new_hasher

# requested and not yet verified, per holder: far above a LAN's bandwidth-delay product
# (1 Gbit/s at 1 ms is 125 kB), and what a receiver killed mid-transfer was sent for
# nothing; 4 MiB fetched as fast as 8 on loopback (bench_files, 1 GiB, 3 pairs) and
# halves that loss
WINDOW_BYTES = 4 * 1024 * 1024
MIN_WINDOW = 2  # blocks
MAX_STRIKES = 3  # bad blocks from one holder before it is disconnected


class Outcome(enum.Enum):
    WRITE = "write"  # write the piece at the offset given
    VERIFIED = "verified"  # write it: the block is complete and verified
    CHECK = "check"  # write it: the block is complete, its hash is being checked elsewhere
    BAD = "bad"  # the block failed its hash: dropped, it will be asked again
    EVICT = "evict"  # the block failed its hash, and this holder keeps sending bad ones
    IGNORE = "ignore"  # not asked for (late, cancelled): drop it


@dataclass
class _Flight:
    holder: bytes
    length: int
    received: int = 0
    hasher: Any = field(default_factory=new_hasher)
    parts: list[bytes] = field(default_factory=list)  # (deferred: the pieces so far)


class Download:
    """The state of fetching one file (its manifest known)."""

    def __init__(self, m: Manifest, bitmap: Bitmap, *, window_bytes: int | None = None,
                 deferred: bool = False) -> None:
        if bitmap.count != block_count(m.size, m.block_size):
            raise ValueError("the bitmap does not fit the manifest")
        self.manifest = m
        self.bitmap = bitmap
        if window_bytes is None:  # (read now: a benchmark may set another)
            window_bytes = WINDOW_BYTES
        self.window = max(MIN_WINDOW, window_bytes // m.block_size)
        self.holders: dict[bytes, Bitmap | None] = {}  # device -> its blocks (None: all)
        self.flight: dict[int, _Flight] = {}
        self.per_holder: collections.Counter[bytes] = collections.Counter()
        self.strikes: collections.Counter[bytes] = collections.Counter()
        self.avoid: dict[int, set[bytes]] = {}  # block -> holders that sent it bad
        self.todo: collections.deque[int] = collections.deque(bitmap.missing())
        self.received_bytes = 0  # every piece byte that arrived (resends included)
        # deferred: piece() keeps the pieces of each block; once it is whole (CHECK) the
        # caller takes them (take_parts), hashes and writes the block (on another
        # thread: p2p.files.hashing) and reports its check with checked(); else piece()
        # hashes them.
        self.deferred = deferred

    # -- holders --------------------------------------------------------------------------

    def add_holder(self, device: bytes, blocks: Bitmap | None) -> None:
        self.holders[device] = blocks

    def drop_holder(self, device: bytes) -> None:
        """The holder left (or refused everything): its blocks in flight go back."""
        self.holders.pop(device, None)
        back = [i for i, f in self.flight.items() if f.holder == device]
        for i in back:
            del self.flight[i]
        self.per_holder.pop(device, None)
        self.todo.extendleft(sorted(back, reverse=True))

    def has(self, device: bytes, index: int) -> bool:
        blocks = self.holders.get(device, False)
        if blocks is False:
            return False
        return blocks is None or index in blocks  # type: ignore[operator]

    # -- asking ---------------------------------------------------------------------------

    def requests(self) -> list[tuple[bytes, int]]:
        """(holder, block) to ask for now, filling each holder's window once half of it
        has arrived (requests then go out in bursts, not one per block)."""
        out: list[tuple[bytes, int]] = []
        if not self.todo:
            return out
        for device in list(self.holders):
            if self.per_holder[device] > self.window // 2:
                continue
            while self.per_holder[device] < self.window and self.todo:
                index = self._pick(device)
                if index is None:
                    break
                self.flight[index] = _Flight(device, self.manifest.span(index)[1])
                self.per_holder[device] += 1
                out.append((device, index))
        return out

    def _pick(self, device: bytes) -> int | None:
        for pos, index in enumerate(self.todo):
            if not self.has(device, index):
                continue
            bad = self.avoid.get(index)
            if bad and device in bad and any(
                d not in bad and self.has(d, index) for d in self.holders
            ):
                continue  # another holder can send it: not this one again
            del self.todo[pos]
            return index
        return None

    def refused(self, device: bytes, index: int) -> None:
        """The holder will not send ``index`` (it lacks it after all)."""
        f = self.flight.get(index)
        if f is None or f.holder != device:
            return
        self._back(index, device)
        blocks = self.holders.get(device)
        if blocks is None and device in self.holders:
            # It said it had all of it: believe that no longer.
            self.holders[device] = Bitmap(self.bitmap.count)
        elif blocks is not None:
            blocks.discard(index)

    def _back(self, index: int, device: bytes) -> None:
        del self.flight[index]
        self.per_holder[device] -= 1
        self.todo.appendleft(index)

    # -- receiving ------------------------------------------------------------------------

    def piece(self, device: bytes, index: int, offset: int, data: bytes) -> tuple[Outcome, int]:
        """A piece arrived: what to do with it, and (for WRITE/VERIFIED) the offset in the
        file to write it at."""
        f = self.flight.get(index)
        if f is None or f.holder != device:
            return Outcome.IGNORE, 0
        self.received_bytes += len(data)
        if offset != f.received or f.received + len(data) > f.length:
            return self._bad(index, f), 0
        if self.deferred:
            f.parts.append(data)
        else:
            f.hasher.update(data)
        f.received += len(data)
        at = index * self.manifest.block_size + offset
        if f.received < f.length:
            return Outcome.WRITE, at
        if self.deferred:
            return Outcome.CHECK, at
        return self.checked(device, index, f.hasher.digest() == self.manifest.hashes[index]), at

    def hasher(self, index: int) -> Any:
        """The running hash of block ``index`` in flight (deferred mode)."""
        return self.flight[index].hasher

    def take_parts(self, index: int) -> list[bytes]:
        """The pieces of block ``index``, whole now (deferred mode: CHECK), handed over
        to be hashed and written; the flight keeps no reference to them."""
        f = self.flight[index]
        parts, f.parts = f.parts, []
        return parts

    def checked(self, device: bytes, index: int, ok: bool) -> Outcome:
        """Block ``index`` from ``device`` arrived whole and its hash matched (``ok``)
        or not: VERIFIED, BAD or EVICT (IGNORE if it is no longer awaited)."""
        f = self.flight.get(index)
        if f is None or f.holder != device or f.received != f.length:
            return Outcome.IGNORE
        if not ok:
            return self._bad(index, f)
        del self.flight[index]
        self.per_holder[device] -= 1
        self.bitmap.add(index)
        self.avoid.pop(index, None)
        return Outcome.VERIFIED

    def _bad(self, index: int, f: _Flight) -> Outcome:
        device = f.holder
        self._back(index, device)
        self.avoid.setdefault(index, set()).add(device)
        self.strikes[device] += 1
        if self.strikes[device] >= MAX_STRIKES:
            self.drop_holder(device)
            return Outcome.EVICT
        return Outcome.BAD

    @property
    def complete(self) -> bool:
        return self.bitmap.complete

    @property
    def have(self) -> int:
        return self.bitmap.have_bytes(self.manifest.size, self.manifest.block_size)


class Rate:
    """Bytes per second over the last few seconds (for progress), and the time left."""

    def __init__(self, span: float = 5.0) -> None:
        self.span = span
        self.samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, total: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.samples.append((now, total))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.span:
            self.samples.popleft()

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def eta(self, left: int) -> float | None:
        r = self.rate()
        return left / r if r > 0 else None
