"""Starting and stopping the desktop app: first start, the node, the control socket,
the window, the tray icon and notifications."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QMessageBox, QSystemTrayIcon

from kith.app.gui import autostart, i18n, netifs, repair, theme
from kith.app.gui import unlock as unlock_ui
from kith.app.gui.bridge import Bridge
from kith.app.gui.devices import LinkDialog
from kith.app.gui.dialogs import NOTIFY_SOUND, FirstStartDialog
from kith.app.gui.instance import InstanceServer, raise_running
from kith.app.gui.notify import DesktopNotifications
from kith.app.gui.resources import icon_path
from kith.app.gui.window import MainWindow
from kith.p2p.connection import Timing
from kith.p2p.control import ControlServer
from kith.p2p.errors import KithError
from kith.p2p.identity import identity_exists
from kith.p2p.node import Node, NodeOptions
from kith.p2p.profile import DB_FILE, create_identity
from kith.storage import StorageError, Store

if TYPE_CHECKING:  # linking (SPAKE2) is imported only when a device links
    from kith.p2p.link_driver import Linked

log = logging.getLogger(__name__)
AFTER_PAINT_FALLBACK_MS = 1000  # a window that is never painted still gets the deferred work


def app_icon() -> QIcon:
    path = icon_path()
    return QIcon(str(path)) if path is not None else QIcon()


async def wait_dialog(dialog: QDialog) -> int:
    """Show a dialog without a nested event loop; the result once it closes."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_finished(result: int) -> None:
        if not fut.done():
            fut.set_result(int(result))

    dialog.finished.connect(on_finished)
    dialog.open()
    return await fut


@dataclass
class LinkSetup:
    """How a new device waits to be linked (tests use loopback and short timers)."""

    interfaces: list[str] | None = None
    discovery: bool = True
    timing: Timing | None = None
    timeout: float | None = None
    device_name: str | None = None  # None: the host name


async def ensure_identity(
    profile: Path, dialog: FirstStartDialog | None = None, link: LinkSetup | None = None,
    new_key: Callable[[], Awaitable[bytes]] | None = None,
) -> bool | Linked:
    """First start: ask for a display name and create the identity, or link this device
    to my other one (the ``Linked`` result; ``dialog.link_dialog`` then shows the history
    download). False if cancelled. ``new_key``: the profile's data key, asked for (the
    protection's choice) before the identity is written, so that it is sealed from its
    first byte on disk."""
    if identity_exists(profile):
        return True
    dialog = dialog or FirstStartDialog()
    while True:
        result = await wait_dialog(dialog)
        key = None
        if new_key is not None and result:
            try:
                key = await new_key()
            except unlock_ui.Cancelled:  # (back to the first dialog)
                continue
        if result == FirstStartDialog.LINK:
            linked = await _wait_linked(profile, dialog, link or LinkSetup(), key)
            if linked is None:
                continue
            return linked
        if not result:
            return False
        try:
            create_identity(profile, dialog.display_name(), key=key)
        except KithError as e:
            QMessageBox.warning(dialog, "Kith", str(e))
            continue
        return True


async def _wait_linked(profile: Path, first: FirstStartDialog, setup: LinkSetup,
                       key: bytes | None = None) -> Linked | None:
    from kith.p2p import linking

    link = LinkDialog(linking.new_code(), setup.device_name)
    first.link_dialog = link
    link.open()
    try:
        return await link.wait(profile, interfaces=setup.interfaces, discovery=setup.discovery,
                               timing=setup.timing, timeout=setup.timeout, data_key=key)
    except KithError as e:
        QMessageBox.warning(link, "Kith", str(e))
        link.close()
        return None


async def receive_history(node: Node, linked: Linked, dialog: LinkDialog) -> None:
    """After linking: fetch the history from the device that linked us, with a progress
    bar. Returns when it is here, or when the user chose to continue in the background
    (it keeps coming)."""
    changed = asyncio.Event()
    background: list[bool] = []

    def on_background() -> None:
        background.append(True)
        changed.set()

    unsubscribe = node.subscribe(lambda _e: changed.set())
    dialog.rejected.connect(on_background)
    try:
        dialog.show_history(0, linked.events)
        try:
            await node.connect(linked.host, linked.port)
        except KithError as e:  # discovery finds it later; history follows then
            log.warning("cannot reach the linking device yet: %s", e)
        while not background:
            await node.flush()
            have = node.db.count_events()
            dialog.show_history(have, linked.events)
            if have >= linked.events:
                break
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 0.5)
    finally:
        unsubscribe()
        dialog.rejected.disconnect(on_background)
        dialog.close()


