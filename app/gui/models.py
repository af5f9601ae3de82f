"""The messages of one chat as a Qt item model (the conversation list's model is
:mod:`kith.app.gui.convmodel`).

It is a ``QAbstractListModel`` with a roles enum; the delegate paints from the roles.
The model holds a window of at most a few hundred messages: the pages loaded so
far (keyset paging, never OFFSET). It loads an older page when the view, scrolled near
the top, asks it to (``canFetchMore``/``fetchMore``), and a newer one near the bottom
when the window does not reach the present (``messages_after``); the view drops pages
far from what it shows (``drop_oldest``/``drop_newest``). A search hit that is not
loaded opens a window of pages around the hit.

Why a bounded window: every insert makes the list view lay out all its rows again,
which costs a few microseconds a row, so the rows a chat holds must not grow with how
far the user scrolled.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QLocale,
    QModelIndex,
    Qt,
)

from kith.app.gui import waiting
from kith.app.gui.bridge import Bridge
from kith.app.gui.qtypes import AnyIndex
from kith.app.gui.timefmt import clock, date_text, day_label
from kith.app.gui.trustlog import is_system
from kith.p2p.membership import is_group_id
from kith.storage import STATUS_DELIVERED, STATUS_READ, MessageRow

PAGE = 25  # messages per page: what one page costs to lay out must fit in a frame
MAX_ROWS = 250  # the view keeps about this many rows loaded (see drop_oldest/drop_newest)
GROUP_SECONDS = 5 * 60  # consecutive messages closer than this share one group
HEADER_GAP_SECONDS = 60 * 60  # a time header also after an hour of silence


class Shape(NamedTuple):
    """What a message's bubble size depends on, besides its text and the width."""

    header: bool  # a day / time separator above it
    first: bool  # first of its group
    last: bool  # last of its group
    status: bool  # the status line under it (the last outgoing message)
    divider: bool = False  # "New messages" above it: the first one unread when it came


class MsgRole(enum.IntEnum):
    Text = Qt.ItemDataRole.UserRole + 1
    Outgoing = enum.auto()
    Time = enum.auto()
    Status = enum.auto()
    StatusText = enum.auto()
    Sender = enum.auto()
    GroupFirst = enum.auto()  # first of a run of consecutive messages by one sender
    GroupLast = enum.auto()
    DayHeader = enum.auto()  # text of the separator above this message, or ""
    EventId = enum.auto()
    Row = enum.auto()  # the MessageRow itself
    CanRetry = enum.auto()  # the last outgoing message, undelivered, contact offline
    System = enum.auto()  # a trust event's line, not a message


