"""Benchmark: what keeping a waiting message on disk costs (p2p.restore, p2p.waiting).

Run inside a private network namespace (it only uses loopback)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_waiting.py'

Two profiles (alice, bob) are made contacts, then alice starts again with bob away: her
log with bob is unsure, so each message she writes waits, kept in the ``waiting`` table
(one transaction per message, committed before the request returns). Measured, in the
same run and on the same profile, CPU time (user+sys of this process) per message for:

- ``waiting``: N messages written while the log waits (each kept on disk at once);
- ``release``: bob is back; the N messages are numbered after the true head and written
  (their rows dropped in the same transaction) until bob holds them all;
- ``open``: N more messages once the log is open (the normal path: group commit), until
  bob holds them all.

With ``--key`` the profiles are encrypted (SQLCipher), as the app makes them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from nodekit import befriend, make_node, until  # noqa: E402

TEXT = "see you at the station at half past five, bring the tickets"


def cpu() -> float:
    t = os.times()
    return t.user + t.system


async def run(n: int, key: bytes | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        alice, bob = make_node(root, "alice", data_key=key), make_node(root, "bob", data_key=key)
        await alice.start()
        await bob.start()
        await befriend(alice, bob)
        await alice.stop()
        await bob.stop()
        alice = make_node(root, "alice", data_key=key)
        await alice.start()
        try:
            start = cpu()
            for i in range(n):
                await alice.send_message("bob", f"{TEXT} {i}")
            waiting = cpu() - start
            assert len(alice.db.waiting()) == n
            bob = make_node(root, "bob", data_key=key)
            await bob.start()
            try:
                start = cpu()
                await alice.connect("127.0.0.1", bob.port)
                await until(lambda: bob.db.count_messages(bob.conv_with(alice.user_id)) == n,
                            alice, bob, timeout=120)
                release = cpu() - start
                start = cpu()
                for i in range(n):
                    await alice.send_message("bob", f"{TEXT} {i}")
                await until(lambda: bob.db.count_messages(bob.conv_with(alice.user_id)) == 2 * n,
                            alice, bob, timeout=120)
                opened = cpu() - start
            finally:
                await bob.stop()
        finally:
            await alice.stop()
    return {"waiting_ms_per_message": 1000 * waiting / n,
            "release_ms_per_message": 1000 * release / n,
            "open_ms_per_message": 1000 * opened / n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=500, help="messages per phase")
    p.add_argument("--key", action="store_true", help="encrypted profiles (SQLCipher)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    key = os.urandom(32) if args.key else None
    wall = time.monotonic()
    result = asyncio.run(run(args.n, key))
    result["n"] = args.n
    result["encrypted"] = bool(key)
    result["wall_s"] = time.monotonic() - wall
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>24}: {v:.3f}" if isinstance(v, float) else f"{k:>24}: {v}")


if __name__ == "__main__":
    main()
