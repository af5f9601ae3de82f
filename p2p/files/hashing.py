"""Block hashes, and the writes of what arrives, on a thread of their own, so that
hashing (BLAKE2b releases the GIL), sealing (AEGIS-256 in libsodium, likewise) and writing
overlap with decrypting the next frames on the event loop's thread: both cores work.

Jobs run in the order they were given: a whole block (:meth:`HashWorker.block`: hashed,
written only if its hash matches, and the result told on the loop with
``call_soon_threadsafe``), or a block's pieces (each hashed, then written by the callable
given with it) then its check; :meth:`HashWorker.call` runs any other step in that order
(opening or forgetting a partial file of the writer). A write that fails reports its
error on the loop, and its block's check then fails. The thread starts on first use and
ends with :meth:`HashWorker.stop` (after the jobs given before).
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()
_BLOCK = object()  # (a job's tag: a whole block)


class HashWorker:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failed: set[int] = set()  # id() of the hashers a write failed for (thread)

    def _ensure(self) -> None:
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name="kith-files-hash",
                                            daemon=True)
            self._thread.start()

    def update(self, hasher: Any, data: bytes, write: Callable[[], None] | None = None,
               failed: Callable[[OSError], None] | None = None) -> None:
        """Hash ``data`` into ``hasher``, then ``write()`` it (on the thread); if that
        raises OSError, ``failed(error)`` on the loop."""
        self._ensure()
        self._jobs.put((hasher, data, None, None, write, failed))

    def check(self, hasher: Any, expected: bytes, done: Callable[[bool], None]) -> None:
        """Once the pieces given before are hashed (and written): ``done(digest ==
        expected, and every write succeeded)`` on the loop."""
        self._ensure()
        self._jobs.put((hasher, None, expected, done, None, None))

    def block(self, parts: list[bytes], expected: bytes, write: Callable[[bytes], None],
              done: Callable[[bool], None], failed: Callable[[OSError], None]) -> None:
        """A whole block (its pieces in order): hash it; if it matches ``expected``,
        ``write(data)`` it; then ``done(matched and written)`` on the loop; a write
        that raises OSError tells ``failed(error)`` on the loop first. One job per block,
        not per piece: the thread takes the GIL back a few times per block only (each
        time it may wait for the loop's thread to let go of it)."""
        self._ensure()
        self._jobs.put((_BLOCK, parts, expected, done, write, failed))

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the thread after the jobs given before (errors are logged)."""
        if self._thread is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # (no loop: nothing queued either, run it here)
                fn()
                return
        self._ensure()
        self._jobs.put((None, None, None, None, fn, None))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            hasher, data, expected, done, write, failed = job
            if hasher is _BLOCK:
                if not self._block(data, expected, done, write, failed):
                    return
                continue
            if hasher is None:
                try:
                    write()
                except Exception as e:  # (a step of the writer: it must not end the thread)
                    import logging

                    logging.getLogger("kith.p2p.files.feature").warning("files worker: %s", e)
                continue
            if data is not None:
                hasher.update(data)
                if write is not None and id(hasher) not in self._failed:
                    try:
                        write()
                    except OSError as e:
                        self._failed.add(id(hasher))
                        if failed is not None:
                            self._tell(failed, e)
                continue
            ok = id(hasher) not in self._failed and hasher.digest() == expected
            self._failed.discard(id(hasher))
            if not self._tell(done, ok):
                return

    def _block(self, parts: list[bytes], expected: bytes, done: Callable[[bool], None],
               write: Callable[[bytes], None], failed: Callable[[OSError], None]) -> bool:
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        del parts[:]  # (the pieces go now: the block is one buffer)
        ok = hashlib.blake2b(data, digest_size=len(expected)).digest() == expected
        if ok:
            try:
                write(data)
            except OSError as e:
                ok = False
                self._tell(failed, e)
        return self._tell(done, ok)

    def _tell(self, fn: Callable[..., None], arg: Any) -> bool:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, arg)
            except RuntimeError:  # (the loop closed meanwhile)
                return False
        return True

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(_STOP)
            self._thread.join()
            self._thread = None
