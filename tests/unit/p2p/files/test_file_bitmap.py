"""The bitmap of verified blocks: set, persist, resume."""

from __future__ import annotations

import pytest

from kith.p2p.files.bitmap import Bitmap


def test_add_discard_and_missing() -> None:
    b = Bitmap(10)
    assert list(b.missing()) == list(range(10)) and b.verified == 0
    assert b.add(3) and not b.add(3)
    b.add(9)
    assert 3 in b and 9 in b and 4 not in b and 10 not in b and -1 not in b
    assert b.verified == 2 and not b.complete
    assert list(b.missing(4)) == [4, 5, 6, 7, 8]
    b.discard(3)
    b.discard(3)
    assert b.verified == 1 and 3 not in b
    with pytest.raises(IndexError):
        b.add(10)


def test_round_trip_resumes_where_it_stopped() -> None:
    b = Bitmap(17)
    for i in (0, 5, 16):
        b.add(i)
    again = Bitmap(17, b.to_bytes())
    assert [i for i in range(17) if i in again] == [0, 5, 16]
    assert again.verified == 3
    assert list(again.missing())[:3] == [1, 2, 3]


def test_bad_persisted_bitmaps_are_refused() -> None:
    with pytest.raises(ValueError, match="bytes"):
        Bitmap(17, b"\x00")
    with pytest.raises(ValueError, match="past the last"):
        Bitmap(9, b"\x00\x02")  # block 9 of 9
    with pytest.raises(ValueError, match="negative"):
        Bitmap(-1)


def test_have_bytes_counts_the_short_last_block() -> None:
    size, bs = 2 * 100 + 30, 100
    b = Bitmap(3)
    assert b.have_bytes(size, bs) == 0
    b.add(0)
    assert b.have_bytes(size, bs) == 100
    b.add(2)
    assert b.have_bytes(size, bs) == 130
    b.add(1)
    assert b.complete and b.have_bytes(size, bs) == size
    assert Bitmap.full(3).complete and Bitmap(0).complete
