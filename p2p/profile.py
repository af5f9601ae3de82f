"""A profile folder: key file, database, lock and control socket of one Kith user on one device."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path

import platformdirs

from p2p.errors import EnvironmentProblem, UserError
from p2p.identity import Identity, load_identity, save_identity, valid_name

DB_FILE = "kith.db"
LOCK_FILE = "kith.lock"
CONTROL_SOCKET = "control.sock"


def default_profile() -> Path:
    return Path(platformdirs.user_data_dir("kith", appauthor=False))


def default_device_name() -> str:
    """What a device is called in "My devices" unless the user says otherwise: this
    computer's host name (what the user sees in their own network), else a plain word."""
    host = socket.gethostname().split(".")[0].strip()[:64].strip()
    return host if valid_name(host) else "this computer"


def create_identity(profile: Path, name: str, device_name: str | None = None) -> Identity:
    """``kith init``: create this device's identity; refuses if the profile has one.
    The device is named after the host unless ``device_name`` is given."""
    if load_identity(profile) is not None:
        raise UserError(f"{profile} already has an identity; use another --profile")
    try:
        identity = Identity.generate(name, device_name or default_device_name())
    except ValueError as e:
        raise UserError(str(e)) from e
    save_identity(profile, identity)
    return identity


def require_identity(profile: Path) -> Identity:
    identity = load_identity(profile)
    if identity is None:
        raise UserError(
            f"no identity in {profile}; create one first: kith --profile {profile} init --name NAME"
        )
    return identity


class ProfileLock:
    """An exclusive lock so that one node at most runs per profile."""

    def __init__(self, profile: Path) -> None:
        self.path = profile / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise EnvironmentProblem(
                f"another Kith is already running for {self.path.parent}"
            ) from e
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def held(profile: Path) -> bool:
        """True when a running node holds the profile's lock."""
        path = profile / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)
