"""What 64 hostile strangers make a node hold (hardening #6): its RSS under attack.

Run inside a private network namespace (loopback only)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_strangers.py'

A node listens on 127.0.0.1; a child process opens ``--strangers`` connections with
fresh identities (real Noise handshakes, the project's own Session). Half of them
each send a message in pieces up to just under a stranger's reassembly budget and never
finish it; the other half ask (pings) without ever reading the answers, through a tiny
receive window. The node's RSS is sampled before, during and after; the figures are
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def attack(port: int, count: int, seconds: float) -> None:
    from kith.p2p import limits, session, wire
    from kith.p2p.identity import Identity
    from kith.p2p.session import HandshakeComplete, Session

    async def one(i: int) -> None:
        s = Session(Identity.generate(f"s{i}"), initiator=True)
        sock = socket.socket()  # a tiny receive window: the node's answers pile up there
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(s.initiate())
        while s.peer is None:
            data = await reader.read(65536)
            if not data:
                return
            evs = s.receive_data(data)
            writer.write(s.pending_output())
            if any(isinstance(e, HandshakeComplete) for e in evs):
                break
        writer.transport.pause_reading()  # never reads again
        assert s._send_cs is not None
        end = time.monotonic() + seconds
        if i % 2:  # an unfinished message, just under the budget
            piece = b"x" * session.MAX_CHUNK
            sent = 0
            while sent + len(piece) < limits.STRANGER_ASSEMBLED - session.MAX_CHUNK:
                writer.write(session._frame(s._send_cs.encrypt_with_ad(b"", b"\x01" + piece)))
                sent += len(piece)
        n = 0
        while time.monotonic() < end and not writer.transport.is_closing():
            if i % 2 == 0:
                for _ in range(500):
                    n += 1
                    writer.write(s.send(wire.Ping(n)))
            try:
                await asyncio.wait_for(writer.drain(), 0.2)
            except (TimeoutError, ConnectionError):
                await asyncio.sleep(0.05)
        writer.close()

    await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)


async def serve(count: int, seconds: float) -> None:
    from kith.p2p.node import Node, NodeOptions
    from kith.p2p.profile import create_identity

    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / "alice"
        create_identity(path, "alice", device_name="alice")
        # (production timing: a stranger's keepalive does not end the attack early)
        node = Node(path, NodeOptions(interfaces=["127.0.0.1"], port=0, discovery=False))
        await node.start()
        try:
            await asyncio.sleep(1.0)
            before = rss_mb()
            child = await asyncio.create_subprocess_exec(  # (this script, as the attacker)
                sys.executable, __file__, "--attack", str(node.port), "--strangers",
                str(count), "--seconds", str(seconds), cwd=ROOT)
            peak, unsent_peak, live_peak = before, 0, 0
            closed: dict[str, int] = {}
            seen = set(node.net.conns)
            while child.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(child.wait(), 0.25)
                seen |= node.net.conns
                peak = max(peak, rss_mb())
                unsent_peak = max(unsent_peak, sum(c.unsent for c in node.net.conns))
                live_peak = max(live_peak, len(node.net.live()))
            await asyncio.sleep(2.0)
            after = rss_mb()
            for c in seen:
                reason = c.close_reason.split(":")[0] if c.closed else "open"
                closed[reason] = closed.get(reason, 0) + 1
            print(f"{count} hostile strangers for {seconds:.0f} s: node RSS {before:.1f} MB "
                  f"before, peak {peak:.1f} MB (+{peak - before:.1f}), {after:.1f} MB after; "
                  f"peak unsent in all connections {unsent_peak / 1024:.0f} KiB; at most "
                  f"{live_peak} of them connected at once; connections: {closed}")
        finally:
            await node.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strangers", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--attack", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("KITH_KDF_FAST", "1")
    if args.attack:
        asyncio.run(attack(args.attack, args.strangers, args.seconds))
    else:
        asyncio.run(serve(args.strangers, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
