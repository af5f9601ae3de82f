"""Waiting.holds is asked for every event we write: only an unsure log may cost a query."""

from __future__ import annotations

from typing import Any, cast

from kith.p2p.restore import HeadGate
from kith.p2p.waiting import Waiting

A, B = b"a" * 32, b"b" * 32


class Owner:
    def __init__(self) -> None:
        self.asked: list[bytes] = []

    def holders(self, conv: bytes) -> bool:
        self.asked.append(conv)
        return True


def test_a_log_that_is_not_unsure_never_asks_who_holds_it() -> None:
    owner = Owner()
    w = Waiting(cast(Any, owner))
    w.gate = HeadGate.after_start([A])  # A is unsure, B is not
    for _ in range(100):
        assert not w.holds(B)
    assert owner.asked == []
    assert w.holds(A)  # an unsure log with a holder waits
    assert owner.asked == [A]


def test_nothing_held_is_answered_without_a_search() -> None:
    w = Waiting(cast(Any, Owner()))
    assert not w.is_held(b"x" * 32)
