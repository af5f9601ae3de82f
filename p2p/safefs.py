"""Files of a profile folder that nobody else can plant, read or redirect.

A profile folder holds the identity keys, so Kith trusts it only when it is the user's
own: the folder and every file in it belong to the user running Kith, and nobody else
may write there (else Kith refuses, and says how to fix it). What others could only read
(a folder made by ``mkdir``, a profile copied with its modes) is closed by Kith itself
(0700 for the folder, 0600 for files), with a log line. Files are opened with
``O_NOFOLLOW`` (a symlink planted in the folder is refused, never followed) and new ones
are created with ``O_EXCL`` and mode 0600 whatever the umask or the folder's mode.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from pathlib import Path

from kith.p2p.errors import EnvironmentProblem

log = logging.getLogger(__name__)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UntrustedProfile(EnvironmentProblem):
    """The profile folder or one of its files belongs to someone else or is open to
    others; the message says how to fix it."""


def _who(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def _close_to_others(path: Path, st: os.stat_result, private: int, fd: int | None) -> None:
    """Writable by others: refused. Only readable by others: closed (mode ``private``)."""
    mode = stat.S_IMODE(st.st_mode)
    what = "folder" if stat.S_ISDIR(st.st_mode) else "file"
    if mode & 0o022:
        raise UntrustedProfile(
            f"the profile {what} {path} can be changed by other users (mode {mode:04o}): "
            f"Kith keeps your keys there. Close it with: chmod {private:o} {path}"
        )
    if mode & 0o077:
        try:
            if fd is not None:
                os.fchmod(fd, private)
            else:  # a folder, checked by stat() on its path
                os.chmod(path, private)
        except OSError as e:
            raise UntrustedProfile(
                f"the profile {what} {path} is readable by other users (mode {mode:04o}) "
                f"and Kith cannot close it ({e.strerror}): chmod {private:o} {path}"
            ) from e
        log.warning("%s was readable by other users (mode %04o); now %04o", path, mode, private)


def _not_yours(path: Path, st: os.stat_result, what: str) -> UntrustedProfile:
    me = _who(os.geteuid())
    return UntrustedProfile(
        f"the profile {what} {path} belongs to {_who(st.st_uid)}, not to you ({me}): Kith "
        f"keeps your keys there, so it uses only a {what} of your own. Use another "
        f"--profile, or take it over: chown -R {me} {path}"
    )


def check_folder_stat(st: os.stat_result, path: Path) -> None:
    """Refuse a folder that is not a directory, is someone else's or is writable by
    others (one only readable by others is closed)."""
    if not stat.S_ISDIR(st.st_mode):
        raise UntrustedProfile(f"{path} is not a folder")
    if st.st_uid != os.geteuid():
        raise _not_yours(path, st, "folder")
    _close_to_others(path, st, 0o700, None)


def check_file_stat(st: os.stat_result, path: Path, fd: int | None = None) -> None:
    """Refuse a profile file that is not a plain file, is someone else's or is writable
    by others (one only readable by others is closed, through ``fd`` if given)."""
    if stat.S_ISLNK(st.st_mode):
        raise UntrustedProfile(f"{path} is a symbolic link: remove it (Kith never follows one)")
    if not stat.S_ISREG(st.st_mode):
        raise UntrustedProfile(f"{path} is not a plain file: remove it")
    if st.st_uid != os.geteuid():
        raise _not_yours(path, st, "file")
    _close_to_others(path, st, 0o600, fd)


def ensure_folder(path: Path) -> None:
    """Create the profile folder (mode 0700, with its parents) or check that an existing
    one is the user's own and closed to others."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.stat(path)
    except PermissionError as e:
        raise EnvironmentProblem(
            f"cannot create the profile folder {path}: permission denied; use a --profile "
            "folder you can write to"
        ) from e
    except FileExistsError as e:
        raise UntrustedProfile(f"{path} is not a folder") from e
    except OSError as e:
        raise EnvironmentProblem(f"cannot use the profile folder {path}: {e.strerror}") from e
    check_folder_stat(st, path)


def check_folder(path: Path) -> bool:
    """Check an existing profile folder (False if there is none yet)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise EnvironmentProblem(f"cannot use the profile folder {path}: {e.strerror}") from e
    check_folder_stat(st, path)
    return True


def _denied(path: Path, e: OSError, doing: str) -> EnvironmentProblem:
    if e.errno == errno.ELOOP:
        return UntrustedProfile(f"{path} is a symbolic link: remove it (Kith never follows one)")
    if e.errno in (errno.EACCES, errno.EPERM):
        return EnvironmentProblem(
            f"cannot {doing} {path}: permission denied (is the profile folder yours and "
            "writable? `ls -la` it)"
        )
    if e.errno == errno.EROFS:
        return EnvironmentProblem(
            f"cannot {doing} {path}: the profile is on a read-only file system; use a "
            "writable --profile folder"
        )
    if e.errno == errno.ENOSPC:
        return EnvironmentProblem(f"cannot {doing} {path}: the disk is full; free some space")
    return EnvironmentProblem(f"cannot {doing} {path}: {e.strerror}")


def open_private(path: Path, flags: int) -> int:
    """Open (``os.O_CREAT`` in ``flags``: create mode 0600) a file of the profile without
    following a symlink, and check the file is the user's own and closed to others."""
    try:
        fd = os.open(path, flags | NOFOLLOW | CLOEXEC, 0o600)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise _denied(path, e, "open") from e
    try:
        check_file_stat(os.fstat(fd), path, fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_private(path: Path) -> bytes:
    """The whole content of a profile file (FileNotFoundError if there is none)."""
    fd = open_private(path, os.O_RDONLY)
    try:
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except OSError as e:
        raise _denied(path, e, "read") from e
    finally:
        os.close(fd)


def create_private(path: Path) -> bool:
    """Create an empty file with mode 0600 unless it exists (then check it); True if
    created. Used for the database before SQLite opens it (SQLite gives its -wal and
    -shm files the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, 0o600)
    except FileExistsError:
        try:
            check_existing(path)
        except FileNotFoundError:
            return create_private(path)
        return False
    except OSError as e:
        raise _denied(path, e, "create") from e
    os.close(fd)
    return True


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: a fresh temporary file (``O_EXCL``, mode
    0600: never a file or symlink someone left there), fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a leftover (or a planted symlink: unlink never follows it)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, 0o600)
    except OSError as e:
        raise _denied(tmp, e, "write") from e
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _denied(path, e, "write") from e
    with contextlib.suppress(OSError):  # the rename itself lasts once the folder is synced
        dfd = os.open(path.parent, os.O_RDONLY | CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def check_existing(path: Path) -> None:
    """Check a profile file if it exists (a symlink, someone else's or writable by others:
    refused; readable by others: closed)."""
    try:
        fd = open_private(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block
    except FileNotFoundError:
        return
    os.close(fd)
