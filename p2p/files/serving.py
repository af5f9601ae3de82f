"""Serving a file's blocks to the devices entitled to it: answers to ``fq`` and ``fget``,
one block after the other per connection, with the socket's backpressure."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import time
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
    from kith.p2p.network import Peer

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
        try:
            while q and peer.live:
                file, index = q.popleft()
                conn = peer.conn
                assert conn is not None
                reason = self._block_problem(file, index)
                if reason:
                    conn.send(BlockRefused(file, index, reason))
                    continue
                m = self._manifest(file)
                assert m is not None
                partial = not self.disk.complete(file)
                start, length = m.span(index)
                up = self.uploads.get((device, file))
                if up is None:
                    up = self.uploads[(device, file)] = Upload(peer.name)
                try:
                    # read and opened (unsealed) on the reader's thread, while the loop
                    # encrypts and sends what came before
                    block = await self._read_block(file, start, length, partial)
                    if not peer.live or peer.conn is not conn:
                        return
                    for off in range(0, length, PIECE):
                        n = min(PIECE, length - off)
                        data = block[off:off + n]
                        conn.send(BlockPiece(file, index, off, data))
                        self.served[file] += n
                        self.served_to[(device, file)] += n
                        up.sent += n
                        if conn.congested:
                            await conn.drain()
                            if not peer.live or peer.conn is not conn:
                                return
                except FileNotFoundError:
                    if not partial:
                        self._missing(file)
                    conn.send(BlockRefused(file, index, "the file is not here any more"))
                except OSError as e:
                    log.warning("cannot read file %s: %s", file.hex()[:12], e)
                    conn.send(BlockRefused(file, index, "cannot read it"))
                up.last = time.monotonic()
                up.rate.add(up.sent, up.last)
                await asyncio.sleep(0)  # (let what arrived meanwhile be read)
        finally:
            self.serving.discard(device)
            if not peer.live:
                self.queues.pop(device, None)

    async def _read_block(self, file: bytes, start: int, length: int, partial: bool) -> bytes:
        if self._read_pool is None:
            self._read_pool = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="kith-files-read")
        reader = self.reader
        return await asyncio.get_running_loop().run_in_executor(
            self._read_pool, lambda: reader.read(file, start, length, partial=partial))

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