def saved_interfaces(profile: Path, key: bytes | None = None) -> list[str] | None:
    """The interfaces chosen in Settings, read before the node starts."""
    path = profile / DB_FILE
    if not path.exists():
        return None
    try:
        store = Store(path, key=key)
    except StorageError:
        return None
    try:
        value = store.get_setting("interfaces", None)
    finally:
        store.close()
    return [str(x) for x in value] if value else None


class Notifier:
    """Tray icon with the unread count; desktop notifications that open the chat.

    The tray icon comes with ``show_tray()``, which the app calls once the window has
    been painted (registering a tray icon talks to the desktop). Notifications are
    native ones (``desktop``, one per chat, withdrawn once the chat is read), or the
    tray icon's balloon where the desktop has no notification server."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.last_user: bytes | None = None
        self.shown: list[tuple[str, str]] = []
        self.tray: QSystemTrayIcon | None = None
        self.unread = 0
        self.desktop = DesktopNotifications(self.open_chat, icon=icon_path())
        window.notify.connect(self.notify)
        window.unreadChanged.connect(self.set_unread)
        window.keep_running = self.in_tray
        window.hiddenToTray.connect(self.on_hidden)

    def in_tray(self) -> bool:
        """There is a tray icon to come back through: closing the window only hides it."""
        return self.tray is not None and self.tray.isVisible()

    def on_hidden(self) -> None:
        """The window went to the tray: the first time, say how to quit."""
        bridge = self.window.bridge
        if bridge.setting("tray_notice_shown", False):
            return
        bridge.node.db.set_setting("tray_notice_shown", True)
        text = QCoreApplication.translate(
            "Notifier", "Kith keeps running here, so you stay online and receive messages. "
            "To quit, choose Quit Kith in this icon's menu, or press Ctrl+Q.")
        title = QCoreApplication.translate("Notifier", "Kith is still running")
        self.shown.append((title, text))
        self.tray_message(title, text)

    def show_tray(self) -> None:
        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            window = self.window
            self.tray = QSystemTrayIcon(badge_icon(self.unread), window)
            self.tray.setObjectName("trayIcon")
            menu = QMenu(window)
            menu.setObjectName("trayMenu")
            menu.addAction(QCoreApplication.translate("Notifier", "Open Kith"),
                           self.show_window).setObjectName("trayOpenAction")
            menu.addAction(QCoreApplication.translate("Notifier", "Quit Kith"),
                           window.quit).setObjectName("trayQuitAction")
            self.tray.setContextMenu(menu)
            self.tray.activated.connect(lambda _reason: self.show_window())
            self.tray.messageClicked.connect(self.on_clicked)
            self.tray.setToolTip(QCoreApplication.translate("Notifier", "Kith: {count} unread")
                                 .format(count=self.unread) if self.unread else "Kith")
            self.tray.show()

    def set_unread(self, count: int) -> None:
        self.unread = count
        name = self.window.bridge.my_name
        self.window.setWindowTitle(f"({count}) {name}" if count else name)
        if self.tray is not None:
            self.tray.setIcon(badge_icon(count))
            self.tray.setToolTip(QCoreApplication.translate("Notifier", "Kith: {count} unread")
                                 .format(count=count) if count else "Kith")
        bridge = self.window.bridge
        for user in self.desktop.keys():  # chats read since their notification
            if not bridge.unread_count(bridge.conv_for(user)):
                self.desktop.clear(user)

    def notify(self, title: str, text: str, user: bytes) -> None:
        self.last_user = user
        self.shown.append((title, text))
        sound = bool(self.window.bridge.setting(NOTIFY_SOUND, True))
        self.desktop.show(user, title, text, lambda: self.tray_message(title, text),
                          sound=sound)
        QApplication.alert(self.window)

    def tray_message(self, title: str, text: str) -> None:
        """Where there is no notification server: the tray icon's balloon, if any."""
        if self.tray is not None:
            self.tray.showMessage(title, text, app_icon(), 5000)

    def on_clicked(self) -> None:
        """The tray balloon was clicked: the chat of the last notification."""
        if self.last_user is not None:
            self.open_chat(self.last_user)
        else:
            self.show_window()

    def open_chat(self, user: bytes) -> None:
        self.show_window()
        self.window.open_chat(user)

    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    async def aclose(self) -> None:
        await self.desktop.aclose()