class MessageModel(QAbstractListModel):
    """The loaded messages of one conversation, oldest first."""

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.conv: bytes | None = None
        self.peer: bytes | None = None
        self._rows: list[MessageRow] = []
        self._ids: set[bytes] = set()
        self._has_older = False
        self._has_newer = False  # a window around an old message: newer pages not loaded
        self._last_out = -1
        self.at_top = False  # set by the view while it shows the oldest loaded row
        self.offline_peer = False  # the contact is offline: "Waiting for them"
        self.peer_name = ""
        # the first message that was unread when the chat opened or when it came while
        # the user looked elsewhere: the "New messages" divider goes above it
        self.unread_from: bytes | None = None
        # the next page each way, read ahead (peek_older/peek_newer), by the key it follows
        self._older_page: tuple[tuple[int, bytes], list[MessageRow]] | None = None
        self._newer_page: tuple[tuple[int, bytes], list[MessageRow]] | None = None

    # -- loading ---------------------------------------------------------------------------

    def open(self, conv: bytes | None, peer: bytes | None) -> None:
        """Show a conversation: its newest page."""
        self.beginResetModel()
        self.conv, self.peer = conv, peer
        self._older_page = self._newer_page = None
        rows = self.bridge.messages(conv, limit=PAGE) if conv else []
        self._has_older = len(rows) == PAGE
        rows += waiting.rows(self.bridge, conv) if conv else []  # (ours, not written yet)
        self._ids = {r.event_id for r in rows}
        self._rows = self._with_lines(rows, _key(rows[0]) if self._has_older else None, None)
        self._has_newer = False
        self.at_top = False
        self._find_last_out()
        self.unread_from = next((r.event_id for r in self._rows
                                 if not r.outgoing and r.status < STATUS_READ), None)
        self.endResetModel()

    def mark_new(self, rows: list[MessageRow]) -> None:
        """These incoming messages came while the user looked elsewhere: the divider goes
        above the first of them, unless one is there already."""
        first = next((r for r in rows if not r.outgoing and r.event_id in self._ids), None)
        if self.unread_from is None and first is not None:
            self.unread_from = first.event_id
            row = self.find_or_load(first.event_id)
            if row >= 0:
                self.dataChanged.emit(self.index(row), self.index(row))

    def unread_row(self) -> int:
        """The row the divider is above, or -1."""
        return self.find_or_load(self.unread_from) if self.unread_from else -1

    def open_at(self, hit: MessageRow) -> int:
        """Show the pages around ``hit`` (a message too far back to reach by paging from
        the newest); returns its row."""
        key = (hit.lamport, hit.author)
        older = self.bridge.messages(hit.conv, before=key, limit=PAGE)
        newer = self.bridge.messages_after(hit.conv, key, limit=PAGE)
        self.beginResetModel()
        self.conv = hit.conv
        self._older_page = self._newer_page = None
        self._has_older = len(older) == PAGE
        self._has_newer = len(newer) == PAGE
        present = [] if self._has_newer else waiting.rows(self.bridge, hit.conv)  # (ours)
        rows = [*older, hit, *newer, *present]
        self._ids = {r.event_id for r in rows}
        self._rows = self._with_lines(rows, _key(rows[0]) if self._has_older else None,
                                      _key(rows[-1]) if self._has_newer else None)
        self.at_top = False
        self._find_last_out()
        self.endResetModel()
        return len(older)

    def _lines(self, lo: tuple[int, bytes] | None, hi: tuple[int, bytes] | None,
               lo_open: bool = False) -> list[MessageRow]:
        """The chat's trust lines between two keys (None: no bound) not yet loaded."""
        if self.conv is None:
            return []
        out = []
        for r in self.bridge.trust_lines(self.conv):
            k = _key(r)
            if lo is not None and (k <= lo if lo_open else k < lo):
                continue
            if hi is not None and k > hi:
                continue
            if r.event_id not in self._ids:
                out.append(r)
        return out

    def _with_lines(self, rows: list[MessageRow], lo: tuple[int, bytes] | None,
                    hi: tuple[int, bytes] | None) -> list[MessageRow]:
        lines = self._lines(lo, hi)
        self._ids.update(r.event_id for r in lines)
        return sorted([*rows, *lines], key=_key) if lines else rows

    def has_older(self) -> bool:
        return self._has_older

    def has_newer(self) -> bool:
        return self._has_newer

    def peek_older(self) -> list[MessageRow]:
        """The page ``load_older`` would add: read now and kept for it, so that a view
        can prepare it (lay out its texts) a loop turn before inserting it."""
        if not self._has_older or not self._rows or self.conv is None:
            return []
        first = self._rows[0]
        key = (first.lamport, first.author)
        if self._older_page is None or self._older_page[0] != key:
            self._older_page = (key, self.bridge.messages(self.conv, before=key, limit=PAGE))
        return self._older_page[1]

    def peek_newer(self) -> list[MessageRow]:
        """The page ``load_newer`` would add (see ``peek_older``)."""
        if not self._has_newer or not self._rows or self.conv is None:
            return []
        last = self._rows[-1]
        key = (last.lamport, last.author)
        if self._newer_page is None or self._newer_page[0] != key:
            self._newer_page = (key, self.bridge.messages_after(self.conv, key, limit=PAGE))
        return self._newer_page[1]

    def load_newer(self) -> int:
        """Append the next newer page (after a jump far back); returns how many came in."""
        if not self._has_newer or not self._rows or self.conv is None:
            self._has_newer = False
            return 0
        page = self.peek_newer()
        self._newer_page = None
        self._has_newer = len(page) == PAGE
        page = page if self._has_newer else [*page, *waiting.rows(self.bridge, self.conv)]
        newer = [r for r in page if r.event_id not in self._ids]
        if newer:
            lo, hi = _key(self._rows[-1]), _key(newer[-1]) if self._has_newer else None
            newer = sorted([*newer, *self._lines(lo, hi, lo_open=True)], key=_key)
        if not newer:
            return 0
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(newer) - 1)
        self._rows.extend(newer)
        self._ids.update(r.event_id for r in newer)
        self._find_last_out()
        self.endInsertRows()
        self.dataChanged.emit(self.index(start - 1), self.index(start - 1))
        return len(newer)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        # Qt's view asks whenever the last row is visible, which in a chat is always;
        # older pages are wanted only at the top, so the view tells us when it is there.
        return not parent.isValid() and self._has_older and self.at_top

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self._has_older or self.conv is None:
            return
        self.load_older()

    def load_older(self) -> int:
        """Prepend the next older page; returns how many rows came in."""
        if not self._rows or self.conv is None:
            self._has_older = False
            return 0
        page = self.peek_older()
        self._older_page = None
        self._has_older = len(page) == PAGE
        older = [r for r in page if r.event_id not in self._ids]
        if older:
            lo = _key(older[0]) if self._has_older else None
            hi = _key(self._rows[0])
            older = sorted([*older, *(r for r in self._lines(lo, hi) if _key(r) < hi)],
                           key=_key)
        self.at_top = False
        if not older:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(older) - 1)
        self._rows[:0] = older
        self._ids.update(r.event_id for r in older)
        if self._last_out >= 0:
            self._last_out += len(older)
        else:  # no outgoing message was loaded: maybe one is in this page
            self._find_last_out()
        self.endInsertRows()
        # The previously first row may lose its day header or join a group.
        first_old = self.index(len(older))
        self.dataChanged.emit(first_old, first_old)
        return len(older)

    def find_or_load(self, event_id: bytes) -> int:
        """Row of ``event_id`` if it is loaded, else -1: then ``open_at`` shows a window
        around it (loading everything up to it would make the view lay out thousands of
        rows)."""
        if event_id not in self._ids:
            return -1
        for i, r in enumerate(self._rows):
            if r.event_id == event_id:
                return i
        return -1

    def drop_oldest(self, n: int) -> None:
        """Forget the ``n`` oldest rows (they page in again when scrolled to)."""
        n = min(n, len(self._rows) - 1)
        if n <= 0:
            return
        self.beginRemoveRows(QModelIndex(), 0, n - 1)
        self._ids.difference_update(r.event_id for r in self._rows[:n])
        del self._rows[:n]
        self._has_older = True
        self._last_out = self._last_out - n if self._last_out >= n else -1
        if self._last_out < 0:
            self._find_last_out()
        self.endRemoveRows()
        self.dataChanged.emit(self.index(0), self.index(0))  # it gets the day header

    def drop_newest(self, n: int) -> None:
        """Forget the ``n`` newest rows: the window no longer reaches the present, and
        the newer pages load again when scrolled to."""
        n = min(n, len(self._rows) - 1)
        if n <= 0:
            return
        keep = len(self._rows) - n
        self.beginRemoveRows(QModelIndex(), keep, len(self._rows) - 1)
        self._ids.difference_update(r.event_id for r in self._rows[keep:])
        del self._rows[keep:]
        self._has_newer = True
        self._find_last_out()
        self.endRemoveRows()
        self.dataChanged.emit(self.index(keep - 1), self.index(keep - 1))

    def add(self, rows: list[MessageRow]) -> None:
        """New messages of this conversation (ours or received)."""
        if self._has_newer:
            return  # not at the present yet: they come with the newer pages
        self._older_page = None  # (a message may land in the middle: read again)
        rows = waiting.settle(self, rows)  # (ours that waited, written now)
        new = sorted((r for r in rows if r.event_id not in self._ids),
                     key=lambda r: (r.lamport, r.author))
        if not new:
            return
        tail = [r for r in new if not self._rows or
                (r.lamport, r.author) > (self._rows[-1].lamport, self._rows[-1].author)]
        if len(tail) != len(new):  # something landed in the middle: reload around it
            self.beginResetModel()
            merged = sorted([*self._rows, *new], key=lambda r: (r.lamport, r.author))
            self._rows = merged
            self._ids.update(r.event_id for r in new)
            self._find_last_out()
            self.endResetModel()
            return
        start = len(self._rows)
        old_last = self._last_out
        self.beginInsertRows(QModelIndex(), start, start + len(tail) - 1)
        self._rows.extend(tail)
        self._ids.update(r.event_id for r in tail)
        self._find_last_out()
        self.endInsertRows()
        if start:
            self.dataChanged.emit(self.index(start - 1), self.index(start - 1))
        if 0 <= old_last < start and old_last != self._last_out:
            self.dataChanged.emit(self.index(old_last), self.index(old_last))

    def update_rows(self, fresh: dict[bytes, MessageRow | None]) -> None:
        """Loaded messages that changed (an edit, reactions, unsent: their row as it is
        now) or went (None: expired, deleted for me)."""
        removed = False
        for i in reversed(range(len(self._rows))):
            old = self._rows[i]
            if old.event_id not in fresh:
                continue
            new = fresh[old.event_id]
            if new is None:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self._ids.discard(old.event_id)
                self.endRemoveRows()
                removed = True
            else:
                self._rows[i] = new
                self.dataChanged.emit(self.index(i), self.index(i))
        if removed:
            self._find_last_out()
            if self._rows:
                self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def set_status(self, author: bytes, up_to_seq: int, status: int) -> None:
        changed = []
        for i in range(len(self._rows) - 1, -1, -1):
            r = self._rows[i]
            if r.author != author or r.seq > up_to_seq or waiting.is_waiting(r):
                continue  # (a waiting one is not written: no receipt is for it)
            new = _raised(r, status)
            if new is r:
                if r.outgoing and r.status >= status:
                    break  # older ones are at least as far along
                continue
            self._rows[i] = new
            changed.append(i)
        if changed:
            self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)))
        elif self.conv is not None and is_group_id(self.conv) and 0 <= self._last_out:
            last = self.index(self._last_out)  # (one member's receipt: "Read by 2 of 3")
            self.dataChanged.emit(last, last)

    def refresh_status_line(self) -> None:
        if self._last_out >= 0:
            idx = self.index(self._last_out)
            self.dataChanged.emit(idx, idx)

    def _find_last_out(self) -> None:
        self._last_out = -1
        for i in range(len(self._rows) - 1, -1, -1):
            if self._rows[i].outgoing:
                self._last_out = i
                return

    # -- reading -------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def row(self, i: int) -> MessageRow:
        return self._rows[i]

    def shape(self, i: int) -> Shape:
        """What row ``i``'s size depends on (the delegate asks this for every row at every
        layout, so it reads the rows directly instead of going through ``data()``)."""
        rows = self._rows
        r = rows[i]
        prev = rows[i - 1] if i else None
        header = prev is None or _new_section(prev, r)
        first = header or not _same_group(prev, r)  # type: ignore[arg-type]
        last = i == len(rows) - 1 or not _same_group(r, rows[i + 1])
        return Shape(header, first, last, i == self._last_out and not self._has_newer,
                     r.event_id == self.unread_from)

    def roleNames(self) -> dict[int, QByteArray]:
        return {r.value: QByteArray(r.name.encode()) for r in MsgRole}

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        i = index.row()
        if not 0 <= i < len(self._rows):
            return None
        r = self._rows[i]
        if role in (Qt.ItemDataRole.DisplayRole, MsgRole.Text):
            if is_system(r):
                return f"{r.text} · {clock(datetime.datetime.fromtimestamp(r.time / 1000))}"
            return r.text
        if role == MsgRole.System:
            return is_system(r)
        if role == MsgRole.Outgoing:
            return r.outgoing
        if role == MsgRole.Time:
            return r.time
        if role == MsgRole.Status:
            return r.status
        if role == MsgRole.StatusText:
            return self._status_text(i)
        if role == MsgRole.Sender:
            return r.sender
        if role == MsgRole.EventId:
            return r.event_id
        if role == MsgRole.Row:
            return r
        if role == MsgRole.CanRetry:
            return (i == self._last_out and self.offline_peer and not self._has_newer
                    and r.status < STATUS_DELIVERED)
        if role == MsgRole.GroupFirst:
            return i == 0 or not _same_group(self._rows[i - 1], r)
        if role == MsgRole.GroupLast:
            return i == len(self._rows) - 1 or not _same_group(r, self._rows[i + 1])
        if role == MsgRole.DayHeader:
            prev = self._rows[i - 1] if i else None
            if prev is None or _new_section(prev, r):
                return day_label(r.time)
            return ""
        if role == Qt.ItemDataRole.ToolTipRole:
            if waiting.is_waiting(r):
                return waiting.tooltip(self.peer_name if self.peer else "")
            when = datetime.datetime.fromtimestamp(r.time / 1000)
            return self.tr("{date}, {time}").format(
                date=date_text(when, QLocale.FormatType.LongFormat), time=clock(when))
        if role == Qt.ItemDataRole.AccessibleTextRole:
            who = self.tr("You") if r.outgoing else self.tr("Them")
            return self.tr("{who}: {text}").format(who=who, text=r.text)
        return None

    def _status_text(self, i: int) -> str:
        if i != self._last_out or self._has_newer:
            return ""
        r = self._rows[i]
        if waiting.is_waiting(r):
            return waiting.status_text()
        if r.conv is not None and is_group_id(r.conv):  # "Read by 2 of 3" (app.gui.groups)
            from kith.app.gui.groups import status_text

            text = status_text(self.bridge, r)
            if text is not None:
                return text
        if r.status >= STATUS_READ:
            when = self.bridge.read_times.get((r.conv, r.author))
            if when is None:
                return self.tr("Read")
            return self.tr("Read {time}").format(
                time=clock(datetime.datetime.fromtimestamp(when)))
        if r.status >= STATUS_DELIVERED:
            return self.tr("Delivered")
        if self.offline_peer:  # queued: it goes out when they come online
            if self.peer_name:
                return self.tr("Waiting for {name}").format(name=self.peer_name)
            return self.tr("Waiting for them")
        return self.tr("Sending…")


def _key(r: MessageRow) -> tuple[int, bytes]:
    return (r.lamport, r.author)


def _raised(r: MessageRow, status: int) -> MessageRow:
    if r.outgoing:
        if status > r.status:
            return dataclasses.replace(r, status=status)
        return r
    if status >= STATUS_READ and r.status < STATUS_READ:
        return dataclasses.replace(r, status=STATUS_READ)
    return r


def _same_group(a: MessageRow, b: MessageRow) -> bool:
    return a.sender == b.sender and not _new_section(a, b) and (
        b.time - a.time < GROUP_SECONDS * 1000
    )


def _new_section(a: MessageRow, b: MessageRow) -> bool:
    return b.time - a.time >= HEADER_GAP_SECONDS * 1000 or _day(a.time) != _day(b.time)


@functools.lru_cache(maxsize=8192)
def _day(ms: int) -> int:
    """The local date of a timestamp (ms), as an ordinal; cached: each layout asks for
    every loaded row."""
    return datetime.datetime.fromtimestamp(ms / 1000).date().toordinal()
