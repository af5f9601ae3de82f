"""The delegate that paints the chat bubbles (the conversation rows' is
:mod:`kith.app.gui.convdelegate`)."""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from kith.app.gui import chatlines, theme
from kith.app.gui.models import MessageModel, MsgRole, Shape
from kith.app.gui.qtypes import AnyIndex
from kith.app.gui.search import mark_html
from kith.app.gui.trustlog import is_system
from kith.storage import MessageRow

URL_RE = re.compile(r"\b((?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]])", re.IGNORECASE)


EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF]"
    "(?:[\uFE0F\U0001F3FB-\U0001F3FF]|\u200D[\U0001F000-\U0001FAFF\u2600-\u27BF]\uFE0F?)*"
)
EMOJI_ALONE = 3  # a message of at most this many emoji (and nothing else) is shown large
EMOJI_SCALE = 1.25  # emoji fonts draw smaller than text at the same size: bring them level
EMOJI_ALONE_SCALE = 2.6
LINE_CHARS = 66  # a bubble's text wraps at about this many characters however wide


def emoji_only(text: str) -> bool:
    """1 to EMOJI_ALONE emoji and nothing else (spaces aside)."""
    stripped = "".join(text.split())
    found = EMOJI_RE.findall(stripped)
    return 0 < len(found) <= EMOJI_ALONE and "".join(found) == stripped


def _sized_emoji(escaped: str, point_size: float) -> str:
    """Emoji runs in ``escaped`` HTML drawn as tall as the text around them."""
    if point_size <= 0:  # a font sized in pixels: leave the emoji as they are
        return escaped
    size = f"{point_size * EMOJI_SCALE:.1f}pt"
    return EMOJI_RE.sub(lambda m: f'<span style="font-size:{size}">{m.group(0)}</span>',
                        escaped)


