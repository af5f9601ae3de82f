"""Benchmark: deleting a long chat (p2p.actions.deletion), one node, no network.

    unshare -n sh -c 'ip link set lo up; KITH_KDF_FAST=1 \
        .venv/bin/python tests/bench/bench_delete_chat.py'

A chat of N messages (from a contact, with a reaction on every tenth and an edit on
every hundredth) is deleted with one ``hide_chat`` event: the time from the API call to
the commit of the one transaction that removes every message, search entry, reaction,
edit and body. Target: 50,000 messages in under 2 s on this machine (the event loop is
blocked for that long, so the app stays usable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "unit" / "p2p")]

from corekit import apply, start_me  # noqa: E402
from test_actions import contact  # noqa: E402

from kith.p2p.actions import EditBody, ReactionBody  # noqa: E402
from kith.p2p.messages import MessageBody  # noqa: E402

TARGET_S = 2.0


async def run(n: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        me = await start_me(Path(d))
        try:
            bob, conv = contact(me)
            for start in range(0, n, 1000):
                events = []
                for i in range(start, min(n, start + 1000)):
                    m = bob.event(conv, MessageBody(f"message number {i} of the long chat"))
                    events.append(m)
                    if i % 10 == 0:
                        events.append(me.author.event(conv, ReactionBody(m.id, "\U0001f44d")))
                    if i % 100 == 0:
                        events.append(bob.event(conv, EditBody(m.id, f"edited {i}")))
                apply(me, events)
            t = time.perf_counter()
            gone = await me.core.actions.delete_chat(conv)
            took = time.perf_counter() - t
            assert gone == n and me.db.messages(conv) == []
            return took
        finally:
            await me.node.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=50_000)
    n = p.parse_args().messages
    took = asyncio.run(run(n))
    ok = took < TARGET_S
    print(f"delete chat of {n} messages: {took:.2f} s (target < {TARGET_S} s): "
          f"{'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
