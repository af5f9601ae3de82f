"""An OS keyring for tests: a ``keyring`` backend kept in a JSON file, so that real
``kith`` processes (``PYTHON_KEYRING_BACKEND=keyringkit.FileKeyring`` with ``tests/`` on
their path) share it with the test. The file is ``$KITH_TEST_KEYRING``; tests/conftest.py
points every test run at one of its own."""

from __future__ import annotations

import json
import os
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
        tmp = self._path().with_suffix(".tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(self._path())

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._load()
        entries[f"{service}/{username}"] = password
        self._save(entries)

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        if entries.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError(username)
        self._save(entries)


def clear() -> None:
    """The keyring forgets everything (a reset keyring, another machine)."""
    Path(os.environ["KITH_TEST_KEYRING"]).unlink(missing_ok=True)
