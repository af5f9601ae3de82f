"""Plain copies of sealed files for other programs (``kith files``' ``path``, the app's
"Open"), made on a thread of their own: a copy takes about a second per GiB (reading,
opening each record, writing), which the event loop must not wait for.

:meth:`Views.view_path` answers at once: the path when the copy is ready (or the file is
stored plain), else None while the copy is made, and a ``FileChanged`` for the file once
it is ready (or failed: :meth:`Views.view_problem`). :meth:`Views.prepare_views` waits
for them, for the commands a script runs (``kith files``, ``fetch``, ``history``,
``send``), so their ``path`` exists whenever the state is ``complete``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable
from pathlib import Path

from kith.p2p.files.base import FilesBase, log
from kith.p2p.files.disk import Disk


class Views(FilesBase):
    def _views_init(self) -> None:
        # (the thread's own Disk: its handles are touched by that thread only)
        self.viewer = Disk(self.core.profile, self.core.options.data_key)
        self._view_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._view_jobs: dict[bytes, asyncio.Future[Path]] = {}
        self._view_errors: dict[bytes, str] = {}

    def view_path(self, file: bytes) -> Path | None:
        """Where other programs can read complete ``file`` now; None while its plain copy
        is being made (started here if need be). OSError if the stored file does not
        open (checked again once the copy failed: see :meth:`view_problem`)."""
        ready = self.disk.plain_ready(file)
        if ready is not None:
            return ready
        if file in self._view_errors:
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # (no loop: a plain call, as in a one-off script)
            return self.viewer.plain_path(file)
        self._prepare(file)
        return None

    def view_problem(self, file: bytes) -> str:
        """Why the plain copy of ``file`` could not be made ("" if it could)."""
        return self._view_errors.get(file, "")

    def preparing(self, file: bytes) -> bool:
        return file in self._view_jobs

    def _prepare(self, file: bytes) -> asyncio.Future[Path]:
        job = self._view_jobs.get(file)
        if job is None:
            if self._view_pool is None:
                self._view_pool = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="kith-files-view")
            viewer = self.viewer

            def make() -> Path:
                try:
                    return viewer.plain_path(file)
                finally:
                    viewer.forget_handle(file)  # (the file may be fetched again later)

            job = asyncio.get_running_loop().run_in_executor(self._view_pool, make)
            self._view_jobs[file] = job
            job.add_done_callback(lambda f: self._view_done(file, f))
        return job

    def _view_done(self, file: bytes, job: asyncio.Future[Path]) -> None:
        if self._view_jobs.get(file) is job:
            del self._view_jobs[file]
        if job.cancelled():
            return
        e = job.exception()
        if isinstance(e, OSError):
            log.warning("file %s cannot be opened: %s", file.hex()[:12], e)
            self._view_errors[file] = f"the stored file does not open: {e.strerror or e}"
        elif e is not None:
            log.warning("file %s: its plain copy failed: %r", file.hex()[:12], e)
            self._view_errors[file] = f"its plain copy failed: {e}"
        if self.core.store is not None:
            self._emit(file)  # (the path is there now, or the problem)

    async def prepare_views(self, files: Iterable[bytes]) -> None:
        """Wait until the plain copies of the complete ones among ``files`` are made
        (or failed)."""
        for file in files:
            if self.disk.complete(file) and self.view_path(file) is None:
                job = self._view_jobs.get(file)
                if job is not None:
                    await asyncio.wait([job])

    def forget_view(self, file: bytes) -> None:
        """``file`` changed on disk (fetched again, removed): ask again next time."""
        self._view_errors.pop(file, None)

    def _views_stop(self) -> None:
        if self._view_pool is not None:
            self._view_pool.shutdown(wait=True, cancel_futures=True)
            self._view_pool = None
        self.viewer.close_handles()
