"""Benchmark: one-way message throughput and latency between two nodes in two processes.

Run inside a private network namespace (it only uses loopback)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_messages.py'

Measures, with two real nodes over 127.0.0.1 (encrypted, signed, stored with the
search index, acknowledged by a delivery receipt):

- sustained one-way messages/s: the sender queues N messages as fast as it can; the
  clock stops when the sender holds the delivery receipt of the last one;
- one-way latency at low load: send time to the moment the receiver has stored the
  message (CLOCK_MONOTONIC is system-wide, so the two processes share it);
- for comparison, in the same run: a plain per-message pipeline doing the same work in
  two processes (sign, encrypt, TCP, decrypt, verify, store with the search index,
  commit every 1,000), and the raw asyncio loopback rate of the same payloads.

``KITH_LISTENER_MS=0.3`` gives the sender a listener that takes 0.3 ms per announcement
of a message, as the desktop app's handler does (0.2-0.3 ms median in the GUI tests, up
to 0.7 ms; it runs on the node's loop).

Targets (issue "The core, reshaped"): Kith's sustained rate >= 2.5x the plain pipeline's,
p50 <= 1 ms, p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from nodekit import until  # noqa: E402

from kith.p2p import events as ev  # noqa: E402
from kith.p2p.connection import Timing  # noqa: E402
from kith.p2p.identity import Identity, sign, verify_signature  # noqa: E402
from kith.p2p.node import MessagesAdded, Node, NodeOptions  # noqa: E402
from kith.p2p.profile import create_identity  # noqa: E402
from kith.storage import STATUS_DELIVERED  # noqa: E402

# A typical chat line (~10 words); on the wire an event is ~230 bytes with its headers.
TEXT = "see you at the station at half past five, bring the tickets"


def options(port: int | None = None) -> NodeOptions:
    return NodeOptions(interfaces=["127.0.0.1"], port=port, discovery=False, timing=Timing())


async def setup(root: Path) -> tuple[int, int]:
    """Create both profiles and make them contacts through the real flow."""
    create_identity(root / "alice", "alice")
    create_identity(root / "bob", "bob")
    a, b = Node(root / "alice", options()), Node(root / "bob", options())
    await a.start()
    await b.start()
    await a.connect("127.0.0.1", b.port)
    await a.add_contact("bob")
    await until(lambda: any(c.state == "pending_in" for c in b.contacts()), a, b)
    await b.accept_contact("alice")
    await until(lambda: a.contacts()[0].state == "accepted", a, b)
    ports = a.port, b.port
    await a.stop()
    await b.stop()
    return ports


async def receiver(root: Path) -> None:
    node = Node(root / "bob", options(port=None))
    await node.start()
    latencies: list[float] = []
    count = 0

    def on(e: object) -> None:
        nonlocal count
        if isinstance(e, MessagesAdded):
            now = time.monotonic_ns()
            for m in e.messages:
                count += 1
                if m.text.startswith("lat:"):
                    latencies.append((now - int(m.text[4:])) / 1e6)

    node.subscribe(on)
    print(json.dumps({"ready": node.port}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await node.stop()
    latencies.sort()
    print(json.dumps({"received": count, "latencies_ms": latencies}), flush=True)


async def sender(root: Path, bob_port: int, n: int, lat_n: int) -> None:
    node = Node(root / "alice", options(port=None))
    await node.start()
    busy = float(os.environ.get("KITH_LISTENER_MS", "0")) / 1000
    if busy:  # a listener as slow as the app's models and sidebar (KITH_LISTENER_MS)
        def listener(e: object) -> None:
            if isinstance(e, MessagesAdded):
                end = time.perf_counter() + busy
                while time.perf_counter() < end:
                    pass

        node.subscribe(listener)
    await node.connect("127.0.0.1", bob_port)
    bob = node.resolve("bob")[0]
    await until(lambda: node.online(bob), node)
    # Warm up.
    for _ in range(200):
        node.queue_message(bob, TEXT)
    last = node.queue_message(bob, TEXT)
    await asyncio.sleep(0)
    await node.wait_status(await row(node, last), STATUS_DELIVERED, 30)

    # Latency at low load: one message every 2 ms.
    for _ in range(lat_n):
        last = node.queue_message(bob, f"lat:{time.monotonic_ns()}")
        await asyncio.sleep(0.002)
    await node.wait_status(await row(node, last), STATUS_DELIVERED, 30)

    # Throughput: queue as fast as the sender can sign, in bursts.
    prof = None
    if os.environ.get("KITH_PROFILE_PHASE"):
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    sent = 0
    burst = 500
    while sent < n:
        k = min(burst, n - sent)
        for _ in range(k):
            last = node.queue_message(bob, TEXT)
        sent += k
        await asyncio.sleep(0)
    t_queued = time.perf_counter() - t0
    ok = await node.wait_status(await row(node, last), STATUS_DELIVERED, 300)
    elapsed = time.perf_counter() - t0
    if prof is not None:
        prof.disable()
        prof.dump_stats("/tmp/kith-throughput.prof")
    await node.stop()
    print(json.dumps({"n": n, "delivered": ok, "seconds": elapsed, "queued_s": t_queued}),
          flush=True)


async def row(node: Node, e: object):  # the stored message of a queued event
    await node.flush()  # (or, while its log waits for its head after the start, its
    return node.core.messages.row_of(e)  # waiting row: wait_status follows it)


async def raw_loopback(n: int) -> float:
    """Raw asyncio TCP loopback rate for the same payload size, length-prefixed."""
    payload = len(TEXT).to_bytes(2, "big") + TEXT.encode() + b"\0" * 40
    done = asyncio.Event()
    received = 0

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        size = len(payload)
        buf = 0
        while received < n:
            data = await reader.read(256 * 1024)
            if not data:
                break
            buf += len(data)
            received = buf // size
        done.set()
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.perf_counter()
    for i in range(n):
        writer.write(payload)
        if i % 1000 == 999:
            await writer.drain()
    await writer.drain()
    await done.wait()
    elapsed = time.perf_counter() - t0
    writer.close()
    server.close()
    await server.wait_closed()
    return n / elapsed


# -- the plain pipeline: the same work per message, nothing batched -------------------------

PLAIN_KEY = bytes(range(32))  # a fixed ChaCha20-Poly1305 key for both ends
PLAIN_COMMIT_EVERY = 1000


def _nonce(i: int) -> bytes:
    return b"\0\0\0\0" + i.to_bytes(8, "little")


async def plain_receiver(root: Path, n: int) -> None:
    """Per message: decrypt, verify its signature, insert it with its search index row;
    commit every PLAIN_COMMIT_EVERY messages. Prints the monotonic time of the last commit."""
    import sqlite3

    import msgspec
    from nacl.bindings import crypto_aead_chacha20poly1305_ietf_decrypt as decrypt

    db = sqlite3.connect(root / "plain.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE events (conv BLOB, author BLOB, seq INTEGER, raw BLOB, "
               "PRIMARY KEY (conv, author, seq)) WITHOUT ROWID")
    db.execute("CREATE TABLE messages (rowid INTEGER PRIMARY KEY, text TEXT)")
    db.execute("CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', "
               "content_rowid='rowid')")
    decoder = msgspec.msgpack.Decoder(tuple[bytes, bytes, int, int, str])
    done = asyncio.Event()
    finished = 0

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal finished
        db.execute("BEGIN")
        for i in range(n):
            size = int.from_bytes(await reader.readexactly(2), "big")
            plain = decrypt(await reader.readexactly(size), b"", _nonce(i), PLAIN_KEY)
            header, sig = plain[:-64], plain[-64:]
            conv, author, seq, _, text = decoder.decode(header)
            if not verify_signature(author, header, sig):
                raise SystemExit("bad signature")
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (conv, author, seq, plain))
            cur = db.execute("INSERT INTO messages (text) VALUES (?)", (text,))
            db.execute("INSERT INTO messages_fts (rowid, text) VALUES (?, ?)",
                       (cur.lastrowid, text))
            if (i + 1) % PLAIN_COMMIT_EVERY == 0:
                db.execute("COMMIT")
                db.execute("BEGIN")
        db.execute("COMMIT")
        finished = time.monotonic_ns()
        writer.close()
        done.set()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    print(json.dumps({"ready": server.sockets[0].getsockname()[1]}), flush=True)
    await done.wait()
    server.close()
    db.close()
    print(json.dumps({"finished_ns": finished}), flush=True)


async def plain_sender(port: int, n: int) -> None:
    """Per message: sign, encrypt, write a length-prefixed frame (drained every 1,000)."""
    import msgspec
    from nacl.bindings import crypto_aead_chacha20poly1305_ietf_encrypt as encrypt

    me = Identity.generate("alice")
    conv = ev.direct_conversation(me.user_id, b"\1" * 32)
    encoder = msgspec.msgpack.Encoder()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic_ns()
    for i in range(n):
        header = encoder.encode((conv, me.device_id, i + 1, time.time_ns() // 10**6, TEXT))
        frame = encrypt(header + sign(me.device_secret, header), b"", _nonce(i), PLAIN_KEY)
        writer.write(len(frame).to_bytes(2, "big") + frame)
        if i % 1000 == 999:
            await writer.drain()
    await writer.drain()
    await reader.read()  # until the receiver has stored everything and hangs up
    writer.close()
    print(json.dumps({"started_ns": started}), flush=True)


def plain_pipeline(root: Path, n: int) -> float:
    """Messages/s of the plain pipeline, sender and receiver in two processes."""
    def cmd(role: str, *extra: str) -> list[str]:
        return [sys.executable, __file__, "--root", str(root), "--role", role, "-n", str(n),
                *extra]

    rx = subprocess.Popen(cmd("plain-receiver"), stdout=subprocess.PIPE, text=True)
    assert rx.stdout is not None
    port = json.loads(rx.stdout.readline())["ready"]
    tx = subprocess.run(cmd("plain-sender", "--port", str(port)), capture_output=True,
                        text=True, check=True)
    finished = json.loads(rx.stdout.readline())["finished_ns"]
    rx.wait()
    started = json.loads(tx.stdout.strip().splitlines()[-1])["started_ns"]
    return n / ((finished - started) / 1e9)


def main() -> None:
    if os.environ.get("KITH_BENCH_DEBUG"):
        import faulthandler

        faulthandler.dump_traceback_later(20, exit=True)
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--role", choices=["main", "receiver", "sender", "plain-receiver", "plain-sender"],
        default="main",
    )
    ap.add_argument("--root")
    ap.add_argument("--port", type=int)
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--latency-samples", type=int, default=2000)
    args = ap.parse_args()
    if args.role == "receiver":
        asyncio.run(receiver(Path(args.root)))
        return
    if args.role == "sender":
        asyncio.run(sender(Path(args.root), args.port, args.n, args.latency_samples))
        return
    if args.role == "plain-receiver":
        asyncio.run(plain_receiver(Path(args.root), args.n))
        return
    if args.role == "plain-sender":
        asyncio.run(plain_sender(args.port, args.n))
        return

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        asyncio.run(setup(root))
        # KITH_PROFILE=sender|receiver runs that side under cProfile (stats in /tmp).
        profile = os.environ.get("KITH_PROFILE", "")

        def cmd(role: str, *extra: str) -> list[str]:
            prof = ["-m", "cProfile", "-o", f"/tmp/kith-{role}.prof"] if profile == role else []
            return [sys.executable, *prof, __file__, "--root", str(root), "--role", role, *extra]

        rx = subprocess.Popen(
            cmd("receiver"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert rx.stdout is not None
        assert rx.stdin is not None
        port = json.loads(rx.stdout.readline())["ready"]
        tx = subprocess.run(
            cmd("sender", "--port", str(port), "-n", str(args.n),
                "--latency-samples", str(args.latency_samples)),
            capture_output=True, text=True, check=False,
        )
        rx.stdin.write("\n")
        rx.stdin.flush()
        rx_out = json.loads(rx.stdout.readline())
        rx.wait()
        if tx.returncode != 0:
            print(tx.stderr)
            raise SystemExit("sender failed")
        result = json.loads(tx.stdout.strip().splitlines()[-1])
        plain = plain_pipeline(root, args.n)
    raw = asyncio.run(raw_loopback(args.n))
    lat = rx_out["latencies_ms"]
    rate = result["n"] / result["seconds"]
    print(f"messages:            {result['n']} (all delivered: {result['delivered']})")
    print(f"sustained one-way:   {rate:,.0f} messages/s")
    print(f"plain per-message pipeline, same run: {plain:,.0f} messages/s; "
          f"Kith / plain = {rate / plain:.2f}x  (target >= 2.5x)")
    print(f"  queued by sender in {result['queued_s']:.2f} s, "
          f"last receipt at {result['seconds']:.2f} s")
    if lat:
        p50 = statistics.median(lat)
        p99 = lat[int(len(lat) * 0.99) - 1]
        print(f"latency at low load: p50 {p50:.3f} ms, p99 {p99:.3f} ms over {len(lat)} "
              "messages  (target p50 <= 1 ms, p99 <= 5 ms)")
    print(f"raw asyncio loopback, same payloads: {raw:,.0f} frames/s")
    print(f"cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
