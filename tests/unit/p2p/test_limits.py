"""p2p.limits, sans-IO: connections in all and per remote address are bounded."""

from __future__ import annotations

import pytest

from kith.p2p import limits


def test_connections_per_remote_address_are_bounded() -> None:
    open_ = [f"10.0.0.9:{40000 + i}" for i in range(limits.MAX_PER_ADDRESS)]
    assert limits.refuse_inbound("10.0.0.8:5000", open_) is None  # another host
    reason = limits.refuse_inbound("10.0.0.9:5000", open_)
    assert reason is not None and "10.0.0.9" in reason
    v6 = [f"[fe80::9]:{40000 + i}" for i in range(limits.MAX_PER_ADDRESS)]
    assert limits.refuse_inbound("[fe80::9]:5000", v6) is not None


def test_loopback_is_not_bounded_per_address_but_in_all(monkeypatch: pytest.MonkeyPatch) -> None:
    open_ = [f"127.0.0.1:{40000 + i}" for i in range(limits.MAX_PER_ADDRESS * 2)]
    assert limits.refuse_inbound("127.0.0.1:5000", open_) is None
    monkeypatch.setattr(limits, "MAX_CONNECTIONS", len(open_))
    assert limits.refuse_inbound("127.0.0.1:5000", open_) is not None


@pytest.mark.parametrize(
    ("address", "host"),
    [("10.0.0.1:80", "10.0.0.1"), ("[fe80::1%eth0]:80", "fe80::1%eth0"), ("?", "?")],
)
def test_remote_host(address: str, host: str) -> None:
    assert limits.remote_host(address) == host


def test_a_stranger_may_leave_only_so_much_unsent_the_people_i_know_no_cap() -> None:
    budget = limits.unsent_budget(stranger=True)
    assert budget == limits.STRANGER_UNSENT
    assert not limits.over_budget(budget, budget)
    assert limits.over_budget(budget + 1, budget)
    assert limits.unsent_budget(stranger=False) is None
    assert not limits.over_budget(1 << 40, None)  # (reading pauses instead)
