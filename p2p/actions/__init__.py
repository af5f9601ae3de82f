"""Message actions: replies, reactions, edits, unsend and delete for me, contact cards,
disappearing messages. One module per feature, each declaring its kinds:

    reactions.py     reaction       one emoji per person per message
    edits.py         edit           the author's new text, 24 h, 10 times
    unsend.py        unsend, hide   for everyone (the author, 24 h); for me (my devices)
    cards.py         card           a contact to send a request to
    disappearing.py  timer          the conversation's timer, and the expiry task
    deletion.py      hide_chat      delete chat: a whole conversation, for me (my devices)

A reply is a message with ``reply_to`` (p2p.messages); the quote is drawn from the target
when shown, never copied. The state every action leads to is worked out in the store
(storage/actions.py), the same in any order of arrival. :class:`Actions` is the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kith.p2p.actions import base
from kith.p2p.actions.base import find_message, now_ms, writable
from kith.p2p.actions.cards import CARD, CardBody
from kith.p2p.actions.deletion import HIDE_CHAT, HideChatBody
from kith.p2p.actions.disappearing import TIMER, Expiry, TimerBody, describe
from kith.p2p.actions.edits import EDIT, EditBody
from kith.p2p.actions.reactions import REACTION, ReactionBody, emoji_problem
from kith.p2p.actions.unsend import HIDE, UNSEND, HideBody, UnsendBody
from kith.p2p.api import ACCEPTED, PENDING_OUT, ContactChanged, ContactInfo
from kith.p2p.contacts import ContactBody
from kith.p2p.errors import UserError
from kith.p2p.events import SignedEvent
from kith.p2p.messages import MAX_TEXT
from kith.storage import MessageRow
from kith.storage.actions import MAX_EDITS, WINDOW_MS, TimerRow

if TYPE_CHECKING:
    from kith.p2p.core import Core

KINDS = (REACTION, EDIT, UNSEND, HIDE, CARD, TIMER, HIDE_CHAT)
INTRODUCED = "introduced:"  # + a contact's user id (hex): who introduced them (a setting)
_DONE = {"edit": "edited", "unsend": "unsent"}  # (for "too late: a message can be ...")

__all__ = [
    "KINDS", "Actions", "CardBody", "EditBody", "HideBody", "HideChatBody", "ReactionBody",
    "TimerBody", "UnsendBody", "base", "describe",
]


class Actions:
    """The message actions feature: its kinds, the expiry task, and the API."""

    def __init__(self, core: Core) -> None:
        self.core = core
        for kind in KINDS:
            core.kinds.declare(kind)
        self.expiry = Expiry(core)

    def start(self) -> None:
        """At node start: erase what fell due while off, then watch the clock."""
        self.expiry.start()

    # -- reading -----------------------------------------------------------------------

    def message(self, conv: bytes, query: str) -> MessageRow:
        """The message of ``conv`` with the id (or unique id prefix) ``query``."""
        return find_message(self.core, conv, query)

    def quote(self, row: MessageRow) -> MessageRow | None:
        """The message ``row`` replies to, as it is now (unsent: empty; gone: None)."""
        if not row.reply_to:
            return None
        return self.core.db.message_by_id(row.reply_to, row.conv)

    def introduced_by(self, user: bytes) -> bytes | None:
        """Who introduced ``user`` (the sender of the card I sent them a request from)."""
        by = self.core.db.get_setting(f"{INTRODUCED}{user.hex()}", None)
        if isinstance(by, str) and len(by) == 64:
            return bytes.fromhex(by)
        return self.core.db.introduced_by(user)  # (a request from a card before it was kept)

    def introduction(self, user: bytes) -> dict[str, Any] | None:
        """``introduced_by`` of ``kith contacts --json``: ``{user_id, name}`` or None."""
        by = self.introduced_by(user)
        if by is None:
            return None
        name = "me" if by == self.core.user_id else self.core.contacts.names().get(
            by, by.hex()[:12])
        return {"user_id": by.hex(), "name": name}

    def timer(self, conv: bytes) -> TimerRow | None:
        return self.core.db.conversation_timer(conv)

    def details(self, rows: list[MessageRow]) -> dict[bytes, dict[str, Any]]:
        """Per message: its reactions ``[{emoji, user_id, name}]`` and card (or None)."""
        db = self.core.db
        names = self.core.contacts.names()
        ids = [m.event_id for m in rows]
        reactions = db.reactions(ids)
        cards = db.cards(ids)
        out: dict[bytes, dict[str, Any]] = {}
        for m in rows:
            card = cards.get(m.event_id)
            out[m.event_id] = {
                "reactions": [
                    {"emoji": e, "user_id": u.hex(), "name": names.get(u, u.hex()[:12])}
                    for e, u in reactions.get(m.event_id, [])
                ],
                "card": None if card is None else self.card_json(card.user_id, card.name),
            }
        return out

    def card_json(self, user: bytes, name: str) -> dict[str, Any]:
        contacts = self.core.contacts
        c = contacts.row(user)
        clash = contacts.name_clash(user, name)
        return {
            "user_id": user.hex(), "name": name,
            "contact": c.state if c else None,
            "key_changed": clash is not None,  # a contact of that name has another key
            "me": user == self.core.user_id,
        }

    # -- acting ------------------------------------------------------------------------

    async def _write(self, conv: bytes, body: Any) -> None:
        self.core.log.append(conv, body)
        await self.core.log.commit()

    def _target(self, conv: bytes, query: str, author_only: str = "") -> MessageRow:
        """The message an action names (react, edit, unsend), checked as they all check
        it: the conversation takes my events, the message is there and not unsent; with
        ``author_only`` (the verb: "edit", "unsend") it is also mine and under 24 hours
        old."""
        writable(self.core, conv)
        row = self.message(conv, query)
        if author_only and row.sender != self.core.user_id:
            raise UserError(f"that is not your message: only its author can {author_only} it")
        if row.unsent:
            raise UserError("that message was unsent")
        if author_only and now_ms() - row.time > WINDOW_MS:
            done = _DONE[author_only]
            raise UserError(f"too late: a message can be {done} within 24 hours of sending")
        return row

    def _stored(self, e: SignedEvent, what: str) -> MessageRow:
        """The message row of ``e``, which was just committed (a reply, a card; one
        waiting for its log's head has seq 0)."""
        row = self.core.messages.row_of(e)
        if row is None:
            raise UserError(f"the {what} could not be stored")
        return row

    async def reply(self, conv: bytes, query: str, text: str) -> MessageRow:
        target = self.message(conv, query)
        if target.unsent:
            raise UserError("that message was unsent: there is nothing to reply to")
        e = self.core.messages.queue_in(conv, text, reply_to=target.event_id)
        await self.core.log.commit()
        return self._stored(e, "reply")

    async def react(
        self, conv: bytes, query: str, emoji: str, *, remove: bool = False
    ) -> MessageRow:
        target = self._target(conv, query)
        emoji = emoji.strip()
        problem = emoji_problem(emoji)
        if problem:
            raise UserError(f"a reaction is one emoji: {problem}")
        mine = self.core.db.my_reaction(target.event_id, self.core.user_id)
        if remove:
            if mine != emoji:
                raise UserError(f"you have not reacted with {emoji} to that message")
            emoji = ""
        await self._write(conv, ReactionBody(target.event_id, emoji))
        return self._again(target)

    async def edit(self, conv: bytes, query: str, text: str) -> MessageRow:
        target = self._target(conv, query, author_only="edit")
        if self.core.db.cards([target.event_id]):
            raise UserError("a contact card cannot be edited")
        if target.edits >= MAX_EDITS:
            raise UserError(f"that message was edited {MAX_EDITS} times, the most a message "
                            "may be")
        text = text.strip("\n")
        if not text.strip():
            raise UserError("the new text is empty (to take the message back: `kith unsend`)")
        if len(text) > MAX_TEXT:
            raise UserError(f"the text is too long (at most {MAX_TEXT} characters)")
        if text == target.text:
            raise UserError("that is the text it has already")
        await self._write(conv, EditBody(target.event_id, text))
        return self._again(target)

    async def unsend(self, conv: bytes, query: str) -> MessageRow:
        target = self._target(conv, query, author_only="unsend")
        await self._write(conv, UnsendBody(target.event_id))
        return self._again(target)

    async def delete_for_me(self, conv: bytes, query: str) -> MessageRow:
        self.core.devices.refuse_if_removed()
        target = self.message(conv, query)
        await self._write(self.core.convs.self_conv, HideBody(conv, target.event_id))
        return target

    async def delete_chat(self, conv: bytes) -> int:
        """Delete the chat ``conv`` for me, on every one of my devices: everything in it
        up to the newest thing it shows. How many messages went here."""
        core = self.core
        core.devices.refuse_if_removed()
        if core.convs.type_of(conv) is None or conv == core.convs.self_conv:
            raise UserError("there is no such chat")
        lamport = core.db.chat_lamport(conv)
        before = core.db.count_messages(conv)
        if lamport <= core.db.chat_cut(conv):
            raise UserError("that chat is empty: there is nothing to delete")
        await self._write(core.convs.self_conv, HideChatBody(conv, lamport))
        return before - core.db.count_messages(conv)

    async def share_contact(self, conv: bytes, contact: bytes) -> MessageRow:
        writable(self.core, conv)
        c = self.core.contacts.row(contact)
        if c is None or c.state != ACCEPTED:
            raise UserError("only a contact (accepted) can be shared as a card")
        if contact == self.core.convs.peer_of(conv):
            raise UserError(f"{c.name} is the person you are writing to")
        e = self.core.log.append(conv, CardBody(contact, c.name))
        self.core.messages.announce_waiting(e)
        await self.core.log.commit()
        return self._stored(e, "card")

    async def request_from_card(
        self, conv: bytes, query: str, *, trust_new_key: bool = False
    ) -> ContactInfo:
        """Send a contact request to the person on a card (introduced by its sender)."""
        core, contacts = self.core, self.core.contacts
        core.devices.refuse_if_removed()
        target = self.message(conv, query)
        card = core.db.cards([target.event_id]).get(target.event_id)
        if card is None:
            raise UserError("that message is not a contact card")
        user, name = card.user_id, card.name
        if user == core.user_id:
            raise UserError("that card is yours")
        c = contacts.row(user)
        if c is not None and c.state in (ACCEPTED, PENDING_OUT):
            raise UserError(f"{c.name} is already a contact (or asked)")
        clash = contacts.name_clash(user, name)
        if clash is not None and not trust_new_key:
            raise UserError(contacts.key_change_warning(name, user, clash, "add"))
        contacts.save(user, name=name, state=PENDING_OUT, key_changed=False, replaces=clash,
                      verified=False)
        # who introduced them, kept (and on my devices) also when the card goes
        core.settings.set(f"{INTRODUCED}{user.hex()}", card.by_user.hex())
        conv_with = core.convs.ensure_direct(user)
        core.log.append(conv_with, ContactBody("request", core.name))
        contacts.publish_roster(user)
        await core.log.commit()
        core.emit(ContactChanged(user))
        return contacts.info(user)

    async def set_timer(self, conv: bytes, seconds: int) -> TimerRow:
        writable(self.core, conv)
        now = self.timer(conv)
        if (now.timer if now else 0) == seconds:
            raise UserError(f"disappearing messages are {describe(seconds)} already")
        await self._write(conv, TimerBody(seconds))
        row = self.timer(conv)
        assert row is not None
        return row

    def _again(self, row: MessageRow) -> MessageRow:
        return self.core.db.message_by_id(row.event_id, row.conv) or row
