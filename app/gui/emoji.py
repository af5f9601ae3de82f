"""The emoji picker: a popup grid of emoji by category, for the composer and reactions."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QToolButton, QVBoxLayout, QWidget

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("Smileys", "😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😋😛😜🤪🤨🧐🤓😎🥳😏😒😞😔😟😕🙁😣😖😫"
                "😩🥺😢😭😤😠😡🤯😳🥵🥶😱😨😰😥🤗🤔🤭🤫🤥😶😐😑😬🙄😯😦😧😮😲🥱😴🤤😪😵🤐"),
    ("People", "👋🤚✋🖖👌🤌🤏✌🤞🤟🤘🤙👈👉👆👇☝👍👎✊👊🤛🤜👏🙌👐🤲🤝🙏💪👀🧠"),
    ("Hearts", "❤🧡💛💚💙💜🖤🤍🤎💔❣💕💞💓💗💖💘💝"),
    ("Things", "🎉🎊🎂🎁🎈🔥✨⭐🌟💯✅❌‼❓❗💤💬☕🍕🍔🍻🍷⚽🏆🎵🎶📷💡📌📎🚀🏠🌈☀🌙⛄"),
)
COLUMNS = 12
GLYPH_SCALE = 1.9  # emoji fonts draw smaller than text at the same size: the glyph fills
CELL_PAD = 6  # its square cell but for this much (pixels)


def _qualified(ch: str) -> str:
    """The emoji as it is shown (text-default symbols get the emoji presentation)."""
    return ch + "\ufe0f" if ch in "❤✌☝❣‼☀" else ch


def all_emoji() -> list[str]:
    return [_qualified(ch) for _, chars in CATEGORIES for ch in chars]


class EmojiPicker(QFrame):
    """A popup with the emoji in a grid; ``picked(emoji)`` when one is clicked."""

    picked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("emojiPicker")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 8, 8, 8)
        self.buttons: dict[str, QToolButton] = {}
        for title, chars in CATEGORIES:
            label = QLabel(title)
            label.setObjectName("emojiCategory")
            column.addWidget(label)
            grid = QGridLayout()
            grid.setSpacing(2)
            for i, ch in enumerate(chars):
                emoji = _qualified(ch)
                b = QToolButton()
                b.setObjectName("emojiButton")
                b.setText(emoji)
                b.setAccessibleName(emoji)
                b.setAutoRaise(True)
                font = b.font()
                font.setPointSizeF(max(font.pointSizeF(), 9.0) * GLYPH_SCALE)
                b.setFont(font)
                side = QFontMetrics(font).height() + CELL_PAD
                b.setFixedSize(side, side)
                b.clicked.connect(lambda _=False, e=emoji: self._pick(e))
                grid.addWidget(b, i // COLUMNS, i % COLUMNS)
                self.buttons[emoji] = b
            column.addLayout(grid)

    def _pick(self, emoji: str) -> None:
        self.picked.emit(emoji)
        self.close()

    def show_at(self, pos: QPoint) -> None:
        self.adjustSize()
        self.move(pos - QPoint(0, self.sizeHint().height()))
        self.show()