def badge_icon(count: int) -> QIcon:
    base = app_icon()
    pix = base.pixmap(64, 64) if not base.isNull() else QPixmap(64, 64)
    if base.isNull():
        pix.fill(theme.ACCENT)
    if count:
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#ff3b30"))
        p.drawEllipse(QRectF(30, 0, 34, 34))
        f = QFont()
        f.setBold(True)
        f.setPixelSize(20)
        p.setFont(f)
        p.setPen(QColor("#ffffff"))
        p.drawText(QRectF(30, 0, 34, 34), Qt.AlignmentFlag.AlignCenter,
                   str(count) if count < 100 else "99")
        p.end()
    return QIcon(pix)


class _FirstPaint(QObject):
    """Runs ``then`` on the loop turn after ``window``'s first paint (or after a fallback
    delay, for a window that is never exposed)."""

    def __init__(self, window: MainWindow, then: Callable[[], None]) -> None:
        super().__init__(window)
        self.then: Callable[[], None] | None = then
        window.installEventFilter(self)
        QTimer.singleShot(AFTER_PAINT_FALLBACK_MS, self, self.fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.then is not None:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self.fire)  # once this paint has been flushed
        return False

    def fire(self) -> None:
        then, self.then = self.then, None
        if then is not None:
            then()


class KithApp:
    """One running app: node, control socket, bridge, window, tray.

    What the first paint does not need waits until the window has been painted: LAN
    discovery (registering probes the name for about 1.2 s) and the tray icon."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.control: ControlServer | None = None
        self.bridge: Bridge | None = None
        self.window: MainWindow | None = None
        self.notifier: Notifier | None = None
        self.closed = asyncio.Event()
        self.instance: InstanceServer | None = None  # a second launch raises the window
        self.background_started = False  # discovery and tray icon (after the first paint)
        self._stopping = False

    async def start(self, *, show: bool = True) -> MainWindow:
        await self.node.start(discover=False)
        self.control = ControlServer(self.node)
        try:
            await self.control.start()
        except KithError as e:  # the app still works; only `kith send` cannot reach it
            log.warning("%s", e)
            self.control = None
        self.bridge = Bridge(self.node)
        self.bridge.attach()
        theme.apply_theme(str(self.bridge.setting("theme", "system")))
        self.window = MainWindow(self.bridge)
        self.window.setWindowIcon(app_icon())
        self.window.closed.connect(self.closed.set)
        self.notifier = Notifier(self.window)
        self.notifier.set_unread(self.bridge.unread_total())  # the window's refresh() ran
        self.instance = InstanceServer(self.node.profile, self.notifier.show_window)
        self.instance.listen()
        if show:
            self.window.show()
            _FirstPaint(self.window, self._start_background)
        else:
            self._start_background()
        return self.window

    def _start_background(self) -> None:
        if self.background_started or self._stopping or self.bridge is None \
                or self.notifier is None:
            return  # already done, or stopping
        self.background_started = True
        self.notifier.show_tray()
        options = self.node.options
        if options.network and options.discovery:
            self.bridge.run(self.node.start_discovery())  # a failure is shown as an error

    async def stop(self) -> None:
        self._stopping = True
        if self.instance is not None:
            self.instance.close()
            self.instance = None
        if self.window is not None:
            self.window.quit()
        if self.bridge is not None:
            await self.bridge.close()  # also cancels a discovery start still probing
        if self.notifier is not None:  # no notification outlives the app
            await self.notifier.aclose()
        if self.control is not None:
            await self.control.stop()
            self.control = None
        await self.node.stop()
        if self.window is not None:
            for d in list(self.window.dialogs):
                d.close()
            self.window.deleteLater()
            self.window = None


async def _main(profile: Path, interfaces: list[str] | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a clean shutdown: node, control socket
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # the first-start dialog only for a profile without an identity
    first = FirstStartDialog() if not identity_exists(profile) else None
    new_keys: list[bytes] = []  # the key chosen at first start, before the identity

    async def new_key() -> bytes:
        if not new_keys:
            new_keys.append(await unlock_ui.new_profile_key(profile, first))
        return new_keys[0]

    identity = asyncio.ensure_future(
        ensure_identity(profile, first, LinkSetup(interfaces=interfaces), new_key))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({identity, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not identity.done():
        identity.cancel()
        if first is not None:
            first.close()
        with contextlib.suppress(asyncio.CancelledError):
            await identity
        return 0
    found = identity.result()
    if not found:
        stopping.cancel()
        return 0
    linked = None if found is True else found  # this device was just linked
    try:
        key = new_keys[0] if new_keys else await unlock_ui.unlock_profile(
            profile, first=first is not None)
    except unlock_ui.Cancelled:
        stopping.cancel()
        return 0
    warning = ""
    if not interfaces:  # --interface wins; else the networks chosen in Settings
        interfaces, warning = netifs.startup_interfaces(saved_interfaces(profile, key) or [])
    def make() -> KithApp:
        made = KithApp(Node(profile, NodeOptions(interfaces=interfaces, data_key=key)))
        made.closed = stop
        return made

    try:
        # from the autostart entry: straight to the tray (if there is one to come back by)
        hidden = autostart.start_hidden() and QSystemTrayIcon.isSystemTrayAvailable()
        # (a damaged database: the app offers to repair it, app.gui.repair)
        started = await repair.start_or_repair(make, profile, key, linked is None and not hidden)
    except KithError as e:
        QMessageBox.critical(None, QCoreApplication.translate("app", "Kith cannot start"), str(e))
        return 1
    if started is None:  # (damaged, and the user chose not to repair it)
        stopping.cancel()
        return 1
    kith = started
    if warning and kith.window is not None:
        kith.window.statusBar().showMessage(warning)
        log.warning("%s", warning)
    try:
        if linked is not None and first is not None and first.link_dialog is not None:
            await receive_history(kith.node, linked, first.link_dialog)
            assert kith.window is not None
            kith.window.show()
        await stop.wait()
    finally:
        stopping.cancel()
        await kith.stop()
    return 0


class MainThreadCollector(QObject):
    """Python's cycle collector runs in whichever thread happens to allocate when a
    threshold is crossed. If that is a worker (the database's checkpointer), widgets in
    reference cycles are destroyed there, which Qt forbids ("Timers cannot be stopped
    from another thread", or a crash). So automatic collection is off and this timer
    collects on the Qt thread instead, by generation, as the thresholds say."""

    def __init__(self, parent: QObject, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        counts = gc.get_count()
        for generation in range(3):
            if counts[generation] <= self.thresholds[generation]:
                break
            gc.collect(generation)


def run_app(profile: Path, interfaces: list[str] | None) -> int:
    """Open the desktop app on ``profile``; returns the process exit code."""
    import qasync

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    collector = MainThreadCollector(app)
    app.setApplicationName("Kith")
    app.setApplicationDisplayName("Kith")
    app.setDesktopFileName("kith")
    i18n.install(app, i18n.chosen_locale(Path(profile)))  # before the first dialog
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    # Kith's look from the first dialog on (the saved theme applies once a profile opens)
    theme.apply_theme("system")
    if identity_exists(Path(profile)) and raise_running(Path(profile)):
        collector.timer.stop()
        gc.enable()
        return 0  # Kith runs already for this profile: its window is in front now
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return int(loop.run_until_complete(_main(Path(profile), interfaces)))
    except KithError as e:
        QMessageBox.critical(None, "Kith", str(e))
        return 1
    finally:
        collector.timer.stop()
        gc.enable()
