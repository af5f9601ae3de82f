"""What a bubble shows besides its text, as rich text around it: a reply's quote that
scrolls to its target, reactions with counts, "Edited" (a link to the earlier versions), the
tombstone of an unsent message and a contact card with "Send contact request".

:class:`Decorations` is the delegate's ``decorate`` hook (set by
:class:`~kith.app.gui.actions.MessageActions`).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QPalette

from kith.app.gui import theme
from kith.p2p.node import Node
from kith.storage import MessageRow

QUOTE_CHARS = 90


def short_quote(text: str) -> str:
    """One line of ``text``, cut to :data:`QUOTE_CHARS` (a quote, the composer bar)."""
    one = " ".join(text.split())
    return one if len(one) <= QUOTE_CHARS else one[: QUOTE_CHARS - 1] + "\u2026"


class Decorations:
    """What a bubble shows besides its text, as rich text around it."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def name(self, user: bytes) -> str:
        if user == self.node.user_id:
            return QCoreApplication.translate("Decorations", "You")
        return self.node.names().get(user, QCoreApplication.translate("Decorations", "Someone"))

    def html(self, event_id: bytes, body: str, outgoing: bool, point: float,
             palette: QPalette) -> str:
        db = self.node.db
        row = db.message_by_id(event_id)
        if row is None:
            return body
        size = f"font-size:{point:.1f}pt;" if point > 0 else ""
        small = f"font-size:{point * 0.85:.1f}pt;" if point > 0 else ""
        muted = ("#e8e8e8" if outgoing else theme.muted_text(palette).name())
        if row.unsent:
            what = (QCoreApplication.translate("Decorations", "You unsent a message")
                    if row.outgoing else QCoreApplication.translate(
                        "Decorations", "{name} unsent a message").format(
                        name=self.name(row.sender)))
            return f'<i style="{size}color:{muted}">{html.escape(what)}</i>'
        card = db.cards([event_id]).get(event_id)
        if card is not None:
            body = self._card(event_id, card.user_id, card.name, size, small, muted)
        parts = []
        if row.reply_to:
            parts.append(self._quote(row, size, muted))
        parts.append(body)
        reactions = db.reactions([event_id]).get(event_id, [])
        if reactions:  # the emoji as large as the text, with counts
            counts: dict[str, int] = {}
            for emoji, _ in reactions:
                counts[emoji] = counts.get(emoji, 0) + 1
            big = f"font-size:{point * 1.25:.1f}pt;" if point > 0 else ""  # (as in the text)
            parts.append(f'<div style="{big}">' + "&nbsp;&nbsp;".join(
                html.escape(e) + (f'<span style="{small}">&nbsp;{n}</span>' if n > 1 else "")
                for e, n in counts.items()) + "</div>")
        footer = []
        if row.edits:
            footer.append(f'<a href="kith-edits:{event_id.hex()}" style="color:{muted}">'
                          + QCoreApplication.translate("Decorations", "Edited") + "</a>")
        if row.timer:  # a disappearing message
            footer.append("\u23f1")
        if footer:
            parts.append(f'<div style="{small}color:{muted}">'
                         + " &middot; ".join(footer) + "</div>")
        return "".join(parts)

    def _quote(self, row: MessageRow, size: str, muted: str) -> str:
        target = self.node.actions.quote(row)
        if target is None:
            what = QCoreApplication.translate("Decorations",
                                              "The original message is not available")
            who = ""
        elif target.unsent:
            what = QCoreApplication.translate("Decorations", "This message was unsent")
            who = self.name(target.sender)
        else:
            card = self.node.db.cards([target.event_id]).get(target.event_id)
            what = (QCoreApplication.translate("Decorations", "Contact: {name}").format(
                name=card.name) if card else short_quote(target.text))
            who = self.name(target.sender)
        label = f"<b>{html.escape(who)}</b> " if who else ""
        assert row.reply_to is not None
        return (f'<div style="{size}"><a href="kith-reply:{row.reply_to.hex()}" '
                f'style="color:{muted};text-decoration:none">\u258e {label}'
                f"{html.escape(what)}</a></div>")

    def _card(self, event_id: bytes, user: bytes, name: str, size: str, small: str,
              muted: str) -> str:
        info = self.node.actions.card_json(user, name)
        lines = [f'<div style="{size}">\U0001f464 <b>{html.escape(name)}</b></div>',
                 f'<div style="{small}color:{muted}">'
                 + QCoreApplication.translate("Decorations", "Contact card") + "</div>"]
        if info["key_changed"]:
            lines.append(f'<div style="{small}">\u26a0 ' + QCoreApplication.translate(
                "Decorations", "A contact called {name} has another key: this may be someone "
                "else").format(name=html.escape(name)) + "</div>")
        if info["me"]:
            pass
        elif info["contact"] in (None, "declined", "pending_in"):
            lines.append(f'<div style="{small}"><a href="kith-card:{event_id.hex()}">'
                         + QCoreApplication.translate("Decorations", "Send contact request")
                         + "</a></div>")
        else:
            state = (QCoreApplication.translate("Decorations", "a contact")
                     if info["contact"] == "accepted"
                     else QCoreApplication.translate("Decorations", "request sent"))
            lines.append(f'<div style="{small}color:{muted}">{state}</div>')
        return "".join(lines)
