"""Sealing, in place, the plain files the previous release left under ``files/`` (once,
at the first start with a data key), with progress: a profile may hold gigabytes.

Each file atomically: a sealed copy beside it (``files/partial/seal-*``), read back and
compared, fsynced, renamed over it; an interruption leaves each file either plain or
sealed, both readable. Once none is left, ``files/.sealed`` says so: from then on a file
that does not open with the key is an error, never read as plain.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from kith.p2p.files import manifest as mf
from kith.p2p.files import sealing as sl
from kith.p2p.files.disk import (
    ALL_SEALED,
    Disk,
    SealProgress,
    _is_content_name,
    _read_header,
    _SealedWriter,
    _sync_folder,
)

# (the CLI and the daemon show this logger's INFO lines by default: app.cli)
log = logging.getLogger(__name__)


def plain_left(disk: Disk) -> list[Path]:
    """The previous release's plain files (complete and partial) still to seal."""
    if (disk.sealer is None or not disk.root.is_dir()
            or (disk.root / ALL_SEALED).exists()):
        return []
    paths = [p for p in disk.root.iterdir() if _is_content_name(p.name)]
    if disk.partial_root.is_dir():
        paths += [p for p in disk.partial_root.iterdir()
                  if p.name.endswith(".part") and _is_content_name(p.name[:-5])]
    return [p for p in sorted(paths)
            if p.is_file() and disk.sealer.open_header(_read_header(p)) is None]


def seal_existing(disk: Disk, progress: SealProgress | None = None) -> int:
    """Seal every plain file left (see the module's docstring); ``progress(files done,
    files, bytes done, bytes)`` at the start, as the bytes go and at the end. The number
    of files sealed."""
    if (disk.sealer is None or not disk.root.is_dir()
            or (disk.root / ALL_SEALED).exists()):
        return 0
    disk.ensure()
    for left in disk.partial_root.glob("seal-*"):
        left.unlink(missing_ok=True)
    for left in disk.partial_root.glob("import-*"):
        left.unlink(missing_ok=True)
    todo = plain_left(disk)
    sizes = [p.stat().st_size for p in todo]
    total, count = sum(sizes), len(todo)
    if todo:
        log.info("sealing %d file(s) of the previous release (%.1f MB) with the profile's key",
                 count, total / 1e6)
    done_bytes = 0
    told = _Told(count, total, progress)
    told(0, 0)
    for n, (path, size) in enumerate(zip(todo, sizes, strict=True)):
        disk._close(path)
        if path.parent == disk.partial_root:  # (its bitmap was recorded unsynced)
            mark = disk._recheck_mark(path.name[:-5])
            mark.touch(0o600)
            _sync_folder(disk.partial_root)
        base = done_bytes

        def step(sealed: int, n: int = n, base: int = base) -> None:
            told(n, base + sealed)

        seal_in_place(disk, path, step)
        done_bytes += size
        told(n + 1, done_bytes)
    if todo:
        log.info("sealed %d file(s) of the previous release with the profile's key", count)
    marker = disk.root / ALL_SEALED
    if not marker.exists():
        marker.touch(0o600)
        _sync_folder(disk.root)
    return count


class _Told:
    """Progress to the caller, and to the log every tenth of the bytes."""

    def __init__(self, count: int, total: int, progress: SealProgress | None) -> None:
        self.count, self.total, self.progress = count, total, progress
        self.logged = 0  # tenths logged

    def __call__(self, files: int, done: int) -> None:
        if self.progress is not None:
            self.progress(files, self.count, done, self.total)
        tenths = 10 * done // self.total if self.total else 10
        if self.count and tenths > self.logged and tenths < 10:
            self.logged = tenths
            log.info("sealing the previous release's files: %d %% (%d of %d files, %.1f of "
                     "%.1f MB)", 10 * tenths, files, self.count, done / 1e6, self.total / 1e6)


def seal_in_place(disk: Disk, path: Path, progress: Callable[[int], None] | None = None) -> None:
    """Seal the plain file at ``path`` atomically; ``progress(bytes sealed)`` as it goes."""
    assert disk.sealer is not None
    fd, tmp = tempfile.mkstemp(prefix=f"seal-{path.name[:16]}-", dir=disk.partial_root)
    try:
        plain_hash = hashlib.blake2b(digest_size=32)
        sealed = 0
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            writer = _SealedWriter(out, disk.sealer)
            while data := src.read(mf.READ_SIZE):
                plain_hash.update(data)
                writer.write(data)
                sealed += len(data)
                if progress is not None:
                    progress(sealed)
            key = writer.close()
            out.flush()
            os.fsync(out.fileno())
        if _opened_hash(Path(tmp), key) != plain_hash.digest():
            raise OSError(errno.EIO, f"the sealed copy of {path.name} does not read back")
        os.replace(tmp, path)
        _sync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _opened_hash(path: Path, key: sl.FileKey) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    with path.open("rb") as f:
        f.seek(sl.HEADER)
        index = 0
        while record := f.read(sl.RECORD):
            try:
                h.update(key.open(index, record))
            except sl.SealError as e:
                raise OSError(errno.EIO, f"{path.name}: {e}") from e
            index += 1
    return h.digest()
