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
  :data:`SILENT_HOLDER` seconds without a word on it opens then, and so does one with no
  holder connected :data:`START_WAIT` seconds after the start (a device restored while
  every holder is away cannot learn its head; its writes must not wait for them).

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
# seconds after a start during which our writes wait for a holder that is not connected
# yet (peers are usually found within a few seconds); past it, with none connected, they
# are written at once: a message must not wait unshown, held in memory only, for a
# contact who is away
START_WAIT = 10.0


@dataclass
class HeadGate:
    """Per conversation: is this device's own log there known to be current?"""

    unsure: set[bytes] = field(default_factory=set)
    claims: dict[bytes, tuple[int, float]] = field(default_factory=dict)  # conv -> (seq, until)

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

    def open(self, conv: bytes) -> None:
        self.unsure.discard(conv)
        self.claims.pop(conv, None)

    def open_all(self) -> list[bytes]:
        out = list(self.unsure)
        self.unsure.clear()
        self.claims.clear()
        return out
