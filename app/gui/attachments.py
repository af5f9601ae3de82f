"""Files in the chat: pictures at their aspect ratio, file cards, progress, and the
composer's attachments (the Attach button, drop, paste).

- :class:`FilesBridge`: the files of a message as the node sees them (descriptor and
  state), the controls (fetch, pause, resume, cancel) and a ``fileChanged`` signal.
- :class:`FilesLayout`: what the bubble delegate asks: the size of a message's files
  and how to paint them (a picture from its preview until the file is here, then from the
  file; a card with icon, name, size and type otherwise; a progress bar while it comes).
- :class:`Attachments`: wires them into the window: clicks on a picture open the viewer,
  on a card the file (or start the download), a context menu with Save as…, Show in
  folder and Copy, and the pending files of the composer.

Signals (FilesBridge): ``fileChanged(bytes)`` a file's state or progress changed.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QRect, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QDropEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QImage,
    QImageReader,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QMenu,
    QPushButton,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from p2p.api import FileChanged
from p2p.files.base import describe_size
from p2p.files.descriptor import Attachment
from storage import MessageRow

if TYPE_CHECKING:
    from app.gui.bridge import Bridge
    from app.gui.delegates import BubbleDelegate
    from app.gui.window import MainWindow

IMAGE_MAX_W, IMAGE_MAX_H, IMAGE_MIN = 260, 320, 60
CARD_W, CARD_H = 280, 56
GAP = 6  # between two files, and between the text and the files
IMAGES = 64  # scaled pictures kept for painting


def size_text(n: int) -> str:
    return describe_size(n, bytes_unit="B")


@dataclass
class Item:
    """One attachment of a message: what travelled, and its state here."""

    att: Attachment
    info: dict[str, Any]

    @property
    def file(self) -> bytes:
        return self.att.id

    @property
    def picture(self) -> bool:
        return self.att.is_image and self.att.width > 0 and self.att.height > 0

    @property
    def path(self) -> Path | None:
        p = self.info.get("path")
        return Path(p) if p else None


class FilesBridge(QObject):
    """The node's files for the widgets (the app's one seam stays the bridge's node)."""

    fileChanged = Signal(bytes)

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.node = bridge.node
        self._items: dict[bytes, list[Item]] = {}  # event id -> its files
        self._by_file: dict[bytes, set[bytes]] = {}  # file -> event ids cached
        self.rates: dict[bytes, float] = {}
        self._unsubscribe = self.node.subscribe(self._on_event)

    def close(self) -> None:
        self._unsubscribe()

    def _on_event(self, e: object) -> None:
        if isinstance(e, FileChanged):
            self.rates[e.file] = e.rate
            for event_id in self._by_file.pop(e.file, set()):
                self._items.pop(event_id, None)
            with contextlib.suppress(RuntimeError):  # (the window is gone)
                self.fileChanged.emit(e.file)

    def items(self, row: MessageRow) -> list[Item]:
        found = self._items.get(row.event_id)
        if found is None:
            files = self.node.files
            if self.node.store is None:
                return []
            atts = self.node.db.message_attachments(row.conv, row.author, row.seq)
            found = [Item(files.attachment(a), files.file_json(a)) for a in atts]
            self._items[row.event_id] = found
            for item in found:
                self._by_file.setdefault(item.file, set()).add(row.event_id)
        return found

    def images(self, conv: bytes) -> list[Item]:
        """The chat's pictures that are here, oldest first (for the viewer's arrows)."""
        files = self.node.files
        out = []
        for a in self.node.db.attachments(conv):
            item = Item(files.attachment(a), files.file_json(a))
            if item.picture and item.path is not None:
                out.append(item)
        return out

    def send(self, user: bytes, text: str, paths: list[Path]) -> Any:
        return self.bridge.run(self.node.files.send(user, text, paths))

    def act(self, item: Item, action: str) -> None:
        files = self.node.files
        try:
            if action in ("fetch", "resume"):
                files.start(item.file)
            elif action == "pause":
                files.pause(item.file)
            elif action == "cancel":
                files.cancel(item.file)
        except Exception as e:  # (a UserError: say it)
            self.bridge.error.emit(str(e))

    def transfers(self) -> list[dict[str, Any]]:
        return self.node.files.transfer_list()

    def holders(self, file: bytes) -> int:
        """How many connected devices are sending ``file`` (or said they have it)."""
        t = self.node.files.transfers.get(file)
        return len(t.dl.holders) if t is not None and t.dl is not None else 0


