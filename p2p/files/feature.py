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
- **Pausing a send** (:meth:`Files.pause` of a file I sent): this device stops serving
  the file's blocks (queued requests are refused, so receivers ask other holders) until
  :meth:`Files.resume`; which files are held back is this device's own setting
  ``paused_sends`` (it does not follow me: each device decides what it serves).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from kith.p2p import events as ev
from kith.p2p.api import ACCEPTED, FileChanged
from kith.p2p.errors import UserError
from kith.p2p.files import descriptor as desc
from kith.p2p.files import manifest as mf
from kith.p2p.files.base import describe_size, log
from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.fetching import Fetching
from kith.p2p.files.protocol import (
    BlockPiece,
    BlockRefused,
    BlockRequest,
    FileHave,
    FileQuery,
    FileStop,
)
from kith.p2p.files.serving import HELD_BACK, MAX_QUEUED, Serving
from kith.p2p.files.views import Views
from kith.p2p.kinds import GROUP, Applying, Part
from kith.storage import Store
from kith.storage.files import (
    FILE_COMPLETE,
    FILE_DOWNLOADING,
    FILE_PAUSED,
    FILE_REMOTE,
    AttachmentRow,
    FileRow,
)

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.messages import MessageBody

AUTO_DOWNLOAD = 25 * 1000 * 1000  # bytes: the default of the setting auto_download
PAUSED_SENDS = "paused_sends"  # the device's setting: hex ids of files it does not serve
MAX_FILES = 10  # attachments of one message
__all__ = ["AUTO_DOWNLOAD", "MAX_FILES", "MAX_QUEUED", "Files", "describe_size"]

_encode = msgspec.msgpack.Encoder().encode
_decode_attachment = msgspec.msgpack.Decoder(desc.Attachment).decode


class _Attached(Part):
    """The attachments one batch of messages brings."""

    def __init__(self, files: Files) -> None:
        self.files = files
        self.rows: list[AttachmentRow] = []
        self.sizes: dict[bytes, int] = {}
        self.block_sizes: dict[bytes, int] = {}
        self.auto: dict[bytes, int] = {}  # file -> size, from someone we fetch by ourselves
        self.new: list[bytes] = []
        self.gone: list[bytes] = []

    def write(self, store: Store) -> None:
        self.new = store.insert_attachments(self.rows, self.sizes, self.block_sizes)
        # (a message unsent or deleted before it came names no file: p2p.actions)
        self.gone = store.drop_unshown_attachments((a.conv, a.author, a.seq) for a in self.rows)
        if self.gone:
            self.rows = [a for a in self.rows if store.file(a.file) is not None]

    def committed(self) -> None:
        if self.gone:
            self.files.forget(self.gone)
        self.files.attached(self.rows, self.auto)

    def failed(self) -> None:
        self.new = []
        self.gone = []


