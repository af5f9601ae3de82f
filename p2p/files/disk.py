"""Content-addressed files under the profile folder.

::

    files/<content id hex>            a complete, verified file (never changed again)
    files/partial/<content id>.part   a download in progress (blocks at their offsets)
    files/partial/import-*            a local file being copied in while it is hashed
    files/partial/seal-*              a previous release's plain file being sealed

A file is stored once whatever its names; it is read and written a piece at a time,
never whole in memory. With the profile's data key (``key``), files and partial files
are sealed at rest (:mod:`p2p.files.sealing`): the reader opens each record it needs,
the writer seals a record once its bytes have all come (pieces of a block arrive in
order, and blocks start on a record's boundary). A plain file of the previous release
still reads as it is until :meth:`Disk.seal_existing` has sealed it in place. Without a
key (a plain profile) files are stored as they are.

Programs outside Kith (the system's viewer, ``kith files``' ``path``) get a plain copy
made on demand in a private folder outside the profile (:meth:`Disk.plain_path`),
removed when the node stops.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from kith.p2p import safefs
from kith.p2p.files import manifest as mf
from kith.p2p.files import sealing as sl

FOLDER = "files"
ALL_SEALED = ".sealed"  # in files/: every file here is sealed (none left of the previous release)
log = logging.getLogger("kith.p2p.files.disk")
_PLAIN = None  # a path's key when it is a plain file
# (files sealed so far, of all; bytes sealed so far, of all)
SealProgress = Callable[[int, int, int, int], None]
_IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024, 1024)


class Disk:
    def __init__(self, profile: Path, key: bytes | None = None) -> None:
        self.root = profile / FOLDER
        self.partial_root = self.root / "partial"
        self.sealer = sl.Sealer(key) if key is not None else None
        self._key = key
        self._profile = profile
        self._fds: dict[Path, int] = {}
        self._writing: dict[bytes, int] = {}  # file -> the fd of its partial file
        self._keys: dict[Path, sl.FileKey | None] = {}  # an open path's key (None: plain)
        self._sizes: dict[bytes, int] = {}  # a partial file's size once whole (sealed)
        self._pending: dict[tuple[bytes, int], _Parts] = {}  # (file, record) -> bytes
        self._last: dict[Path, tuple[int, bytes]] = {}  # the record opened last, per path

    @property
    def sealed(self) -> bool:
        return self.sealer is not None

    def ensure(self) -> None:
        new = not self.root.exists()
        safefs.ensure_folder(self.root)
        safefs.ensure_folder(self.partial_root)
        if new and self.sealer is not None:  # (nothing of the previous release here)
            (self.root / ALL_SEALED).touch(0o600)

    def path(self, file: bytes) -> Path:
        """Where Kith keeps ``file`` (sealed if the profile has a key: see
        :meth:`plain_path` for a copy other programs can read)."""
        return self.root / file.hex()

    def partial(self, file: bytes) -> Path:
        return self.partial_root / f"{file.hex()}.part"

    def complete(self, file: bytes) -> bool:
        return self.path(file).is_file()

    def free(self) -> int:
        """Bytes free where the files go."""
        where = self.root if self.root.exists() else self.root.parent
        try:
            return shutil.disk_usage(where).free
        except OSError:
            return 0

    # -- bringing a local file in ---------------------------------------------------------

    def import_file(self, src: Path) -> mf.Manifest:
        """Copy ``src`` in (sealed, with a key) while hashing it; the manifest (the copy
        is named by its content id; a file stored already is not stored twice). OSError
        if unreadable, ManifestError if it is too large or changes while read."""
        self.ensure()
        size = src.stat().st_size
        builder = mf.Builder(size)
        fd, tmp = tempfile.mkstemp(prefix="import-", dir=self.partial_root)
        try:
            with os.fdopen(fd, "wb") as out:
                writer = _SealedWriter(out, self.sealer) if self.sealer else None
                for data in mf.chunks(src):
                    builder.update(data)
                    if writer is not None:
                        writer.write(data)
                    else:
                        out.write(data)
                if writer is not None:
                    writer.close()
                m = builder.finish()
                target = self.path(m.content_id)
                if not target.exists():
                    out.flush()
                    os.fsync(out.fileno())
            if target.exists():
                os.unlink(tmp)
            else:
                os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return m

    # -- downloads ------------------------------------------------------------------------

    def _fd(self, path: Path, create: bool = False) -> int:
        fd = self._fds.get(path)
        if fd is None:
            flags = os.O_RDWR | (os.O_CREAT if create else 0)
            fd = os.open(path, flags, 0o600)
            if self.sealer is not None:
                try:
                    self._keys[path] = self._key_of(fd, path, create)
                except BaseException:
                    os.close(fd)
                    raise
            self._fds[path] = fd
        return fd

    def _key_of(self, fd: int, path: Path, create: bool) -> sl.FileKey | None:
        assert self.sealer is not None
        header = os.pread(fd, sl.HEADER, 0)
        key = self.sealer.open_header(header)
        if key is not None:
            return key
        if create and not header:  # a new partial file: a fresh key
            header, key = self.sealer.new()
            os.pwrite(fd, header, 0)
            return key
        if create:  # (open_partial sealed a previous release's one before)
            raise OSError(errno.EIO, f"{path.name} is not sealed with this profile's key")
        if (self.root / ALL_SEALED).exists():
            raise OSError(errno.EIO, f"{path.name} does not open with this profile's key")
        return _PLAIN  # (a previous release's plain complete file: read it as it is)

    def open_partial(self, file: bytes, size: int | None = None, *,
                     create: bool = True) -> bool:
        """Open (create) the partial file of a ``size``-byte file; a previous release's
        plain one is sealed first. The writer's Disk opens with ``create=False``: the
        loop's Disk created (and sealed) the file before, and one cancelled meanwhile
        must stay gone (False: there is none)."""
        self.ensure()
        if size is not None:
            self._sizes[file] = size
        part = self.partial(file)
        if not create:
            try:
                self._fd(part)
            except FileNotFoundError:
                self._sizes.pop(file, None)
                return False
            return True
        if (self.sealer is not None and part not in self._fds
                and part.is_file() and part.stat().st_size > 0
                and self.sealer.open_header(_read_header(part)) is None):
            self.seal_in_place(part)  # a previous release's plain partial file
        self._fd(part, create=True)
        return True

    def _writer(self, file: bytes, offset: int, data: bytes) -> tuple[int, sl.FileKey, int] | None:
        """The partial file's descriptor (opened once: the hot path builds no path per
        write; _close forgets it), its sealing key and the file's size; None once
        ``data`` is written as it is (no sealing)."""
        fd = self._writing.get(file)
        if fd is None:  # (never created here: a partial file cancelled meanwhile stays gone)
            fd = self._writing[file] = self._fd(self.partial(file))
        if self.sealer is None:
            _pwrite_all(fd, memoryview(data), offset)
            return None
        key = self._keys.get(self.partial(file))
        size = self._sizes.get(file)
        if key is None or size is None:
            raise OSError(errno.EINVAL, "a sealed partial file is written after open_partial")
        return fd, key, size

    def write(self, file: bytes, offset: int, data: bytes) -> None:
        """Write at ``offset`` of the partial file (OSError: ENOSPC when the disk is full).
        Sealed, a record is written once its last byte came: the pieces of a block come
        in order from its start (a piece at a record's start begins it again)."""
        opened = self._writer(file, offset, data)
        if opened is None:
            return
        fd, key, size = opened
        view = memoryview(data)
        while view:
            index, at = divmod(offset, sl.UNIT)
            end = min(sl.UNIT, size - index * sl.UNIT)
            n = min(len(view), end - at)
            if n <= 0:
                raise OSError(errno.EINVAL, f"a piece past the end of the file at {offset}")
            slot = (file, index)
            if at == 0:
                parts = self._pending[slot] = _Parts()
            else:
                got = self._pending.get(slot)
                if got is None or got.size != at:
                    raise OSError(errno.EIO, f"a piece out of order at {offset}")
                parts = got
            parts.add(view[:n])
            view = view[n:]
            offset += n
            if parts.size == end:
                del self._pending[slot]
                nonce, sealed = key.seal_parts(index, parts.join())  # (one copy, no more)
                where = sl.record_offset(index)
                done = os.pwritev(fd, [nonce, sealed], where)
                if done < len(nonce) + len(sealed):  # (rare: a short write)
                    _pwrite_all(fd, memoryview(nonce + sealed)[done:], where + done)

    def write_block(self, file: bytes, offset: int, data: bytes) -> None:
        """Write a whole block (verified) at ``offset``, a record's boundary, in one
        system call: sealed, each of its records with a fresh nonce (OSError: ENOSPC
        when the disk is full)."""
        opened = self._writer(file, offset, data)
        if opened is None:
            return
        fd, key, size = opened
        first, at = divmod(offset, sl.UNIT)
        if at or offset + len(data) > size:
            raise OSError(errno.EINVAL, f"a block not on a record's boundary at {offset}")
        for index in range(first, first + -(-len(data) // sl.UNIT)):
            self._pending.pop((file, index), None)  # (pieces of an earlier try)
        pieces = key.seal_block(first, data)
        where = sl.record_offset(first)
        done = 0
        for start in range(0, len(pieces), _IOV_MAX):  # (a 16 MiB block: 512 pieces)
            batch = pieces[start:start + _IOV_MAX]
            total = sum(len(p) for p in batch)
            n = os.pwritev(fd, batch, where + done)
            if n < total:  # (rare: a short write)
                _pwrite_all(fd, memoryview(b"".join(batch))[n:], where + done + n)
            done += total

    def sync(self, file: bytes) -> None:
        """Make what was written to ``file``'s partial file durable (fsync)."""
        fd = self._writing.get(file) or self._fds.get(self.partial(file))
        if fd is not None:
            os.fsync(fd)

    def finish(self, file: bytes) -> Path:
        """The partial file is complete and verified: make it the file (atomically)."""
        part = self.partial(file)
        fd = self._fd(part)
        os.fsync(fd)
        self._close(part)
        self._forget_pending(file)
        target = self.path(file)
        os.replace(part, target)
        _sync_folder(self.root)
        return target

    def drop_partial(self, file: bytes) -> None:
        part = self.partial(file)
        self._close(part)
        self._forget_pending(file)
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        self.rechecked(file)

    def has_partial(self, file: bytes) -> bool:
        return self.partial(file).is_file()

    # -- re-checking blocks recorded before their data was durable ---------------------------

    def _recheck_mark(self, file_hex: str) -> Path:
        return self.partial_root / f"{file_hex}.recheck"

    def needs_recheck(self, file: bytes) -> bool:
        """Were ``file``'s verified blocks recorded by the previous release, which did not
        make a block's data durable before recording it (so a power cut may have lost
        some)? Then they are hashed again before the download goes on."""
        return self._recheck_mark(file.hex()).exists()

    def rechecked(self, file: bytes) -> None:
        self._recheck_mark(file.hex()).unlink(missing_ok=True)

    def bad_blocks(self, file: bytes, hashes: list[bytes], block_size: int, size: int,
                   blocks: list[int]) -> list[int]:
        """Which of ``blocks`` of the partial file do not match their hash (on a thread:
        it reads through a Disk of its own)."""
        own = Disk(self._profile, self._key)
        try:
            return [i for i in blocks if not own._matches(file, hashes, block_size, size, i)]
        finally:
            own.close_handles()

    def unrecorded_blocks(self, file: bytes, hashes: list[bytes], block_size: int, size: int,
                          missing: list[int]) -> list[int]:
        """Which of ``missing`` (blocks the bitmap lacks) are in the partial file all the
        same, whole and matching their hash, and durable now (fsynced): the ones to record
        as verified (:mod:`p2p.files.recovery`; on a thread: a Disk of its own). Only
        blocks in the file's data regions are read: none when nothing was written past
        the recorded ones, or where holes cannot be told from data. OSError if the
        partial file cannot be made durable."""
        from kith.p2p.files import recovery

        part = self.partial(file)
        try:
            fd = os.open(part, os.O_RDONLY)
        except FileNotFoundError:
            return []
        try:
            regions = recovery.data_regions(fd)
        finally:
            os.close(fd)
        if not regions:
            return []
        candidates = recovery.within(regions, missing, size, block_size, self.sealed)
        if not candidates:
            return []
        own = Disk(self._profile, self._key)
        try:
            good = [i for i in candidates if own._matches(file, hashes, block_size, size, i)]
            if good:
                own.sync(file)  # (recorded next: durable first, as any verified block)
        finally:
            own.close_handles()
        return good

    def _matches(self, file: bytes, hashes: list[bytes], block_size: int, size: int,
                 index: int) -> bool:
        """Does block ``index`` of the partial file read whole (unsealed) and match its
        hash? (A record that does not open, or a short file, is a no.)"""
        start, length = mf.block_span(size, block_size, index)
        try:
            data = self.read(file, start, length, partial=True)
        except OSError:
            return False
        return mf.block_hash(data) == hashes[index]

    def forget(self, file: bytes) -> None:
        """Close ``file``'s partial file and drop what was buffered for it (a writer's
        handle, once the loop's Disk renamed or removed the file)."""
        self._close(self.partial(file))
        self._forget_pending(file)

    def _forget_pending(self, file: bytes) -> None:
        self._sizes.pop(file, None)
        for slot in [s for s in self._pending if s[0] == file]:
            del self._pending[slot]

    # -- serving --------------------------------------------------------------------------

    def read(self, file: bytes, offset: int, length: int, *, partial: bool = False) -> bytes:
        """``length`` bytes at ``offset`` of the file (or of its partial file); OSError
        (FileNotFoundError if it was removed; EIO if a sealed record does not open)."""
        path = self.partial(file) if partial else self.path(file)
        if not partial and not path.exists():  # removed behind our back
            self._close(path)
            raise FileNotFoundError(f"{path} was removed")
        fd = self._fd(path)
        key = self._keys.get(path, _PLAIN)
        data = os.pread(fd, length, offset) if key is None else self._open(
            path, fd, key, offset, length)
        if len(data) != length:
            raise OSError(f"{path.name} is shorter than it should be")
        return data

    def _open(self, path: Path, fd: int, key: sl.FileKey, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        first, last = offset // sl.UNIT, (offset + length - 1) // sl.UNIT
        out = bytearray()
        for index in range(first, last + 1):
            cached = self._last.get(path)
            if cached is not None and cached[0] == index:
                plain = cached[1]
            else:
                record = os.pread(fd, sl.RECORD, sl.record_offset(index))
                if not record:
                    break
                try:
                    plain = key.open(index, record)
                except sl.SealError as e:
                    raise OSError(errno.EIO, f"{path.name}: {e}") from e
                self._last[path] = (index, plain)
            out += plain
        skip = offset - first * sl.UNIT
        if skip == 0 and len(out) == length:  # (a whole block: one copy less)
            return bytes(out)
        return bytes(memoryview(out)[skip:skip + length])

    def plain_ready(self, file: bytes) -> Path | None:
        """The path of :meth:`plain_path` if nothing needs making (the file is stored
        plain, or its plain copy is there already), else None; cheap (a header and two
        stats): for the loop, which leaves the copying to a thread."""
        src = self.path(file)
        if self.sealer is None or _read_header(src)[:len(sl.MAGIC)] != sl.MAGIC:
            return src
        target = self._view_folder() / file.hex()
        try:
            if target.stat().st_size == sl.plain_size(src.stat().st_size):
                return target
        except (OSError, ValueError):
            pass
        return None

    def plain_path(self, file: bytes) -> Path:
        """A path other programs can read ``file`` at: the file itself when stored plain,
        else a plain copy made (once) in a private folder outside the profile (about a
        second per GiB: on a thread, see p2p.files.views)."""
        src = self.path(file)
        if self.sealer is None or _read_header(src)[:len(sl.MAGIC)] != sl.MAGIC:
            return src
        fd = self._fd(src)
        key = self._keys.get(src)
        if key is None:
            return src
        folder = self.view_root()
        target = folder / file.hex()
        size = sl.plain_size(os.fstat(fd).st_size)
        if target.is_file() and target.stat().st_size == size:
            return target
        tmp_fd, tmp = tempfile.mkstemp(prefix=".open-", dir=folder)
        try:
            with os.fdopen(tmp_fd, "wb") as out:
                for index in range((size + sl.UNIT - 1) // sl.UNIT):
                    record = os.pread(fd, sl.RECORD, sl.record_offset(index))
                    try:
                        out.write(key.open(index, record))
                    except sl.SealError as e:
                        raise OSError(errno.EIO, f"{src.name}: {e}") from e
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target

    def view_root(self) -> Path:
        """The private folder of plain copies: in the user's runtime folder (a tmpfs on
        most systems) when there is one."""
        folder = self._view_folder()
        safefs.ensure_folder(folder.parent)
        safefs.ensure_folder(folder)
        return folder

    def _view_folder(self) -> Path:
        base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
        tag = hashlib.blake2b(str(self._profile.resolve()).encode(), digest_size=8).hexdigest()
        return base / f"kith-{os.getuid()}" / tag

    def forget_handle(self, file: bytes) -> None:
        self._close(self.path(file))

    def remove(self, file: bytes) -> None:
        self.forget_handle(file)
        self.drop_partial(file)
        with contextlib.suppress(FileNotFoundError):
            self.path(file).unlink()
        if self.sealer is not None:
            with contextlib.suppress(OSError):
                (self._view_folder() / file.hex()).unlink(missing_ok=True)

    def _close(self, path: Path) -> None:
        self._writing = {f: fd for f, fd in self._writing.items() if fd != self._fds.get(path)}
        self._keys.pop(path, None)
        self._last.pop(path, None)
        fd = self._fds.pop(path, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close_handles(self) -> None:
        for path in list(self._fds):
            self._close(path)

    def close(self) -> None:
        self.close_handles()
        self._pending.clear()
        self._sizes.clear()
        shutil.rmtree(self._view_folder(), ignore_errors=True)  # (plain copies, pastes)

    # -- sealing the previous release's plain files (p2p.files.oldfiles) -------------------

    def seal_existing(self, progress: SealProgress | None = None) -> int:
        """Seal, in place, every plain file the previous release left; the number of files
        sealed (see :func:`p2p.files.oldfiles.seal_existing`)."""
        from kith.p2p.files import oldfiles

        return oldfiles.seal_existing(self, progress)

    def seal_in_place(self, path: Path, progress: Callable[[int], None] | None = None) -> None:
        """Seal the plain file at ``path`` atomically (see :meth:`seal_existing`)."""
        from kith.p2p.files import oldfiles

        oldfiles.seal_in_place(self, path, progress)


class _Parts:
    """The pieces of one record that came so far."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[memoryview] = []
        self.size = 0

    def add(self, piece: memoryview) -> None:
        self.parts.append(piece)
        self.size += len(piece)

    def join(self) -> bytes:
        return b"".join(self.parts)


class _SealedWriter:
    """Seals a stream of bytes into a file, record by record."""

    def __init__(self, out: object, sealer: sl.Sealer) -> None:
        self.out = out
        header, self.key = sealer.new()
        self._write(header)
        self.index = 0
        self.buf = bytearray()

    def _write(self, data: bytes) -> None:
        self.out.write(data)  # type: ignore[attr-defined]

    def write(self, data: bytes | memoryview) -> None:
        self.buf += data
        while len(self.buf) >= sl.UNIT:
            self._write(self.key.seal(self.index, memoryview(self.buf)[:sl.UNIT]))
            del self.buf[:sl.UNIT]
            self.index += 1

    def close(self) -> sl.FileKey:
        if self.buf:
            self._write(self.key.seal(self.index, self.buf))
            self.buf = bytearray()
            self.index += 1
        return self.key


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def _read_header(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(sl.HEADER)
    except OSError:
        return b""


def _is_content_name(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
