"""Native desktop notifications: a private session bus (its own dbus-daemon) with a fake
freedesktop notification server in this process, on the tests' asyncio loop; and the
fallback to the tray icon where there is no bus or no server."""

from __future__ import annotations

import ctypes
import logging
import shutil
import signal
import subprocess
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusDict,
    DBusInt32,
    DBusSignature,
    DBusStr,
    DBusUInt32,
)
from dbus_fast.constants import RequestNameReply
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal
from test_gui_chat import _activate, _friends, _open

from kith.app.gui.models import MsgRole

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
StrList = Annotated[list[str], DBusSignature("as")]
ServerInfo = Annotated[list[str], DBusSignature("ssss")]
IdAndKey = Annotated[list[Any], DBusSignature("us")]
IdAndReason = Annotated[list[Any], DBusSignature("uu")]

# No <servicedir>: nothing on this machine can be started on the private bus (a real
# notification daemon would otherwise be activated by the first call to the name).
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class Shown:
    id: int
    app_name: str
    icon: str
    summary: str
    body: str
    actions: list[str]


class FakeNotificationServer(ServiceInterface):
    """org.freedesktop.Notifications as GNOME or KDE offer it (actions, body markup)."""

    def __init__(self) -> None:
        super().__init__(NAME)
        self.shown: list[Shown] = []
        self.closed: list[int] = []
        self.click_at_once = False  # the user clicks before Notify's reply is on its way

    @dbus_method()
    def Notify(self, app_name: DBusStr, replaces_id: DBusUInt32, app_icon: DBusStr,
               summary: DBusStr, body: DBusStr, actions: StrList, hints: DBusDict,
               expire_timeout: DBusInt32) -> DBusUInt32:
        nid = replaces_id or len(self.shown) + 1
        self.shown.append(Shown(nid, app_name, app_icon, summary, body, list(actions)))
        if self.click_at_once:
            self.ActionInvoked(nid, "default")  # (sent before the reply)
        return nid

    @dbus_method()
    def CloseNotification(self, id: DBusUInt32):  # noqa: A002 - the spec's name
        self.closed.append(id)
        self.NotificationClosed(id, 3)  # closed by a call to CloseNotification

    @dbus_method()
    def GetCapabilities(self) -> StrList:
        return ["actions", "body", "body-markup"]

    @dbus_method()
    def GetServerInformation(self) -> ServerInfo:
        return ["Kith test server", "kith", "1", "1.2"]

    @dbus_signal()
    def ActionInvoked(self, id: DBusUInt32, action_key: DBusStr) -> IdAndKey:  # noqa: A002
        return [id, action_key]

    @dbus_signal()
    def NotificationClosed(self, id: DBusUInt32, reason: DBusUInt32) -> IdAndReason:  # noqa: A002
        return [id, reason]


_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the child
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, even if it crashes before the
    fixture's teardown (no dbus-daemon left behind)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@pytest.fixture
