"""pytest-qt with qasync: one asyncio loop on Qt's thread, driven by qtbot's waits.

The loop is created as "already running" over the test's QApplication, so every
qtbot.waitUntil / waitSignal (which spins Qt's event loop) also runs asyncio callbacks,
socket reads and timers. A coroutine is driven to completion with ``aw(coro)``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import qasync
from nodekit import make_node

from kith.app.gui.app import KithApp


@pytest.fixture(autouse=True)
def _no_desktop_bus(monkeypatch, tmp_path):
    """No GUI test talks to the desktop's session bus (real notifications popping up on
    the developer's screen): the address points at nothing, so notifications fall back to
    the tray. Tests of native notifications set their own private bus."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-session-bus'}")


@pytest.fixture(autouse=True)
def _patient_qtbot(qtbot, monkeypatch):
    """qtbot.waitUntil waits 20 s unless a test says otherwise (pytest-qt's 5 s is short
    on a busy machine: a wait for a condition must not be a time budget)."""
    wait_until = qtbot.waitUntil

    def patient(callback, *, timeout: int = 20000):
        return wait_until(callback, timeout=timeout)

    monkeypatch.setattr(qtbot, "waitUntil", patient)


@pytest.fixture(autouse=True)
def _qt_garbage_dies_here():
    """As in the app (``MainThreadCollector``): no automatic cycle collection during a GUI
    test, and one on the Qt thread after it. An automatic one runs in whatever thread
    allocates (the database's checkpointer, a later test's worker) and would destroy
    widgets there: "Timers cannot be stopped from another thread", or a crash."""
    gc.disable()
    yield
    gc.collect()
    gc.enable()


@pytest.fixture(scope="module")
def qloop(qapp):
    """One loop per test module. It is never stopped: qasync's stop() calls
    QCoreApplication.exit(), which (Qt 6) emits aboutToQuit and poisons later tests; it
    is only marked not running, so asyncio tests in other modules get a clean slate."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    loop._QEventLoop__is_running = False  # what stop() does, minus QCoreApplication.exit()
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def aw(qtbot, qloop) -> Callable[..., Any]:
    """Run a coroutine on the shared loop until it finishes; return its result."""

    def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
        return task.result()

    return run


@pytest.fixture
def kith_apps(tmp_path, qtbot, aw):
    """Factory for started apps (node on loopback + window); all stopped at the end."""
    started: list[KithApp] = []

    def start(name: str, **kw: Any) -> KithApp:
        app = KithApp(make_node(tmp_path, name, **kw))
        aw(app.start())
        started.append(app)
        return app

    yield start
    for app in started:
        aw(app.stop())


# The offscreen platform cannot propagate size hints to a window manager and says so
# whenever a window is shown (nor raise one); that is the test platform talking, not the app.
OFFSCREEN_NOISE = r"This plugin does not support (propagateSizeHints|raise)\(\)"
# Qt Multimedia (the `video` extra), the first time a player is made, says what this machine
# lacks: VA-API, PipeWire, a sound server, a GPU. The machine talking, not the app.
MULTIMEDIA_NOISE = (r"Couldn't (load|resolve) (pipewire-0\.3|va\S*)|"
                    r"PulseAudioService: pa_context_connect\(\) failed|No RHI backend")


def pytest_collection_modifyitems(items):
    for item in items:
        # (a test or module with its own qt_log_ignore includes this noise itself: only
        # one such mark counts)
        if "tests/gui/" in str(item.fspath).replace("\\", "/") and \
                item.get_closest_marker("qt_log_ignore") is None:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE, MULTIMEDIA_NOISE))
