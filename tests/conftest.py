"""Hygiene for every test: no leaked threads, no stray asyncio tasks, Qt offscreen."""

from __future__ import annotations

import os
import tempfile
import threading

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# A keyring for every test and the kith processes they start (tests/keyringkit.py), and
# Argon2id at its minimum cost: a test needs no 0.5 s per passphrase.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyringkit.FileKeyring")
os.environ.setdefault("KITH_TEST_KEYRING", os.path.join(
    tempfile.mkdtemp(prefix="kith-test-keyring-"), "keyring.json"))
os.environ.setdefault("KITH_KDF_FAST", "1")
_TESTS = os.path.dirname(os.path.abspath(__file__))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (os.path.dirname(_TESTS), _TESTS, os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith(("asyncio_", "Dummy"))
    ]
    for t in leaked:
        t.join(timeout=2)
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"threads outlived the test: {leaked}"
