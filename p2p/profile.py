"""A profile folder: key file, database, lock and control socket of one Kith user on one
device.

Who runs for a profile: at most one node holds the profile lock (``kith.lock``), and the
lock file says who it is (``PID ROLE WHAT``: a ``daemon``, the ``app`` or a one-shot
``command``). A command that finds a daemon or the app starting waits for its control
socket; a daemon or the app that finds a command holding the profile waits until that
command is done (:func:`claim`). Nobody exits or fails because of the order.

The control socket lives in ``$XDG_RUNTIME_DIR/kith/`` (else a private
``kith-UID`` folder in the temporary directory), named after the profile's path, so
that a long ``--profile`` path cannot exceed the 107 bytes of a Unix socket path.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kith.p2p import safefs
from kith.p2p.errors import EnvironmentProblem, UserError
from kith.p2p.identity import (
    KEY_FILE,
    Identity,
    identity_exists,
    load_identity,
    save_identity,
    valid_name,
)

DB_FILE = "kith.db"
LOCK_FILE = "kith.lock"
CONTROL_SOCKET = "control.sock"  # the name of old versions, in the profile folder



def default_profile() -> Path:
    return Path(platformdirs.user_data_dir("kith", appauthor=False))


def default_device_name() -> str:
    """What a device is called in "My devices" unless the user says otherwise: this
    computer's host name (what the user sees in their own network), else a plain word."""
    host = socket.gethostname().split(".")[0].strip()[:64].strip()
    return host if valid_name(host) else "this computer"


def create_identity(
    profile: Path, name: str, device_name: str | None = None, key: bytes | None = None
) -> Identity:
    """``kith init``: create this device's identity; refuses if the profile has one.
    The device is named after the host unless ``device_name`` is given. With the
    profile's data key ``key`` the key file is sealed with it."""
    if identity_exists(profile):
        raise UserError(f"{profile} already has an identity; use another --profile")
    try:
        identity = Identity.generate(name, device_name or default_device_name())
    except ValueError as e:
        raise UserError(str(e)) from e
    save_identity(profile, identity, key=key)
    return identity


def require_identity(profile: Path, key: bytes | None = None) -> Identity:
    identity = load_identity(profile, key)
    if identity is None:
        raise UserError(
            f"no identity in {profile}; create one first: kith --profile {profile} init --name NAME"
        )
    return identity



#: Roles written in the lock file. A ``command`` holds the profile briefly (the daemon
#: and the app wait for it); a ``daemon`` or the ``app`` serves the control socket.
ROLES = ("command", "daemon", "app", "node")

# Profiles this process holds through claim(): the Node's own lock then nests in it.
_claims: dict[str, ProfileLock] = {}


def _key(profile: Path) -> str:
    return os.path.realpath(profile)


@dataclass(frozen=True)
class Holder:
    """Who holds a profile's lock, as its lock file says."""

    pid: int
    role: str  # one of ROLES ("node": a Node started without a claim, as tests do)
    what: str  # the command, for a one-shot command

    def describe(self) -> str:
        if self.role == "command":
            return f"`kith {self.what}` (pid {self.pid})"
        if self.role == "daemon":
            return f"the Kith daemon (pid {self.pid})"
        if self.role == "app":
            return f"the Kith app (pid {self.pid})"
        return f"a Kith node (pid {self.pid})"


def prepare(profile: Path) -> None:
    """Before a node opens the profile: a folder of the user's own, closed to others; the
    files in it checked (no symlink, the user's, mode 0600); the database file created
    with mode 0600 if there is none (SQLite gives its -wal and -shm files that mode)."""
    safefs.ensure_folder(profile)
    for name in (KEY_FILE, DB_FILE + "-wal", DB_FILE + "-shm"):
        safefs.check_existing(profile / name)
    safefs.create_private(profile / DB_FILE)


