"""Replication logic, sans-IO: version vectors, digests, what to send, what to accept.

Per connected peer and conversation the exchange is::

    A                                              B
    Digest{conv: H(vector_A)}  ------------------>   differs from H(vector_B)?
                               <------------------   Want{conv, vector_B}
    Events{what B lacks}       ------------------>   check chains, store batch
    (conv is now live: new events go to B at once)

Both sides run it, so each ends up with the union. A vector maps an author device to
the highest contiguous seq held; since logs are stored without gaps, "what B lacks"
is, per author, every event after B's seq. Live events that arrive with a gap (a
race with a resync) are not stored; the receiver asks again with a Want.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kith.p2p.events import Head, SignedEvent

Vector = dict[bytes, int]


def digest(vector: Vector) -> bytes:
    """A short hash of a vector; equal vectors give equal digests on every device."""
    h = hashlib.blake2b(digest_size=16)
    for author in sorted(vector):
        h.update(author)
        h.update(vector[author].to_bytes(8, "big"))
    return h.digest()


def missing(mine: Vector, theirs: Vector) -> list[tuple[bytes, int, int]]:
    """Per author, the seq range (after, up_to] that ``theirs`` lacks from ``mine``."""
    return [
        (author, theirs.get(author, 0), seq)
        for author, seq in sorted(mine.items())
        if seq > theirs.get(author, 0)
    ]


def runs(events: Iterable[SignedEvent]) -> dict[tuple[bytes, bytes], list[SignedEvent]]:
    """Group events by (conv, author) log, keeping their order."""
    out: dict[tuple[bytes, bytes], list[SignedEvent]] = {}
    for ev in events:
        out.setdefault((ev.event.conv, ev.event.author), []).append(ev)
    return out


def unique(run: Sequence[SignedEvent]) -> list[SignedEvent]:
    """A log's run in seq order with each seq once (the first copy wins)."""
    seqs = [e.event.seq for e in run]
    if seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True:
        return list(run)  # (the usual case: held events, then what follows them)
    seen: set[int] = set()
    out = []
    for e in sorted(run, key=lambda e: e.event.seq):
        if e.event.seq not in seen:
            seen.add(e.event.seq)
            out.append(e)
    return out


@dataclass(frozen=True, slots=True)
class Split:
    """How a received run relates to what we hold."""

    duplicates: int  # already stored (seq <= head, same id)
    forks: int  # seq <= head but a different event: the author equivocated
    fresh: list[SignedEvent]  # continues our head (chain still to be verified)
    gap: bool  # the run starts after head + 1: we miss events in between


def split_run(head: Head | None, run: Sequence[SignedEvent], known_ids: set[bytes]) -> Split:
    """Drop what we already hold from a run and see whether the rest continues our head.

    ``known_ids`` are ids of stored events of this log that the run overlaps (the
    caller looks them up); anything at or below our head that is not among them is a fork.
    """
    head_seq = head.seq if head else 0
    dup = forks = 0
    rest: list[SignedEvent] = []
    for ev in run:
        if ev.event.seq <= head_seq:
            if ev.id in known_ids:
                dup += 1
            else:
                forks += 1
        else:
            rest.append(ev)
    gap = bool(rest) and rest[0].event.seq != head_seq + 1
    return Split(dup, forks, rest, gap)


@dataclass
class PeerSync:
    """What one connected peer is known to hold, per conversation.

    ``known[conv][author]`` is the highest seq the peer holds (it told us in a Want,
    we sent it, or it sent it to us). A conversation is *live* once the peer has sent
    its Want for it: from then on new events are pushed as they happen.
    """

    known: dict[bytes, Vector] = field(default_factory=dict)
    live: set[bytes] = field(default_factory=set)
    digest_sent: set[bytes] = field(default_factory=set)
    # Unsigned events at the end of what came, per (conv, author): they wait for the
    # signed event that vouches for them, in the next frame (p2p.events).
    held: dict[tuple[bytes, bytes], list[SignedEvent]] = field(default_factory=dict)

    def on_want(self, conv: bytes, vector: Vector) -> None:
        self.known[conv] = dict(vector)
        self.live.add(conv)

    def has(self, conv: bytes, author: bytes, seq: int) -> None:
        vec = self.known.setdefault(conv, {})
        if seq > vec.get(author, 0):
            vec[author] = seq

    def lacks(self, conv: bytes, author: bytes, seq: int) -> bool:
        return seq > self.known.get(conv, {}).get(author, 0)

    def after(self, conv: bytes, author: bytes) -> int:
        return self.known.get(conv, {}).get(author, 0)
