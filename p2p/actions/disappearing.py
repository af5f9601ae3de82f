"""Disappearing messages: a timer per conversation, carried by each message.

Kind (direct conversations and groups, by any member):

    timer [seconds]   from now on, messages in this conversation disappear after
                      ``seconds`` (0: off). The newest (lamport, author device) is in
                      force; every change is kept, so the chat can say who set what.

Each message carries the timer in force when it was written (``MessageBody.timer``). It
counts from sending for the sender's devices and from the first read on any of the
reader's devices (the read mark's time, which syncs between them). Every device erases
what is due (text, search entry, versions, event bodies) with a task that wakes for the
next expiry, and at start for what fell due while it was off; a message that arrives
already due is erased as it arrives, and the tombstone keeps it from coming back.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import msgspec

from kith.p2p import events as ev
from kith.p2p.actions.base import log, may_author, now_ms, part
from kith.p2p.api import MessagesAdded, MessagesChanged, NodeEvent, StatusChanged
from kith.p2p.core import Core
from kith.p2p.errors import UserError
from kith.p2p.eventlog import WRITE_ERRORS
from kith.p2p.kinds import DIRECT, GROUP, Applying, Author, Kind
from kith.p2p.messages import MAX_TIMER
from kith.storage import Store
from kith.storage.actions import Settled

CHOICES = (0, 5 * 60, 3600, 24 * 3600, 7 * 24 * 3600)  # off, 5 minutes, 1 hour, 1 day, 1 week
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 24 * 3600, "w": 7 * 24 * 3600}
_DURATION = re.compile(r"(?:\d{1,7}[smhdw])+")
_PART = re.compile(r"(\d+)([smhdw])")
MAX_WAIT = 3600.0  # seconds: the task looks again at least this often (clock changes)
RETRY = 5.0  # seconds: after a failed erase (a full disk)


class TimerBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    timer: int  # seconds; 0: off


def _check(b: TimerBody) -> str | None:
    return None if 0 <= b.timer <= MAX_TIMER else "bad timer"


def _apply(ctx: Applying, e: ev.SignedEvent, body: TimerBody) -> None:
    if not may_author(ctx, "disappearing-message timer"):
        return
    x = e.event
    user = ctx.author_user

    def write(store: Store) -> bool:
        store.add_timer(e.id, x.conv, body.timer, user, x.lamport, x.author, x.time)
        return False

    p = part(ctx)
    p.records.append(write)
    p.timers.add(x.conv)


TIMER: Kind[TimerBody] = Kind(
    "timer", TimerBody, where=frozenset({DIRECT, GROUP}), who=Author.MEMBER,
    check=_check, apply=_apply,
)


def parse_duration(text: str) -> int:
    """``off``, or a duration like 30s, 5m, 1h, 1d, 1w (or 1h30m): seconds."""
    t = text.strip().lower().replace(" ", "")
    if t in ("off", "0"):
        return 0
    total = 0
    if _DURATION.fullmatch(t):
        total = sum(int(n) * _UNITS[u] for n, u in _PART.findall(t))
    if total <= 0:
        raise UserError(f"{text!r} is not a duration: use off, or like 30s, 5m, 1h, 1d, 1w")
    if total > MAX_TIMER:
        raise UserError("the longest disappearing-message timer is 4 weeks")
    return total


def describe(seconds: int) -> str:
    """5 minutes, 1 hour, 1 day 2 hours, off."""
    if seconds <= 0:
        return "off"
    parts = []
    for name, size in (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60),
                       ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {name}{'s' if n > 1 else ''}")
    return " ".join(parts[:2])


class Expiry:
    """Erases messages whose time is up: at start, then whenever the next one is due."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        core.subscribe(self._on_event)

    def _on_event(self, e: NodeEvent) -> None:
        if isinstance(e, MessagesAdded | StatusChanged | MessagesChanged):
            self._wake.set()  # a new clock may have started: look again
            if self._task is None and self.core.running and self.core.store is not None:
                self._watch()

    def start(self) -> None:
        """Erase what fell due while the node was off, then watch what is due next."""
        self.run_once()
        self._watch()

    def _watch(self) -> None:
        """Run the task while something is to expire (none runs in a chat without)."""
        if self._task is None and self.core.db.next_expiry() is not None:
            self._task = self.core.spawn(self._run(), "kith-expiry")

    def run_once(self) -> Settled | None:
        """Erase what is due now; None if the disk refused (tried again soon)."""
        store = self.core.db
        try:
            settled = store.expire(now_ms())
        except WRITE_ERRORS as e:
            log.error("cannot erase expired messages now: %s", e)
            return None
        by_conv: dict[bytes, list[bytes]] = {}
        for target, conv in settled.removed.items():
            by_conv.setdefault(conv, []).append(target)
        for conv, ids in by_conv.items():
            self.core.emit(MessagesChanged(conv, ids))
        if settled.files:
            self.core.files.forget(settled.files)
        return settled

    async def _run(self) -> None:
        try:
            while self.core.running:
                self._wake.clear()
                if self.run_once() is None:
                    wait = RETRY
                else:
                    when = self.core.db.next_expiry()
                    if when is None:
                        return  # nothing left to expire: started again when there is
                    wait = min(MAX_WAIT, max(0.0, (when - now_ms()) / 1000))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            self._task = None
