"""One app per profile: a second ``kith`` for a profile whose app runs brings the running
window to the front instead of failing on the profile's lock.

The running app listens on a local socket in the profile folder (``gui.sock``, next to
the node's ``control.sock``); a second launch connects and writes ``raise``. Other
commands (``kith send``...) keep using the control socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)
SOCKET_FILE = "gui.sock"
CONNECT_MS = 1000


def socket_path(profile: Path) -> str:
    return str(Path(profile) / SOCKET_FILE)


def raise_running(profile: Path) -> bool:
    """Ask the app running for ``profile`` to show its window; False if none runs."""
    sock = QLocalSocket()
    sock.connectToServer(socket_path(profile))
    if not sock.waitForConnected(CONNECT_MS):
        return False
    sock.write(b"raise\n")
    sent = sock.waitForBytesWritten(CONNECT_MS)
    sock.disconnectFromServer()
    return sent


class InstanceServer(QObject):
    """Listens for a second launch; ``on_raise()`` runs for each one."""

    def __init__(self, profile: Path, on_raise: Callable[[], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_raise = on_raise
        self.path = socket_path(profile)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        """Start listening (a file left by a crashed app is replaced: the profile lock
        says that no app runs)."""
        QLocalServer.removeServer(self.path)
        if not self.server.listen(self.path):
            log.warning("a second launch cannot reach this app: %s",
                        self.server.errorString())
            return False
        return True

    def close(self) -> None:
        self.server.close()
        QLocalServer.removeServer(self.path)

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._on_read(s))
            sock.disconnected.connect(sock.deleteLater)

    def _on_read(self, sock: QLocalSocket) -> None:
        data = bytes(sock.readAll().data())
        if b"raise" in data:
            self.on_raise()