def session_bus(tmp_path, monkeypatch):
    """A private session bus; DBUS_SESSION_BUS_ADDRESS points at it for this test."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed")
    config = tmp_path / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=tmp_path / "bus"))
    log = tmp_path / "dbus-daemon.log"
    with log.open("w") as err:  # it complains it cannot raise its fd limit: not ours
        proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
            stdout=subprocess.PIPE, stderr=err, text=True, preexec_fn=_die_with_parent)
    try:
        address = proc.stdout.readline().strip()  # printed once it listens
        assert address.startswith("unix:"), f"no bus: {address!r} {log.read_text()}"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


@pytest.fixture
def notification_server(session_bus, aw):
    """The fake server, owning org.freedesktop.Notifications on the private bus."""
    server = FakeNotificationServer()

    async def start() -> MessageBus:
        bus = await MessageBus(bus_address=session_bus).connect()
        bus.export(PATH, server)
        assert await bus.request_name(NAME) == RequestNameReply.PRIMARY_OWNER
        return bus

    bus = aw(start())
    yield server
    bus.disconnect()
    aw(bus.wait_for_disconnect())


def _unfocused_friends(kith_apps, qtbot, aw):
    alice, bob = kith_apps("alice"), kith_apps("bob")
    _friends(aw, qtbot, alice, bob)
    _activate(qtbot, bob.window)  # alice's window is in the background, no chat open
    assert not alice.window.isActiveWindow()
    return alice, bob


def test_a_native_notification_for_a_message_and_clicking_it_opens_the_chat(
        notification_server, kith_apps, qtbot, aw):
    server = notification_server
    alice, bob = _unfocused_friends(kith_apps, qtbot, aw)

    bob.node.queue_message(alice.node.user_id, "are you there?")
    qtbot.waitUntil(lambda: len(server.shown) == 1)
    first = server.shown[0]
    assert (first.app_name, first.summary, first.body) == ("Kith", "bob", "are you there?")
    assert "default" in first.actions  # clicking the notification itself
    assert first.icon.startswith("file://") and first.icon.endswith("/kith.svg")
    assert alice.notifier.shown == [("bob", "are you there?")]  # recorded as before
    assert alice.notifier.desktop.available is True

    # the next message of the chat replaces its notification; the server renders markup,
    # so the text is escaped (a message is text, never markup)
    bob.node.queue_message(alice.node.user_id, "<b>now</b> & then")
    qtbot.waitUntil(lambda: len(server.shown) == 2)
    assert server.closed == [first.id]
    second = server.shown[1]
    assert (second.summary, second.body) == ("bob", "&lt;b&gt;now&lt;/b&gt; &amp; then")
    assert alice.notifier.shown[-1] == ("bob", "<b>now</b> & then")
    assert alice.window.current is None

    server.ActionInvoked(second.id, "default")  # the user clicks it
    qtbot.waitUntil(lambda: alice.window.current == bob.node.user_id, timeout=20000)
    qtbot.waitUntil(alice.window.isActiveWindow)
    assert alice.window.messages.index(1).data(MsgRole.Text) == "<b>now</b> & then"
    qtbot.waitUntil(lambda: alice.window.windowTitle() == "alice")  # read
    assert alice.notifier.desktop.keys() == []
    assert server.closed == [first.id]  # the clicked one is the server's to close


def test_a_click_that_comes_before_the_notifications_id_still_opens_the_chat(
        notification_server, kith_apps, qtbot, aw):
    """The click's signal can be handled before the reply that names its id (the bus
    delivers both in one read; the handler runs before the awaiting code resumes)."""
    server = notification_server
    alice, bob = _unfocused_friends(kith_apps, qtbot, aw)
    server.click_at_once = True
    bob.node.queue_message(alice.node.user_id, "quick!")
    qtbot.waitUntil(lambda: len(server.shown) == 1)
    qtbot.waitUntil(lambda: alice.window.current == bob.node.user_id, timeout=20000)
    assert alice.notifier.desktop.keys() == []


def test_reading_the_chat_withdraws_its_notification_and_quitting_withdraws_the_rest(
        notification_server, kith_apps, qtbot, aw):
    server = notification_server
    alice, bob = _unfocused_friends(kith_apps, qtbot, aw)
    carol = kith_apps("carol")
    _friends(aw, qtbot, alice, carol)
    _activate(qtbot, bob.window)

    bob.node.queue_message(alice.node.user_id, "from bob")
    carol.node.queue_message(alice.node.user_id, "from carol")
    qtbot.waitUntil(lambda: sorted(s.summary for s in server.shown) == ["bob", "carol"])
    ids = {s.summary: s.id for s in server.shown}

    _open(qtbot, alice.window, "bob")  # bob's chat on screen in the active window: read
    _activate(qtbot, alice.window)
    qtbot.waitUntil(lambda: server.closed == [ids["bob"]])
    assert alice.notifier.desktop.keys() == [carol.node.user_id]

    desktop = alice.notifier.desktop
    bus = desktop._notifier.bus
    aw(alice.notifier.aclose())  # what KithApp.stop runs
    assert server.closed == [ids["bob"], ids["carol"]]
    assert not desktop._tasks
    assert not bus.connected


def _fake_tray(notifier):
    class Tray:
        def __init__(self) -> None:
            self.messages: list[tuple[str, str]] = []

        def showMessage(self, title, text, *_a) -> None:
            self.messages.append((title, text))

        def setIcon(self, *_a) -> None:
            pass

        def setToolTip(self, *_a) -> None:
            pass

    notifier.tray = Tray()
    return notifier.tray


def _falls_back_to_the_tray(alice, bob, qtbot, caplog):
    tray = _fake_tray(alice.notifier)
    with caplog.at_level(logging.INFO, logger="kith.app.gui.notify"):
        bob.node.queue_message(alice.node.user_id, "first")
        qtbot.waitUntil(lambda: tray.messages == [("bob", "first")])
        assert alice.notifier.desktop.available is False
        bob.node.queue_message(alice.node.user_id, "second")
        qtbot.waitUntil(lambda: tray.messages == [("bob", "first"), ("bob", "second")])
    assert alice.notifier.shown == [("bob", "first"), ("bob", "second")]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    said = [r for r in caplog.records if r.name == "kith.app.gui.notify"]
    assert len(said) == 1 and said[0].levelno == logging.INFO  # once, and no warning
    assert "not available" in said[0].getMessage()
    return said[0].getMessage()


def test_no_session_bus_falls_back_to_the_tray(kith_apps, qtbot, aw, caplog, monkeypatch,
                                               tmp_path):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    alice, bob = _unfocused_friends(kith_apps, qtbot, aw)
    _falls_back_to_the_tray(alice, bob, qtbot, caplog)
    aw(alice.notifier.aclose())
    assert not alice.notifier.desktop._tasks


def test_a_bus_without_notification_server_falls_back_to_the_tray(
        session_bus, kith_apps, qtbot, aw, caplog):
    alice, bob = _unfocused_friends(kith_apps, qtbot, aw)
    said = _falls_back_to_the_tray(alice, bob, qtbot, caplog)
    assert "ServiceUnknown" in said or NAME in said
    assert alice.notifier.desktop._notifier is None  # its bus connection already closed
