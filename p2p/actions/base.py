"""What the message actions share: the batch part that records and settles them, who may
author one, and finding the message an action names."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kith.p2p.api import ACCEPTED, MessagesChanged, TimerChanged
from kith.p2p.errors import UserError
from kith.p2p.kinds import DIRECT, Applying, Part
from kith.storage import MessageRow, Store
from kith.storage.actions import Settled

if TYPE_CHECKING:
    from kith.p2p.core import Core

log = logging.getLogger("kith.p2p.actions")


def now_ms() -> int:
    return int(time.time() * 1000)


class ActionPart(Part):
    """What one batch's actions record (in its transaction), the targets they settle,
    and what is announced after the commit."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.records: list[Callable[[Store], bool]] = []  # True: the target changed
        self.targets: dict[bytes, bytes] = {}  # event id -> conversation
        self.timers: set[bytes] = set()
        self.cuts: dict[bytes, Callable[[Store], bool]] = {}  # conv -> its cut (delete chat)
        self._touched: dict[bytes, bytes] = {}
        self._settled = Settled()

    def record(self, target: bytes, conv: bytes, write: Callable[[Store], bool]) -> None:
        self.records.append(lambda store: write(store) and self._touch(target, conv))
        self.targets[target] = conv

    def cut(self, conv: bytes, write: Callable[[Store], bool]) -> None:
        """Delete chat: record the cut, then settle every message it reaches."""
        earlier = self.cuts.get(conv)
        self.cuts[conv] = write if earlier is None else (
            lambda store: earlier(store) | write(store)
        )

    def _touch(self, target: bytes, conv: bytes) -> bool:
        self._touched[target] = conv
        return True

    def write(self, store: Store) -> None:
        for write in self.records:
            write(store)
        self._settled = store.settle(self.targets, now_ms())
        for conv, cut in self.cuts.items():
            if cut(store):
                store.remove_up_to_cut(conv, self._settled)

    def committed(self) -> None:
        s = self._settled
        for reason in s.refused:
            log.warning("refused %s: nothing of it is kept", reason)
        by_conv: dict[bytes, list[bytes]] = {}
        for target, conv in {**self._touched, **s.changed, **s.removed}.items():
            by_conv.setdefault(conv, []).append(target)
        for conv, ids in by_conv.items():
            self.core.emit(MessagesChanged(conv, ids))
        for conv in self.timers:
            self.core.emit(TimerChanged(conv))
        for conv in self.cuts:
            if conv not in by_conv:  # (nothing here to remove: still, the chat changed)
                self.core.emit(MessagesChanged(conv, []))
        if s.files:
            self.core.files.forget(s.files)

    def failed(self) -> None:
        self._touched.clear()
        self._settled = Settled()


def part(ctx: Applying) -> ActionPart:
    return ctx.batch.part(ActionPart, lambda: ActionPart(ctx.core))


def may_author(ctx: Applying, what: str) -> bool:
    """Any member may act in a conversation (the receive path checked membership); in a
    direct one, as for messages, only a contact in good standing (or I). A refusal is
    logged and nothing of the event is applied."""
    if ctx.conv_type != DIRECT or ctx.mine or ctx.via_own_device:
        return True
    if ctx.core.contacts.accepted(ctx.author_user):
        return True
    log.warning("refusing a %s from %s: not a contact", what, ctx.peer_name or "someone")
    return False


def writable(core: Core, conv: bytes) -> None:
    """UserError unless our events in ``conv`` go to its members (as for messages)."""
    core.devices.refuse_if_removed()
    peer = core.convs.peer_of(conv)
    if peer is None:
        if core.convs.type_of(conv) is None:
            raise UserError("there is no such conversation")
        return
    c = core.contacts.row(peer)
    if c is None or c.state != ACCEPTED:
        name = c.name if c else peer.hex()[:12]
        raise UserError(f"{name} is not a contact yet: send a request with `kith add`")
    if c.key_changed:
        raise UserError(core.contacts.key_change_warning(c.name, peer, c.replaces, "accept"))


def find_message(core: Core, conv: bytes, query: str) -> MessageRow:
    """The message of ``conv`` whose id (hex) is ``query`` or starts with it."""
    q = query.strip().lower()
    ids = core.db.find_message_ids(conv, q)
    if not ids:
        raise UserError(
            f"no message {query!r} in this conversation: use an id (or a unique prefix) "
            "from `kith history --json`"
        )
    if len(ids) > 1:
        raise UserError(f"{query!r} is the start of several message ids: give more of it")
    row = core.db.message_by_id(ids[0], conv)
    assert row is not None
    return row
