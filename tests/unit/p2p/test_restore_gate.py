"""The restore window's rule (p2p.restore): after a start, our own log in a known
conversation waits until a peer that holds it has told where it ends."""

from __future__ import annotations

from kith.p2p.restore import CLAIM_WAIT, SILENT_HOLDER, HeadGate

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


def test_with_every_holder_away_a_log_waits_however_long() -> None:
    """No start window: a restored device whose holders are all away must not write
    (it would fork); its writes are kept on disk meanwhile (p2p.waiting)."""
    gate = HeadGate.after_start([A])
    for now in (0.0, 10.0, 11.0, 3600.0, 7 * 86400.0):
        assert not gate.silent(A, live=False, now=now)
        assert gate.holds(A, holders=True)
    assert gate.told(A, theirs=4, ours=4, now=7 * 86400.0 + 1)  # (back after a week)
    assert not gate.holds(A, holders=True)


def test_a_connected_holder_silent_for_a_while_opens_the_log() -> None:
    gate = HeadGate.after_start([A, B])
    assert not gate.silent(A, live=True, now=100.0)  # (connected: the silence counts)
    assert not gate.silent(A, live=True, now=100.0 + SILENT_HOLDER - 0.1)
    assert gate.silent(A, live=True, now=100.0 + SILENT_HOLDER)
    assert not gate.holds(A, holders=True)
    assert gate.holds(B, holders=True)


def test_a_holder_that_leaves_starts_the_silence_anew() -> None:
    gate = HeadGate.after_start([A])
    gate.silent(A, live=True, now=0.0)
    assert not gate.silent(A, live=False, now=SILENT_HOLDER - 1)  # it left
    assert not gate.silent(A, live=True, now=SILENT_HOLDER + 1)  # back: counts from here
    assert not gate.silent(A, live=True, now=2 * SILENT_HOLDER)
    assert gate.silent(A, live=True, now=2 * SILENT_HOLDER + 1)


def test_a_told_head_beyond_ours_is_claim_waits_business_not_silences() -> None:
    gate = HeadGate.after_start([A])
    gate.told(A, theirs=9, ours=4, now=0.0)
    assert not gate.silent(A, live=True, now=0.0)
    assert not gate.silent(A, live=True, now=SILENT_HOLDER * 2)
    assert gate.holds(A, holders=True)
    assert gate.expired(CLAIM_WAIT) == [A]


def test_there_is_no_start_window_any_more() -> None:
    from kith.p2p import restore

    assert not hasattr(restore, "START_WAIT")