class FilesLayout:
    """Sizes and painting of a message's files, for the bubble delegate."""

    def __init__(self, files: FilesBridge) -> None:
        self.files = files
        self._images: OrderedDict[tuple[bytes, int, int, bool], QImage] = OrderedDict()

    # -- geometry ------------------------------------------------------------------------

    def item_size(self, item: Item, max_w: int) -> tuple[int, int]:
        if item.picture:
            a = item.att
            w = min(IMAGE_MAX_W, max_w, max(IMAGE_MIN, a.width))
            h = round(w * a.height / a.width)
            if h > IMAGE_MAX_H:
                h = IMAGE_MAX_H
                w = max(IMAGE_MIN, round(h * a.width / a.height))
            return w, max(h, IMAGE_MIN // 2)
        return min(CARD_W, max_w), CARD_H

    def size(self, row: MessageRow, max_w: int) -> tuple[int, int]:
        items = self.files.items(row)
        if not items:
            return 0, 0
        sizes = [self.item_size(i, max_w) for i in items]
        return max(w for w, _ in sizes), sum(h for _, h in sizes) + GAP * (len(sizes) - 1)

    def rects(self, row: MessageRow, max_w: int, origin: QPoint) -> list[tuple[Item, QRect]]:
        out = []
        y = origin.y()
        for item in self.files.items(row):
            w, h = self.item_size(item, max_w)
            out.append((item, QRect(origin.x(), y, w, h)))
            y += h + GAP
        return out

    # -- painting ------------------------------------------------------------------------

    def paint(self, p: QPainter, row: MessageRow, max_w: int, origin: QPoint, pal: QPalette,
              outgoing: bool) -> None:
        for item, r in self.rects(row, max_w, origin):
            if item.picture:
                self._paint_picture(p, item, r, pal)
            else:
                self._paint_card(p, item, r, pal, outgoing)

    def picture(self, item: Item, w: int, h: int) -> QImage | None:
        """The picture at (w, h): from the file once here, else from the preview."""
        full = item.path is not None
        key = (item.file, w, h, full)
        img = self._images.get(key)
        if img is not None:
            self._images.move_to_end(key)
            return img
        if full:
            reader = QImageReader(str(item.path))
            reader.setAutoTransform(True)
            reader.setScaledSize(reader.size().scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio))
            img = reader.read()
        elif item.att.preview:
            img = QImage.fromData(item.att.preview)
            if not img.isNull():
                img = img.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        if img is None or img.isNull():
            return None
        self._images[key] = img
        if len(self._images) > IMAGES:
            self._images.popitem(last=False)
        return img

    def _paint_picture(self, p: QPainter, item: Item, r: QRect, pal: QPalette) -> None:
        p.save()
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(r), 10, 10)
        p.setClipPath(clip)
        img = self.picture(item, r.width(), r.height())
        if img is not None:
            p.drawImage(r, img)
        else:
            p.fillRect(r, pal.color(QPalette.ColorRole.Mid))
        state = item.info.get("state")
        if state != "complete":
            self._overlay(p, item, r, pal)
        p.restore()

    def _overlay(self, p: QPainter, item: Item, r: QRect, pal: QPalette) -> None:
        """The state of a picture that is not here yet, over its preview."""
        state = str(item.info.get("state"))
        have, size = int(item.info.get("have", 0)), max(1, item.att.size)
        bar = QRect(r.left(), r.bottom() - 21, r.width(), 22)
        p.fillRect(bar, QColor(0, 0, 0, 140))
        if state in ("downloading", "paused"):
            done = QRect(bar.left(), bar.bottom() - 2, int(bar.width() * have / size), 3)
            p.fillRect(done, pal.color(QPalette.ColorRole.Highlight))
        p.setPen(QColor("white"))
        small = QFont(p.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        p.drawText(bar.adjusted(8, 0, -8, -2), Qt.AlignmentFlag.AlignVCenter,
                   self.status_text(item))

    def status_text(self, item: Item) -> str:
        state = str(item.info.get("state"))
        have, size = int(item.info.get("have", 0)), item.att.size
        if state == "complete":
            return f"{size_text(size)} · {item.att.mime}"
        if state == "downloading":
            if not self.files.holders(item.file):
                return f"Waiting for a device that has it · {size_text(have)} of " \
                       f"{size_text(size)}"
            rate = self.files.rates.get(item.file, 0.0)
            pct = int(100 * have / size) if size else 100
            text = f"{pct}% of {size_text(size)}"
            if rate > 0:
                left = (size - have) / rate
                text += f" · {size_text(int(rate))}/s · {int(left) + 1} s left"
            return text
        if state == "paused":
            problem = item.info.get("problem")
            return f"Paused at {size_text(have)} of {size_text(size)}" + (
                f": {problem}" if problem else "")
        if state == "failed":
            return f"Failed: {item.info.get('problem', '')}"
        return f"Download · {size_text(size)}"

    def _paint_card(self, p: QPainter, item: Item, r: QRect, pal: QPalette,
                    outgoing: bool) -> None:
        p.save()
        text = (pal.color(QPalette.ColorRole.HighlightedText) if outgoing
                else pal.color(QPalette.ColorRole.Text))
        ground = QColor(text)
        ground.setAlpha(28)
        path = QPainterPath()
        path.addRoundedRect(QRectF(r), 10, 10)
        p.fillPath(path, ground)
        icon = QRect(r.left() + 8, r.top() + 8, 40, 40)
        icon_path = QPainterPath()
        icon_path.addRoundedRect(QRectF(icon), 6, 6)
        badge = QColor(text)
        badge.setAlpha(60)
        p.fillPath(icon_path, badge)
        ext = Path(item.att.name).suffix.lstrip(".").upper()[:4] or "FILE"
        small = QFont(p.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.8))
        small.setBold(True)
        p.setFont(small)
        p.setPen(text)
        p.drawText(icon, Qt.AlignmentFlag.AlignCenter, ext)
        name_font = QFont(p.font())
        name_font.setBold(True)
        name_font.setPointSizeF(max(7.0, name_font.pointSizeF() / 0.8))
        p.setFont(name_font)
        x = icon.right() + 10
        width = r.right() - x - 8
        name = QFontMetrics(name_font).elidedText(item.att.name, Qt.TextElideMode.ElideMiddle,
                                                  width)
        p.drawText(QRect(x, r.top() + 8, width, 20), Qt.AlignmentFlag.AlignVCenter, name)
        detail = QFont(name_font)
        detail.setBold(False)
        detail.setPointSizeF(max(7.0, detail.pointSizeF() * 0.85))
        p.setFont(detail)
        line = QFontMetrics(detail).elidedText(self.status_text(item),
                                               Qt.TextElideMode.ElideRight, width)
        p.drawText(QRect(x, r.top() + 28, width, 18), Qt.AlignmentFlag.AlignVCenter, line)
        if item.info.get("state") in ("downloading", "paused"):
            have, size = int(item.info.get("have", 0)), max(1, item.att.size)
            track = QRect(x, r.bottom() - 6, width, 3)
            p.fillRect(track, badge)
            p.fillRect(QRect(x, track.top(), int(width * have / size), 3),
                       pal.color(QPalette.ColorRole.Link))
        p.restore()


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
            chip.setToolTip(f"Remove {p.name}")
            chip.clicked.connect(lambda _=False, p=p: self.remove(p))
            self._row.insertWidget(i, chip)
        self.setVisible(bool(self.paths))


