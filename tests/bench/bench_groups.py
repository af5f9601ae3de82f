"""Benchmark: a group of 20 members where one sends 10,000 messages, against the same
number of direct messages to one contact, in the same run.

Run inside a private network namespace (it only uses loopback)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_groups.py'

All nodes run in this one process (one core), connected to the sender in a star over
127.0.0.1 (encrypted, signed, stored, acknowledged). Measured:

- direct: the sender queues N messages to one contact; the clock stops when it holds
  that contact's delivery receipt of the last one;
- group: the sender queues N messages in a group of 20; the clock stops when it holds a
  delivery receipt of the last one from every other member (one device of each holds
  them all: "Delivered").

Reported: both times, and the group's cost per recipient device as a ratio to the direct
messages' (group time / (members - 1) / direct time). Target (issue 10): <= 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from nodekit import until  # noqa: E402

from kith.p2p.connection import Timing  # noqa: E402
from kith.p2p.node import Node, NodeOptions  # noqa: E402
from kith.p2p.profile import create_identity  # noqa: E402

TEXT = "see you at the station at half past five, bring the tickets"


def make(root: Path, name: str) -> Node:
    create_identity(root / name, name, device_name=name)
    return Node(root / name, NodeOptions(interfaces=["127.0.0.1"], port=0, discovery=False,
                                         timing=Timing(keepalive=30, dead_after=120)))


async def befriend(a: Node, b: Node) -> None:
    await a.connect("127.0.0.1", b.port)
    await a.add_contact(b.name)
    await until(lambda: any(c.user_id == a.user_id for c in b.contacts()), a, b, timeout=60)
    await b.accept_contact(a.name)
    await until(lambda: a.core.contacts.accepted(b.user_id), a, b, timeout=60)


async def burst(sender: Node, conv: bytes, n: int, *nodes: Node) -> float:
    """Queue ``n`` messages in ``conv``; seconds until the last one is delivered."""
    start = time.perf_counter()
    last = None
    for i in range(n):
        last = sender.queue_in(conv, f"{TEXT} {i}")
        if i % 500 == 499:
            await asyncio.sleep(0)  # (let the group commit and the pushes run)
    assert last is not None
    await sender.flush()
    key = (conv, last.event.author)

    def delivered() -> bool:
        return sender.db.mark(*key)[0] >= last.event.seq

    await until(delivered, sender, *nodes, timeout=3600)
    return time.perf_counter() - start


async def main(members: int, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kith-bench-groups-") as tmp:
        root = Path(tmp)
        nodes = [make(root, f"m{i:02d}") for i in range(members)]
        for node in nodes:
            await node.start()
        try:
            alice, others = nodes[0], nodes[1:]
            for other in others:
                await befriend(alice, other)
            direct = alice.conv_with(others[0].user_id)
            t_direct = await burst(alice, direct, n, others[0])
            info = await alice.create_group("Bench", [o.user_id.hex() for o in others])
            await until(lambda: all(o.core.groups.get(info.id) for o in others),
                        *nodes, timeout=120)
            t_group = await burst(alice, info.id, n, *others)
            held = [o.db.count_messages(info.id) for o in others]
            assert held == [n] * len(others), held
        finally:
            for node in nodes:
                await node.stop()
    per_device = t_group / len(others) / t_direct
    return {"members": members, "messages": n, "direct_s": round(t_direct, 2),
            "group_s": round(t_group, 2), "group_per_recipient_vs_direct": round(per_device, 3)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("-n", type=int, default=10_000)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.members, args.n))))
