"""The delegate that paints the sidebar's conversation rows: the avatar (a person's
initials in their colour, or a group's members, :mod:`kith.app.gui.avatars`), name, marks,
time, preview and unread badge; a collapsed sidebar shows the avatar only."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from kith.app.gui import avatars, theme
from kith.app.gui.convmodel import ConvRole
from kith.app.gui.qtypes import AnyIndex
from kith.p2p.membership import is_group_id


class ConversationDelegate(QStyledItemDelegate):
    """Paints a sidebar row: avatar, name, marks, time, preview, unread badge."""

    HEIGHT = 64
    AVATAR = 42
    COMPACT = 120  # rows narrower than this show the avatar only

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(200, self.HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        pal = option.palette
        r = option.rect
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        card = QRectF(r.adjusted(6, 2, -6, -2))
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(card, 10, 10)
        elif hover:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(card, 10, 10)
        fg = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = QColor(fg) if selected else theme.muted_text(pal)
        if selected:
            muted.setAlphaF(0.8)
        user = index.data(ConvRole.UserId) or b""
        a = self.AVATAR
        avatar = QRectF(r.left() + 14, r.top() + (r.height() - a) / 2, a, a)
        text = str(index.data(ConvRole.Initials) or "?")
        if is_group_id(user):  # its members' initials (app.gui.avatars)
            avatars.paint_group(painter, avatar, text, option.font,
                                pal.color(QPalette.ColorRole.Mid))
        else:
            paint_avatar(painter, avatar, text, user, option.font)
        if index.data(ConvRole.Online):
            dot = QRectF(avatar.right() - 11, avatar.bottom() - 11, 12, 12)
            painter.setPen(pal.color(QPalette.ColorRole.Base))
            painter.setBrush(theme.online_colour())
            painter.drawEllipse(dot)
        if r.width() < self.COMPACT:  # a collapsed sidebar: the avatar and a dot if unread
            if int(index.data(ConvRole.Unread) or 0):
                painter.setPen(pal.color(QPalette.ColorRole.Base))
                painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
                painter.drawEllipse(QRectF(avatar.right() - 10, avatar.top() - 2, 13, 13))
            painter.restore()
            return
        left = int(avatar.right()) + 12
        right = r.right() - 16
        name_font = QFont(option.font)
        name_font.setBold(True)
        fm_name = QFontMetrics(name_font)
        fm = QFontMetrics(option.font)
        line1 = r.top() + 12
        time_text = str(index.data(ConvRole.Time) or "")
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.85))
        fm_small = QFontMetrics(small)
        time_w = fm_small.horizontalAdvance(time_text)
        painter.setFont(small)
        painter.setPen(muted)
        painter.drawText(QRect(right - time_w, line1, time_w, fm_name.height()),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, time_text)
        marks = ""
        if index.data(ConvRole.KeyChanged):
            marks = " ⚠"
        elif index.data(ConvRole.Verified):
            marks = " ✔"
        hint = str(index.data(ConvRole.KeyHint) or "")
        hint_text = f"  {hint}" if hint else ""
        if index.data(ConvRole.Muted):
            hint_text += "  🔕"
        hint_w = fm_small.horizontalAdvance(hint_text)
        name_room = right - time_w - 8 - left - fm_name.horizontalAdvance(marks) - hint_w
        name = fm_name.elidedText(str(index.data(ConvRole.Name) or ""),
                                  Qt.TextElideMode.ElideRight, max(20, name_room))
        painter.setFont(name_font)
        painter.setPen(fg)
        painter.drawText(QRect(left, line1, name_room, fm_name.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        if marks:
            mx = left + fm_name.horizontalAdvance(name)
            colour = (theme.warning_colour(pal) if index.data(ConvRole.KeyChanged)
                      else (fg if selected else pal.color(QPalette.ColorRole.Highlight)))
            painter.setPen(colour)
            painter.drawText(QRect(mx, line1, fm_name.horizontalAdvance(marks) + 2,
                                   fm_name.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, marks)
        if hint_text:  # two keys share this name: the key tells them apart
            hx = left + fm_name.horizontalAdvance(name) + fm_name.horizontalAdvance(marks)
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(QRect(hx, line1, hint_w + 2, fm_name.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             hint_text)
        unread = int(index.data(ConvRole.Unread) or 0)
        line2 = line1 + fm_name.height() + 4
        badge_w = 0
        marked = not unread and bool(index.data(ConvRole.MarkedUnread))
        if marked:  # marked unread: a dot, as Messages shows it
            badge_w = 12
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fg if selected else pal.color(QPalette.ColorRole.Highlight))
            painter.drawEllipse(QRectF(right - badge_w, line2 + 4, badge_w, badge_w))
        if unread:
            label = str(unread) if unread < 1000 else "999+"
            badge_w = max(20, fm_small.horizontalAdvance(label) + 12)
            badge = QRectF(right - badge_w, line2, badge_w, 20)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fg if selected else pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(badge, 10, 10)
            painter.setPen(pal.color(QPalette.ColorRole.Highlight) if selected
                           else pal.color(QPalette.ColorRole.HighlightedText))
            bold_small = QFont(small)
            bold_small.setBold(True)
            painter.setFont(bold_small)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        preview_room = right - left - (badge_w + 8 if badge_w else 0)
        preview = fm.elidedText(str(index.data(ConvRole.Preview) or ""),
                                Qt.TextElideMode.ElideRight, max(20, preview_room))
        painter.setFont(option.font)
        painter.setPen(muted)
        painter.drawText(QRect(left, line2, preview_room, fm.height() + 2),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, preview)
        painter.restore()


def paint_avatar(painter: QPainter, rect: QRectF, text: str, user: bytes, font: QFont) -> None:
    """A person's avatar: their initials on a circle of their colour."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.avatar_colour(user))
    painter.drawEllipse(rect)
    f = QFont(font)
    f.setBold(True)
    f.setPixelSize(max(9, int(rect.height() * 0.38)))
    painter.setFont(f)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()
