"""p2p.adverts, sans-IO: an advert is a hint; proven addresses stay, refuted ones go for
a while, only local networks are dialled, strangers' dials are rate-limited."""

from __future__ import annotations

import pytest

from kith.p2p.adverts import (
    DIAL_BURST,
    DIAL_RATE,
    REFUTED_FOR,
    Addresses,
    DialBudget,
    local_networks,
    on_local_network,
)

REAL = ("10.0.0.2", 4000)
FORGED = ("10.0.0.66", 4000)


def test_an_advert_adds_addresses_and_never_replaces_a_proven_one() -> None:
    a = Addresses()
    a.advertised("kith-bob", [REAL], 0.0)
    a.proved(REAL)
    a.advertised("kith-forged", [FORGED], 1.0)  # another advert with bob's device id
    assert a.all(1.0) == [REAL, FORGED]  # proven first, the hint after it
    a.advertised("kith-bob", [], 2.0)  # even bob's own advert cannot take it away
    assert REAL in a.all(2.0)


def test_a_refuted_address_stays_off_for_a_while_then_may_come_back() -> None:
    a = Addresses()
    a.advertised("kith-forged", [FORGED], 0.0)
    a.advertised("kith-bob", [REAL], 0.0)
    a.refute(FORGED, 10.0)
    assert a.all(10.0) == [REAL]
    a.advertised("kith-forged", [FORGED], 11.0)  # re-sent: still ignored
    assert a.all(11.0) == [REAL]
    later = 10.0 + REFUTED_FOR + 1
    a.advertised("kith-forged", [FORGED], later)  # long after: a hint again
    assert sorted(a.all(later)) == sorted([REAL, FORGED])


def test_refuting_a_proven_address_drops_it_but_not_one_added_by_hand() -> None:
    a = Addresses()
    a.proved(REAL)
    a.refute(REAL, 0.0)  # something else answers there now (it moved)
    assert a.all(0.0) == []
    a.add_manual(FORGED)
    a.refute(FORGED, 0.0)
    assert a.all(0.0) == [FORGED]  # the user's to change


def test_lost_advert_takes_only_its_addresses() -> None:
    a = Addresses()
    a.advertised("one", [REAL], 0.0)
    a.advertised("two", [FORGED], 0.0)
    a.lost("two")
    assert a.all(0.0) == [REAL]


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("10.0.0.7", True), ("10.0.1.7", False), ("192.168.1.1", False), ("127.0.0.1", True),
        ("fe80::1%eth0", True), ("2001:db8::1", True), ("2001:db9::1", False),
        ("not an address", False),
    ],
)
def test_only_addresses_on_this_hosts_networks(address: str, ok: bool) -> None:
    networks = local_networks(
        [("10.0.0.2", 24), ("127.0.0.1", 8), ("2001:db8::5", 64), ("fe80::2%eth0", 64),
         ("garbage", 8)]
    )
    assert on_local_network(address, networks) is ok


def test_dials_of_strangers_are_rate_limited() -> None:
    budget = DialBudget()
    waits = [budget.delay(0.0) for _ in range(DIAL_BURST + 8)]
    assert waits[:DIAL_BURST] == [0.0] * DIAL_BURST
    assert waits[DIAL_BURST:] == pytest.approx([(i + 1) / DIAL_RATE for i in range(8)])
    # 3,000 forged adverts at once: spread over ~3,000 / DIAL_RATE seconds, not a burst
    budget = DialBudget()
    last = [budget.delay(0.0) for _ in range(3000)][-1]
    assert last == pytest.approx((3000 - DIAL_BURST) / DIAL_RATE)
    # and the bucket fills again with time
    budget = DialBudget()
    for _ in range(DIAL_BURST):
        budget.delay(0.0)
    assert budget.delay(1.0) == 0.0
