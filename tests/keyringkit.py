"""An OS keyring for tests: a ``keyring`` backend kept in a JSON file, so that real
``kith`` processes (``PYTHON_KEYRING_BACKEND=keyringkit.FileKeyring`` with ``tests/`` on
their path) share it with the test. The file is ``$KITH_TEST_KEYRING``; tests/conftest.py
points every test run at one of its own."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keyring.backend
import keyring.errors

BACKEND = "keyringkit.FileKeyring"
HEADLESS = "keyring.backends.fail.Keyring"


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ["KITH_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._path().read_text()))
        except FileNotFoundError:
            return {}

    def _save(self, entries: dict[str, str]) -> None:
        path = self._path()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keyring-")  # (one per writer)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(entries))
        os.replace(tmp, path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Kith processes of one test (alice's and bob's `kith init` at once) change the
        file one after the other, so none loses the other's entry."""
        with open(self._path().with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked():
            entries = self._load()
            entries[f"{service}/{username}"] = password
            self._save(entries)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked():
            entries = self._load()
            if entries.pop(f"{service}/{username}", None) is None:
                raise keyring.errors.PasswordDeleteError(username)
            self._save(entries)


def clear() -> None:
    """The keyring forgets everything (a reset keyring, another machine)."""
    Path(os.environ["KITH_TEST_KEYRING"]).unlink(missing_ok=True)
