"""Messages and receipts: what people write, and how far it got.

Kinds (in direct conversations and groups; read in the self conversation):

    message  [text, reply_to, timer]
                                    by a contact (or me); shows as a bubble; ``reply_to``:
                                    the event id it answers (b"": none), ``timer``: seconds
                                    until it disappears (0: never; p2p.actions)
    receipt  [status, author, seq]  every message by ``author`` (a device) up to ``seq``
                                    is "delivered" / "read" on the receipt author's side
    read     [conv, author, seq]    self conversation only: I read everything by
                                    ``author`` in ``conv`` up to ``seq`` (instead of a read
                                    receipt when read receipts are off)

Delivered means "reached the user": only the device that got a contact's messages from a
device of that contact answers them with a delivery receipt, in the same transaction as
the messages (a crash keeps both or neither). Receipts are cumulative, so the store keeps
two watermarks per log instead of a status per message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import msgspec

from kith.p2p import events as ev
from kith.p2p.api import ACCEPTED, MessagesAdded, StatusChanged
from kith.p2p.errors import UserError
from kith.p2p.eventlog import WRITE_ERRORS
from kith.p2p.files.descriptor import Attachment
from kith.p2p.files.descriptor import problem as attachment_problem
from kith.p2p.kinds import DIRECT, GROUP, SELF, Applying, Author, Kind, Part
from kith.storage import (
    STATUS_DELIVERED,
    STATUS_READ,
    STATUS_RECEIVED,
    STATUS_WAITING,
    MessageRow,
    Store,
)

if TYPE_CHECKING:
    from kith.p2p.core import Core

log = logging.getLogger(__name__)

MAX_TEXT = 16 * 1024  # characters of one message
MAX_TIMER = 4 * 7 * 24 * 3600  # seconds: the longest disappearing-message timer (4 weeks)
RECEIPT_STATUSES = ("delivered", "read")


MAX_FILES = 10  # attachments of one message
# A batch with this many messages or more is a history sync: its messages go into the
# search index after the stream, in one go (search finds them all the same: it indexes
# what waits first). Live traffic is indexed in batches of storage.SEARCH_BATCH, and
# what waits when the chat goes quiet for SEARCH_INDEX_DELAY.
BULK_MESSAGES = 200
SEARCH_INDEX_DELAY = 0.5  # seconds without new messages before what waits is indexed


class MessageBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    text: str
    # Trailing fields with defaults (protocol 2 decoders ignore what they do not know).
    reply_to: bytes = b""  # the event id of the message this one answers
    timer: int = 0  # seconds until it disappears; 0: never
    files: tuple[Attachment, ...] = ()  # p2p.files (the text may then be empty)


class ReceiptBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Every message by ``author`` (a device) in this conversation up to ``seq`` reached
    ``status`` ("delivered" or "read") on the receipt author's side."""

    status: str
    author: bytes
    seq: int


class ReadBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Own devices only: I have read every message by ``author`` (a device) in ``conv`` up
    to ``seq``. Read state syncs between my devices through this even when read receipts
    to contacts are off (a "read" receipt, when sent, already tells my devices)."""

    conv: bytes
    author: bytes
    seq: int


def _clean(text: str, files: Sequence[object] = ()) -> str:
    """The text of a message to send (it may be empty when files go with it)."""
    text = text.strip("\n")
    if not text.strip() and not files:
        raise UserError("the message is empty")
    if len(text) > MAX_TEXT:
        raise UserError(f"the message is too long (at most {MAX_TEXT} characters)")
    return text


class _Messages(Part):
    """What one batch adds to the messages view and to the receipt marks."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.rows: list[MessageRow] = []
        self.marks: list[tuple[bytes, bytes, int, int]] = []
        self.receipts_due: dict[tuple[bytes, bytes], int] = {}
        self._moved: list[tuple[bytes, bytes, int, int]] = []
        self.read_at: list[tuple[bytes, bytes, int, int]] = []  # my reads: clocks start
        self._files: list[bytes] = []
        self.deferred = False  # a history sync's batch: its messages wait for the index

    def answer(self) -> None:
        # One delivery receipt per log, stored in the same transaction as what it
        # acknowledges: a crash keeps both or neither.
        for (conv, author), seq in self.receipts_due.items():
            self.core.log.append(conv, ReceiptBody("delivered", author, seq))
        self.receipts_due = {}

    def write(self, store: Store) -> None:
        self.deferred = len(self.rows) >= BULK_MESSAGES
        store.insert_messages(self.rows, index=not self.deferred)
        groups = {m.conv for m in self.rows if m.conv in self.core.groups.groups}
        if groups:  # (what came before I was added to a group: p2p.groups)
            gone = self.core.groups.hide_before_join(store, groups)
            self.rows = [m for m in self.rows if m.event_id not in gone]
        self._moved = [m for m in self.marks if store.raise_mark(*m)]
        for conv, author, seq, when in self.read_at:
            store.start_expiry(conv, author, seq, when)
        # Actions that came first (a tombstone, edits), timers (storage/actions.py).
        settled = store.settle_arrivals(self.rows, int(time.time() * 1000))
        self._files = settled.files  # (unsent or deleted before they came: p2p.actions)
        if settled.changed or settled.removed:
            self.rows = [
                store.message_by_id(m.event_id) or m if m.event_id in settled.changed else m
                for m in self.rows if m.event_id not in settled.removed
            ]

    def committed(self) -> None:
        if self.rows:  # (they may wait for the search index: see SEARCH_INDEX_DELAY)
            self.core.messages.index_search_later()
        if self._files:
            self.core.files.forget(self._files)
        for conv, author, seq, status in self._moved:
            self.core.emit(StatusChanged(conv, author, seq, status))
        by_conv: dict[bytes, list[MessageRow]] = {}
        for m in self.rows:
            by_conv.setdefault(m.conv, []).append(m)
        for conv, rows in by_conv.items():
            self.core.emit(MessagesAdded(conv, rows))


def _check_message(b: MessageBody) -> str | None:
    if len(b.reply_to) not in (0, 32) or not 0 <= b.timer <= MAX_TIMER:
        return "bad reply_to or timer"
    if b.files:
        if len(b.files) > MAX_FILES:
            return "too many files"
        for a in b.files:
            reason = attachment_problem(a)
            if reason:
                return f"attachment: {reason}"
        return None if len(b.text) <= MAX_TEXT else "text too long"
    return None if 0 < len(b.text) <= MAX_TEXT else "text is empty or too long"


def _check_receipt(b: ReceiptBody) -> str | None:
    ok = b.status in RECEIPT_STATUSES and len(b.author) == 32 and b.seq >= 1
    return None if ok else "bad status, author or seq"


def _check_read(b: ReadBody) -> str | None:
    ok = len(b.conv) == 32 and len(b.author) == 32 and b.seq >= 1
    return None if ok else "bad conversation, author or seq"


def _part(ctx: Applying) -> _Messages:
    part = ctx.batch.get(_Messages)
    if part is None:
        return ctx.batch.part(_Messages, lambda: _Messages(ctx.core))
    return part  # type: ignore[return-value]


def add_row(ctx: Applying, row: MessageRow, *, receipt: bool = True) -> None:
    """Another kind's bubble (a contact card): a message row written, announced and
    acknowledged with the batch's messages."""
    part = _part(ctx)
    part.rows.append(row)
    if receipt and not ctx.mine and not ctx.via_own_device:
        part.receipts_due[(row.conv, row.author)] = row.seq


