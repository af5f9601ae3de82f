"""The composer's attachments: the files waiting to go with the next message, picked
with the Attach button, dropped on the chat or pasted (files, or a picture)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QObject
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QToolButton, QWidget

from kith.app.gui.filebubbles import FilesBridge, size_text

if TYPE_CHECKING:
    from kith.app.gui.window import MainWindow


class PendingFiles(QFrame):
    """The files waiting to be sent with the next message, above the composer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pendingFiles")
        self.paths: list[Path] = []
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(14, 4, 14, 0)
        self._row.addStretch(1)
        self.hide()

    def add(self, paths: list[Path]) -> None:
        for p in paths:
            if p.is_file() and p not in self.paths:
                self.paths.append(p)
        self._show()

    def remove(self, path: Path) -> None:
        if path in self.paths:
            self.paths.remove(path)
        self._show()

    def clear(self) -> None:
        self.paths = []
        self._show()

    def _show(self) -> None:
        while self._row.count() > 1:
            taken = self._row.takeAt(0)
            w = taken.widget() if taken is not None else None
            if w is not None:
                w.deleteLater()
        for i, p in enumerate(self.paths):
            chip = QToolButton()
            chip.setObjectName("pendingFile")
            with contextlib.suppress(OSError):
                chip.setText(f"{p.name} ({size_text(p.stat().st_size)})  ✕")
            chip.setToolTip(self.tr("Remove {name}").format(name=p.name))
            chip.clicked.connect(lambda _=False, p=p: self.remove(p))
            self._row.insertWidget(i, chip)
        self.setVisible(bool(self.paths))


def _local_files(mime: QMimeData) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()
            and Path(u.toLocalFile()).is_file()]


class ComposerFiles(QObject):
    """Pick, drop and paste files into :class:`PendingFiles`; send them with a caption."""

    def __init__(self, window: MainWindow, files: FilesBridge, pending: PendingFiles) -> None:
        super().__init__(window)
        self.window = window
        self.files = files
        self.pending = pending
        self._composer = window.chat.composer
        self._alive = True
        window.chat.view.destroyed.connect(self._gone)
        window.chat.setAcceptDrops(True)
        window.chat.installEventFilter(self)
        self._composer.installEventFilter(self)

    def _gone(self, *_: object) -> None:
        self._alive = False

    def pick(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self.window, self.tr("Attach files"))
        self.pending.add([Path(n) for n in names])

    def paste(self, mime: QMimeData) -> bool:
        """Ctrl+V with a picture or files on the clipboard: attach them (True)."""
        paths = _local_files(mime)
        if paths:
            self.pending.add(paths)
            return True
        if mime.hasImage() and not mime.hasText():
            image = QImage(mime.imageData())
            if image.isNull():
                return False
            # (a private folder outside the profile: the profile keeps files sealed only)
            folder = self.files.node.files.disk.view_root()
            path = folder / f"pasted-{time.strftime('%Y%m%d-%H%M%S')}.png"
            if not image.save(str(path)):
                return False
            self.pending.add([path])
            return True
        return False

    def send(self, user: bytes, text: str) -> bool:
        """Send the pending files with ``text`` as the caption; False if none pend."""
        if not self.pending.paths:
            return False
        self.files.send(user, text, list(self.pending.paths))
        self.pending.clear()
        return True

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if not self._alive:  # (the window is being destroyed)
            return False
        t = e.type()
        if t in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            mime = e.mimeData()  # type: ignore[attr-defined]
            if mime.hasUrls() and _local_files(mime):
                e.acceptProposedAction()  # type: ignore[attr-defined]
                return True
        elif t == QEvent.Type.Drop and isinstance(e, QDropEvent):
            paths = _local_files(e.mimeData())
            if paths:
                self.pending.add(paths)
                e.acceptProposedAction()
                return True
        elif (t == QEvent.Type.KeyPress and obj is self._composer
              and isinstance(e, QKeyEvent) and e.matches(QKeySequence.StandardKey.Paste)):
            mime = QGuiApplication.clipboard().mimeData()
            if mime is not None and self.paste(mime):
                return True
        return False