class Files(Fetching, Serving, Views):
    """Attachments and their transfer; see the module docstring. Serving lives in
    :mod:`p2p.files.serving`, downloading in :mod:`p2p.files.fetching`, what both share
    in :mod:`p2p.files.base`."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._views_init()
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
        held = db.get_setting(PAUSED_SENDS, [])
        self.held_back = {bytes.fromhex(h) for h in held if isinstance(h, str)
                          and len(h) == 2 * mf.HASH_SIZE and _is_hex(h)} if isinstance(
            held, list) else set()
        try:
            self.disk.seal_existing()
        except OSError as e:  # (each file left plain still reads; sealed next start)
            log.warning("could not seal the previous release's files: %s", e)
        for row in db.files_in_state(FILE_COMPLETE):
            if not self.disk.complete(row.id):
                self._missing(row.id)
        for row in db.files_in_state(FILE_DOWNLOADING):
            self._begin(row)

    def stop(self) -> None:
        self.hashing.stop()  # (after the writes given before)
        self.writer.close_handles()
        if self._read_pool is not None:
            self._read_pool.shutdown(wait=True, cancel_futures=True)
            self._read_pool = None
        self.reader.close_handles()
        for t in self.transfers.values():
            if t.dirty:
                self._save_bitmap(t)
        self._views_stop()  # (before the folder of plain copies goes)
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
        """Bring the files in, then sign and queue a message to ``user`` that carries
        them."""
        return await self.send_in(self.core.convs.direct(user), text, paths)

    async def send_in(self, conv: bytes, text: str, paths: list[Path]) -> ev.SignedEvent:
        """:meth:`send` in a conversation: the direct one with a contact, or a group."""
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
        core = self.core
        if core.convs.type_of(conv) == GROUP:
            core.devices.refuse_if_removed()
            core.groups.require_member(conv)
        else:
            user = core.convs.peer_of(conv)
            if user is None:
                raise UserError("no such conversation")
            core.messages.check_recipient(user)
        atts: list[desc.Attachment] = []
        for p in paths:
            try:
                m = await asyncio.to_thread(self.disk.import_file, p)
            except OSError as e:
                raise UserError(f"cannot read {p}: {e.strerror or e}") from e
            except mf.ManifestError as e:
                raise UserError(f"cannot send {p.name}: {e}") from e
            # (described from the source: the stored copy may be sealed)
            a = await asyncio.to_thread(desc.describe, p, m, p.name)
            self.core.db.put_file(
                a.id, a.size, a.block_size, m.encode(), Bitmap.full(m.count).to_bytes(),
                FILE_COMPLETE,
            )
            self._manifests[a.id] = m
            atts.append(a)
        atts = _fit(atts, text)
        return core.messages.queue_in(conv, text, files=tuple(atts))

    # -- pausing what I send ----------------------------------------------------------------

    def sending(self, file: bytes) -> bool:
        """Is ``file`` one I sent (from this device or another of mine) and hold whole?"""
        row = self.core.db.file(file)
        return (row is not None and row.state == FILE_COMPLETE
                and any(a.outgoing for a in self.core.db.attachments_of(file)))

    def pause(self, file: bytes) -> None:
        """Pause a download; or, for a file I sent, stop serving its blocks."""
        if self.sending(file):
            self.pause_sending(file)
            return
        super().pause(file)

    def resume(self, file: bytes) -> None:
        """Resume serving a file whose sending I paused, else resume its download."""
        if file in self.held_back:
            self.resume_sending(file)
            return
        row = self.core.db.file(file)
        if row is not None and row.state == FILE_COMPLETE and self.disk.complete(file):
            raise UserError("that file is complete: nothing to resume")
        self.start(file)

    def pause_sending(self, file: bytes) -> None:
        if file in self.held_back:
            return
        self.held_back.add(file)
        self._save_held_back()
        for device, q in self.queues.items():
            refused = [i for f, i in q if f == file]
            if not refused:
                continue
            kept = [x for x in q if x[0] != file]
            q.clear()
            q.extend(kept)
            peer = self.core.net.peers.get(device)
            if peer is not None and peer.live and peer.conn is not None:
                for i in refused:
                    peer.conn.send(BlockRefused(file, i, HELD_BACK))
        log.info("sending of file %s paused", file.hex()[:12])
        self._emit(file)

    def resume_sending(self, file: bytes) -> None:
        if file not in self.held_back:
            return
        self.held_back.discard(file)
        self._save_held_back()
        have = self._have(file)  # (receivers waiting for it ask again)
        for peer in self.core.net.live():
            if self._entitled(peer, file):
                assert peer.conn is not None
                peer.conn.send(have)
        log.info("sending of file %s resumed", file.hex()[:12])
        self._emit(file)

    def _save_held_back(self) -> None:
        self.core.db.set_setting(PAUSED_SENDS, sorted(f.hex() for f in self.held_back))

    # -- what the API shows -----------------------------------------------------------------

    def waiting_attachments(self, e: ev.SignedEvent, body: MessageBody) -> list[AttachmentRow]:
        """The attachments of our message ``e`` while it waits for its log's head
        (p2p.restore): not stored as attached yet (the message is not written), seq 0."""
        x = e.event
        return [AttachmentRow(x.conv, x.author, 0, idx, e.id, a.id, self.core.user_id,
                              _encode(a), True) for idx, a in enumerate(body.files)]

    def for_waiting(self, e: ev.SignedEvent, body: MessageBody) -> list[dict[str, Any]]:
        """What ``history --json`` lists under our message ``e`` while it waits."""
        return [self.file_json(a) for a in self.waiting_attachments(e, body)]

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
            try:
                path = self.view_path(a.id)
            except OSError as e:
                log.warning("file %s cannot be opened: %s", a.id.hex()[:12], e)
                problem = problem or f"the stored file does not open: {e.strerror or e}"
            else:
                if path is not None:
                    out["path"] = str(path)
                elif self.preparing(a.id):  # (its plain copy is being made: a
                    out["path"] = None      # FileChanged follows once it is there)
                    out["preparing"] = True
                else:
                    problem = problem or self.view_problem(a.id)
        if a.width and a.height:
            out["width"], out["height"] = a.width, a.height
        if a.duration:
            out["duration"] = a.duration / 1000  # seconds
        if a.is_video:
            out["video"] = True
        if a.id in self.held_back:
            out["sending"] = FILE_PAUSED
        if problem:
            out["problem"] = problem
        return out

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
        for file in sorted(self.held_back):
            out.append({
                "id": file.hex(), "name": names.get(file, ""), "direction": "out",
                "have": 0, "size": self._size(file), "rate": 0, "eta": None, "peer": "",
                "state": FILE_PAUSED,
            })
        now = time.monotonic()
        for (device, file), u in list(self.uploads.items()):
            if now - u.last > 5.0:
                del self.uploads[(device, file)]
                continue
            if file in self.held_back:
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
        ] + list(self.held_back):
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

    def delete_chat(self, conv: bytes) -> list[bytes]:
        """Forget the attachments of ``conv``; remove the files nothing else names."""
        gone = self.core.db.delete_attachments(conv)
        self.forget(gone)
        return gone

    def forget(self, files: list[bytes]) -> None:
        """Files no message names any more (their rows are gone): stop their downloads
        and sending pauses, and remove them from disk."""
        for file in files:
            if file in self.held_back:
                self.held_back.discard(file)
                self._save_held_back()
            self._stop_transfer(file)
            self._manifests.pop(file, None)
            self.disk.remove(file)
            self._writer_forget(file)
            self._reader_forget(file)
            self.core.emit(FileChanged(file, FILE_REMOTE, 0, 0, problem="deleted"))

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

def _is_hex(s: str) -> bool:
    return all(c in "0123456789abcdef" for c in s)


def _fit(atts: list[desc.Attachment], text: str) -> list[desc.Attachment]:
    """The descriptors, without previews if that is what it takes to fit one event."""
    budget = ev.MAX_EVENT - 2048 - len(text.encode())
    if sum(len(_encode(a)) for a in atts) <= budget:
        return atts
    bare = [msgspec.structs.replace(a, preview=b"") for a in atts]
    if sum(len(_encode(a)) for a in bare) <= budget:
        return bare
    raise UserError("too many files or too much text for one message: send them in several")