def _apply_message(ctx: Applying, e: ev.SignedEvent, body: MessageBody) -> None:
    x = e.event
    if ctx.conv_type == GROUP and not ctx.mine and not ctx.core.groups.shows(x.conv, x.lamport):
        return  # (from before I was added, and the group keeps its history to itself)
    if body.reply_to:
        target = ctx.core.db.message_by_id(body.reply_to)
        if target is not None and target.conv != x.conv:
            log.warning("refusing a reply from %s to a message of another conversation",
                        ctx.peer_name or "my device")
            return
    part = _part(ctx)
    for hook in ctx.core.messages.applied:  # (p2p.files: the attachments)
        hook(ctx, e, body)
    if ctx.mine:  # mine, from here or another of my devices: outgoing
        part.rows.append(MessageRow(
            e.id, x.conv, x.author, ctx.author_user, x.seq, x.lamport, x.time, body.text,
            True, reply_to=body.reply_to or None, timer=body.timer,
        ))
        return
    part.rows.append(MessageRow(
        e.id, x.conv, x.author, ctx.author_user, x.seq, x.lamport, x.time, body.text,
        False, STATUS_RECEIVED, reply_to=body.reply_to or None, timer=body.timer,
    ))
    if not ctx.via_own_device:
        # What my own devices relay (history, offline relay) is not acked again: the
        # device that got it from the contact did.
        part.receipts_due[(x.conv, x.author)] = x.seq


def _apply_receipt(ctx: Applying, e: ev.SignedEvent, body: ReceiptBody) -> None:
    if ctx.local or (ctx.mine and body.status == "delivered"):
        return  # (my own delivery receipts tell me nothing; my read marks are set)
    if ctx.conv_type == GROUP and not ctx.mine:  # per member (p2p.groups)
        ctx.core.groups.receipt(ctx, e.conv, body.author, body.seq, body.status == "read")
        return
    if not ctx.mine:
        # A receipt acknowledges someone else's messages: a contact's receipt about
        # their own (or unknown) devices' messages would mark mine as read.
        claims = ctx.core.db.device_claims(body.author)
        if not claims or any(c.user_id == ctx.author_user for c in claims):
            return
    status = STATUS_READ if body.status == "read" else STATUS_DELIVERED
    _part(ctx).marks.append((e.conv, body.author, body.seq, status))
    if ctx.mine:  # read on another of my devices: disappearing messages start counting
        _part(ctx).read_at.append((e.conv, body.author, body.seq, e.event.time))


def _apply_read(ctx: Applying, e: ev.SignedEvent, body: ReadBody) -> None:
    if not ctx.local:
        _part(ctx).marks.append((body.conv, body.author, body.seq, STATUS_READ))
        _part(ctx).read_at.append((body.conv, body.author, body.seq, e.event.time))


MESSAGE: Kind[MessageBody] = Kind(
    "message", MessageBody, where=frozenset({DIRECT, GROUP}), who=Author.CONTACT,
    check=_check_message, apply=_apply_message, who_in={GROUP: Author.MEMBER},
)
RECEIPT: Kind[ReceiptBody] = Kind(
    "receipt", ReceiptBody, where=frozenset({DIRECT, GROUP}), who=Author.CONTACT,
    check=_check_receipt, apply=_apply_receipt, who_in={GROUP: Author.MEMBER},
)
READ: Kind[ReadBody] = Kind(
    "read", ReadBody, where=frozenset({SELF}), who=Author.OWN,
    check=_check_read, apply=_apply_read,
)
KINDS = (MESSAGE, RECEIPT, READ)


