"""p2p.logs: a flood of the same line logs one line a minute, then says how many."""

from __future__ import annotations

import logging

import pytest

from kith.p2p import logs


def test_one_line_per_key_and_minute_then_the_count(monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: now[0])
    throttle = logs.Throttle(logging.getLogger("kith-test"))
    caplog.set_level(logging.WARNING, logger="kith-test")
    for i in range(500):
        throttle.warn("bad frame", "closing connection to %s: bad frame", f"peer{i}")
    throttle.warn("other", "another reason")
    assert [r.getMessage() for r in caplog.records] == [
        "closing connection to peer0: bad frame", "another reason",
    ]
    now[0] += logs.EVERY
    throttle.warn("bad frame", "closing connection to %s: bad frame", "peer500")
    assert caplog.records[-1].getMessage() == (
        "closing connection to peer500: bad frame (and 499 more like it in the last minute)"
    )
