"""Fetching files: starting, pausing, cancelling a download; asking holders, pulling
blocks within each holder's window, writing and checking them, finishing the file."""

from __future__ import annotations

import asyncio
import errno
import time
from typing import TYPE_CHECKING

from kith.p2p.errors import UserError
from kith.p2p.files import manifest as mf
from kith.p2p.files.base import FilesBase, Transfer, describe_size, log
from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.protocol import (
    BlockPiece,
    BlockRefused,
    BlockRequest,
    FileHave,
    FileQuery,
    FileStop,
)
from kith.p2p.files.transfer import Download, Outcome
from kith.storage.files import (
    FILE_COMPLETE,
    FILE_DOWNLOADING,
    FILE_FAILED,
    FILE_PAUSED,
    FILE_REMOTE,
    FileRow,
)

if TYPE_CHECKING:
    from kith.p2p.network import Peer

PROGRESS_EVERY = 0.25  # seconds between two progress events of one transfer
SPARE_BYTES = 16 * 1024 * 1024  # a download keeps this much of the disk free


class Fetching(FilesBase):
    # -- controlling downloads --------------------------------------------------------------

    def start(self, file: bytes) -> FileRow:
        """Download ``file`` now (whatever its size); resumes a paused or failed one."""
        db = self.core.db
        row = db.file(file)
        if row is None:
            raise UserError(f"no file {file.hex()[:12]}")
        if row.state == FILE_COMPLETE:
            if self.disk.complete(file):
                return row
            self._missing(file)
            row = db.file(file) or row
        if file in self.transfers:
            return row
        db.update_file(file, state=FILE_DOWNLOADING, problem=row.problem if row.problem.startswith(
            "the file was removed") else "")
        row = db.file(file) or row
        self._begin(row)
        return row

    def _begin(self, row: FileRow, *, recovered: bool = False) -> None:
        file = row.id
        if file in self._recovering:  # (its end begins the download, as it then stands)
            return
        if row.bitmap and row.manifest and self.disk.needs_recheck(file) \
                and file not in self._rechecking:
            self._rechecking.add(file)
            self.core.spawn(self._recheck_then_begin(row), f"kith-recheck-{file.hex()[:8]}")
            return
        if not recovered and row.manifest and self.disk.has_partial(file):
            self._recovering.add(file)
            self.core.spawn(self._recover_then_begin(row), f"kith-recover-{file.hex()[:8]}")
            return
        t = Transfer(file, row.size, row.block_size)
        count = mf.block_count(row.size, row.block_size)
        bitmap_bytes = row.bitmap if self.disk.has_partial(file) else None
        if row.manifest:
            try:
                m = mf.decode(row.manifest, file)
                bitmap = Bitmap(count, bitmap_bytes)
            except (mf.ManifestError, ValueError) as e:
                log.warning("file %s: stored manifest or bitmap unusable (%s); starting over",
                            file.hex()[:12], e)
                self.core.db.update_file(file, manifest=None, bitmap=None)
            else:
                t.dl = Download(m, bitmap, deferred=True)
        have = t.dl.have if t.dl else 0
        needed = row.size - have
        if self.disk.free() < needed + SPARE_BYTES:
            self._pause(file, f"the disk is full: {describe_size(needed + SPARE_BYTES)} of "
                        f"free space are needed (free some, then `kith resume {file.hex()[:12]}`)")
            return
        try:
            self.disk.open_partial(file, row.size)
        except OSError as e:
            self._fail(file, f"cannot write the file: {e.strerror or e}")
            return
        writer, size = self.writer, row.size

        def open_for_writing() -> None:  # (on the thread; a file cancelled meanwhile: none)
            writer.open_partial(file, size, create=False)

        self.hashing.call(open_for_writing)
        self.transfers[file] = t
        t.rate.add(have)
        if t.dl is not None and t.dl.complete:
            self._finish(t)
            return
        for peer in self.core.net.live():
            if self._entitled(peer, file):
                assert peer.conn is not None
                peer.conn.send(FileQuery(file))
        self._emit(file)

    async def _recheck_then_begin(self, row: FileRow) -> None:
        """Hash again, on a thread, the blocks a previous release recorded as verified,
        drop those lost, then go on with the download."""
        file = row.id
        try:
            m = mf.decode(row.manifest or b"", file)
            bitmap = Bitmap(m.count, row.bitmap)
            blocks = [i for i in range(m.count) if i in bitmap]
            bad = await asyncio.to_thread(self.disk.bad_blocks, file, m.hashes, m.block_size,
                                          m.size, blocks)
        except (mf.ManifestError, ValueError) as e:
            log.warning("file %s: stored manifest or bitmap unusable (%s)", file.hex()[:12], e)
            bad, bitmap = [], Bitmap(0)
            self.core.db.update_file(file, manifest=None, bitmap=None)
        finally:
            self._rechecking.discard(file)
        if self.core.store is None:
            return
        if bad:
            log.warning("file %s: %d block(s) recorded as verified were lost (a power cut?); "
                        "fetching them again", file.hex()[:12], len(bad))
            for index in bad:
                bitmap.discard(index)
            self.core.db.update_file(file, bitmap=bitmap.to_bytes())
        self.disk.rechecked(file)
        again = self.core.db.file(file)
        if again is not None and again.state == FILE_DOWNLOADING and file not in self.transfers:
            self._begin(again)

    async def _recover_then_begin(self, row: FileRow) -> None:
        """Count the blocks the partial file holds whole and good but the bitmap lacks
        (written, then the node stopped before recording them: p2p.files.recovery), on a
        thread; then go on with the download, asking holders only for the others."""
        file = row.id
        found: list[int] = []
        bitmap = Bitmap(0)
        try:
            m = mf.decode(row.manifest or b"", file)
            bitmap = Bitmap(m.count, row.bitmap)
            missing = list(bitmap.missing())
            if missing:
                found = await asyncio.to_thread(self.disk.unrecorded_blocks, file, m.hashes,
                                                m.block_size, m.size, missing)
        except (mf.ManifestError, ValueError):
            pass  # (_begin says so, and starts over)
        except OSError as e:
            log.warning("file %s: cannot look for blocks written but not recorded: %s",
                        file.hex()[:12], e)
        finally:
            self._recovering.discard(file)
        if self.core.store is None:
            return
        again = self.core.db.file(file)
        if again is None:
            return
        if found and again.bitmap == row.bitmap and again.state != FILE_REMOTE \
                and self.disk.has_partial(file):  # (not cancelled nor begun meanwhile)
            for index in found:
                bitmap.add(index)
            self.core.db.update_file(file, bitmap=bitmap.to_bytes())
            log.info("file %s: %d block(s) written before the stop but not recorded were "
                     "found whole; not fetched again", file.hex()[:12], len(found))
            again = self.core.db.file(file) or again
        if again.state == FILE_DOWNLOADING and file not in self.transfers:
            self._begin(again, recovered=True)

    def pause(self, file: bytes) -> None:
        row = self.core.db.file(file)
        if row is None:
            raise UserError(f"no file {file.hex()[:12]}")
        if row.state == FILE_COMPLETE:
            raise UserError("that file is complete: nothing to pause")
        self._pause(file, "")

    def cancel(self, file: bytes) -> None:
        """Stop downloading and throw away what came (the message keeps the file, to be
        fetched again later)."""
        row = self.core.db.file(file)
        if row is None:
            raise UserError(f"no file {file.hex()[:12]}")
        if row.state == FILE_COMPLETE:
            raise UserError("that file is complete: nothing to cancel")
        self._stop_transfer(file)
        self.disk.drop_partial(file)
        self._writer_forget(file)
        self._reader_forget(file)
        self.core.db.update_file(file, state=FILE_REMOTE, bitmap=None, problem="cancelled")
        self._emit(file)

    def _pause(self, file: bytes, problem: str) -> None:
        self._stop_transfer(file)
        self.core.db.update_file(file, state=FILE_PAUSED, problem=problem)
        if problem:
            log.warning("file %s paused: %s", file.hex()[:12], problem)
        self._emit(file)

    def _fail(self, file: bytes, problem: str) -> None:
        self._stop_transfer(file)
        self.core.db.update_file(file, state=FILE_FAILED, problem=problem)
        log.warning("file %s failed: %s", file.hex()[:12], problem)
        self._emit(file)

    def _stop_transfer(self, file: bytes) -> None:
        t = self.transfers.pop(file, None)
        if t is None:
            return
        if t.dl is not None:
            self._save_bitmap(t)
            for device in t.dl.holders:
                peer = self.core.net.peers.get(device)
                if peer is not None and peer.live:
                    assert peer.conn is not None
                    peer.conn.send(FileStop(file))

    def _missing(self, file: bytes) -> None:
        """A complete file is gone from disk: say so, and fetch it again."""
        log.warning("file %s was removed from disk; fetching it again", file.hex()[:12])
        self.disk.forget_handle(file)
        self.forget_view(file)
        self.core.db.update_file(
            file, state=FILE_REMOTE, bitmap=None,
            problem="the file was removed from disk; fetching it again",
        )
        self.complete_at.get(file, set()).discard(self.core.user_id)
        if self.core.running and self.core.store is not None:
            self.start(file)

    # -- downloading --------------------------------------------------------------------------

    def on_connected(self, peer: Peer) -> None:
        assert peer.conn is not None
        for file in list(self.transfers):
            if self._entitled(peer, file):
                peer.conn.send(FileQuery(file))

    def on_disconnected(self, peer: Peer) -> None:
        self.queues.pop(peer.device_id, None)
        for t in list(self.transfers.values()):
            if t.dl is not None and peer.device_id in t.dl.holders:
                t.dl.drop_holder(peer.device_id)
                self._pump(t)

    def on_have(self, peer: Peer, h: FileHave) -> None:
        if not self._entitled(peer, h.file):
            return
        if h.complete and peer.user_id is not None:
            self.complete_at.setdefault(h.file, set()).add(peer.user_id)
            self._emit(h.file)
        t = self.transfers.get(h.file)
        if t is None or not h.manifest:
            return
        if t.dl is None:
            try:
                m = mf.decode(h.manifest, h.file)
            except mf.ManifestError as e:
                log.warning("%s sent a bad manifest for file %s: %s", peer.name,
                            h.file.hex()[:12], e)
                return
            if (m.size, m.block_size) != (t.size, t.block_size):
                log.warning("%s sent a manifest of another size for file %s", peer.name,
                            h.file.hex()[:12])
                return
            self.core.db.update_file(h.file, manifest=h.manifest)
            self._manifests[h.file] = m
            t.dl = Download(m, Bitmap(m.count), deferred=True)
        dl = t.dl
        if h.complete:
            dl.add_holder(peer.device_id, None)
        elif h.bitmap:
            try:
                dl.add_holder(peer.device_id, Bitmap(dl.bitmap.count, h.bitmap))
            except ValueError:
                log.warning("%s sent a bad bitmap for file %s", peer.name, h.file.hex()[:12])
                return
        else:
            return
        self._pump(t)

    def _pump(self, t: Transfer) -> None:
        if t.dl is None or self.transfers.get(t.file) is not t:
            return
        by_holder: dict[bytes, list[BlockRequest]] = {}
        for device, index in t.dl.requests():
            by_holder.setdefault(device, []).append(BlockRequest(t.file, index))
        for device, requests in by_holder.items():
            peer = self.core.net.peers.get(device)
            if peer is None or not peer.live:
                t.dl.drop_holder(device)
                continue
            assert peer.conn is not None
            peer.conn.send_many(requests)

    def on_refused(self, peer: Peer, r: BlockRefused) -> None:
        t = self.transfers.get(r.file)
        if t is None or t.dl is None:
            return
        log.info("%s will not send block %d of %s: %s", peer.name, r.index, r.file.hex()[:12],
                 r.reason[:100])
        t.dl.refused(peer.device_id, r.index)
        self._pump(t)

    def on_piece(self, peer: Peer, p: BlockPiece) -> None:
        t = self.transfers.get(p.file)
        if t is None or t.dl is None:
            return
        dl = t.dl
        outcome, at = dl.piece(peer.device_id, p.index, p.offset, p.data)
        if outcome is Outcome.WRITE:  # (kept in its flight until the block is whole)
            return
        if outcome is Outcome.CHECK:
            # hashed, then (if it matches) sealed and written on the hashing thread, in
            # order with the other blocks: a block that fails its hash is never written
            writer, file, index, device = self.writer, p.file, p.index, peer.device_id
            start = dl.manifest.span(index)[0]
            self.hashing.block(
                dl.take_parts(index), dl.manifest.hashes[index],
                lambda data: writer.write_block(file, start, data),
                lambda ok: self._checked(t, device, index, ok),
                lambda e: self._write_failed(t, index, e))
            return
        self._after_block(t, peer, p.index, outcome)

    def _write_failed(self, t: Transfer, index: int, e: OSError) -> None:
        """A piece of block ``index`` could not be written (on the hashing thread)."""
        if self.transfers.get(t.file) is not t or t.dl is None or self.core.store is None:
            return
        t.dl.bitmap.discard(index)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            left = t.size - t.dl.have
            self._pause(t.file, f"the disk is full: {describe_size(left)} more are "
                        f"needed (free some, then `kith resume {t.file.hex()[:12]}`)")
        else:
            self._fail(t.file, f"cannot write the file: {e.strerror or e}")

    def _writer_forget(self, file: bytes) -> None:
        writer = self.writer
        self.hashing.call(lambda: writer.forget(file))

    def _checked(self, t: Transfer, device: bytes, index: int, ok: bool) -> None:
        """The hash of a whole block was checked (on the hashing thread)."""
        if self.transfers.get(t.file) is not t or t.dl is None or self.core.store is None:
            return
        outcome = t.dl.checked(device, index, ok)
        peer = self.core.net.peers.get(device)
        if peer is not None:
            self._after_block(t, peer, index, outcome)

    def _after_block(self, t: Transfer, peer: Peer, index: int, outcome: Outcome) -> None:
        assert t.dl is not None
        if outcome is Outcome.IGNORE:
            return
        if outcome is Outcome.VERIFIED:
            t.dirty = True
            self._flush_soon()
            if t.dl.complete:
                self._finish(t)
                return
            self._progress(t)
        elif outcome is Outcome.BAD:
            log.warning("block %d of file %s from %s failed its hash; asking again",
                        index, t.file.hex()[:12], peer.name)
        elif outcome is Outcome.EVICT:
            reason = f"it keeps sending blocks of file {t.file.hex()[:12]} that fail their hash"
            log.warning("closing connection to %s: %s", peer.name, reason)
            if peer.conn is not None:
                peer.conn.close(reason)
        self._pump(t)

    def _progress(self, t: Transfer) -> None:
        """A progress event now, or (at most every PROGRESS_EVERY) once that has passed:
        the last state is always told, even if the transfer stalls right after."""
        now = time.monotonic()
        t.rate.add(t.dl.have if t.dl else 0, now)
        if t.trailing:
            return
        wait = t.last_emit + PROGRESS_EVERY - now
        if wait <= 0:
            t.last_emit = now
            self._emit(t.file)
            return
        t.trailing = True

        def later() -> None:
            t.trailing = False
            if self.transfers.get(t.file) is t and self.core.store is not None:
                t.last_emit = time.monotonic()
                self._emit(t.file)

        asyncio.get_running_loop().call_later(wait, later)

    def _flush_soon(self) -> None:
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Record the blocks verified since the last time, once their data is durable:
        the partial files are fsynced on a thread (the loop goes on receiving), then the
        bitmaps as they were before the fsync are saved; one round at a time, so a
        round batches what came during the one before (a power cut may lose blocks
        not recorded yet, never a block recorded as verified)."""
        self._flush_due = False
        if self.core.store is None or self._syncing:
            return
        due = [(t, t.dl.bitmap.to_bytes()) for t in self.transfers.values()
               if t.dirty and t.dl is not None]
        if not due:
            return
        for t, _ in due:
            t.dirty = False
        self._syncing = True
        self.core.spawn(self._sync_then_record(due), "kith-files-sync")

    async def _sync_then_record(self, due: list[tuple[Transfer, bytes]]) -> None:
        try:
            for t, bits in due:
                try:
                    await asyncio.to_thread(self.disk.sync, t.file)
                except OSError as e:  # (closed meanwhile, or the disk failed)
                    if self.transfers.get(t.file) is t:
                        log.warning("cannot sync file %s: %s", t.file.hex()[:12], e)
                        t.dirty = True
                    continue
                if self.transfers.get(t.file) is t and self.core.store is not None:
                    self.core.db.update_file(t.file, bitmap=bits)
        finally:
            self._syncing = False
        if any(t.dirty for t in self.transfers.values()):
            self._flush_soon()

    def _save_bitmap(self, t: Transfer) -> None:
        """Record ``t``'s verified blocks now (data synced first)."""
        if t.dl is not None and self.core.store is not None:
            t.dirty = False
            try:
                self.disk.sync(t.file)
            except OSError as e:
                log.warning("cannot sync file %s: %s", t.file.hex()[:12], e)
                return
            self.core.db.update_file(t.file, bitmap=t.dl.bitmap.to_bytes())

    def _finish(self, t: Transfer) -> None:
        assert t.dl is not None
        self.transfers.pop(t.file, None)
        try:
            self.disk.finish(t.file)
            self._writer_forget(t.file)
            self._reader_forget(t.file)
        except OSError as e:
            self._save_bitmap(t)
            self.transfers[t.file] = t
            self._pause(t.file, f"cannot finish the file: {e.strerror or e}")
            return
        self.core.db.update_file(t.file, state=FILE_COMPLETE, bitmap=t.dl.bitmap.to_bytes(),
                                 problem="")
        self.complete_at.setdefault(t.file, set()).add(self.core.user_id)
        self.forget_view(t.file)
        log.info("file %s complete (%d bytes)", t.file.hex()[:12], t.size)
        have = self._have(t.file)
        for peer in self.core.net.live():
            if self._entitled(peer, t.file):
                assert peer.conn is not None
                peer.conn.send(have)
        self._emit(t.file)
