"""Serving a file's blocks to the devices entitled to it: answers to ``fq`` and ``fget``,
one block after the other per connection, with the socket's backpressure."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kith.p2p.files.base import FilesBase, Upload, log
from kith.p2p.files.protocol import (
    PIECE,
    BlockPiece,
    BlockRefused,
    BlockRequest,
    FileHave,
    FileQuery,
    FileStop,
)
from kith.storage.files import FILE_COMPLETE

if TYPE_CHECKING:
    from kith.p2p.connection import Connection
    from kith.p2p.network import Peer


@dataclass
class _Read:
    """A block's read on the reader's thread."""

    what: tuple[bytes, int]  # (file, block)
    future: asyncio.Future[bytes]
    partial: bool

PIECES_PER_WRITE = 4  # pieces of a block encrypted and written at once (one system call)
MAX_QUEUED = 1024  # block requests of one device waiting to be served (more: refused)
HELD_BACK = "paused by the sender"  # why a block of a file whose sending is paused is refused


class Serving(FilesBase):
    def on_query(self, peer: Peer, q: FileQuery) -> None:
        assert peer.conn is not None
        if not self._entitled(peer, q.file):
            log.info("%s asked for a file it is not entitled to; not answered", peer.name)
            return
        peer.conn.send(self._have(q.file))

    def _have(self, file: bytes) -> FileHave:
        row = self.core.db.file(file)
        m = self._manifest(file)
        if row is None or m is None:
            return FileHave(file, b"", b"", False)
        if file in self.held_back:  # (its sending is paused: I hold nothing to serve)
            return FileHave(file, m.encode(), b"", False)
        if row.state == FILE_COMPLETE:
            if self.disk.complete(file):
                return FileHave(file, m.encode(), b"", True)
            self._missing(file)
            return FileHave(file, m.encode(), b"", False)
        t = self.transfers.get(file)
        if t is not None and t.dl is not None:
            return FileHave(file, m.encode(), t.dl.bitmap.to_bytes(), False)
        if row.bitmap and self.disk.has_partial(file):
            return FileHave(file, m.encode(), row.bitmap, False)
        return FileHave(file, m.encode(), b"", False)

    def on_request(self, peer: Peer, r: BlockRequest) -> None:
        assert peer.conn is not None
        if not self._entitled(peer, r.file):
            peer.conn.send(BlockRefused(r.file, r.index, "not entitled"))
            return
        if r.file in self.held_back:
            peer.conn.send(BlockRefused(r.file, r.index, HELD_BACK))
            return
        q = self.queues.setdefault(peer.device_id, collections.deque())
        if len(q) >= MAX_QUEUED:
            peer.conn.send(BlockRefused(r.file, r.index, "too many requests at once"))
            return
        q.append((r.file, r.index))
        if peer.device_id not in self.serving:
            self.serving.add(peer.device_id)
            self.core.spawn(self._serve(peer), f"kith-serve-{peer.device_id.hex()[:8]}")

    def on_stop(self, peer: Peer, s: FileStop) -> None:
        q = self.queues.get(peer.device_id)
        if q:
            kept = [x for x in q if x[0] != s.file]
            q.clear()
            q.extend(kept)

    async def _serve(self, peer: Peer) -> None:
        device = peer.device_id
        q = self.queues.setdefault(device, collections.deque())
        ahead: _Read | None = None  # the next block's read, started while this one goes
        try:
            while q and peer.live:
                file, index = q.popleft()
                conn = peer.conn
                assert conn is not None
                reason = self._block_problem(file, index)
                if reason:
                    conn.send(BlockRefused(file, index, reason))
                    continue
                up = self.uploads.get((device, file))
                if up is None:
                    up = self.uploads[(device, file)] = Upload(peer.name)
                if ahead is not None and ahead.what == (file, index):
                    read, ahead = ahead, None
                else:
                    read = self._start_read(file, index)
                # the block after it is read and opened (unsealed) on the reader's thread
                # while the loop encrypts and sends this one
                if ahead is None and q and not self._block_problem(*q[0]):
                    ahead = self._start_read(*q[0])
                try:
                    block = await read.future
                    if not peer.live or peer.conn is not conn:
                        return
                    if not await self._send_block(peer, conn, file, index, block, up):
                        return
                except FileNotFoundError:
                    if not read.partial:
                        self._missing(file)
                    conn.send(BlockRefused(file, index, "the file is not here any more"))
                except OSError as e:
                    log.warning("cannot read file %s: %s", file.hex()[:12], e)
                    conn.send(BlockRefused(file, index, "cannot read it"))
                up.last = time.monotonic()
                up.rate.add(up.sent, up.last)
                await asyncio.sleep(0)  # (let what arrived meanwhile be read)
        finally:
            if ahead is not None:
                ahead.future.cancel()
            self.serving.discard(device)
            if not peer.live:
                self.queues.pop(device, None)

    async def _send_block(self, peer: Peer, conn: Connection, file: bytes, index: int,
                          block: bytes, up: Upload) -> bool:
        """Send ``block`` as its pieces (several to a write; their data not copied out of
        the block); False if the connection went meanwhile."""
        view = memoryview(block)
        length = len(block)
        batch: list[BlockPiece] = []
        for off in range(0, length, PIECE):
            n = min(PIECE, length - off)
            # (msgspec encodes a memoryview as the bytes it shows)
            batch.append(BlockPiece(file, index, off, view[off:off + n]))  # type: ignore[arg-type]
            if len(batch) == PIECES_PER_WRITE or off + n >= length:
                conn.send_many(batch)
                sent = sum(len(p.data) for p in batch)
                batch.clear()
                self.served[file] += sent
                self.served_to[(peer.device_id, file)] += sent
                up.sent += sent
                if conn.congested:
                    await conn.drain()
                    if not peer.live or peer.conn is not conn:
                        return False
        return True

    def _start_read(self, file: bytes, index: int) -> _Read:
        m = self._manifest(file)
        assert m is not None
        partial = not self.disk.complete(file)
        start, length = m.span(index)
        if self._read_pool is None:
            self._read_pool = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="kith-files-read")
        reader = self.reader
        future = asyncio.get_running_loop().run_in_executor(
            self._read_pool, lambda: reader.read(file, start, length, partial=partial))
        # (a read ahead nobody awaits, its block asked no more: its error is not news)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        return _Read((file, index), future, partial)

    def _reader_forget(self, file: bytes) -> None:
        """The reader's handles of ``file`` go (in order with its reads)."""
        if self._read_pool is not None:
            reader = self.reader
            self._read_pool.submit(reader.forget, file)
            self._read_pool.submit(reader.forget_handle, file)

    def _block_problem(self, file: bytes, index: int) -> str:
        m = self._manifest(file)
        if m is None or not 0 <= index < m.count:
            return "not here"
        if file in self.held_back:
            return HELD_BACK
        if self.disk.complete(file):
            return ""
        t = self.transfers.get(file)
        if t is not None and t.dl is not None and index in t.dl.bitmap:
            return ""
        return "not here"
