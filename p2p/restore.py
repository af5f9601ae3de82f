"""When this device may write its own next event in a log (sans-IO): the restore window.

A device cannot tell from its own disk that it is current: its profile may have been
restored from a backup, and then its peers hold the end of its own log that it lost. An
event written before it took that end back would reuse a sequence number, and every
peer would refuse it as a fork. So after every start, the device's own log in each
conversation it already knew is *unsure* until a peer that holds that log (one of my
other devices, or another member of the conversation) has told its head:

- a holder tells a head at or below ours: we are current, the log is open;
- a holder tells a head beyond ours: the log opens once our own head has reached it
  (the receive path takes those events back), or after :data:`CLAIM_WAIT` seconds
  without them (a holder that claims what it never sends must not silence us for good);
- a conversation nobody else holds (a single-device user's own notes), or one that was
  made during this run, is open at once; one whose holder has been connected for
  :data:`SILENT_HOLDER` seconds without a word on it opens then (:meth:`HeadGate.silent`).

A log waits however long every holder is away: the waiting events are kept on disk
(:mod:`storage.waiting`), shown as waiting, and go out once a holder is back. (A device
restored while every holder is away cannot learn its head: writing anyway would fork.)

While a log is unsure our new events for it wait, in order; when it opens they are
written after its true head.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

CLAIM_WAIT = 60.0  # seconds a told head beyond ours may keep our writes waiting
# seconds a holder may be connected without a word on a log before it stops waiting (a
# holder whose rules keep it from offering that conversation must not hold it for good)
SILENT_HOLDER = 15.0


@dataclass
class HeadGate:
    """Per conversation: is this device's own log there known to be current?"""

    unsure: set[bytes] = field(default_factory=set)
    claims: dict[bytes, tuple[int, float]] = field(default_factory=dict)  # conv -> (seq, until)
    live_since: dict[bytes, float] = field(default_factory=dict)  # conv -> a holder connected

    @classmethod
    def after_start(cls, convs: Iterable[bytes]) -> HeadGate:
        """Every conversation known at start is unsure."""
        return cls(set(convs))

    def holds(self, conv: bytes, holders: bool) -> bool:
        """Must our next event in ``conv`` wait? (``holders``: someone else may hold
        our log there.) A conversation nobody else holds opens for good."""
        if conv not in self.unsure:
            return False
        if not holders:
            self.open(conv)
            return False
        return True

    def told(self, conv: bytes, theirs: int, ours: int, now: float) -> bool:
        """A holder says it holds our log in ``conv`` up to ``theirs``; ours is at
        ``ours``. True if the log opens now."""
        if conv not in self.unsure:
            return False
        if theirs <= ours:
            self.open(conv)
            return True
        seq, until = self.claims.get(conv, (0, now + CLAIM_WAIT))
        self.claims[conv] = (max(seq, theirs), until)
        return False

    def reached(self, conv: bytes, ours: int) -> bool:
        """Our own head in ``conv`` moved to ``ours`` (events taken back). True if the
        log opens now."""
        claim = self.claims.get(conv)
        if claim is None or ours < claim[0]:
            return False
        self.open(conv)
        return True

    def expired(self, now: float) -> list[bytes]:
        """Conversations whose told head never came within CLAIM_WAIT: they open."""
        out = [conv for conv, (_, until) in self.claims.items() if until <= now]
        for conv in out:
            self.open(conv)
        return out

    def silent(self, conv: bytes, live: bool, now: float) -> bool:
        """Called while our events in ``conv`` wait (``live``: a holder is connected).
        True if the log opens now: a holder has been connected for SILENT_HOLDER seconds
        without a word on it (its rules may keep it from offering the conversation). With
        no holder connected the log keeps waiting, however long: they may come back."""
        if conv not in self.unsure:
            return False
        if conv in self.claims:
            return False  # (a told head: CLAIM_WAIT's rule)
        if not live:
            self.live_since.pop(conv, None)
            return False
        if now - self.live_since.setdefault(conv, now) < SILENT_HOLDER:
            return False
        self.open(conv)
        return True

    def open(self, conv: bytes) -> None:
        self.unsure.discard(conv)
        self.claims.pop(conv, None)
        self.live_since.pop(conv, None)
