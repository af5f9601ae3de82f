"""Native desktop notifications: the freedesktop notification server on the session bus
(GNOME, KDE, Xfce, dunst...), spoken to directly through dbus-fast's public API; with a
fallback for desktops that have none.

Everything runs as tasks on the app's asyncio loop (qasync): showing a notification never
blocks the window. The first notification connects to the session bus; if there is no
bus or no notification server, that is logged once (info) and ``available`` becomes
False: the caller's fallback (the tray icon's balloon) is used from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when the first notification is shown
    from dbus_fast.aio import MessageBus, ProxyInterface

log = logging.getLogger(__name__)
APP_NAME = "Kith"
ICON_NAME = "kith"  # installed under share/icons/hicolor (pyproject's data-files)
PROBE_TIMEOUT = 5.0  # connecting to the bus and asking the server what it supports
CLOSE_TIMEOUT = 1.0  # at shutdown: finishing what is under way, withdrawing what is shown
BODY_CHARS = 200
BUS_NAME = "org.freedesktop.Notifications"
BUS_PATH = "/org/freedesktop/Notifications"
SOUND_NAME = "message-new-instant"  # the freedesktop sound theme's name for it


class NotificationServer:
    """The session bus's notification server (the freedesktop Notifications spec)."""

    def __init__(self, bus: MessageBus, interface: ProxyInterface,
                 capabilities: set[str]) -> None:
        self.bus = bus
        self.interface = interface
        self.capabilities = capabilities

    @classmethod
    async def connect(cls) -> NotificationServer:
        from dbus_fast.aio import MessageBus

        bus = await MessageBus().connect()
        try:
            introspection = await bus.introspect(BUS_NAME, BUS_PATH)
            interface = bus.get_proxy_object(BUS_NAME, BUS_PATH, introspection) \
                .get_interface(BUS_NAME)
            capabilities = {str(c) for c in await interface.call_get_capabilities()}  # type: ignore[attr-defined]
        except BaseException:
            await _disconnect(bus)
            raise
        return cls(bus, interface, capabilities)

    def on_signals(self, clicked: Callable[[int, str], None],
                   closed: Callable[[int, int], None]) -> None:
        self.interface.on_action_invoked(clicked)  # type: ignore[attr-defined]
        self.interface.on_notification_closed(closed)  # type: ignore[attr-defined]

    async def notify(self, app_name: str, icon: str, title: str, body: str, *,
                     sound: bool) -> int:
        from dbus_fast import Variant

        hints = {"desktop-entry": Variant("s", ICON_NAME), "category": Variant("s", "im.received")}
        if sound:
            hints["sound-name"] = Variant("s", SOUND_NAME)
        else:
            hints["suppress-sound"] = Variant("b", True)
        nid = await self.interface.call_notify(  # type: ignore[attr-defined]
            app_name, 0, icon, title, body, ["default", "Open"], hints, -1)
        return int(nid)

    async def close(self, nid: int) -> None:
        await self.interface.call_close_notification(nid)  # type: ignore[attr-defined]

    async def disconnect(self) -> None:
        await _disconnect(self.bus)


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
        self._notifier: NotificationServer | None = None
        self._ids: dict[bytes, int] = {}  # key -> token of its notification (on screen soon)
        self._nids: dict[int, int] = {}  # token -> the server's id, once it is shown
        self._open: dict[int, bytes] = {}  # server id -> key, while on screen
        # signals for an id whose Notify reply is not handled yet: the bus delivers the
        # reply first, but the signal's handler runs before the awaiting coroutine resumes
        # (a click right after the notification showed must not be lost)
        self._early: dict[int, tuple[str, str | int]] = {}
        self._tokens = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # one call to the server at a time, in order
        self._closed = False

    # -- what the app calls -------------------------------------------------------------

    def show(self, key: bytes, title: str, body: str, fallback: Callable[[], None], *,
             sound: bool = True) -> None:
        """Show (or replace) ``key``'s notification; ``fallback()`` runs instead if
        native notifications are unavailable or this one could not be sent."""
        if self.available is False or self._closed:
            fallback()
            return
        token = next(self._tokens)
        previous = self._ids.get(key)
        self._ids[key] = token
        if not self._spawn(self._show(key, token, previous, title, body[:BODY_CHARS],
                                      fallback, sound)):
            self._ids.pop(key, None)
            fallback()

    def clear(self, key: bytes) -> None:
        """Withdraw ``key``'s notification, if one is on screen (its chat was read)."""
        token = self._ids.pop(key, None)
        if token is not None and self.available is not False and not self._closed:
            self._spawn(self._clear(token))

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
            for nid in list(self._open):
                try:
                    await asyncio.wait_for(notifier.close(nid), CLOSE_TIMEOUT)
                except Exception as e:  # the server went away meanwhile: nothing to clear
                    log.debug("withdrawing notifications failed: %r", e)
            self._open.clear()
            await notifier.disconnect()

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

    async def _show(self, key: bytes, token: int, previous: int | None, title: str,
                    body: str, fallback: Callable[[], None], sound: bool) -> None:
        async with self._lock:
            if self._closed:
                return
            if not await self._ensure():
                self._forget(key, token)
                fallback()
                return
            notifier = self._notifier
            assert notifier is not None
            if previous is not None:
                await self._withdraw(notifier, previous)
            markup = "body-markup" in notifier.capabilities
            icon = self.icon.as_uri() if self.icon is not None and self.icon.is_file() \
                else ICON_NAME
            try:
                nid = await notifier.notify(
                    self.app_name, icon, title,
                    html.escape(body, quote=False) if markup else body, sound=sound)
            except Exception as e:  # the server refused it or went away
                log.warning("desktop notification failed: %r", e)
                self._forget(key, token)
                fallback()
                return
            self._nids[token] = nid
            self._open[nid] = key
            early = self._early.pop(nid, None)
            if early is not None:
                signal, arg = early
                if signal == "action":
                    self._on_action(nid, str(arg))
                else:
                    self._on_closed(nid, int(arg))
                return
            if self._ids.get(key) != token:  # read or replaced while it was on its way
                await self._withdraw(notifier, token)

    async def _clear(self, token: int) -> None:
        async with self._lock:
            if self._closed or not self.available or self._notifier is None:
                return
            await self._withdraw(self._notifier, token)

    async def _withdraw(self, notifier: NotificationServer, token: int) -> None:
        nid = self._nids.pop(token, None)
        if nid is None or self._open.pop(nid, None) is None:
            return  # clicked or dismissed meanwhile: already gone
        try:
            await notifier.close(nid)
        except Exception as e:  # gone between the two calls, or the server went away
            log.debug("withdrawing a notification failed: %r", e)

    def _on_action(self, nid: int, action: str) -> None:
        key = self._open.pop(nid, None)
        if key is None:
            self._remember_early(nid, ("action", action))
            return
        if action != "default":
            return
        self._drop_key(key, nid)
        self.on_clicked(key)

    def _on_closed(self, nid: int, reason: int) -> None:
        key = self._open.pop(nid, None)
        if key is not None:
            self._drop_key(key, nid)
        else:
            self._remember_early(nid, ("closed", reason))

    def _remember_early(self, nid: int, signal: tuple[str, str | int]) -> None:
        """A signal for an id we have not stored yet (or one already gone: then it is
        never asked for). Kept few: only the newest ids can still be on their way."""
        if self._lock.locked():  # a Notify is on its way
            self._early[nid] = signal
            while len(self._early) > 16:
                del self._early[next(iter(self._early))]

    def _drop_key(self, key: bytes, nid: int) -> None:
        token = self._ids.get(key)
        if token is not None and self._nids.get(token) == nid:
            del self._ids[key]
            del self._nids[token]

    def _forget(self, key: bytes, token: int) -> None:
        if self._ids.get(key) == token:
            del self._ids[key]

    async def _ensure(self) -> bool:
        """Connect on first use: the session bus and its notification server."""
        if self.available is not None:
            return self.available
        try:
            self._notifier = await asyncio.wait_for(NotificationServer.connect(),
                                                    PROBE_TIMEOUT)
        except Exception as e:  # no bus, no server, a server that does not answer...
            reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            log.info("desktop notifications are not available (%s); "
                     "the tray icon shows new messages instead", reason)
            self.available = False
            return False
        self._notifier.on_signals(self._on_action, self._on_closed)
        self.available = True
        return True


async def _disconnect(bus: MessageBus) -> None:
    """Leave the session bus."""
    was_connected = bool(bus.connected)
    bus.disconnect()
    if was_connected:
        try:
            await asyncio.wait_for(bus.wait_for_disconnect(), CLOSE_TIMEOUT)
        except Exception as e:  # already broken: it is closed all the same
            log.debug("leaving the session bus: %r", e)
