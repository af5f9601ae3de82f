"""Files in the chat window: what a click or the context menu does with a file in a
bubble (open a picture or a video in the viewer, another file with the system's program,
start or pause its download; Save as…, Show in folder, Copy), the composer's Attach and
Transfers buttons, and the viewer and the transfers list.

The parts: :mod:`app.gui.filebubbles` (items, the node's files for the widgets, the
layout and painting in bubbles), :mod:`app.gui.composerfiles` (pick, drop, paste).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QRect, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage, QMouseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QMenu,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from kith.app.gui.composerfiles import ComposerFiles, PendingFiles
from kith.app.gui.filebubbles import FilesBridge, FilesLayout, Item, size_text
from kith.app.gui.viewer import multimedia, open_outside
from kith.storage import MessageRow

if TYPE_CHECKING:
    from kith.app.gui.delegates import BubbleDelegate
    from kith.app.gui.window import MainWindow

__all__ = ["Attachments", "FilesBridge", "FilesLayout", "Item", "PendingFiles", "size_text"]


def can_play_videos() -> bool:
    """Does this Qt have Qt Multimedia (QMediaPlayer and QVideoWidget)?"""
    return multimedia() is not None


class Attachments(QObject):
    """The window's files: composer attachments, clicks and menus on files in bubbles."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.files = FilesBridge(window.bridge)
        self.layout = FilesLayout(self.files)
        chat = window.chat
        self.view = chat.view
        self.delegate: BubbleDelegate = chat.view.bubbles
        self.delegate.files = self.layout
        self.pending = PendingFiles()
        self.composer = ComposerFiles(window, self.files, self.pending)
        bar = chat.findChild(QFrame, "composerBar")
        assert bar is not None
        layout = chat.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(bar), self.pending)
        self.attach_button = chat.composer_field.add_tool(
            "attach", "📎", "attachButton", self.tr("Attach files"), leading=True)
        self.attach_button.clicked.connect(self.pick)
        self.transfers_button = window.sidebar.add_top_button(
            "transfers", "⇅", "transfersButton", self.tr("Transfers"))
        self.transfers_button.clicked.connect(self.show_transfers)
        self._viewport = self.view.viewport()
        self._alive = True
        self.view.destroyed.connect(self._gone)
        self._viewport.installEventFilter(self)
        self._viewport.setAcceptDrops(True)
        self.files.fileChanged.connect(self.on_file_changed)
        self.viewer: QWidget | None = None
        self.transfers: QWidget | None = None
        # a file clicked while its plain copy is being made: opened once it is there
        self.open_when_ready: Item | None = None

    # -- the composer (app.gui.composerfiles) ---------------------------------------------

    def pick(self) -> None:
        self.composer.pick()

    def paste(self, mime: QMimeData) -> bool:
        return self.composer.paste(mime)

    def send(self, user: bytes, text: str) -> bool:
        """Send the pending files with ``text`` as the caption; False if none pend."""
        return self.composer.send(user, text)

    # -- events ----------------------------------------------------------------------------

    def _gone(self, *_: object) -> None:
        self._alive = False

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if not self._alive:  # (the window is being destroyed)
            return False
        t = e.type()
        if obj is self._viewport:
            if t == QEvent.Type.MouseButtonRelease and isinstance(e, QMouseEvent) and (
                    e.button() == Qt.MouseButton.LeftButton):
                hit = self.item_at(e.position().toPoint())
                if hit is not None:
                    self.activate(hit)
                    return True
            elif t == QEvent.Type.ContextMenu:
                pos = e.pos()  # type: ignore[attr-defined]
                hit = self.item_at(pos)
                if hit is not None:
                    self.menu(hit).popup(self.view.viewport().mapToGlobal(pos))
                    return True
        return self.composer.eventFilter(obj, e)  # (drops on the messages, too)

    def item_at(self, pos: QPoint) -> Item | None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return None
        row = self.window.messages.row(index.row())
        for item, r in self.item_rects(index.row(), row):
            if r.contains(pos):
                return item
        return None

    def item_rects(self, n: int, row: MessageRow) -> list[tuple[Item, QRect]]:
        """The files of row ``n`` where they are painted (viewport coordinates)."""
        if not self.files.items(row):
            return []
        d = self.delegate
        index = self.view.model().index(n, 0)
        opt = QStyleOptionViewItem()
        opt.rect = self.view.visualRect(index)
        opt.font = self.view.font()
        opt.palette = self.view.palette()
        g = d._geometry(opt, index)
        if "bubble" not in g:
            return []
        max_w = d._max_text_width()
        # the files come first in the bubble, the text under them (BubbleDelegate.text_top)
        origin = g["bubble"].topLeft() + QPoint(d.PAD_H, d.PAD_V)
        return self.layout.rects(row, max_w, origin)

    def activate(self, item: Item) -> None:
        state = item.info.get("state")
        if state == "complete" and item.path is None and item.info.get("preparing"):
            # (a sealed file's plain copy is made on a thread: opened once it is there,
            # the window goes on meanwhile)
            self.open_when_ready = item
            self.window.statusBar().showMessage(
                self.tr("Preparing {name} to open…").format(name=item.att.name), 5000)
            return
        if state == "complete" and item.path is not None:
            if item.picture or (item.video and can_play_videos()):
                self.show_viewer(item)
            elif item.video:
                open_outside(item)  # (no Qt Multimedia here: the system's player)
            else:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(item.path)))
        elif state == "downloading":
            self.files.act(item, "pause")
        else:
            self.files.act(item, "fetch")

    def menu(self, item: Item) -> QMenu:
        m = QMenu(self.view)
        m.setObjectName("fileMenu")
        state = item.info.get("state")
        if state == "complete" and item.path is not None:
            path = item.path
            m.addAction(self.tr("Open"), lambda: self.activate(item))
            m.addAction(self.tr("Save as…"), lambda: self.save_as(item))
            m.addAction(self.tr("Show in folder"), lambda: QDesktopServices.openUrl(
                QUrl.fromLocalFile(str(path.parent))))
            m.addAction(self.tr("Copy"), lambda: self.copy(item))
            if item.outgoing and item.info.get("sending") == "paused":
                m.addAction(self.tr("Resume sending"),
                            lambda: self.files.act(item, "resume_sending"))
            elif item.outgoing:
                m.addAction(self.tr("Pause sending"),
                            lambda: self.files.act(item, "pause_sending"))
        elif state == "complete":  # (its plain copy is being made)
            m.addAction(self.tr("Open"), lambda: self.activate(item))
        elif state == "downloading":
            m.addAction(self.tr("Pause"), lambda: self.files.act(item, "pause"))
            m.addAction(self.tr("Cancel"), lambda: self.files.act(item, "cancel"))
        else:
            m.addAction(self.tr("Download"), lambda: self.files.act(item, "fetch"))
            if state == "paused":
                m.addAction(self.tr("Cancel"), lambda: self.files.act(item, "cancel"))
        return m

    def save_as(self, item: Item, target: str | None = None) -> Path | None:
        if item.path is None:
            return None
        if target is None:
            target, _ = QFileDialog.getSaveFileName(self.window, self.tr("Save as"),
                                                    item.att.name)
        if not target:
            return None
        try:
            shutil.copyfile(item.path, target)
        except OSError as e:
            self.window.bridge.error.emit(self.tr("Cannot save {name}: {reason}").format(
                name=item.att.name, reason=e.strerror or e))
            return None
        return Path(target)

    def copy(self, item: Item) -> None:
        """The picture itself (or the file, as a file) on the clipboard."""
        if item.path is None:
            return
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(item.path))])
        if item.picture:
            image = QImage(str(item.path))
            if not image.isNull():
                mime.setImageData(image)
        QGuiApplication.clipboard().setMimeData(mime)

    def on_file_changed(self, file: bytes) -> None:
        waiting = self.open_when_ready
        if waiting is not None and waiting.file == file:
            self.open_when_ready = None
            try:
                path = self.files.node.files.view_path(file)
            except OSError:
                path = None
            if path is not None:
                self.window.statusBar().clearMessage()
                self.activate(Item(waiting.att, {**waiting.info, "path": str(path),
                                                 "preparing": False}, waiting.outgoing))
            else:
                problem = self.files.node.files.view_problem(file)
                if problem:
                    self.window.bridge.error.emit(self.tr("Cannot open {name}: {reason}")
                                                  .format(name=waiting.att.name,
                                                          reason=problem))
        self.view.viewport().update()
        if self.transfers is not None and self.transfers.isVisible():
            self.transfers.refresh()  # type: ignore[attr-defined]

    # -- the viewer and the transfers --------------------------------------------------------

    def show_viewer(self, item: Item) -> None:
        from kith.app.gui.viewer import PhotoViewer

        conv = self.window.messages.conv
        images = self.files.images(conv) if conv else [item]  # (and videos)
        at = next((i for i, x in enumerate(images) if x.file == item.file), 0)
        if self.viewer is not None:  # (one viewer: the last one's player goes with it)
            self.viewer.close()
            self.viewer.deleteLater()
        viewer = PhotoViewer(images or [item], at, self.window)
        self.viewer = viewer
        viewer.show()

    def show_transfers(self) -> None:
        from kith.app.gui.transfers import TransfersDialog

        if self.transfers is None:
            self.transfers = TransfersDialog(self.files, self.window)
        self.transfers.refresh()  # type: ignore[attr-defined]
        self.transfers.show()
