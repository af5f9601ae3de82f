"""The files feature: attachments in messages, serving blocks, downloading them.

- **Sending** (:meth:`Files.send`): each file is copied into the profile while it is
  hashed (``disk``), described (``descriptor``) and the message carries the descriptors.
- **Receiving a message** with files: its attachments are stored with it (the message's
  own transaction); a file up to the auto-download limit (setting ``auto_download``,
  25 MB) from a contact, or from my own devices, starts downloading by itself; from
  anyone else never.
- **Downloading** (:class:`Transfer` around a sans-IO ``transfer.Download``): ask every
  connected device entitled to one of the file's conversations what it holds
  (``fq``/``fh``), fetch the manifest from the first that knows it, then pull blocks from
  all holders, verify, write, persist the bitmap; rename the partial file once complete.
- **Serving**: a device of a member of a conversation that names the file
  (``Conversations.may_send``) gets the blocks it asks for, one block after the other
  per connection, with the socket's backpressure.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from p2p import events as ev
from p2p.api import ACCEPTED, FileChanged
from p2p.errors import UserError
from p2p.files import descriptor as desc
from p2p.files import manifest as mf
from p2p.files.bitmap import Bitmap
from p2p.files.disk import Disk
from p2p.files.hashing import HashWorker
from p2p.files.protocol import (
    PIECE,
    BlockPiece,
    BlockRefused,
    BlockRequest,
    FileHave,
    FileQuery,
    FileStop,
)
from p2p.files.transfer import Download, Outcome, Rate
from p2p.kinds import Applying, Part
from storage import Store
from storage.files import (
    FILE_COMPLETE,
    FILE_DOWNLOADING,
    FILE_FAILED,
    FILE_PAUSED,
    FILE_REMOTE,
    AttachmentRow,
    FileRow,
)

if TYPE_CHECKING:
    from p2p.core import Core
    from p2p.messages import MessageBody
    from p2p.network import Peer

log = logging.getLogger(__name__)

AUTO_DOWNLOAD = 25 * 1000 * 1000  # bytes: the default of the setting auto_download
MAX_FILES = 10  # attachments of one message
PROGRESS_EVERY = 0.25  # seconds between two progress events of one transfer
SPARE_BYTES = 16 * 1024 * 1024  # a download keeps this much of the disk free
MAX_QUEUED = 1024  # block requests of one device waiting to be served (more: refused)

_encode = msgspec.msgpack.Encoder().encode
_decode_attachment = msgspec.msgpack.Decoder(desc.Attachment).decode


def describe_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


@dataclass
class Transfer:
    """A download in progress (its manifest may not be known yet)."""

    file: bytes
    size: int
    block_size: int
    dl: Download | None = None
    rate: Rate = field(default_factory=Rate)
    last_emit: float = 0.0
    dirty: bool = False
    trailing: bool = False  # a progress event is due


@dataclass
class _Upload:
    peer_name: str
    sent: int = 0
    rate: Rate = field(default_factory=Rate)
    last: float = 0.0


class _Attached(Part):
    """The attachments one batch of messages brings."""

    def __init__(self, files: Files) -> None:
        self.files = files
        self.rows: list[AttachmentRow] = []
        self.sizes: dict[bytes, int] = {}
        self.block_sizes: dict[bytes, int] = {}
        self.auto: dict[bytes, int] = {}  # file -> size, from someone we fetch by ourselves
        self.new: list[bytes] = []

    def write(self, store: Store) -> None:
        self.new = store.insert_attachments(self.rows, self.sizes, self.block_sizes)

    def committed(self) -> None:
        self.files.attached(self.rows, self.auto)

    def failed(self) -> None:
        self.new = []


class Files:
    """Attachments and their transfer; see the module docstring."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.disk = Disk(core.profile)
        self.transfers: dict[bytes, Transfer] = {}
        self.queues: dict[bytes, collections.deque[tuple[bytes, int]]] = {}
        self.serving: set[bytes] = set()  # devices a serve task runs for
        self.uploads: dict[tuple[bytes, bytes], _Upload] = {}  # (device, file) -> upload
        self.served: collections.Counter[bytes] = collections.Counter()  # file -> bytes
        # (device, file) -> bytes sent to that device (for tests and benchmarks)
        self.served_to: collections.Counter[tuple[bytes, bytes]] = collections.Counter()
        self.complete_at: dict[bytes, set[bytes]] = {}  # file -> users holding all of it
        self._manifests: dict[bytes, mf.Manifest] = {}
        self._flush_due = False
        self.hashing = HashWorker()
        net = core.net
        net.handlers[FileQuery] = self.on_query
        net.handlers[FileHave] = self.on_have
        net.handlers[BlockRequest] = self.on_request
        net.handlers[BlockPiece] = self.on_piece
        net.handlers[BlockRefused] = self.on_refused
        net.handlers[FileStop] = self.on_stop
        net.connected.append(self.on_connected)
        net.disconnected.append(self.on_disconnected)
        core.messages.applied.append(self.apply_message)

    # -- lifecycle ------------------------------------------------------------------------

    def load(self) -> None:
        """At start: carry on with the downloads that were running; notice complete files
        that were removed from disk behind our back."""
        db = self.core.db
        for row in db.files_in_state(FILE_COMPLETE):
            if not self.disk.complete(row.id):
                self._missing(row.id)
        for row in db.files_in_state(FILE_DOWNLOADING):
            self._begin(row)

    def stop(self) -> None:
        self.hashing.stop()
        self._flush()
        self.disk.close()

    # -- settings -------------------------------------------------------------------------

    @property
    def auto_limit(self) -> int:
        value = self.core.db.get_setting("auto_download", AUTO_DOWNLOAD)
        return int(value) if isinstance(value, int | float) else AUTO_DOWNLOAD

    # -- messages with files ----------------------------------------------------------------

    def apply_message(self, ctx: Applying, e: ev.SignedEvent, body: MessageBody) -> None:
        if not body.files:
            return
        part = ctx.batch.part(_Attached, lambda: _Attached(self))
        x = e.event
        if ctx.mine:
            trusted = True
        else:
            c = self.core.db.contact(ctx.author_user)
            trusted = c is not None and c.state == ACCEPTED
        for idx, a in enumerate(body.files):
            part.rows.append(AttachmentRow(
                x.conv, x.author, x.seq, idx, e.id, a.id, ctx.author_user, _encode(a),
                ctx.mine,
            ))
            part.sizes[a.id] = a.size
            part.block_sizes[a.id] = a.block_size
            if trusted and not ctx.local:
                part.auto[a.id] = a.size

    def attached(self, rows: list[AttachmentRow], auto: dict[bytes, int]) -> None:
        """Attachments were stored: fetch what we fetch by ourselves."""
        limit = self.auto_limit
        db = self.core.db
        for file, size in auto.items():
            row = db.file(file)
            if row is not None and row.state == FILE_REMOTE and not row.problem and size <= limit:
                self.start(file)
        for file in dict.fromkeys(r.file for r in rows):
            self._emit(file)

    async def send(self, user: bytes, text: str, paths: list[Path]) -> ev.SignedEvent:
        """Bring the files in, then sign and queue a message that carries them."""
        if not paths:
            raise UserError("no file to send")
        if len(paths) > MAX_FILES:
            raise UserError(f"at most {MAX_FILES} files per message")
        for p in paths:
            if not p.is_file():
                raise UserError(f"{p} is not a file")
            size = p.stat().st_size
            if size > mf.MAX_FILE:
                raise UserError(f"{p.name} is larger than 4 GiB ({describe_size(size)})")
        self.core.messages.check_recipient(user)
        atts: list[desc.Attachment] = []
        for p in paths:
            try:
                m = await asyncio.to_thread(self.disk.import_file, p)
            except OSError as e:
                raise UserError(f"cannot read {p}: {e.strerror or e}") from e
            except mf.ManifestError as e:
                raise UserError(f"cannot send {p.name}: {e}") from e
            a = await asyncio.to_thread(desc.describe, self.disk.path(m.content_id), m, p.name)
            self.core.db.put_file(
                a.id, a.size, a.block_size, m.encode(), Bitmap.full(m.count).to_bytes(),
                FILE_COMPLETE,
            )
            self._manifests[a.id] = m
            atts.append(a)
        atts = _fit(atts, text)
        return self.core.messages.queue(user, text, files=tuple(atts))

    # -- what the API shows -----------------------------------------------------------------

    def attachment(self, row: AttachmentRow) -> desc.Attachment:
        return _decode_attachment(row.descriptor)

    def file_json(self, row: AttachmentRow) -> dict[str, Any]:
        a = self.attachment(row)
        f = self.core.db.file(row.file)
        state, have, problem = FILE_REMOTE, 0, ""
        if f is not None:
            state, problem = f.state, f.problem
            if state == FILE_COMPLETE and not self.disk.complete(f.id):
                self._missing(f.id)
                f = self.core.db.file(row.file) or f
                state, problem = f.state, f.problem
            have = self.have(f)
        out: dict[str, Any] = {
            "id": a.id.hex(), "message": row.event_id.hex(), "name": a.name, "size": a.size,
            "mime": a.mime, "state": state, "have": have,
        }
        if state == FILE_COMPLETE:
            out["path"] = str(self.disk.path(a.id))
        if a.width and a.height:
            out["width"], out["height"] = a.width, a.height
        if problem:
            out["problem"] = problem
        return out

    def have(self, f: FileRow) -> int:
        t = self.transfers.get(f.id)
        if t is not None and t.dl is not None:
            return t.dl.have
        if f.state == FILE_COMPLETE:
            return f.size
        if not f.bitmap:
            return 0
        count = mf.block_count(f.size, f.block_size)
        try:
            return Bitmap(count, f.bitmap).have_bytes(f.size, f.block_size)
        except ValueError:
            return 0

    def list_files(self, conv: bytes) -> list[dict[str, Any]]:
        return [self.file_json(r) for r in self.core.db.attachments(conv)]

    def for_message(self, conv: bytes, author: bytes, seq: int) -> list[dict[str, Any]]:
        return [self.file_json(r) for r in self.core.db.message_attachments(conv, author, seq)]

    def resolve(self, query: str) -> FileRow:
        """A FILE_ID argument (the id, or a unique prefix of its hex) -> its row."""
        q = query.strip().lower()
        if not q or any(c not in "0123456789abcdef" for c in q):
            raise UserError(f"no file {query!r}: a file id is hex (see `kith files CHAT`)")
        rows = self.core.db.files_by_prefix(q)
        if not rows:
            raise UserError(f"no file {query!r} (see `kith files CHAT`)")
        if len(rows) > 1:
            raise UserError(f"{query!r} names several files: give more of the id")
        return rows[0]

    def transfer_list(self) -> list[dict[str, Any]]:
        """Downloads running here and uploads of the last few seconds."""
        names = self._names()
        out: list[dict[str, Any]] = []
        db = self.core.db
        for t in self.transfers.values():
            holders = sorted(t.dl.holders) if t.dl else []
            out.append({
                "id": t.file.hex(), "name": names.get(t.file, ""), "direction": "in",
                "have": t.dl.have if t.dl else 0, "size": t.size,
                "rate": round(t.rate.rate()),
                "eta": t.rate.eta(t.size - (t.dl.have if t.dl else 0)),
                "peer": ", ".join(self._peer_name(d) for d in holders),
                "state": FILE_DOWNLOADING,
            })
        for row in db.files_in_state(FILE_PAUSED):
            out.append({
                "id": row.id.hex(), "name": names.get(row.id, ""), "direction": "in",
                "have": self.have(row), "size": row.size, "rate": 0, "eta": None, "peer": "",
                "state": FILE_PAUSED, "problem": row.problem,
            })
        now = time.monotonic()
        for (device, file), u in list(self.uploads.items()):
            if now - u.last > 5.0:
                del self.uploads[(device, file)]
                continue
            out.append({
                "id": file.hex(), "name": names.get(file, ""), "direction": "out",
                "have": u.sent, "size": self._size(file), "rate": round(u.rate.rate()),
                "eta": None, "peer": u.peer_name, "state": "sending",
            })
        return out

    def _names(self) -> dict[bytes, str]:
        out: dict[bytes, str] = {}
        for file in list(self.transfers) + [f for _, f in self.uploads] + [
            r.id for r in self.core.db.files_in_state(FILE_PAUSED)
        ]:
            rows = self.core.db.attachments_of(file)
            if rows:
                out[file] = self.attachment(rows[0]).name
        return out

    def _size(self, file: bytes) -> int:
        f = self.core.db.file(file)
        return f.size if f else 0

    def _peer_name(self, device: bytes) -> str:
        p = self.core.net.peers.get(device)
        return p.name if p and p.name else device.hex()[:12]

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

    def _begin(self, row: FileRow) -> None:
        file = row.id
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
            self.disk.open_partial(file)
        except OSError as e:
            self._fail(file, f"cannot write the file: {e.strerror or e}")
            return
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
        self.core.db.update_file(
            file, state=FILE_REMOTE, bitmap=None,
            problem="the file was removed from disk; fetching it again",
        )
        self.complete_at.get(file, set()).discard(self.core.user_id)
        if self.core.running and self.core.store is not None:
            self.start(file)

    def delete_chat(self, conv: bytes) -> list[bytes]:
        """Forget the attachments of ``conv``; remove the files nothing else names."""
        gone = self.core.db.delete_attachments(conv)
        for file in gone:
            self._stop_transfer(file)
            self._manifests.pop(file, None)
            self.disk.remove(file)
        return gone

    # -- waiting ----------------------------------------------------------------------------

    async def wait_complete(self, file: bytes, timeout: float) -> bool:
        def done() -> bool:
            row = self.core.db.file(file)
            return row is not None and row.state == FILE_COMPLETE

        if done():
            return True
        return await self.core.wait_event(
            lambda e: isinstance(e, FileChanged) and e.file == file and done(), timeout
        )

    async def wait_held_by(self, files: list[bytes], users: list[bytes], timeout: float) -> bool:
        """Wait until a device of each of ``users`` said it holds each of ``files``."""

        def done() -> bool:
            return all(set(users) <= self.complete_at.get(f, set()) for f in files)

        if done():
            return True
        return await self.core.wait_event(lambda e: isinstance(e, FileChanged) and done(), timeout)

    # -- entitlement ------------------------------------------------------------------------

    def _entitled(self, peer: Peer, file: bytes) -> bool:
        """Is ``peer``'s user a member of a conversation that names ``file``?"""
        user = peer.user_id
        if user is None:
            return False
        convs = self.core.convs
        named = {a.conv for a in self.core.db.attachments_of(file)}
        return any(convs.may_send(user, c) for c in named)

    # -- serving ------------------------------------------------------------------------------

    def _manifest(self, file: bytes) -> mf.Manifest | None:
        m = self._manifests.get(file)
        if m is None:
            row = self.core.db.file(file)
            if row is None or not row.manifest:
                return None
            try:
                m = mf.decode(row.manifest, file)
            except mf.ManifestError:
                return None
            self._manifests[file] = m
        return m

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
                    up = self.uploads[(device, file)] = _Upload(peer.name)
                try:
                    for off in range(0, length, PIECE):
                        n = min(PIECE, length - off)
                        data = self.disk.read(file, start + off, n, partial=partial)
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

    def _block_problem(self, file: bytes, index: int) -> str:
        m = self._manifest(file)
        if m is None or not 0 <= index < m.count:
            return "not here"
        if self.disk.complete(file):
            return ""
        t = self.transfers.get(file)
        if t is not None and t.dl is not None and index in t.dl.bitmap:
            return ""
        return "not here"

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
        if outcome in (Outcome.WRITE, Outcome.CHECK):
            try:
                self.disk.write(p.file, at, p.data)
            except OSError as e:
                dl.bitmap.discard(p.index)
                if e.errno in (errno.ENOSPC, errno.EDQUOT):
                    left = t.size - dl.have
                    self._pause(p.file, f"the disk is full: {describe_size(left)} more are "
                                f"needed (free some, then `kith resume {p.file.hex()[:12]}`)")
                else:
                    self._fail(p.file, f"cannot write the file: {e.strerror or e}")
                return
            hasher = dl.hasher(p.index)
            self.hashing.update(hasher, p.data)
            if outcome is Outcome.CHECK:
                device, index = peer.device_id, p.index
                self.hashing.check(hasher, dl.manifest.hashes[index],
                                   lambda ok: self._checked(t, device, index, ok))
            return
        self._after_block(t, peer, p.index, outcome)

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
        self._flush_due = False
        if self.core.store is None:
            return
        for t in self.transfers.values():
            if t.dirty:
                self._save_bitmap(t)

    def _save_bitmap(self, t: Transfer) -> None:
        if t.dl is not None and self.core.store is not None:
            t.dirty = False
            self.core.db.update_file(t.file, bitmap=t.dl.bitmap.to_bytes())

    def _finish(self, t: Transfer) -> None:
        assert t.dl is not None
        self.transfers.pop(t.file, None)
        try:
            self.disk.finish(t.file)
        except OSError as e:
            self._save_bitmap(t)
            self.transfers[t.file] = t
            self._pause(t.file, f"cannot finish the file: {e.strerror or e}")
            return
        self.core.db.update_file(t.file, state=FILE_COMPLETE, bitmap=t.dl.bitmap.to_bytes(),
                                 problem="")
        self.complete_at.setdefault(t.file, set()).add(self.core.user_id)
        log.info("file %s complete (%d bytes)", t.file.hex()[:12], t.size)
        have = self._have(t.file)
        for peer in self.core.net.live():
            if self._entitled(peer, t.file):
                assert peer.conn is not None
                peer.conn.send(have)
        self._emit(t.file)

    def _emit(self, file: bytes) -> None:
        row = self.core.db.file(file)
        if row is None:
            return
        t = self.transfers.get(file)
        have = self.have(row)
        rate = t.rate.rate() if t else 0.0
        eta = t.rate.eta(row.size - have) if t else None
        self.core.emit(FileChanged(file, row.state, have, row.size, rate, eta, row.problem))


def _fit(atts: list[desc.Attachment], text: str) -> list[desc.Attachment]:
    """The descriptors, without previews if that is what it takes to fit one event."""
    budget = ev.MAX_EVENT - 2048 - len(text.encode())
    if sum(len(_encode(a)) for a in atts) <= budget:
        return atts
    bare = [msgspec.structs.replace(a, preview=b"") for a in atts]
    if sum(len(_encode(a)) for a in bare) <= budget:
        return bare
    raise UserError("too many files or too much text for one message: send them in several")
