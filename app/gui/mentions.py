"""``@name`` mentions in a group chat: a list of the members that completes while typing
in the composer, and whether a message mentions me (it notifies even when the group is
muted)."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QListWidget, QPlainTextEdit

from kith.storage import MessageRow

_AT = re.compile(r"(?:^|(?<=\s))@([^\s@]*)$")


def mentions(text: str, name: str) -> bool:
    """Does ``text`` mention ``name`` (``@name``, any case, as a whole word)?"""
    if not name:
        return False
    pattern = r"(?:^|(?<=\W))@" + re.escape(name) + r"(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def mentions_me(rows: list[MessageRow], my_name: str) -> bool:
    return any(not r.outgoing and mentions(r.text, my_name) for r in rows)


class MentionCompleter(QObject):
    """Watches a composer: after ``@`` and a few letters, lists the members whose names
    start so; Tab or Enter takes the highlighted one, Escape closes the list. The
    composer keeps the focus (the list never takes it)."""

    def __init__(self, composer: QPlainTextEdit) -> None:
        super().__init__(composer)
        self.composer = composer
        self.names: list[str] = []
        self.popup = QListWidget(composer.window())
        self.popup.setObjectName("mentionPopup")
        self.popup.setAccessibleName(self.tr("Mention someone"))
        self.popup.setWindowFlags(Qt.WindowType.ToolTip)
        self.popup.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.popup.itemClicked.connect(lambda item: self.take(item.text()))
        composer.textChanged.connect(self.update)
        composer.installEventFilter(self)

    def set_names(self, names: list[str]) -> None:
        """The names to offer (none: not a group chat)."""
        self.names = sorted(set(names), key=str.casefold)
        self.update()

    def _prefix(self) -> str | None:
        cursor = self.composer.textCursor()
        block = cursor.block().text()[: cursor.positionInBlock()]
        m = _AT.search(block)
        return None if m is None else m.group(1)

    def update(self) -> None:
        prefix = self._prefix() if self.names else None
        hits = [] if prefix is None else [
            n for n in self.names if n.casefold().startswith(prefix.casefold())]
        if not hits:
            self.popup.hide()
            return
        self.popup.clear()
        self.popup.addItems(hits)
        self.popup.setCurrentRow(0)
        rect = self.composer.cursorRect()
        where = self.composer.mapToGlobal(QPoint(rect.left(), rect.top()))
        height = min(6, len(hits)) * 22 + 6
        self.popup.setGeometry(where.x(), where.y() - height - 4, 200, height)
        self.popup.show()

    def take(self, name: str) -> None:
        prefix = self._prefix()
        if prefix is None:
            return
        cursor = self.composer.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left,
                            QTextCursor.MoveMode.KeepAnchor, len(prefix) + 1)
        cursor.insertText(f"@{name} ")
        self.composer.setTextCursor(cursor)
        self.popup.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.composer and event.type() == QEvent.Type.KeyPress \
                and self.popup.isVisible():
            key = event.key() if isinstance(event, QKeyEvent) else None
            if key in (Qt.Key.Key_Tab, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.popup.currentItem()
                if item is not None:
                    self.take(item.text())
                    return True
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                row = min(max(self.popup.currentRow() + step, 0), self.popup.count() - 1)
                self.popup.setCurrentRow(row)
                return True
            if key == Qt.Key.Key_Escape:
                self.popup.hide()
                return True
        return super().eventFilter(watched, event)


def attach(composer: QPlainTextEdit) -> MentionCompleter:
    """The composer's mention completer (one per composer)."""
    found = composer.findChild(MentionCompleter)
    return found if isinstance(found, MentionCompleter) else MentionCompleter(composer)