class ProfileLock:
    """An exclusive lock so that one node at most runs per profile.

    ``acquire()`` fails at once with "another Kith is already running" if someone holds
    it, unless this process holds the profile through :func:`claim` (then it nests in
    that claim). Either way the profile folder is checked and prepared first."""

    def __init__(self, profile: Path, role: str = "node", what: str = "") -> None:
        self.path = profile / LOCK_FILE
        self.role = role
        self.what = what
        self._fd: int | None = None
        self._nested: ProfileLock | None = None

    def acquire(self) -> None:
        profile = self.path.parent
        outer = _claims.get(_key(profile))
        if outer is not None and outer is not self and outer._fd is not None:
            prepare(profile)
            self._nested = outer
            return
        if not self.try_acquire():
            holder = read_holder(profile)
            who = f" ({holder.describe()})" if holder else ""
            raise EnvironmentProblem(f"another Kith is already running for {profile}{who}")

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False if someone does."""
        profile = self.path.parent
        prepare(profile)
        fd = safefs.open_private(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:
            os.ftruncate(fd, 0)
            mark = str(os.getpid()) if self.role == "node" else (
                f"{os.getpid()} {self.role} {self.what}".rstrip()
            )
            os.write(fd, mark.encode())
        except OSError as e:
            os.close(fd)
            raise EnvironmentProblem(f"cannot write {self.path}: {e.strerror}") from e
        self._fd = fd
        return True

    def release(self) -> None:
        if self._nested is not None:
            self._nested = None
            return
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            profile = self.path.parent
            if _claims.get(_key(profile)) is self:
                del _claims[_key(profile)]

    @staticmethod
    def held(profile: Path) -> bool:
        """True when a running node holds the profile's lock."""
        path = profile / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDONLY | safefs.NOFOLLOW | safefs.CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as e:
            raise EnvironmentProblem(f"cannot open {path}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)


def read_holder(profile: Path) -> Holder | None:
    """Who holds the lock as its file says (None: nobody, or not written yet)."""
    try:
        text = safefs.read_private(profile / LOCK_FILE).decode("utf-8", "replace")
    except (FileNotFoundError, NotADirectoryError, EnvironmentProblem):
        return None
    parts = text.split(" ", 2)
    if not parts[0].isdigit():
        return None
    role = parts[1] if len(parts) > 1 and parts[1] in ROLES else "node"
    return Holder(int(parts[0]), role, parts[2] if len(parts) > 2 else "")


def claim(
    profile: Path,
    role: str,
    what: str = "",
    *,
    wait_for: Callable[[Holder | None], bool],
    on_wait: Callable[[Holder | None], None] | None = None,
    poll: float = 0.05,
) -> ProfileLock:
    """Hold the profile for this process as ``role``; a Node started on it meanwhile
    nests in this claim. While someone else holds it: keep waiting as long as
    ``wait_for(holder)`` says so (``on_wait`` is told once, with who it is), else raise
    :class:`AlreadyRunning`."""
    told = False
    while True:
        lock = claim_nowait(profile, role, what)
        if lock is not None:
            return lock
        holder = read_holder(profile)
        if holder is not None and not wait_for(holder):
            raise AlreadyRunning(profile, holder)
        if holder is not None and not told and on_wait is not None:
            told = True
            on_wait(holder)
        time.sleep(poll)


def claim_nowait(profile: Path, role: str, what: str = "") -> ProfileLock | None:
    """Hold the profile for this process as ``role`` if nobody holds it (see
    :func:`claim`); None if someone does."""
    lock = ProfileLock(profile, role, what)
    if not lock.try_acquire():
        return None
    _claims[_key(profile)] = lock
    return lock


class AlreadyRunning(EnvironmentProblem):
    """A daemon or the app already runs for the profile."""

    def __init__(self, profile: Path, holder: Holder) -> None:
        super().__init__(f"{holder.describe()} already runs for {profile}")
        self.profile = profile
        self.holder = holder


# -- the control socket's location -------------------------------------------------------


def runtime_dir() -> Path:
    """A folder of this user's own for sockets: ``$XDG_RUNTIME_DIR/kith`` when the
    session has one (systemd-logind makes it, mode 0700), else ``kith-UID`` in the
    temporary directory. Created mode 0700; refused if someone else owns it or it is
    open to others (someone could plant a socket there)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base) and os.path.isdir(base):
        path = Path(base) / "kith"
    else:
        path = Path(tempfile.gettempdir()) / f"kith-{os.geteuid()}"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise EnvironmentProblem(f"cannot create the folder {path} for the control socket: "
                                 f"{e.strerror}") from e
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise safefs.UntrustedProfile(
            f"{path} is a symbolic link; Kith keeps its control sockets there: remove it"
        )
    try:
        safefs.check_folder_stat(st, path)
    except safefs.UntrustedProfile as e:
        raise safefs.UntrustedProfile(
            f"{e} (this folder holds Kith's control sockets)"
        ) from None
    return path


def control_socket_path(profile: Path) -> Path:
    """Where the node running for ``profile`` listens for local commands: in
    :func:`runtime_dir`, named after the profile's real path."""
    digest = hashlib.blake2b(_key(profile).encode(), digest_size=12).hexdigest()
    return runtime_dir() / f"{digest}.sock"
