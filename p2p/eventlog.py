"""The node's event logs: where every log stands, and the one way events get written.

It keeps, per (conversation, author) log, the tip (including our events still queued),
what is on disk (the version vectors offered to peers) and the Lamport clock of each
conversation. Everything durable is written by :meth:`EventLog.write`: a batch of
received events together with our own queued events, in one transaction, after each
kind's ``apply`` has put its rows into the batch.

Our own events take the same road (group commit): :meth:`append` signs at once and
queues; the queue is applied through the kind table and committed in one transaction on
the next loop turn, then pushed to live peers. Our events are written only in order, so
our logs on disk never have a gap; a write that fails (a full disk) keeps them queued, in
order, and is tried again until it succeeds. After a start, our events in a log that
may be behind what its other holders have (a profile restored from a backup) wait, kept
on disk, until one of them has told its head (:mod:`p2p.restore`, :mod:`p2p.waiting`),
and are then written after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from kith.p2p import events as ev
from kith.p2p.errors import EnvironmentProblem
from kith.p2p.kinds import Applying, Batch
from kith.p2p.restore import HeadGate
from kith.p2p.waiting import Waiting
from kith.storage import EventRowTuple, StorageError, Store
from kith.storage.cipher import DB_ERRORS

if TYPE_CHECKING:
    from kith.p2p.core import Core

log = logging.getLogger(__name__)

RETRY_MIN, RETRY_MAX = 0.5, 10.0  # seconds between tries of a failed write
# (sqlcipher3's errors are not sqlite3's: storage.cipher.DB_ERRORS names both)
WRITE_ERRORS: tuple[type[Exception], ...] = (StorageError, *DB_ERRORS, OSError)


def event_row(e: ev.SignedEvent) -> EventRowTuple:
    """The stored row: a format-1 body stays inside its head (the column is for bodies
    kept apart, which a format-1 event does not have), and the id column stays empty:
    the id is BLAKE2b-256(head), computed where it is read (Store.event_ids), which keeps
    a row 32 bytes smaller (the body hash of format 2 made it 33 bigger)."""
    x = e.event
    body = e.body if x.format >= 2 else None
    return (b"", x.conv, x.author, x.seq, x.lamport, x.time, x.kind, e.head, body)


def write_problem(e: BaseException) -> str:
    """What to tell the user about a failed write."""
    text = str(e)
    if "full" in text.lower():
        return (
            "the disk is full: Kith cannot save new messages. Free some space (a few "
            "megabytes are enough to go on); Kith tries again by itself and loses nothing"
        )
    return f"cannot save to the database: {text}"


class EventLog:
    """Heads, vectors and clocks of every log; the write path of every event."""

    def __init__(self, core: Core) -> None:
        self.core = core
        # Tip of every log, including our events still queued for the group commit...
        self.heads: dict[tuple[bytes, bytes], tuple[int, bytes]] = {}
        # ...and what is on disk, per conversation: the vectors we offer to peers.
        self.durable: dict[bytes, dict[bytes, int]] = {}
        self.lamport: dict[bytes, int] = {}
        self._pending: list[tuple[ev.SignedEvent, msgspec.Struct]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._answering = False  # write() takes what its parts queue: no group commit for it
        self.problem: str | None = None  # why the last write failed, until one succeeds
        # The restore window (p2p.restore): our events of unsure logs wait there, in
        # order, kept on disk, until the log opens (p2p.waiting).
        self.waiting = Waiting(self)

    def load(self, store: Store) -> None:
        for h in store.heads():
            self.heads[(h.conv, h.author)] = (h.seq, h.id)
            self.durable.setdefault(h.conv, {})[h.author] = h.seq
            if h.lamport > self.lamport.get(h.conv, 0):
                self.lamport[h.conv] = h.lamport
        self.waiting.load(store, list(self.durable), self.core.options.network)

    # -- where the logs stand ----------------------------------------------------------

    def head(self, conv: bytes, author: bytes) -> ev.Head | None:
        tip = self.heads.get((conv, author))
        return ev.Head(*tip) if tip else None

    def vector(self, conv: bytes) -> dict[bytes, int]:
        """What is on disk of ``conv``, per author. Removed devices' logs are neither
        offered nor asked for: what we hold of them stays, nobody streams more."""
        vec = self.durable.get(conv, {})
        revoked = self.core.devices.revoked
        if revoked:
            return {a: s for a, s in vec.items() if a not in revoked}
        return dict(vec)

    def see_lamport(self, conv: bytes, lamport: int) -> None:
        if lamport > self.lamport.get(conv, 0):
            self.lamport[conv] = lamport

    # -- our own events ----------------------------------------------------------------

    def append(
        self, conv: bytes, body: msgspec.Struct, time_ms: int | None = None
    ) -> ev.SignedEvent:
        """Sign a new event of ours (``time_ms``: when the user wrote it; now by
        default); it is committed with the next write. In a log not known to be current
        yet (p2p.restore) it waits, kept on disk before this returns: the event returned
        is provisional (see :meth:`held`)."""
        if time_ms is None:
            time_ms = int(time.time() * 1000)
        if self.waiting.holds(conv):
            return self.waiting.hold(conv, body, time_ms)
        kind, data = self.core.kinds.encode(body)
        me = self.core.device_id
        seq, prev = self.heads.get((conv, me), (0, ev.GENESIS))
        lamport = self.lamport.get(conv, 0) + 1
        e = ev.create(
            self.core.identity.device_secret, conv=conv, seq=seq + 1, prev=prev,
            lamport=lamport, time_ms=time_ms, kind=kind.name, body=data,
            signed=(seq + 1) % ev.SIGN_EVERY == 0,  # (and the last of a batch: see write)
        )
        self.heads[(conv, me)] = (seq + 1, e.id)
        self.lamport[conv] = lamport
        self._pending.append((e, body))
        self._schedule()
        return e

    def queue(self, e: ev.SignedEvent, body: msgspec.Struct) -> None:
        """Queue an event of ours signed already (one that waited, as it was)."""
        x = e.event
        self.heads[(x.conv, x.author)] = (x.seq, e.id)
        self.see_lamport(x.conv, x.lamport)
        self._pending.append((e, body))
        self._schedule()

    # -- the restore window (p2p.restore, p2p.waiting) ---------------------------------

    @property
    def gate(self) -> HeadGate:
        return self.waiting.gate

    @property
    def final(self) -> dict[bytes, ev.SignedEvent]:
        """Provisional id of an event that waited -> the event written."""
        return self.waiting.final

    @property
    def _held(self) -> dict[bytes, list[tuple[ev.SignedEvent, msgspec.Struct]]]:
        return self.waiting.held

    def holders(self, conv: bytes) -> bool:
        """May anyone but this device hold our log in ``conv``: another device of mine,
        or another member?"""
        core = self.core
        if any(d.device_id != core.device_id and not d.revoked
               for d in core.db.devices(core.user_id)):
            return True
        c = core.convs.get(conv)
        return c is not None and any(u != core.user_id for u in c.members)

    def holder_live(self, conv: bytes) -> bool:
        """Is a peer that holds our log in ``conv`` connected?"""
        core = self.core
        return any(p.user_id == core.user_id or (
            p.user_id is not None and core.convs.is_member(conv, p.user_id))
            for p in core.net.live())

    def held(self, event_id: bytes) -> bool:
        """Is this provisional event of ours still waiting (not written yet)?"""
        return self.waiting.is_held(event_id)

    def held_events(self, conv: bytes) -> list[tuple[ev.SignedEvent, msgspec.Struct]]:
        """Our events of ``conv`` that wait, oldest first (provisional)."""
        return list(self.waiting.held.get(conv, ()))

    def told(self, user: bytes, conv: bytes, theirs: int) -> None:
        """A peer of ``user`` holds our log in ``conv`` up to ``theirs`` (its want, or a
        digest equal to ours)."""
        self.waiting.told(user, conv, theirs)

    async def commit(self) -> None:
        """Wait until every event of ours queued so far is on disk (EnvironmentProblem
        if the write failed; the events stay queued and are tried again)."""
        if not self._pending and (self._flusher is None or self._flusher.done()):
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._schedule()
        await fut

    def _schedule(self) -> None:
        if self._answering:
            return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_loop(), name="kith-flush"
            )

    async def _flush_loop(self) -> None:
        """Group commit: everything queued in one loop turn is one transaction. (Writing
        on a thread was tried: with the GIL it was slower.)"""
        await asyncio.sleep(0)  # gather everything queued in this loop turn
        delay = RETRY_MIN
        while self._pending or self._waiters:
            waiters, self._waiters = self._waiters, []
            try:
                if self._pending:
                    self.write(Batch(), [])
            except WRITE_ERRORS as e:
                problem = write_problem(e)
                if problem != self.problem:
                    log.error("cannot store our events: %s", e)
                self.problem = problem
                for f in waiters:
                    if not f.done():
                        f.set_exception(EnvironmentProblem(problem))
                if not self.core.running:
                    return
                await asyncio.sleep(delay)  # the disk may have room again by then
                delay = min(delay * 2, RETRY_MAX)
                continue
            for f in waiters:
                if not f.done():
                    f.set_result(None)

    async def stop(self) -> None:
        """Let the last group commit land (stop() of the node). Our events that still
        wait for a log's head stay on disk: the next start holds them again."""
        self.waiting.stop()
        if self._flusher is not None:
            self._flusher.cancel()
            try:
                await self._flusher
            except (asyncio.CancelledError, Exception):  # noqa: S110 - written below
                pass
        waiters, self._waiters = self._waiters, []
        problem: str | None = None
        if self._pending and self.core.store is not None:
            try:
                self.write(Batch(), [])
            except WRITE_ERRORS as e:
                problem = write_problem(e)
                log.error("could not store %d events of ours at exit: %s", len(self._pending), e)
        for f in waiters:
            if f.done():
                continue
            if problem is None:
                f.set_result(None)
            else:
                f.set_exception(EnvironmentProblem(problem))

    def _sign_tips(
        self, pending: list[tuple[ev.SignedEvent, msgspec.Struct]]
    ) -> list[tuple[ev.SignedEvent, msgspec.Struct]]:
        """Sign the last queued event of each log (one signature vouches for the batch,
        see p2p.events); it is the log's tip, so nothing refers to its id yet."""
        last: dict[tuple[bytes, bytes], int] = {}
        for i, (e, _) in enumerate(pending):
            last[(e.event.conv, e.event.author)] = i
        out = list(pending)
        secret = self.core.identity.device_secret
        for key, i in last.items():
            e, body = out[i]
            if not e.signed:
                signed = ev.signed_copy(secret, e)
                out[i] = (signed, body)
                if self.heads.get(key, (0, b""))[0] == signed.event.seq:
                    self.heads[key] = (signed.event.seq, signed.id)
        return out

    # -- the one write path ------------------------------------------------------------

    def write(
        self, batch: Batch, received: Sequence[ev.SignedEvent], source: Any = None
    ) -> list[ev.SignedEvent]:
        """Store ``received`` (already applied into ``batch``) and every event of ours
        still queued, in one transaction: the parts answer first (receipts join the
        queue), our events are applied through the kind table, then everything is
        written, committed, announced and pushed to live peers (a write of only our own
        events: pushed, then announced). Returns our events that went in. On a failed
        write nothing is stored and our events stay queued."""
        queued, heads = list(self._pending), dict(self.heads)
        leaving, self.waiting.leaving = self.waiting.leaving, []
        self._answering = True
        try:
            for part in batch.parts:
                part.answer()
        finally:
            self._answering = False
        own = self._sign_tips(self._pending)
        self._pending = []
        core = self.core
        contexts: dict[bytes, Applying] = {}
        for e, body in own:
            kind = core.kinds.get(e.event.kind)
            assert kind is not None
            conv = e.event.conv
            ctx = contexts.get(conv)
            if ctx is None:
                conv_type = core.convs.type_of(conv) or ""
                ctx = contexts[conv] = Applying(
                    core, batch, conv_type, core.user_id, True, False, "", local=True
                )
            kind.apply(ctx, e, body)
        store = self.core.db
        try:
            with store.transaction():
                store.insert_events([event_row(e) for e in received])
                for part in batch.parts:
                    part.write(store)
                store.insert_events([event_row(e) for e, _ in own])
                store.drop_waiting(leaving)  # (what waited is written: its rows go)
        except BaseException:
            # As if nothing happened: what was queued before stays queued, in order
            # (unsigned as it was: the next try signs its tips); the answers go (what
            # they acknowledge was not stored), and the heads they moved go back.
            self._pending[:0] = queued
            self.heads = heads
            self.waiting.leaving[:0] = leaving
            for part in batch.parts:
                part.failed()
            if self._pending and self.core.running:
                self._schedule()  # tried again by the group commit, with its delays
            raise
        self.problem = None
        store.request_checkpoint()
        tips: dict[tuple[bytes, bytes], int] = {}
        for e in received:  # (logs arrive in seq order: the last of each is its tip)
            x = e.event
            tips[(x.conv, x.author)] = x.seq
        for e, _ in own:
            tips[(e.event.conv, e.event.author)] = e.event.seq
        durable = self.durable
        for (conv, author), seq in tips.items():
            vec = durable.setdefault(conv, {})
            if seq > vec.get(author, 0):
                vec[author] = seq
            if author == self.core.device_id:
                self.waiting.reached(conv, vec[author])
        mine = [e for e, _ in own]
        # What we write ourselves goes on the wire before it is announced (the app's
        # handler takes 0.2-0.7 ms); what we received is announced first: it is what the
        # user waits for, ahead of its receipt and the relay to my other devices.
        hold = contextlib.nullcontext() if received else self.core.emits_after()
        with hold:
            for part in batch.parts:
                part.committed()  # (the state a push asks for, a group's roster, is set here)
            if self.core.running:
                if received:
                    self.core.repl.push(received, source=source)
                if mine:
                    self.core.repl.push(mine)
        return mine
