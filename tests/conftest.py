"""Hygiene for every test: no leaked threads, no stray asyncio tasks, Qt offscreen."""

from __future__ import annotations

import os
import threading

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
