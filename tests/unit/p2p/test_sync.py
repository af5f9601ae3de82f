"""p2p.sync: version-vector digests, what is missing, grouping and splitting of runs."""

from __future__ import annotations

import pytest
from eventkit import make
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.p2p import events, sync
from kith.p2p.events import GENESIS, Head, SignedEvent
from kith.p2p.identity import Identity
from kith.p2p.messages import MessageBody
from kith.p2p.sync import PeerSync

ALICE = Identity.generate("alice")
BOB = Identity.generate("bob")
CONV = events.direct_conversation(ALICE.user_id, BOB.user_id)
OTHER = b"\x07" * 32
A, B, C = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32


def _chain(who: Identity, n: int, conv: bytes = CONV, text: str = "m") -> list[SignedEvent]:
    out: list[SignedEvent] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        e = make(
            who.device_secret, conv=conv, seq=seq, prev=prev, lamport=seq, time_ms=seq,
            body=MessageBody(f"{text} {seq}"),
        )
        out.append(e)
        prev = e.id
    return out


# -- digest ----------------------------------------------------------------------------------


def test_digest_equal_for_equal_vectors_in_any_order() -> None:
    one = {A: 3, B: 7, C: 1}
    other = {C: 1, A: 3, B: 7}
    assert list(one) != list(other)
    assert sync.digest(one) == sync.digest(other)
    assert len(sync.digest(one)) == 16


@pytest.mark.parametrize(
    "changed",
    [{A: 3, B: 8, C: 1}, {A: 3, B: 7}, {A: 3, B: 7, C: 1, OTHER: 1}, {A: 7, B: 3, C: 1}, {}],
    ids=["higher seq", "author missing", "extra author", "seqs swapped", "empty"],
)
def test_digest_differs_for_different_vectors(changed: dict[bytes, int]) -> None:
    assert sync.digest({A: 3, B: 7, C: 1}) != sync.digest(changed)


def test_digest_is_deterministic_across_calls() -> None:
    assert sync.digest({A: 1}) == sync.digest({A: 1})
    assert sync.digest({}) == sync.digest({})


vectors = st.dictionaries(
    st.binary(min_size=32, max_size=32), st.integers(min_value=1, max_value=2**40), max_size=8
)


@settings(database=None, max_examples=200, deadline=None)
@given(vectors, vectors)
def test_digest_equality_matches_vector_equality(
    v1: dict[bytes, int], v2: dict[bytes, int]
) -> None:
    assert (sync.digest(v1) == sync.digest(v2)) == (v1 == v2)
    shuffled = dict(reversed(list(v1.items())))
    assert sync.digest(shuffled) == sync.digest(v1)


# -- missing ---------------------------------------------------------------------------------


def test_missing_lists_what_they_lack_sorted_by_author() -> None:
    mine = {C: 5, A: 3, B: 2}
    theirs = {A: 3, B: 1, OTHER: 9}
    assert sync.missing(mine, theirs) == [(B, 1, 2), (C, 0, 5)]
    assert sync.missing(theirs, mine) == [(OTHER, 0, 9)]
    assert sync.missing(mine, mine) == []
    assert sync.missing({}, theirs) == []
    assert sync.missing(mine, {}) == [(A, 0, 3), (B, 0, 2), (C, 0, 5)]


@settings(database=None, max_examples=200, deadline=None)
@given(vectors, vectors)
def test_sending_what_is_missing_brings_them_up_to_date(
    mine: dict[bytes, int], theirs: dict[bytes, int]
) -> None:
    after = dict(theirs)
    for author, lo, hi in sync.missing(mine, theirs):
        assert after.get(author, 0) == lo < hi == mine[author]
        after[author] = hi
    for author, seq in mine.items():
        assert after.get(author, 0) >= seq
    assert sync.missing(mine, after) == []


# -- runs ------------------------------------------------------------------------------------


def test_runs_group_by_log_keeping_order() -> None:
    a = _chain(ALICE, 3)
    b = _chain(BOB, 2)
    a_other = _chain(ALICE, 2, conv=OTHER)
    mixed = [b[0], a[0], a_other[0], a[1], b[1], a_other[1], a[2]]
    grouped = sync.runs(mixed)
    assert list(grouped) == [
        (CONV, BOB.device_id), (CONV, ALICE.device_id), (OTHER, ALICE.device_id),
    ]
    assert grouped[(CONV, ALICE.device_id)] == a
    assert grouped[(CONV, BOB.device_id)] == b
    assert grouped[(OTHER, ALICE.device_id)] == a_other
    assert sync.runs([]) == {}


