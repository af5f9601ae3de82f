"""Files in chat bubbles: pictures and videos at their aspect ratio, file cards, progress.

- :class:`Item`: one attachment of a message, its descriptor and its state here.
- :class:`FilesBridge`: the files of a message as the node sees them (descriptor and
  state), the controls (fetch, pause, resume, cancel) and a ``fileChanged`` signal.
- :class:`FilesLayout`: what the bubble delegate asks: the size of a message's files
  and how to paint them (a picture from its preview until the file is here, then from the
  file; a video from its preview frame with a ▶ and its duration; a card with icon, name,
  size and type otherwise; a progress bar while it comes).

The window's wiring (clicks, menus, the viewer) is :mod:`app.gui.attachments`, the
composer's (pick, drop, paste) :mod:`app.gui.composerfiles`.

Signals (FilesBridge): ``fileChanged(bytes)`` a file's state or progress changed.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, QPoint, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QImage,
    QImageReader,
    QPainter,
    QPainterPath,
    QPalette,
)

from kith.app.gui import waiting
from kith.p2p.api import FileChanged
from kith.p2p.files.base import describe_size
from kith.p2p.files.descriptor import Attachment
from kith.p2p.files.media import duration_text
from kith.storage import MessageRow

if TYPE_CHECKING:
    from kith.app.gui.bridge import Bridge

IMAGE_MAX_W, IMAGE_MAX_H, IMAGE_MIN = 260, 320, 60
CARD_W, CARD_H = 280, 56  # a file card's size: wider (up to the bubble's) for a long name
CARD_TEXT_X, CARD_PAD = 57, 8  # where its name starts (after the icon); its right margin
GAP = 6  # between two files, and between the text and the files
IMAGES = 64  # scaled pictures kept for painting


def size_text(n: int) -> str:
    return describe_size(n, bytes_unit="B")


def card_name_font(font: QFont) -> QFont:
    """The font of a file card's name: ``font`` (the chat's) in bold."""
    name_font = QFont(font)
    name_font.setBold(True)
    return name_font


@dataclass
class Item:
    """One attachment of a message: what travelled, and its state here."""

    att: Attachment
    info: dict[str, Any]
    outgoing: bool = False  # sent by me (from this device or another of mine)

    @property
    def file(self) -> bytes:
        return self.att.id

    @property
    def picture(self) -> bool:
        return self.att.is_image and self.att.width > 0 and self.att.height > 0

    @property
    def video(self) -> bool:
        """A video with a preview frame and a size: shown as its frame with a ▶."""
        return self.att.is_video and self.att.width > 0 and self.att.height > 0

    @property
    def visual(self) -> bool:
        """Shown as a picture in the bubble (a photo or a video's frame)."""
        return self.picture or self.video

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
            if waiting.is_waiting(row):  # (not written yet: not cached, app.gui.waiting)
                atts = waiting.attachments(self.node, row)
                return [Item(files.attachment(a), files.file_json(a), True) for a in atts]
            atts = self.node.db.message_attachments(row.conv, row.author, row.seq)
            found = [Item(files.attachment(a), files.file_json(a), a.outgoing) for a in atts]
            self._items[row.event_id] = found
            for item in found:
                self._by_file.setdefault(item.file, set()).add(row.event_id)
        return found

    def images(self, conv: bytes) -> list[Item]:
        """The chat's pictures and videos that are here, oldest first (for the viewer's
        arrows)."""
        files = self.node.files
        out = []
        for a in self.node.db.attachments(conv):
            item = Item(files.attachment(a), files.file_json(a), a.outgoing)
            if item.visual and item.path is not None:
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
            elif action == "pause_sending":
                files.pause_sending(item.file)
            elif action == "resume_sending":
                files.resume_sending(item.file)
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
        if item.visual:
            a = item.att
            w = min(IMAGE_MAX_W, max_w, max(IMAGE_MIN, a.width))
            h = round(w * a.height / a.width)
            if h > IMAGE_MAX_H:
                h = IMAGE_MAX_H
                w = max(IMAGE_MIN, round(h * a.width / a.height))
            return w, max(h, IMAGE_MIN // 2)
        name_w = QFontMetrics(card_name_font(QGuiApplication.font())).horizontalAdvance(
            item.att.name)
        return min(max(CARD_W, CARD_TEXT_X + name_w + CARD_PAD + 2), max_w), CARD_H

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
            if item.visual:
                self._paint_picture(p, item, r, pal)
            else:
                self._paint_card(p, item, r, pal, outgoing)

    def picture(self, item: Item, w: int, h: int) -> QImage | None:
        """The picture at (w, h): from the file once here, else (and for a video) from
        the preview."""
        full = item.path is not None and item.picture
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
        if item.video:
            self._play_badge(p, item, r)
        state = item.info.get("state")
        if state != "complete":
            self._overlay(p, item, r, pal)
        p.restore()

    def _play_badge(self, p: QPainter, item: Item, r: QRect) -> None:
        """A video: a ▶ in a round badge in the middle, its duration in a corner."""
        side = max(24, min(48, min(r.width(), r.height()) // 3))
        disc = QRect(0, 0, side, side)
        disc.moveCenter(r.center())
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawEllipse(disc)
        tri = QPainterPath()
        c = QRectF(disc).center()
        s = side * 0.22
        tri.moveTo(c.x() - s * 0.8, c.y() - s)
        tri.lineTo(c.x() - s * 0.8, c.y() + s)
        tri.lineTo(c.x() + s * 1.1, c.y())
        tri.closeSubpath()
        p.fillPath(tri, QColor("white"))
        small = QFont(p.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        text = duration_text(item.att.duration)
        tw = QFontMetrics(small).horizontalAdvance(text) + 10
        label = QRect(r.right() - tw - 6, r.top() + 6, tw, 18)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(label, 6, 6)
        p.setPen(QColor("white"))
        p.drawText(label, Qt.AlignmentFlag.AlignCenter, text)

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
        if state == "complete" and item.info.get("sending") == "paused":
            return QCoreApplication.translate("FilesLayout", "Sending paused · {size}").format(
                size=size_text(size))
        if state == "complete" and item.info.get("preparing"):
            return QCoreApplication.translate("FilesLayout", "Preparing to open · {size}").format(
                size=size_text(size))
        if state == "complete":
            if item.att.duration:
                return f"{duration_text(item.att.duration)} · {size_text(size)} · " \
                       f"{item.att.mime}"
            return f"{size_text(size)} · {item.att.mime}"
        if state == "downloading":
            if not self.files.holders(item.file):
                return QCoreApplication.translate(
                    "FilesLayout", "Waiting for a device that has it · {have} of {size}").format(
                    have=size_text(have), size=size_text(size))
            rate = self.files.rates.get(item.file, 0.0)
            pct = int(100 * have / size) if size else 100
            text = QCoreApplication.translate("FilesLayout", "{percent}% of {size}").format(
                percent=pct, size=size_text(size))
            if rate > 0:
                left = (size - have) / rate
                text = QCoreApplication.translate(
                    "FilesLayout", "{progress} · {rate}/s · {seconds} s left").format(
                    progress=text, rate=size_text(int(rate)), seconds=int(left) + 1)
            return text
        if state == "paused":
            problem = item.info.get("problem")
            if problem:
                return QCoreApplication.translate(
                    "FilesLayout", "Paused at {have} of {size}: {problem}").format(
                    have=size_text(have), size=size_text(size), problem=problem)
            return QCoreApplication.translate("FilesLayout", "Paused at {have} of {size}").format(
                have=size_text(have), size=size_text(size))
        if state == "failed":
            return QCoreApplication.translate("FilesLayout", "Failed: {problem}").format(
                problem=item.info.get("problem", ""))
        return QCoreApplication.translate("FilesLayout", "Download · {size}").format(
            size=size_text(size))

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
        font = QFont(p.font())
        small = QFont(font)
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.8))
        small.setBold(True)
        p.setFont(small)
        p.setPen(text)
        p.drawText(icon, Qt.AlignmentFlag.AlignCenter, ext)
        name_font = card_name_font(font)
        p.setFont(name_font)
        x = r.left() + CARD_TEXT_X
        width = r.right() - x - CARD_PAD
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