class Messages:
    """The messages feature: its kinds, and sending, reading and listing messages."""

    def __init__(self, core: Core) -> None:
        self.core = core
        # What other features derive from a message as it applies (in its batch).
        self.applied: list[Callable[[Applying, ev.SignedEvent, MessageBody], None]] = []
        for kind in KINDS:
            core.kinds.declare(kind)
        self._index_timer: asyncio.TimerHandle | None = None

    # -- the search index after a history sync ---------------------------------------

    def index_search_later(self) -> None:
        """Fill the search index with what waits for it once no message has come for
        SEARCH_INDEX_DELAY (each batch of messages moves the moment on)."""
        if self._index_timer is not None:
            self._index_timer.cancel()
        if self.core.running:
            loop = asyncio.get_running_loop()
            self._index_timer = loop.call_later(SEARCH_INDEX_DELAY, self.index_search)

    def index_search(self) -> None:
        """Put what waits for the search index into it now (one transaction). A failed
        write (a full disk) leaves it waiting: tried again after the next bulk batch, at
        stop, and by every search."""
        self._index_timer = None
        store = self.core.store
        if store is None:
            return
        try:
            store.index_pending()
        except WRITE_ERRORS as e:
            log.warning("cannot fill the search index now: %s", e)

    def stop(self) -> None:
        """At stop: what waits goes into the index (a clean stop leaves nothing)."""
        if self._index_timer is not None:
            self._index_timer.cancel()
        self.index_search()

    # -- the API -----------------------------------------------------------------------

    def queue(
        self, user: bytes, text: str, files: tuple[Attachment, ...] = (),
        reply_to: bytes = b"",
    ) -> ev.SignedEvent:
        """Sign and queue a message to a contact (``reply_to``: the event id of a message
        of this conversation it answers); it is stored on the next loop turn (group
        commit). It carries the conversation's disappearing-message timer."""
        self.check_recipient(user)
        return self._append(self.core.convs.ensure_direct(user), text, files, reply_to)

    def check_recipient(self, user: bytes) -> None:
        """UserError unless messages may go to ``user`` now."""
        core = self.core
        core.devices.refuse_if_removed()
        contacts = core.contacts
        c = contacts.row(user)
        if c is None or c.state != ACCEPTED:
            name = c.name if c else user.hex()[:12]
            raise UserError(f"{name} is not a contact yet: send a request with `kith add`")
        if c.key_changed:
            raise UserError(contacts.key_change_warning(c.name, user, c.replaces, "accept"))
        if contacts.replaced_by(user) is not None:
            raise UserError(
                f"{c.name} uses a new key now (you confirmed it): write to the new one; "
                "this conversation stays for its history"
            )

    def queue_in(
        self, conv: bytes, text: str, files: tuple[Attachment, ...] = (),
        reply_to: bytes = b"",
    ) -> ev.SignedEvent:
        """Sign and queue a message in a conversation: a group I am in, or the direct
        one with a contact."""
        core = self.core
        if core.convs.type_of(conv) == GROUP:
            core.devices.refuse_if_removed()
            core.groups.require_member(conv)
            return self._append(conv, text, files, reply_to)
        user = core.convs.peer_of(conv)
        if user is None:
            raise UserError("no such conversation")
        return self.queue(user, text, files, reply_to)

    def _append(
        self, conv: bytes, text: str, files: tuple[Attachment, ...], reply_to: bytes
    ) -> ev.SignedEvent:
        text = _clean(text, files)
        db = self.core.db
        if reply_to and db.message_by_id(reply_to, conv) is None:
            raise UserError("there is no such message in this conversation to reply to")
        timer = db.conversation_timer(conv)
        body = MessageBody(text, reply_to, timer.timer if timer else 0, files)
        e = self.core.log.append(conv, body)
        self.announce_waiting(e)
        return e

    def announce_waiting(self, e: ev.SignedEvent) -> None:
        """Our message ``e`` waits for its log's head (p2p.restore): shown now, as
        waiting (the written one is announced as any when it goes in)."""
        if self.core.log.held(e.id):
            row = self.row_of(e)
            if row is not None:
                self.core.emit(MessagesAdded(e.event.conv, [row]))

    def row_of(self, e: ev.SignedEvent) -> MessageRow | None:
        """The stored row of our message ``e``; while it waits for its log's true head
        (p2p.restore) a row that says so: seq 0, waiting, not stored yet."""
        log_ = self.core.log
        e = log_.final.get(e.id, e)
        row = self.core.db.message_at(e.event.conv, e.event.author, e.event.seq)
        if row is not None or not log_.held(e.id):
            return row
        kind = self.core.kinds.get(e.event.kind)
        body = kind.decode(e.body) if kind is not None and e.body else None
        return _waiting_row(self.core.user_id, e, body)

    def waiting_rows(self, conv: bytes) -> list[MessageRow]:
        """Our messages in ``conv`` that wait for its log's true head, oldest first
        (newer than everything written: shown after it, as waiting)."""
        me = self.core.user_id
        rows = (_waiting_row(me, e, body) for e, body in self.core.log.held_events(conv))
        return [r for r in rows if r is not None]

    def current(self, row: MessageRow) -> MessageRow:
        """``row`` as stored now (a waiting row: its event's, once written)."""
        if row.seq:
            return self.core.db.message_at(row.conv, row.author, row.seq) or row
        e = self.core.log.final.get(row.event_id)
        stored = self.core.db.message_at(row.conv, row.author, e.event.seq) if e else None
        return stored or row

    async def wait_status(self, row: MessageRow, status: int, timeout: float) -> bool:
        """Wait until our message reaches ``status`` (e.g. delivered); False on timeout."""
        if not row.seq:  # it waits for its log's true head: first its real number
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            waiting = row
            if not self.current(waiting).seq and not await self.core.wait_event(
                lambda e: isinstance(e, MessagesAdded) and self.current(waiting).seq > 0,
                timeout,
            ):
                return False
            row = self.current(row)
            timeout = deadline - loop.time()
        key = (row.conv, row.author)
        db = self.core.db

        def reached() -> bool:
            delivered, read = db.mark(*key)
            return (read if status >= STATUS_READ else delivered) >= row.seq

        if reached():
            return True
        return await self.core.wait_event(
            lambda e: isinstance(e, StatusChanged) and (e.conv, e.author) == key and reached(),
            timeout,
        )

    async def mark_read(self, user: bytes, up_to: int | None = None) -> None:
        """The user has seen the conversation: mark incoming messages read and tell my
        other devices; if read receipts are on, the receipt tells the sender as well,
        otherwise a read mark in the self conversation tells only my devices.
        ``up_to``: the lamport of the newest message the user saw (what arrived after
        it stays unread); None: everything."""
        await self.mark_read_in(self.core.convs.direct(user), up_to)

    async def mark_read_in(self, conv: bytes, up_to: int | None = None) -> None:
        """:meth:`mark_read` for a conversation (a group: every member gets the read
        receipt, as in a direct conversation the contact does)."""
        core = self.core
        db = core.db
        pending = [(author, seq) for author, seq, _ in db.unread(conv)]
        if up_to is not None:
            seen = [(author, min(seq, db.seq_up_to(conv, author, up_to)))
                    for author, seq in pending]
            pending = [(a, s) for a, s in seen if s > db.mark(conv, a)[1]]
        if not pending:
            return
        receipts = db.get_setting("read_receipts", True)
        now_ms = int(time.time() * 1000)
        with db.transaction():
            for author, seq in pending:
                db.raise_mark(conv, author, seq, STATUS_READ)
                db.start_expiry(conv, author, seq, now_ms)
                if receipts:
                    core.log.append(conv, ReceiptBody("read", author, seq))
                elif not core.devices.removed:
                    core.log.append(core.convs.self_conv, ReadBody(conv, author, seq))
        await core.log.commit()
        for author, seq in pending:
            core.emit(StatusChanged(conv, author, seq, STATUS_READ))


def _waiting_row(me: bytes, e: ev.SignedEvent, body: object) -> MessageRow | None:
    """The row of our message (or contact card) that waits (p2p.restore): seq 0, not
    stored yet."""
    x = e.event
    if isinstance(body, MessageBody):
        return MessageRow(e.id, x.conv, x.author, me, 0, x.lamport, x.time, body.text, True,
                          STATUS_WAITING, reply_to=body.reply_to or None, timer=body.timer)
    name = getattr(body, "name", None)
    if x.kind == "card" and isinstance(name, str):  # (p2p.actions.cards: shown by its name)
        return MessageRow(e.id, x.conv, x.author, me, 0, x.lamport, x.time, name, True,
                          STATUS_WAITING)
    return None
