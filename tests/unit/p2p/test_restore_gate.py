"""The restore window's rule (p2p.restore): after a start, our own log in a known
conversation waits until a peer that holds it has told where it ends."""

from __future__ import annotations

from kith.p2p.restore import CLAIM_WAIT, HeadGate

A, B, NEW = b"a" * 32, b"b" * 32, b"n" * 32


def test_known_conversations_are_unsure_after_a_start_new_ones_are_not() -> None:
    gate = HeadGate.after_start([A, B])
    assert gate.holds(A, holders=True) and gate.holds(B, holders=True)
    assert not gate.holds(NEW, holders=True)  # made during this run: nothing to lose


def test_a_log_nobody_else_holds_opens_at_once_and_for_good() -> None:
    gate = HeadGate.after_start([A])
    assert not gate.holds(A, holders=False)
    assert not gate.holds(A, holders=True)  # (a holder that appears later changes nothing)


def test_a_holder_at_or_below_our_head_opens_the_log() -> None:
    gate = HeadGate.after_start([A, B])
    assert gate.told(A, theirs=5, ours=5, now=0.0)
    assert gate.told(B, theirs=3, ours=5, now=0.0)
    assert not gate.holds(A, holders=True) and not gate.holds(B, holders=True)


def test_a_holder_beyond_our_head_keeps_it_waiting_until_we_have_taken_it_back() -> None:
    gate = HeadGate.after_start([A])
    assert not gate.told(A, theirs=9, ours=4, now=0.0)
    assert gate.holds(A, holders=True)
    assert not gate.reached(A, ours=8)
    assert gate.holds(A, holders=True)
    assert gate.reached(A, ours=9)
    assert not gate.holds(A, holders=True)


def test_the_highest_told_head_counts() -> None:
    gate = HeadGate.after_start([A])
    gate.told(A, theirs=9, ours=4, now=0.0)
    gate.told(A, theirs=12, ours=4, now=0.0)
    assert not gate.reached(A, ours=9)
    assert gate.reached(A, ours=12)


def test_a_head_told_but_never_sent_stops_holding_after_a_while() -> None:
    gate = HeadGate.after_start([A, B])
    gate.told(A, theirs=1_000_000, ours=4, now=10.0)
    assert gate.expired(10.0 + CLAIM_WAIT - 1) == []
    assert gate.holds(A, holders=True)
    assert gate.expired(10.0 + CLAIM_WAIT) == [A]
    assert not gate.holds(A, holders=True)
    assert gate.holds(B, holders=True)  # (another conversation still waits for its word)


def test_opening_everything_at_stop() -> None:
    gate = HeadGate.after_start([A, B])
    gate.told(A, theirs=9, ours=4, now=0.0)
    assert sorted(gate.open_all()) == [A, B]
    assert not gate.claims and not gate.unsure