def linkify(text: str) -> str:
    """Plain text -> HTML with clickable links (everything else escaped)."""
    out, pos = [], 0
    for m in URL_RE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        url = m.group(1)
        href = url if "://" in url else "https://" + url
        out.append(f'<a href="{html.escape(href, quote=True)}">{html.escape(url)}</a>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


class BubbleDelegate(QStyledItemDelegate):
    """Paints one message: optional day header, the bubble, the status line.

    The list view asks every loaded row's size at every layout, so ``sizeHint`` is cheap:
    the row's shape straight from the model, and its text size cached by (message,
    width). A text document per message is kept (bounded) for painting; a new width
    lays the same document out again instead of parsing it anew.
    """

    PAD_H, PAD_V = 12, 7
    SIDE = 16
    RADIUS = 17.0
    MAX_FRACTION = 0.72
    HEADER_H = 34
    DIVIDER_H = 28
    STATUS_H = 18
    GAP, GROUP_GAP = 8, 2

    DOCS = 1000  # text documents kept for painting (the model holds a few hundred rows)
    TEXT_SIZES = 50_000  # cached text sizes, (message, width) -> (w, h)

    @property
    def NEW_MESSAGES(self) -> str:  # noqa: N802 (was a constant; now in the user's language)
        return self.tr("New messages")

    @property
    def RETRY(self) -> str:  # noqa: N802
        return self.tr("Retry")

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self.view = view
        model = view.model()
        assert isinstance(model, MessageModel)
        self.model = model
        # documents by (message, outgoing, dark, font), each with the width it is laid out at
        self._docs: OrderedDict[tuple, tuple[QTextDocument, int]] = OrderedDict()
        self._text: dict[tuple[bytes, int], tuple[int, int]] = {}
        self.highlight: tuple[str, ...] = ()  # words to mark (a search result was opened)
        self.files: Any = None  # app.gui.attachments.FilesLayout: a message's files
        self._senders: dict[tuple[bytes, bytes], str] = {}  # names above group bubbles
        # What the message actions add around a bubble's text (app/gui/actions.py):
        # (event id, text html, outgoing, normal point size, palette) -> html
        self.decorate: Callable[[bytes, str, bool, float, QPalette], str] | None = None

    def set_highlight(self, words: list[str]) -> None:
        if tuple(words) != self.highlight:
            self.highlight = tuple(words)
            self._docs.clear()
            self.view.viewport().update()

    def clear_cache(self) -> None:
        self._docs.clear()
        self._text.clear()

    def forget(self, event_ids: set[bytes]) -> None:
        """Lay these messages out anew (an edit, a reaction, an unsend changed them)."""
        for key in [k for k in self._docs if k[0] in event_ids]:
            del self._docs[key]
        for key in [k for k in self._text if k[0] in event_ids]:
            del self._text[key]

    # -- geometry --------------------------------------------------------------------------

    def _max_text_width(self) -> int:
        """As wide as a fraction of the view allows, but never past a readable line."""
        width = self.view.viewport().width()
        readable = self.view.fontMetrics().averageCharWidth() * LINE_CHARS
        return max(120, min(int(width * self.MAX_FRACTION) - 2 * self.PAD_H, readable))

    def _doc(self, index: AnyIndex, font: QFont, palette: QPalette) -> QTextDocument:
        row = self.model.row(index.row())
        return self._row_doc(row.event_id, row.text, row.outgoing, self._max_text_width(),
                             font, palette)

    def _row_doc(self, event_id: bytes, text: str, outgoing: bool, max_w: int, font: QFont,
                 palette: QPalette) -> QTextDocument:
        dark = theme.is_dark(palette)
        key = (event_id, outgoing, dark, font.key(), self.highlight)
        entry = self._docs.get(key)
        if entry is None:
            doc = QTextDocument()
            doc.setDocumentMargin(0)
            if emoji_only(text) and font.pointSizeF() > 0:  # a reaction in itself: large
                big = QFont(font)
                big.setPointSizeF(font.pointSizeF() * EMOJI_ALONE_SCALE)
                doc.setDefaultFont(big)
                html_text = html.escape(" ".join(text.split()))
            else:
                doc.setDefaultFont(font)
                html_text = _sized_emoji(linkify(text), font.pointSizeF())
                if self.highlight:  # the words of the search that opened this chat
                    html_text = mark_html(html_text, list(self.highlight),
                                          theme.search_mark(palette).name())
            if "<a " in html_text:
                link = "#ffffff" if outgoing else palette.color(QPalette.ColorRole.Link).name()
                doc.setDefaultStyleSheet(f"a {{ color: {link}; text-decoration: underline; }}")
            if self.decorate is not None:
                html_text = self.decorate(event_id, html_text, outgoing, font.pointSizeF(),
                                          palette)
            doc.setHtml(html_text)
            laid_out = -1
        else:
            self._docs.move_to_end(key)
            doc, laid_out = entry
        if laid_out != max_w:
            doc.setTextWidth(max_w)
            ideal = doc.idealWidth()
            if ideal < max_w:
                doc.setTextWidth(ideal + 1)
            self._docs[key] = (doc, max_w)
            if len(self._docs) > self.DOCS:
                self._docs.popitem(last=False)
        return doc

    def warm(self, rows: list[MessageRow]) -> None:
        """Lay out the texts of rows about to be inserted (the view calls this a loop turn
        before, so that the insert's layout finds their sizes ready)."""
        max_w = self._max_text_width()
        for row in rows:
            self._row_text_size(row, max_w)

    def _text_size(self, index: AnyIndex, max_w: int) -> tuple[int, int]:
        """Width and height of a message's laid out text (cached)."""
        return self._row_text_size(self.model.row(index.row()), max_w)

    def _row_text_size(self, row: MessageRow, max_w: int) -> tuple[int, int]:
        key = (row.event_id, max_w)
        size = self._text.get(key)
        if size is None:
            view = self.view
            doc = self._row_doc(row.event_id, row.text, row.outgoing, max_w, view.font(),
                                view.palette())
            s = doc.size()
            size = self._text[key] = (int(s.width()), int(s.height()))
            if len(self._text) > self.TEXT_SIZES:
                self._text.clear()
                self._text[key] = size
        return size

    def _geometry(self, option: QStyleOptionViewItem, index: AnyIndex) -> dict[str, QRect]:
        rect = option.rect
        top = rect.top()
        shape: Shape = self.model.shape(index.row())
        out: dict[str, QRect] = {}
        if shape.header:
            out["header"] = QRect(rect.left(), top, rect.width(), self.HEADER_H)
            top += self.HEADER_H
        else:
            top += self.GAP if shape.first else self.GROUP_GAP
        if shape.divider:
            out["divider"] = QRect(rect.left(), top, rect.width(), self.DIVIDER_H)
            top += self.DIVIDER_H
        if is_system(self.model.row(index.row())):  # a trust event: one centred line
            out["system"] = QRect(rect.left() + self.SIDE, top, rect.width() - 2 * self.SIDE,
                                  self._system_height())
            top += self._system_height()
            out["all"] = QRect(rect.left(), rect.top(), rect.width(), top - rect.top())
            return out
        text_w, text_h = self._content_size(index, self._max_text_width())
        w = text_w + 2 * self.PAD_H
        h = text_h + 2 * self.PAD_V
        outgoing = self.model.row(index.row()).outgoing
        x = rect.right() - self.SIDE - w + 1 if outgoing else rect.left() + self.SIDE
        if self._sender(index):  # in a group: who wrote it, above the bubble
            out["sender"] = QRect(x + self.PAD_H, top, rect.width() - 2 * self.SIDE,
                                  self._sender_height())
            top += self._sender_height()
        out["bubble"] = QRect(x, top, w, h)
        top += h
        if shape.status:
            out["status"] = QRect(rect.left() + self.SIDE, top + 2,
                                  rect.width() - 2 * self.SIDE, self.STATUS_H - 2)
            top += self.STATUS_H
        out["all"] = QRect(rect.left(), rect.top(), rect.width(), top - rect.top())
        return out

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        # The same arithmetic as _geometry()["all"], without building the rects.
        width = self.view.viewport().width()
        max_w = self._max_text_width()
        header, first, last, status, divider = self.model.shape(index.row())
        if is_system(self.model.row(index.row())):
            return QSize(width, (self.HEADER_H if header else self.GAP)
                         + (self.DIVIDER_H if divider else 0) + self._system_height())
        height = self._content_size(index, max_w)[1] + 2 * self.PAD_V
        if self._sender(index):
            height += self._sender_height()
        if header:
            height += self.HEADER_H
        else:
            height += self.GAP if first else self.GROUP_GAP
        if divider:
            height += self.DIVIDER_H
        if status:
            height += self.STATUS_H
        return QSize(width, height + 4 if last else height)

    FILES_GAP = 6  # between a message's files and its caption

    def _text_shown(self, row: MessageRow, max_w: int) -> bool:
        """Whether the bubble shows a text part: the caption, or what the actions add to
        it (reactions under a photo sent without a caption)."""
        if row.text or self.files is None:
            return True
        view = self.view
        doc = self._row_doc(row.event_id, row.text, row.outgoing, max_w, view.font(),
                            view.palette())
        return bool(doc.toPlainText().strip())

    def text_top(self, row: MessageRow, max_w: int) -> int:
        """Where the text part starts in the bubble: under the message's files, which come
        first (pictures on top, the caption and the reactions below, as Signal and
        WhatsApp show them)."""
        fh = self.files.size(row, max_w)[1] if self.files is not None else 0
        return fh + self.FILES_GAP if fh else 0

    def _content_size(self, index: AnyIndex, max_w: int) -> tuple[int, int]:
        """The message's files (app.gui.filebubbles) with the text under them."""
        w, h = self._text_size(index, max_w)
        if self.files is not None:
            row = self.model.row(index.row())
            fw, fh = self.files.size(row, max_w)
            if fh:
                shown = self._text_shown(row, max_w)
                w, h = (max(w, fw), fh + self.FILES_GAP + h) if shown else (fw, fh)
        return w, h

    def _sender(self, index: AnyIndex) -> str:
        return groups_gui.sender_name(self.model, index.row(), self._senders)

    def _sender_height(self) -> int:
        return QFontMetrics(self._small_font(self.view.font())).height() + 2

    def _system_height(self) -> int:
        return QFontMetrics(self._small_font(self.view.font())).height() + 10

    def anchor_at(self, index: AnyIndex, rect: QRect, pos: QPoint) -> str:
        """The link under ``pos`` (viewport coordinates), or ""."""
        opt = QStyleOptionViewItem()
        opt.rect = rect
        opt.font = self.view.font()
        opt.palette = self.view.palette()
        g = self._geometry(opt, index)
        bubble = g["bubble"]
        if not bubble.contains(pos):
            return ""
        doc = self._doc(index, opt.font, opt.palette)
        top = self.text_top(self.model.row(index.row()), self._max_text_width())
        local = QPointF(pos - bubble.topLeft() - QPoint(self.PAD_H, self.PAD_V + top))
        return doc.documentLayout().anchorAt(local)

    def _small_font(self, font: QFont) -> QFont:
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        return small

    def retry_rect(self, index: AnyIndex, rect: QRect) -> QRect:
        """Where "Retry" is painted under an undelivered message (viewport coordinates),
        or an empty rect."""
        if not index.data(MsgRole.CanRetry):
            return QRect()
        opt = QStyleOptionViewItem()
        opt.rect = rect
        opt.font = self.view.font()
        opt.palette = self.view.palette()
        g = self._geometry(opt, index)
        if "status" not in g:
            return QRect()
        status = g["status"]
        width = QFontMetrics(self._small_font(opt.font)).horizontalAdvance(self.RETRY) + 4
        return QRect(status.right() - width + 1, status.top(), width, status.height())

    # -- painting ----------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        opt = QStyleOptionViewItem(option)
        opt.font = self.view.font()
        g = self._geometry(opt, index)
        pal = opt.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        muted = theme.muted_text(pal)
        small = QFont(opt.font)
        small.setPointSizeF(max(7.0, opt.font.pointSizeF() * 0.85))
        if "header" in g:  # (the lines between bubbles: app/gui/chatlines.py)
            chatlines.paint_header(painter, g["header"], str(index.data(MsgRole.DayHeader)),
                                   small, muted)
        if "divider" in g:  # a line with "New messages" on it
            chatlines.paint_divider(painter, g["divider"], self.NEW_MESSAGES, small,
                                    pal.color(QPalette.ColorRole.Highlight), self.SIDE)
        if "system" in g:
            chatlines.paint_system_line(painter, g["system"], str(index.data(MsgRole.Text)),
                                        small, muted)
            painter.restore()
            return
        if "sender" in g:
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(g["sender"], Qt.AlignmentFlag.AlignLeft, self._sender(index))
        outgoing = bool(index.data(MsgRole.Outgoing))
        bubble = g["bubble"]
        fill = pal.color(QPalette.ColorRole.Highlight) if outgoing else theme.incoming_bubble(pal)
        text_colour = (pal.color(QPalette.ColorRole.HighlightedText) if outgoing
                       else pal.color(QPalette.ColorRole.Text))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        if selected:
            fill = fill.darker(125) if not theme.is_dark(pal) or outgoing else fill.lighter(135)
        path = self._bubble_path(QRectF(bubble), outgoing, bool(index.data(MsgRole.GroupFirst)),
                                 bool(index.data(MsgRole.GroupLast)))
        painter.fillPath(path, fill)
        doc = self._doc(index, opt.font, pal)
        painter.translate(bubble.left() + self.PAD_H, bubble.top() + self.PAD_V)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette.setColor(QPalette.ColorRole.Text, text_colour)
        row = self.model.row(index.row())
        max_w = self._max_text_width()
        if self.files is not None:
            self.files.paint(painter, row, max_w, QPoint(0, 0), pal, outgoing)
        if self._text_shown(row, max_w):
            painter.translate(0, self.text_top(row, max_w))
            doc.documentLayout().draw(painter, ctx)
        painter.restore()
        status = str(index.data(MsgRole.StatusText) or "")
        if status and "status" in g:
            painter.save()
            painter.setFont(small)
            area = QRect(g["status"])
            retry = self.retry_rect(index, opt.rect)
            if not retry.isEmpty():
                link = QFont(small)
                link.setUnderline(True)
                painter.setFont(link)
                painter.setPen(pal.color(QPalette.ColorRole.Link))
                painter.drawText(retry, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
                                 self.RETRY)
                painter.setFont(small)
                area.setRight(retry.left() - 8)
                status += "  ·"
            painter.setPen(muted)  # (waiting is normal: grey, not a warning)
            painter.drawText(area, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
                             status)
            painter.restore()

    def _bubble_path(self, r: QRectF, outgoing: bool, first: bool, last: bool) -> QPainterPath:
        """A rounded bubble; the corners on the sender's side are tighter inside a group."""
        big, small = min(self.RADIUS, r.height() / 2), 5.0
        tl = tr = bl = br = big
        if outgoing:
            tr = big if first else small
            br = big if last else small
        else:
            tl = big if first else small
            bl = big if last else small
        path = QPainterPath()
        path.moveTo(r.left() + tl, r.top())
        path.lineTo(r.right() - tr, r.top())
        path.quadTo(r.right(), r.top(), r.right(), r.top() + tr)
        path.lineTo(r.right(), r.bottom() - br)
        path.quadTo(r.right(), r.bottom(), r.right() - br, r.bottom())
        path.lineTo(r.left() + bl, r.bottom())
        path.quadTo(r.left(), r.bottom(), r.left(), r.bottom() - bl)
        path.lineTo(r.left(), r.top() + tl)
        path.quadTo(r.left(), r.top(), r.left() + tl, r.top())
        path.closeSubpath()
        return path


from kith.app.gui import groups as groups_gui  # noqa: E402 (names above group bubbles)
