"""Block hashes on a thread of their own, so that hashing what arrives (BLAKE2b releases
the GIL) overlaps with decrypting the next frames on the event loop's thread.

Jobs run in the order they were given: a block's pieces, then its check, whose result
comes back on the loop (``call_soon_threadsafe``). The thread starts on first use and
ends with :meth:`HashWorker.stop`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


class HashWorker:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ensure(self) -> None:
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name="kith-files-hash",
                                            daemon=True)
            self._thread.start()

    def update(self, hasher: Any, data: bytes) -> None:
        self._ensure()
        self._jobs.put((hasher, data, None, None))

    def check(self, hasher: Any, expected: bytes, done: Callable[[bool], None]) -> None:
        """Once the pieces given before are hashed: ``done(digest == expected)`` on the
        loop."""
        self._ensure()
        self._jobs.put((hasher, None, expected, done))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            hasher, data, expected, done = job
            if data is not None:
                hasher.update(data)
                continue
            ok = hasher.digest() == expected
            loop = self._loop
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(done, ok)
                except RuntimeError:  # (the loop closed meanwhile)
                    return

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join()
            self._thread = None
