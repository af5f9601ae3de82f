"""Our own events that wait for their log's true head (the restore window, p2p.restore).

After a start, a new event of ours in a conversation whose log may be behind what its
other holders have (a profile restored from a backup) must not be written yet: it would
reuse a sequence number, and every peer would refuse it as a fork. It waits here, in
order, as a *provisional* event (signed after what we hold, never sent), kept on disk
(:mod:`storage.waiting`) before the request returns, so a crash or a kill loses nothing
and the next start holds it again. Once a holder of the log (another device of mine, or
another member) has told its head, the log opens and what waited is written after the
true head (``final``: provisional id -> the event written), its rows going in the same
transaction. It waits however long every holder is away; only a conversation nobody
else holds, a claim never made good (CLAIM_WAIT) or a holder that stays silent
(SILENT_HOLDER) open it otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from kith.p2p import events as ev
from kith.p2p.errors import EnvironmentProblem
from kith.p2p.restore import HeadGate
from kith.storage import Store

if TYPE_CHECKING:
    from kith.p2p.eventlog import EventLog

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between two looks at the waiting logs' rules (claims, silent holders)

Held = tuple[ev.SignedEvent, msgspec.Struct]


def _files(body: msgspec.Struct) -> list[bytes]:
    """The ids of the files a body refers to (a message's attachments)."""
    files = getattr(body, "files", ())
    return [a.id for a in files if isinstance(getattr(a, "id", None), bytes)]


class Waiting:
    """The gate and the waiting events of every unsure log."""

    def __init__(self, owner: EventLog) -> None:
        self.owner = owner
        self.gate = HeadGate()
        self.held: dict[bytes, list[Held]] = {}
        self.final: dict[bytes, ev.SignedEvent] = {}
        self.leaving: list[bytes] = []  # released: their rows go with the next write
        self.clock: Callable[[], float] = time.monotonic  # (a test drives its own)
        self._timer: asyncio.TimerHandle | None = None

    # -- start ---------------------------------------------------------------------

    def load(self, store: Store, convs: list[bytes], network: bool) -> None:
        """After a start: every known conversation is unsure (a database-only node
        learns nothing: it writes, except behind what already waits), and what waited
        at the last stop (or crash) waits again, in order."""
        core = self.owner.core
        rows = store.waiting()
        self.gate = HeadGate.after_start(convs if network else [])
        self.held = {}
        for row in rows:
            kind = core.kinds.get(row.kind)
            try:
                if kind is None:
                    raise ValueError(f"unknown kind {row.kind!r}")
                e = ev.decode(row.head, row.body)
                body = kind.decode(row.body)
            except Exception as err:  # noqa: BLE001 - kept on disk, said, skipped
                log.warning("a waiting event of ours cannot be read (%s); it stays in the "
                            "database, not sent", err)
                continue
            self.gate.unsure.add(row.conv)
            self.held.setdefault(row.conv, []).append((e, body))
        if self.held:
            log.info("%d events of ours wait for a peer that holds their log to say where "
                     "it ends", sum(len(v) for v in self.held.values()))
            with contextlib.suppress(RuntimeError):  # (no loop: the first hold watches)
                asyncio.get_running_loop().call_soon(self._watch)

    # -- holding ---------------------------------------------------------------------

    def holds(self, conv: bytes) -> bool:
        """Must our next event in ``conv`` wait?"""
        if conv in self.held:
            return True  # (behind what waits already: in order)
        # (only an unsure log asks who may hold it: that reads the devices table, and
        # every event we write comes through here)
        return conv in self.gate.unsure and self.gate.holds(conv, self.owner.holders(conv))

    def hold(self, conv: bytes, body: msgspec.Struct, time_ms: int) -> ev.SignedEvent:
        """A provisional event of ours, kept on disk before this returns (the write is
        refused as a whole if the disk refuses it: EnvironmentProblem, nothing held)."""
        from kith.p2p.eventlog import WRITE_ERRORS, write_problem

        core = self.owner.core
        kind, data = core.kinds.encode(body)
        held = self.held.get(conv, [])
        # (numbered after what is held already: if the head turns out to be ours, the
        # events go in as they are, with the time and clock of when they were written)
        lamports = self.owner.lamport
        if held:
            last = held[-1][0]
            seq, prev, lamport = last.event.seq, last.id, last.event.lamport
        else:
            seq, prev = self.owner.heads.get((conv, core.device_id), (0, ev.GENESIS))
            lamport = lamports.get(conv, 0)
        e = ev.create(
            core.identity.device_secret, conv=conv, seq=seq + 1, prev=prev,
            lamport=max(lamport, lamports.get(conv, 0)) + 1, time_ms=time_ms,
            kind=kind.name, body=data, signed=(seq + 1) % ev.SIGN_EVERY == 0,
        )
        try:
            core.db.add_waiting(e.id, conv, kind.name, data, time_ms, e.head, _files(body))
        except WRITE_ERRORS as err:
            raise EnvironmentProblem(write_problem(err)) from err
        if not held:
            log.info("our log in conversation %s waits for a peer that holds it to say "
                     "where it ends", conv.hex()[:12])
        self.held.setdefault(conv, []).append((e, body))
        self._watch()
        return e

    def is_held(self, event_id: bytes) -> bool:
        if not self.held:
            return False  # (every message sent asks: nothing waits, almost always)
        return any(e.id == event_id for run in self.held.values() for e, _ in run)

    # -- what opens a log ------------------------------------------------------------

    def told(self, user: bytes, conv: bytes, theirs: int) -> None:
        """A peer of ``user`` holds our log in ``conv`` up to ``theirs``."""
        if conv not in self.gate.unsure:
            return
        core = self.owner.core
        if user != core.user_id and not core.convs.is_member(conv, user):
            return  # (only a holder's word counts)
        ours = self.owner.durable.get(conv, {}).get(core.device_id, 0)
        if self.gate.told(conv, theirs, ours, self.clock()):
            self.open(conv)
        elif conv in self.gate.claims:
            log.info("a peer holds our log in conversation %s up to %d, we up to %d: "
                     "taking it back before writing", conv.hex()[:12], theirs, ours)
            self._watch()

    def reached(self, conv: bytes, ours: int) -> None:
        """Our own head in ``conv`` is on disk at ``ours`` now."""
        if self.gate.reached(conv, ours):
            self.open(conv)  # our log's true head is back: what waited goes on

    def _watch(self) -> None:
        if self._timer is None and self.owner.core.running:
            with contextlib.suppress(RuntimeError):  # (no loop: nothing to watch yet)
                self._timer = asyncio.get_running_loop().call_later(TICK, self.tick)

    def tick(self) -> None:
        """Look at the rules that open a waiting log with time (a test calls it after
        moving its clock)."""
        if self._timer is not None:
            self._timer.cancel()  # (called by hand: one timer at a time)
            self._timer = None
        now = self.clock()
        for conv in self.gate.expired(now):
            log.warning("a peer said it held more of our log in conversation %s than it "
                        "sent: writing after what we hold", conv.hex()[:12])
            self.open(conv)
        for conv in list(self.held):
            if conv not in self.gate.unsure:
                self.open(conv)  # (opened meanwhile)
            elif not self.owner.holders(conv):
                self.gate.open(conv)  # (nobody else holds it: a removed contact's)
                self.open(conv)
            elif self.gate.silent(conv, self.owner.holder_live(conv), now):
                log.info("no word on our log in conversation %s from a connected peer "
                         "that holds it: writing after what we hold", conv.hex()[:12])
                self.open(conv)
        if (self.gate.claims or self.held) and self.owner.core.running:
            self._watch()

    def open(self, conv: bytes) -> None:
        """``conv``'s log is known to be current: what waited goes in, after the head
        (on the next loop turn: the receive path sets the heads it took back first)."""
        self.gate.open(conv)
        if conv in self.held:
            asyncio.get_running_loop().call_soon(self.release, conv)

    def release(self, conv: bytes) -> None:
        owner = self.owner
        held = self.held.pop(conv, [])
        me = owner.core.device_id
        for provisional, body in held:
            seq, prev = owner.heads.get((conv, me), (0, ev.GENESIS))
            x = provisional.event
            if x.seq == seq + 1 and x.prev == prev:  # our head was the true one: as it is
                owner.queue(provisional, body)
                self.final[provisional.id] = provisional
            else:  # after the true head, numbered anew (with the time the user wrote it)
                self.final[provisional.id] = owner.append(conv, body, time_ms=x.time)
            self.leaving.append(provisional.id)

    def stop(self) -> None:
        """What still waits stays on disk: the next start holds it again."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
