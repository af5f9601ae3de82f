"""The download scheduler, sans-IO: windows, verification, bad blocks, holders, resume."""

from __future__ import annotations

from kith.p2p.files import manifest as mf
from kith.p2p.files.bitmap import Bitmap
from kith.p2p.files.protocol import PIECE
from kith.p2p.files.transfer import MAX_STRIKES, Download, Outcome, Rate

A, B = b"a" * 32, b"b" * 32


def _file(blocks: int, tail: int = 1000) -> tuple[bytes, mf.Manifest]:
    bs = mf.MIN_BLOCK
    data = b"".join(bytes([i]) * bs for i in range(blocks - 1)) + b"\xee" * tail
    b = mf.Builder(len(data))
    b.update(data)
    return data, b.finish()


def _send(d: Download, holder: bytes, index: int, data: bytes, *, corrupt: bool = False) -> Outcome:
    off, length = d.manifest.span(index)
    block = data[off:off + length]
    if corrupt:
        block = bytes([block[0] ^ 0xFF]) + block[1:]
    outcome = Outcome.IGNORE
    for p in range(0, length, PIECE):
        outcome, at = d.piece(holder, index, p, block[p:p + PIECE])
        if outcome in (Outcome.WRITE, Outcome.VERIFIED):
            assert at == off + p
    return outcome


def test_pulls_every_block_within_a_window_and_verifies_it() -> None:
    data, m = _file(6)
    d = Download(m, Bitmap(m.count), window_bytes=2 * m.block_size)
    d.add_holder(A, None)
    asked = d.requests()
    assert asked == [(A, 0), (A, 1)]  # the window: two blocks
    assert d.requests() == []
    while not d.complete:
        for holder, i in asked:
            assert _send(d, holder, i, data) is Outcome.VERIFIED
        asked = d.requests()
    assert d.have == len(data) and d.received_bytes == len(data)


def test_a_bad_block_is_asked_again_from_another_holder() -> None:
    data, m = _file(8)
    d = Download(m, Bitmap(m.count), window_bytes=m.block_size)  # (2 blocks: MIN_WINDOW)
    d.add_holder(A, None)
    assert d.requests() == [(A, 0), (A, 1)]
    d.add_holder(B, None)
    assert d.requests() == [(B, 2), (B, 3)]
    assert _send(d, A, 0, data, corrupt=True) is Outcome.BAD
    assert 0 not in d.bitmap
    assert d.requests() == [(A, 4)]  # A's window has room for one: not block 0 again
    assert _send(d, B, 2, data) is Outcome.VERIFIED
    assert d.requests() == [(B, 0)]  # the bad block, from the other holder
    assert _send(d, B, 0, data) is Outcome.VERIFIED
    assert 0 in d.bitmap


def test_a_bad_block_is_asked_again_of_the_only_holder() -> None:
    data, m = _file(1)
    d = Download(m, Bitmap(m.count))
    d.add_holder(A, None)
    assert d.requests() == [(A, 0)]
    assert _send(d, A, 0, data, corrupt=True) is Outcome.BAD
    assert d.requests() == [(A, 0)]
    assert _send(d, A, 0, data) is Outcome.VERIFIED and d.complete


def test_a_holder_that_keeps_sending_bad_blocks_is_evicted() -> None:
    data, m = _file(1)
    d = Download(m, Bitmap(m.count))
    d.add_holder(A, None)
    outcomes = []
    for _ in range(MAX_STRIKES):
        [(h, i)] = d.requests()
        outcomes.append(_send(d, h, i, data, corrupt=True))
    assert outcomes[:-1] == [Outcome.BAD] * (MAX_STRIKES - 1)
    assert outcomes[-1] is Outcome.EVICT and A not in d.holders
    assert d.requests() == [] and d.bitmap.verified == 0


def test_pieces_out_of_order_or_unasked_are_not_written() -> None:
    data, m = _file(1, tail=mf.MIN_BLOCK)  # one block of three pieces
    d = Download(m, Bitmap(m.count))
    d.add_holder(A, None)
    [(_, i)] = d.requests()
    assert d.piece(B, i, 0, data[:PIECE])[0] is Outcome.IGNORE  # not asked of B
    assert d.piece(A, i + 1, 0, data[:PIECE])[0] is Outcome.IGNORE  # not asked
    assert d.piece(A, i, 0, data[:PIECE])[0] is Outcome.WRITE
    assert d.piece(A, i, 2 * PIECE, data[2 * PIECE:])[0] is Outcome.BAD  # a gap
    assert d.requests() == [(A, 0)] and 0 not in d.bitmap


def test_a_holder_that_leaves_gives_its_blocks_back() -> None:
    data, m = _file(4)
    d = Download(m, Bitmap(m.count), window_bytes=2 * m.block_size)
    d.add_holder(A, None)
    assert [i for _, i in d.requests()] == [0, 1]
    d.drop_holder(A)
    d.add_holder(B, None)
    assert [i for _, i in d.requests()] == [0, 1]


def test_partial_holders_are_asked_only_for_what_they_have() -> None:
    data, m = _file(4)
    some = Bitmap(m.count)
    some.add(2)
    d = Download(m, Bitmap(m.count), window_bytes=4 * m.block_size)
    d.add_holder(A, some)
    assert d.requests() == [(A, 2)]
    d.refused(A, 2)
    assert 2 not in some and d.requests() == []


def test_resume_asks_only_for_the_missing_blocks() -> None:
    data, m = _file(5)
    have = Bitmap(m.count)
    for i in (0, 1, 3):
        have.add(i)
    d = Download(m, have, window_bytes=8 * m.block_size)
    d.add_holder(A, None)
    assert [i for _, i in d.requests()] == [2, 4]


def test_rate_and_eta() -> None:
    r = Rate(span=10)
    assert r.rate() == 0 and r.eta(100) is None
    r.add(0, now=0.0)
    r.add(1000, now=2.0)
    assert r.rate() == 500 and r.eta(1000) == 2