def test_runs_keep_received_order_even_if_unsorted() -> None:
    a = _chain(ALICE, 3)
    assert sync.runs([a[2], a[0], a[1]])[(CONV, ALICE.device_id)] == [a[2], a[0], a[1]]


# -- split_run -------------------------------------------------------------------------------


def _head(e: SignedEvent) -> Head:
    return Head(e.seq, e.id)


def test_split_fresh_run_from_nothing() -> None:
    run = _chain(ALICE, 4)
    part = sync.split_run(None, run, set())
    assert (part.duplicates, part.forks, part.gap) == (0, 0, False)
    assert part.fresh == run


def test_split_drops_duplicates_and_keeps_the_continuation() -> None:
    run = _chain(ALICE, 6)
    head = _head(run[2])
    part = sync.split_run(head, run, {e.id for e in run[:3]})
    assert (part.duplicates, part.forks, part.gap) == (3, 0, False)
    assert part.fresh == run[3:]


def test_split_all_duplicates_leaves_nothing() -> None:
    run = _chain(ALICE, 3)
    part = sync.split_run(_head(run[-1]), run, {e.id for e in run})
    assert (part.duplicates, part.forks, part.fresh, part.gap) == (3, 0, [], False)


def test_split_counts_forks() -> None:
    ours = _chain(ALICE, 4, text="ours")
    theirs = _chain(ALICE, 5, text="equivocated")  # same author, same seqs, other events
    part = sync.split_run(_head(ours[-1]), theirs, {e.id for e in ours[1:]})
    assert (part.duplicates, part.forks, part.gap) == (0, 4, False)
    assert part.fresh == theirs[4:]


def test_split_reports_a_gap() -> None:
    run = _chain(ALICE, 8)
    part = sync.split_run(_head(run[1]), run[4:], set())
    assert part.gap
    assert part.fresh == run[4:]
    assert sync.split_run(None, run[1:], set()).gap


def test_split_mixed_duplicates_and_gap() -> None:
    run = _chain(ALICE, 8)
    part = sync.split_run(_head(run[3]), [run[2], run[3], run[6], run[7]], {run[2].id, run[3].id})
    assert (part.duplicates, part.forks, part.gap) == (2, 0, True)
    assert part.fresh == [run[6], run[7]]


# -- PeerSync --------------------------------------------------------------------------------


def test_peer_sync_starts_knowing_nothing() -> None:
    p = PeerSync()
    assert p.after(CONV, A) == 0
    assert p.lacks(CONV, A, 1)
    assert not p.lacks(CONV, A, 0)
    assert CONV not in p.live
    assert p.known == {}


def test_peer_sync_want_sets_vector_and_goes_live() -> None:
    p = PeerSync()
    vector = {A: 4, B: 2}
    p.on_want(CONV, vector)
    vector[A] = 100  # the peer's message is copied, not aliased
    assert p.known[CONV] == {A: 4, B: 2}
    assert CONV in p.live
    assert OTHER not in p.live
    assert p.after(CONV, A) == 4
    assert p.lacks(CONV, A, 5)
    assert not p.lacks(CONV, A, 4)
    assert p.lacks(CONV, C, 1)
    # a later Want replaces the old knowledge (the peer may have lost data)
    p.on_want(CONV, {A: 1})
    assert p.known[CONV] == {A: 1}


def test_peer_sync_has_only_moves_up() -> None:
    p = PeerSync()
    p.has(CONV, A, 3)
    p.has(CONV, A, 2)
    assert p.after(CONV, A) == 3
    p.has(CONV, A, 9)
    assert p.after(CONV, A) == 9
    p.has(OTHER, A, 1)
    assert p.after(OTHER, A) == 1
    assert p.after(CONV, B) == 0
    assert CONV not in p.live  # has() alone does not make a conversation live


def test_peer_sync_instances_do_not_share_state() -> None:
    p, q = PeerSync(), PeerSync()
    p.on_want(CONV, {A: 1})
    p.digest_sent.add(CONV)
    assert q.known == {} and q.live == set() and q.digest_sent == set()