def _local_files(mime: QMimeData) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()
            and Path(u.toLocalFile()).is_file()]


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
        bar = chat.findChild(QFrame, "composerBar")
        assert bar is not None
        layout = chat.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(bar), self.pending)
        row = bar.layout()
        assert isinstance(row, QHBoxLayout)
        self.attach_button = QPushButton("📎")
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setToolTip("Attach files")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setFlat(True)
        self.attach_button.clicked.connect(self.pick)
        row.insertWidget(0, self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.transfers_button = QPushButton("⇅")
        self.transfers_button.setObjectName("transfersButton")
        self.transfers_button.setToolTip("Transfers")
        self.transfers_button.setAccessibleName("Transfers")
        self.transfers_button.setFlat(True)
        self.transfers_button.clicked.connect(self.show_transfers)
        row.insertWidget(1, self.transfers_button, 0, Qt.AlignmentFlag.AlignBottom)
        self._viewport = self.view.viewport()
        self._composer = chat.composer
        self._alive = True
        self.view.destroyed.connect(self._gone)
        chat.setAcceptDrops(True)
        chat.installEventFilter(self)
        self._viewport.installEventFilter(self)
        self._viewport.setAcceptDrops(True)
        chat.composer.installEventFilter(self)
        self.files.fileChanged.connect(self.on_file_changed)
        self.viewer: QWidget | None = None
        self.transfers: QWidget | None = None

    # -- the composer ----------------------------------------------------------------------

    def pick(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self.window, "Attach files")
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

    # -- events ----------------------------------------------------------------------------

    def _gone(self, *_: object) -> None:
        self._alive = False

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
        elif obj is self._viewport:
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
        return False

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
        top = d._text_size(index, max_w)[1] + GAP if row.text else 0
        origin = g["bubble"].topLeft() + QPoint(d.PAD_H, d.PAD_V + top)
        return self.layout.rects(row, max_w, origin)

    def activate(self, item: Item) -> None:
        state = item.info.get("state")
        if state == "complete" and item.path is not None:
            if item.picture:
                self.show_viewer(item)
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
            m.addAction("Open", lambda: self.activate(item))
            m.addAction("Save as…", lambda: self.save_as(item))
            m.addAction("Show in folder", lambda: QDesktopServices.openUrl(
                QUrl.fromLocalFile(str(path.parent))))
            m.addAction("Copy", lambda: self.copy(item))
        elif state == "downloading":
            m.addAction("Pause", lambda: self.files.act(item, "pause"))
            m.addAction("Cancel", lambda: self.files.act(item, "cancel"))
        else:
            m.addAction("Download", lambda: self.files.act(item, "fetch"))
            if state == "paused":
                m.addAction("Cancel", lambda: self.files.act(item, "cancel"))
        return m

    def save_as(self, item: Item, target: str | None = None) -> Path | None:
        if item.path is None:
            return None
        if target is None:
            target, _ = QFileDialog.getSaveFileName(self.window, "Save as", item.att.name)
        if not target:
            return None
        try:
            shutil.copyfile(item.path, target)
        except OSError as e:
            self.window.bridge.error.emit(f"cannot save {item.att.name}: {e.strerror or e}")
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
        self.view.viewport().update()
        if self.transfers is not None and self.transfers.isVisible():
            self.transfers.refresh()  # type: ignore[attr-defined]

    # -- the viewer and the transfers --------------------------------------------------------

    def show_viewer(self, item: Item) -> None:
        from app.gui.viewer import PhotoViewer

        conv = self.window.messages.conv
        images = self.files.images(conv) if conv else [item]
        at = next((i for i, x in enumerate(images) if x.file == item.file), 0)
        viewer = PhotoViewer(images or [item], at, self.window)
        self.viewer = viewer
        viewer.show()

    def show_transfers(self) -> None:
        from app.gui.transfers import TransfersDialog

        if self.transfers is None:
            self.transfers = TransfersDialog(self.files, self.window)
        self.transfers.refresh()  # type: ignore[attr-defined]
        self.transfers.show()
