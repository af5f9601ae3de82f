"""Content-addressed files under the profile folder.

::

    files/<content id hex>            a complete, verified file (never changed again)
    files/partial/<content id>.part   a download in progress (blocks at their offsets)
    files/partial/import-*            a local file being copied in while it is hashed

A file is stored once whatever its names; it is read and written a piece at a time,
never whole in memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from p2p import safefs
from p2p.files import manifest as mf

FOLDER = "files"


class Disk:
    def __init__(self, profile: Path) -> None:
        self.root = profile / FOLDER
        self.partial_root = self.root / "partial"
        self._fds: dict[Path, int] = {}
        self._writing: dict[bytes, int] = {}  # file -> the fd of its partial file

    def ensure(self) -> None:
        safefs.ensure_folder(self.root)
        safefs.ensure_folder(self.partial_root)

    def path(self, file: bytes) -> Path:
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
        """Copy ``src`` in while hashing it; the manifest (the copy is named by its
        content id; a file stored already is not stored twice). OSError if unreadable,
        ManifestError if it is too large or changes while read."""
        self.ensure()
        size = src.stat().st_size
        builder = mf.Builder(size)
        fd, tmp = tempfile.mkstemp(prefix="import-", dir=self.partial_root)
        try:
            with os.fdopen(fd, "wb") as out:
                for data in mf.chunks(src):
                    builder.update(data)
                    out.write(data)
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
            fd = self._fds[path] = os.open(path, flags, 0o600)
        return fd

    def open_partial(self, file: bytes) -> None:
        self.ensure()
        self._fd(self.partial(file), create=True)

    def write(self, file: bytes, offset: int, data: bytes) -> None:
        """Write at ``offset`` of the partial file (OSError: ENOSPC when the disk is full)."""
        view = memoryview(data)
        fd = self._writing.get(file)  # (the hot path: no path built per piece)
        if fd is None:  # (_close forgets it)
            self.ensure()
            fd = self._writing[file] = self._fd(self.partial(file), create=True)
        while view:
            n = os.pwrite(fd, view, offset)
            view = view[n:]
            offset += n

    def finish(self, file: bytes) -> Path:
        """The partial file is complete and verified: make it the file (atomically)."""
        part = self.partial(file)
        fd = self._fd(part)
        os.fsync(fd)
        self._close(part)
        target = self.path(file)
        os.replace(part, target)
        return target

    def drop_partial(self, file: bytes) -> None:
        part = self.partial(file)
        self._close(part)
        with contextlib.suppress(FileNotFoundError):
            part.unlink()

    def has_partial(self, file: bytes) -> bool:
        return self.partial(file).is_file()

    # -- serving --------------------------------------------------------------------------

    def read(self, file: bytes, offset: int, length: int, *, partial: bool = False) -> bytes:
        """``length`` bytes at ``offset`` of the file (or of its partial file); OSError
        (FileNotFoundError if it was removed)."""
        path = self.partial(file) if partial else self.path(file)
        if not partial and not path.exists():  # removed behind our back
            self._close(path)
            raise FileNotFoundError(f"{path} was removed")
        fd = self._fd(path)
        data = os.pread(fd, length, offset)
        if len(data) != length:
            raise OSError(f"{path.name} is shorter than it should be")
        return data

    def forget_handle(self, file: bytes) -> None:
        self._close(self.path(file))

    def remove(self, file: bytes) -> None:
        self.forget_handle(file)
        self.drop_partial(file)
        with contextlib.suppress(FileNotFoundError):
            self.path(file).unlink()

    def _close(self, path: Path) -> None:
        self._writing = {f: fd for f, fd in self._writing.items() if fd != self._fds.get(path)}
        fd = self._fds.pop(path, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        for path in list(self._fds):
            self._close(path)
