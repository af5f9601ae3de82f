"""Native desktop notifications (the freedesktop notification server on Linux, through
the ``desktop-notifier`` library), with a fallback for desktops that have none.

Everything runs as tasks on the app's asyncio loop (qasync): showing a notification never
blocks the window. The first notification connects to the session bus; if there is no
bus or no notification server, that is logged once (info) and ``available`` becomes
False: the caller's fallback (the tray icon's balloon) is used from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when the first notification is shown
    from desktop_notifier import DesktopNotifier

log = logging.getLogger(__name__)
APP_NAME = "Kith"
ICON_NAME = "kith"  # installed under share/icons/hicolor (pyproject's data-files)
PROBE_TIMEOUT = 5.0  # connecting to the bus and asking the server what it supports
CLOSE_TIMEOUT = 1.0  # at shutdown: finishing what is under way, withdrawing what is shown
BODY_CHARS = 200


class DesktopNotifications:
    """One native notification per conversation (``key``: the peer's user id).

    A new message replaces the conversation's previous notification; ``clear(key)``
    withdraws it (the chat was read); clicking it calls ``on_clicked(key)``. Call
    ``aclose()`` before the loop stops."""

    def __init__(self, on_clicked: Callable[[bytes], None], *, app_name: str = APP_NAME,
                 icon: Path | None = None) -> None:
        self.on_clicked = on_clicked
        self.app_name = app_name
        self.icon = icon
        self.available: bool | None = None  # None: not tried yet (the first notification)
        self._notifier: DesktopNotifier | None = None
        self._markup = False  # the server renders markup in the body: escape the text
        self._ids: dict[bytes, str] = {}  # key -> identifier of its notification on screen
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # one call to the server at a time, in order
        self._closed = False

    # -- what the app calls -------------------------------------------------------------

    def show(self, key: bytes, title: str, body: str, fallback: Callable[[], None]) -> None:
        """Show (or replace) ``key``'s notification; ``fallback()`` runs instead if
        native notifications are unavailable or this one could not be sent."""
        if self.available is False or self._closed:
            fallback()
            return
        ident = str(uuid.uuid4())
        previous = self._ids.get(key)
        self._ids[key] = ident
        if not self._spawn(self._show(key, ident, previous, title, body[:BODY_CHARS],
                                      fallback)):
            self._ids.pop(key, None)
            fallback()

    def clear(self, key: bytes) -> None:
        """Withdraw ``key``'s notification, if one is on screen (its chat was read)."""
        ident = self._ids.pop(key, None)
        if ident is not None and self.available is not False and not self._closed:
            self._spawn(self._clear(ident))

    def keys(self) -> list[bytes]:
        """The conversations with a notification on screen (or about to be)."""
        return list(self._ids)

    async def aclose(self) -> None:
        """Let what is under way finish (briefly), withdraw this app's notifications
        (nobody would answer a click once the app is gone) and leave the bus."""
        self._closed = True
        tasks = list(self._tasks)
        if tasks:  # those still waiting for the lock return at once (closed)
            _done, pending = await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
            for t in pending:
                t.cancel()
            for t in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        notifier, self._notifier = self._notifier, None
        self._ids.clear()
        if notifier is not None:
            if self.available:
                try:
                    await asyncio.wait_for(notifier.clear_all(), CLOSE_TIMEOUT)
                except Exception as e:  # the server went away meanwhile: nothing to clear
                    log.debug("withdrawing notifications failed: %r", e)
            await _disconnect(notifier)

    # -- on the loop --------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (cannot happen in the app): nothing is scheduled
            coro.close()
            return False
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("desktop notification failed", exc_info=task.exception())

    async def _show(self, key: bytes, ident: str, previous: str | None, title: str,
                    body: str, fallback: Callable[[], None]) -> None:
        async with self._lock:
            if self._closed:
                return
            if not await self._ensure():
                if self._ids.get(key) == ident:
                    del self._ids[key]
                fallback()
                return
            notifier = self._notifier
            assert notifier is not None
            if previous is not None:
                await self._withdraw(notifier, previous)
            from desktop_notifier import Notification

            dispatched: list[bool] = []
            try:
                await notifier.send_notification(Notification(
                    title, html.escape(body, quote=False) if self._markup else body,
                    identifier=ident, thread=key.hex(),
                    on_dispatched=lambda: dispatched.append(True),
                    on_clicked=lambda: self._clicked(key, ident),
                    on_dismissed=lambda: self._forget(key, ident),
                ))
            except Exception as e:  # the library logs its own failures; this is a surprise
                log.warning("desktop notification failed: %r", e)
            if not dispatched:  # the library logged why (a warning)
                self._forget(key, ident)
                fallback()

    async def _clear(self, ident: str) -> None:
        async with self._lock:
            if self._closed or not self.available or self._notifier is None:
                return
            await self._withdraw(self._notifier, ident)

    async def _withdraw(self, notifier: DesktopNotifier, ident: str) -> None:
        if ident not in await notifier.get_current_notifications():
            return  # clicked or dismissed meanwhile: already gone
        try:
            await notifier.clear(ident)
        except Exception as e:  # gone between the two calls, or the server went away
            log.debug("withdrawing a notification failed: %r", e)

    def _clicked(self, key: bytes, ident: str) -> None:
        self._forget(key, ident)
        self.on_clicked(key)

    def _forget(self, key: bytes, ident: str) -> None:
        if self._ids.get(key) == ident:
            del self._ids[key]

    async def _ensure(self) -> bool:
        """Connect on first use: the session bus and its notification server."""
        if self.available is not None:
            return self.available
        reason = "no notification service on this platform"
        try:
            from desktop_notifier import DesktopNotifier, Icon

            icon = Icon(path=self.icon) if self.icon is not None and self.icon.is_file() \
                else Icon(name=ICON_NAME)
            self._notifier = DesktopNotifier(app_name=self.app_name, app_icon=icon)
            capabilities = await asyncio.wait_for(self._notifier.get_capabilities(),
                                                  PROBE_TIMEOUT)
            self._markup = "body-markup" in await _server_capabilities(self._notifier)
        except Exception as e:  # no bus, no server, a server that does not answer...
            reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            capabilities = frozenset()
        if not capabilities:  # the library's dummy backend has none (e.g. macOS, no bundle)
            log.info("desktop notifications are not available (%s); "
                     "the tray icon shows new messages instead", reason)
            self.available = False
            notifier, self._notifier = self._notifier, None
            if notifier is not None:
                await _disconnect(notifier)
            return False
        self.available = True
        return True


async def _server_capabilities(notifier: DesktopNotifier) -> set[str]:
    """The freedesktop server's raw capabilities ("body-markup"...), which the library
    does not expose; empty on other platforms."""
    interface = getattr(notifier._backend, "interface", None)  # the Linux backend's
    call = getattr(interface, "call_get_capabilities", None)
    if call is None:
        return set()
    return {str(c) for c in await asyncio.wait_for(call(), PROBE_TIMEOUT)}


async def _disconnect(notifier: DesktopNotifier) -> None:
    """Leave the session bus: the library opens the connection but has no close()."""
    bus = getattr(notifier._backend, "bus", None)  # the Linux backend's
    if bus is None:
        return
    was_connected = bool(bus.connected)
    bus.disconnect()
    if was_connected:
        try:
            await asyncio.wait_for(bus.wait_for_disconnect(), CLOSE_TIMEOUT)
        except Exception as e:  # already broken: it is closed all the same
            log.debug("leaving the session bus: %r", e)
