"""The photo viewer: a chat's pictures inside the app, one at a time, with arrows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QImageReader, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from app.gui.attachments import Item


class PhotoViewer(QDialog):
    """Shows ``images[at]``; ‹ › (or the arrow keys) go to the chat's other pictures."""

    def __init__(self, images: list[Item], at: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("photoViewer")
        self.images = images
        self.at = at
        self.resize(820, 640)
        layout = QVBoxLayout(self)
        self.picture = QLabel()
        self.picture.setObjectName("viewerPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(120, 120)
        layout.addWidget(self.picture, 1)
        row = QHBoxLayout()
        self.prev_button = QPushButton("‹")
        self.prev_button.setObjectName("viewerPrev")
        self.prev_button.setAccessibleName(self.tr("Previous picture"))
        self.caption = QLabel()
        self.caption.setObjectName("viewerCaption")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_button = QPushButton("›")
        self.next_button.setObjectName("viewerNext")
        self.next_button.setAccessibleName(self.tr("Next picture"))
        row.addWidget(self.prev_button)
        row.addWidget(self.caption, 1)
        row.addWidget(self.next_button)
        layout.addLayout(row)
        self.prev_button.clicked.connect(lambda: self.go(-1))
        self.next_button.clicked.connect(lambda: self.go(1))
        self._pixmap = QPixmap()
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
        reader = QImageReader(str(item.path))
        reader.setAutoTransform(True)
        self._pixmap = QPixmap.fromImage(reader.read())
        self.setWindowTitle(item.att.name)
        self.caption.setText(self.tr("{name}  ({n} of {count})").format(
            name=item.att.name, n=self.at + 1, count=len(self.images)))
        self.prev_button.setEnabled(self.at > 0)
        self.next_button.setEnabled(self.at < len(self.images) - 1)
        self._fit()

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
