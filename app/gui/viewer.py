"""The viewer: a chat's photos and videos inside the app, one at a time, with arrows.

A video plays with Qt Multimedia (``QMediaPlayer`` and ``QVideoWidget``) where this Qt
has it (PySide6's Addons, the `video` extra; on Linux its library also needs libpulse.so.0);
elsewhere the viewer shows its preview frame and a button that opens it with the system's
player (and a click on a video in the chat does that at once). So does a video the player
fails on. Closing the viewer stops the player and lets go of the file.
"""

from __future__ import annotations

import functools
import importlib
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QImageReader, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kith.p2p.files.media import duration_text

if TYPE_CHECKING:
    from kith.app.gui.filebubbles import Item

log = logging.getLogger(__name__)


@functools.cache
def multimedia() -> tuple[ModuleType, ModuleType] | None:
    """(QtMultimedia, QtMultimediaWidgets), or None if this Qt has no Qt Multimedia."""
    try:
        return (importlib.import_module("PySide6.QtMultimedia"),
                importlib.import_module("PySide6.QtMultimediaWidgets"))
    except ImportError as e:  # (no Addons, or a system library it links is missing)
        log.info("videos open in the system's player: no Qt Multimedia (%s)", e)
        return None


def open_outside(item: Item) -> bool:
    """Open the file with the system's program."""
    return item.path is not None and QDesktopServices.openUrl(
        QUrl.fromLocalFile(str(item.path)))


class PhotoViewer(QDialog):
    """Shows ``images[at]`` (a photo or a video); ‹ › (or the arrow keys) go to the chat's
    other photos and videos."""

    def __init__(self, images: list[Item], at: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("photoViewer")
        self.images = images
        self.at = at
        self.resize(820, 640)
        layout = QVBoxLayout(self)
        self.stack = QStackedWidget()
        self.picture = QLabel()
        self.picture.setObjectName("viewerPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(120, 120)
        self.stack.addWidget(self.picture)
        self.player: Any = None  # QMediaPlayer, with Qt Multimedia
        self.video: QWidget | None = None
        mm = multimedia()
        if mm is not None:
            qtmm, qtmmw = mm
            self.video = qtmmw.QVideoWidget()
            self.video.setObjectName("viewerVideo")
            self.player = qtmm.QMediaPlayer(self)
            self.audio = qtmm.QAudioOutput(self)
            self.player.setAudioOutput(self.audio)
            self.player.setVideoOutput(self.video)
            self.player.playbackStateChanged.connect(self._play_text)
            self.player.errorOccurred.connect(self._cannot_play)
            self.player.mediaStatusChanged.connect(self._loaded)
            self.stack.addWidget(self.video)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        self.prev_button = QPushButton("‹")
        self.prev_button.setObjectName("viewerPrev")
        self.prev_button.setAccessibleName(self.tr("Previous"))
        self.caption = QLabel()
        self.caption.setObjectName("viewerCaption")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.play_button = QPushButton()
        self.play_button.setObjectName("viewerPlay")
        self.play_button.clicked.connect(self.play_or_pause)
        self.next_button = QPushButton("›")
        self.next_button.setObjectName("viewerNext")
        self.next_button.setAccessibleName(self.tr("Next"))
        row.addWidget(self.prev_button)
        row.addWidget(self.caption, 1)
        row.addWidget(self.play_button)
        row.addWidget(self.next_button)
        layout.addLayout(row)
        self.prev_button.clicked.connect(lambda: self.go(-1))
        self.next_button.clicked.connect(lambda: self.go(1))
        self._pixmap = QPixmap()
        self._unplayable: set[bytes] = set()  # videos the player failed on: the system's
        self.show_current()

    @property
    def current(self) -> Item:
        return self.images[self.at]

    def go(self, step: int) -> None:
        target = self.at + step
        if 0 <= target < len(self.images):
            self.at = target
            self.show_current()

    def show_current(self) -> None:
        item = self.current
        self._release()
        if item.video:
            self._pixmap = QPixmap.fromImage(QImage.fromData(item.att.preview))
            length = duration_text(item.att.duration)
            self.caption.setText(self.tr("{name}  ({at} of {n}) · {length}").format(
                name=item.att.name, at=self.at + 1, n=len(self.images), length=length))
            self.play_button.show()
            self._play_text()
            self.stack.setCurrentWidget(self.picture)  # its frame until the player has it
            if self._plays_here(item):
                self.player.setSource(QUrl.fromLocalFile(str(item.path)))
                self.player.play()
        else:
            reader = QImageReader(str(item.path))
            reader.setAutoTransform(True)
            self._pixmap = QPixmap.fromImage(reader.read())
            self.caption.setText(self.tr("{name}  ({at} of {n})").format(
                name=item.att.name, at=self.at + 1, n=len(self.images)))
            self.play_button.hide()
            self.stack.setCurrentWidget(self.picture)
        self.setWindowTitle(item.att.name)
        self.prev_button.setEnabled(self.at > 0)
        self.next_button.setEnabled(self.at < len(self.images) - 1)
        self._fit()

    def _plays_here(self, item: Item) -> bool:
        return (self.player is not None and self.video is not None and item.path is not None
                and item.file not in self._unplayable)

    def play_or_pause(self) -> None:
        """The button: play or pause the current video here, or open it with the system's
        player where it cannot play here."""
        item = self.current
        if not item.video:
            return
        if not self._plays_here(item):
            if not open_outside(item):
                self.caption.setText(self.tr("No program here plays this video"))
        elif self.player.playbackState() == self.player.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()  # (at its end: from the start again)

    def _play_text(self) -> None:
        if not self._plays_here(self.current):
            self.play_button.setText(self.tr("▶ Open in the system's player"))
        elif self.player.playbackState() == self.player.PlaybackState.PlayingState:
            self.play_button.setText(self.tr("⏸ Pause"))
        else:
            self.play_button.setText(self.tr("▶ Play"))

    def _loaded(self, status: object) -> None:
        """The player has the video: the video widget takes the preview frame's place (not
        before: a black rectangle meanwhile, and Qt warns when the widget goes away before
        it was ever painted)."""
        ms = self.player.MediaStatus
        if status in (ms.LoadedMedia, ms.BufferingMedia, ms.BufferedMedia) and \
                self.video is not None and self._plays_here(self.current):
            self.stack.setCurrentWidget(self.video)

    def _cannot_play(self, error: object, text: str) -> None:
        """The player failed on this video (a codec its FFmpeg lacks, a damaged file): show
        its frame and offer the system's player instead of a black rectangle."""
        item = self.current
        log.warning("the viewer cannot play %s (%s): offering the system's player",
                    item.att.name, text)
        self._unplayable.add(item.file)
        self._release()
        self.stack.setCurrentWidget(self.picture)
        self.caption.setText(self.tr("{name}: cannot be played here").format(
            name=item.att.name))
        self._play_text()
        self._fit()

    def _release(self) -> None:
        """Stop the player and let go of its file (and the decoding threads with it)."""
        if self.player is not None:
            self.player.stop()
            self.player.setSource(QUrl())

    def _fit(self) -> None:
        if self._pixmap.isNull():
            self.picture.setText(self.tr("This picture cannot be shown"))
            return
        self.picture.setPixmap(self._pixmap.scaled(
            self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, e: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(e)
        self._fit()

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if e.key() == Qt.Key.Key_Left:
            self.go(-1)
        elif e.key() == Qt.Key.Key_Right:
            self.go(1)
        else:
            super().keyPressEvent(e)

    def done(self, r: int) -> None:
        self._release()
        super().done(r)
