"""Benchmark: the whole history to a newly linked device, two processes over loopback.

Run inside a private network namespace (it only uses loopback)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_link_sync.py'
    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_link_sync.py -n 1000000'

Setup (not measured): alice's profile with N messages between her and bob, half
written by each, signed and hash-chained through :mod:`p2p.events` and stored in a few
large transactions (as a node would store them after receiving them).

Measured, with two real processes:

1. the sender (alice's existing device) runs a Node; the receiver runs ``kith link``'s
   code path (:func:`p2p.link_driver.wait_for_link`), the sender links it with the code
   (:meth:`p2p.node.Node.link_device`: SPAKE2, certificate, identity handover);
2. the receiver starts its Node, dials the sender and syncs; the clock runs from the
   dial to the moment the receiver has stored all N messages (events/s = N / time);
3. for comparison, the sender copies its database file (``kith.db``) to the receiver
   over a plain TCP socket with ``sendfile``, same loopback, ``--copies`` times (3: the
   copy's rate swings with the page cache, 0.3-1.3 GB/s here); the median counts;
4. peak RSS (VmHWM) of both processes.

Targets (issue "My devices"): 100,000 messages <= 5 s; 1,000,000 <= 20 s with peak
RSS <= 300 MB in each process; (issue "The core, reshaped") sync <= 10x the copy
(bench_storage_floor.py measures what SQLite alone costs for the same rows against the
same copy). ``KITH_PROFILE=1`` profiles the receiving side (cProfile) and prints where
the time goes; ``KITH_STAGES=1`` times the receiver's stages instead
(the whole pipeline, the transaction, and the SQL of events, messages and the search
index) with less overhead than the profiler, CPU seconds of the process and wall.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from eventkit import make  # noqa: E402

from kith.p2p import events as ev  # noqa: E402
from kith.p2p import link_driver, linking, wire  # noqa: E402
from kith.p2p.connection import Timing  # noqa: E402
from kith.p2p.messages import MessageBody  # noqa: E402
from kith.p2p.node import MessagesAdded, Node, NodeOptions  # noqa: E402
from kith.p2p.profile import DB_FILE, create_identity  # noqa: E402
from kith.storage import EventRow, MessageRow, Store  # noqa: E402

TEXT = "see you at the station at half past five, bring the tickets"
SETUP_BATCH = 50_000  # events per setup transaction


def options() -> NodeOptions:
    return NodeOptions(interfaces=["127.0.0.1"], port=0, discovery=False, timing=Timing())


def peak_rss_mb() -> dict[str, float]:
    """Peak resident set size of this process: VmHWM and ru_maxrss, in MB."""
    hwm = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return {"vmhwm_mb": hwm, "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            / 1024}


# -- setup (not measured) ----------------------------------------------------------------


def setup(root: Path, n: int) -> int:
    """Alice's profile with ``n`` messages with bob (half each); returns the event count."""
    alice = create_identity(root / "alice", "alice")
    bob = create_identity(root / "bob", "bob")
    conv = ev.direct_conversation(alice.user_id, bob.user_id)
    store = Store(root / "alice" / DB_FILE)
    try:
        bc = bob.cert
        store.upsert_device(bc.device, bc.user, bc.name, bc.created, wire.encode_cert(bc))
        store.upsert_contact(bob.user_id, name="bob", state="accepted")
        store.ensure_conversation(
            conv, "direct", [(alice.user_id, "member"), (bob.user_id, "member")],
            peer_user=bob.user_id,
        )
        heads: dict[bytes, tuple[int, bytes]] = {}
        now = int(time.time() * 1000) - n
        body = MessageBody(TEXT)
        written = 0
        while written < n:
            rows: list[EventRow] = []
            msgs: list[MessageRow] = []
            for i in range(written, min(n, written + SETUP_BATCH)):
                who = alice if i % 2 == 0 else bob
                seq, prev = heads.get(who.device_id, (0, ev.GENESIS))
                e = make(who.device_secret, conv=conv, seq=seq + 1, prev=prev,
                         lamport=i + 1, time_ms=now + i, body=body)
                heads[who.device_id] = (seq + 1, e.id)
                x = e.event
                rows.append(EventRow(e.id, conv, x.author, x.seq, x.lamport, x.time, x.kind,
                                     e.head, e.body))
                msgs.append(MessageRow(e.id, conv, x.author, who.user_id, x.seq, x.lamport,
                                       x.time, TEXT, who is alice))
            with store.transaction():
                store.insert_events(rows)
                store.insert_messages(msgs)
            written += len(rows)
        store.checkpoint()
        return store.count_events()
    finally:
        store.close()


# -- the two processes -------------------------------------------------------------------

STAGES: dict[str, list[float]] = {}  # stage -> [wall, CPU] (KITH_STAGES=1, the receiver)


def time_stages() -> None:
    """Wrap the receiver's stages with timers (wall and process CPU, summed)."""
    from kith.p2p.eventlog import EventLog
    from kith.p2p.receive import Receiver

    def timed(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)
        acc = STAGES.setdefault(label, [0.0, 0.0])

        def wrapper(*args: Any, **kw: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kw)
            finally:
                acc[0] += time.perf_counter() - t
                acc[1] += time.process_time() - c

        setattr(owner, name, wrapper)

    timed(Receiver, "receive", "receive (all of the pipeline)")
    timed(EventLog, "write", "  write (answers, transaction, commit, push)")
    timed(Store, "insert_events", "    SQL: events + heads")
    timed(Store, "insert_messages", "    SQL: messages + search index")
    timed(Store, "settle_arrivals", "    SQL: settle arrivals")


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


async def read_command() -> dict[str, Any]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return json.loads(line) if line.strip() else {}


async def sender(root: Path) -> None:
    node = Node(root / "alice", options())
    await node.start()
    try:
        emit({"ready": node.port, "events": node.db.count_events()})
        cmd = await read_command()
        t0 = time.perf_counter()
        await node.link_device(cmd["code"], address=("127.0.0.1", cmd["port"]))
        emit({"linked": time.perf_counter() - t0})
        cpu = time.process_time()
        cmd = await read_command()  # the receiver synced: now copy the database file
        emit({"sender_cpu": time.process_time() - cpu})
        node.db.checkpoint()
        path = root / "alice" / DB_FILE
        loop = asyncio.get_running_loop()
        while "copy_port" in cmd:  # (as many copies as the driver asks for, then stop)
            with socket.create_connection(("127.0.0.1", cmd["copy_port"])) as s:
                s.setblocking(False)
                with path.open("rb") as f:
                    await loop.sock_sendfile(s, f)
            emit({"copied": path.stat().st_size})
            cmd = await read_command()
    finally:
        await node.stop()
    emit({"rss": peak_rss_mb()})


async def receiver(root: Path, total_messages: int, copies: int) -> None:
    profile = root / "laptop"
    code = linking.new_code()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(link_driver.wait_for_link(
        profile, code, "laptop", interfaces=["127.0.0.1"], discovery=False,
        on_listening=listening.set_result, timeout=60,
    ))
    emit({"code": code, "port": await listening})
    linked = await waiting

    prof = None
    if os.environ.get("KITH_STAGES"):
        time_stages()
    if os.environ.get("KITH_PROFILE"):
        import cProfile

        prof = cProfile.Profile()
    node = Node(profile, options())
    await node.start()
    got = 0
    done = asyncio.Event()

    def on(e: object) -> None:
        nonlocal got
        if isinstance(e, MessagesAdded):
            got += len(e.messages)
            if got >= total_messages:
                done.set()

    node.subscribe(on)
    try:
        if prof is not None:
            prof.enable()
        t0, cpu = time.perf_counter(), time.process_time()
        await node.connect(linked.host, linked.port)
        await asyncio.wait_for(done.wait(), 600)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(root / "receiver.prof"))
        await node.flush()
        emit({"synced": seconds, "messages": got, "events": node.db.count_events(),
              "target_events": linked.events, "cpu": cpu, "stages": STAGES})
    finally:
        await node.stop()

    # The database copy for comparison, ``copies`` times (its rate swings with the page
    # cache and writeback): accept one connection, read to EOF into a new file.
    for _ in range(copies):
        server = socket.create_server(("127.0.0.1", 0))
        emit({"copy_port": server.getsockname()[1]})
        conn, _ = server.accept()
        (root / "copy.db").unlink(missing_ok=True)
        t0 = time.perf_counter()
        size = 0
        with conn, (root / "copy.db").open("wb") as out:
            while chunk := conn.recv(1 << 20):
                out.write(chunk)
                size += len(chunk)
        emit({"copy_seconds": time.perf_counter() - t0, "copy_bytes": size})
        server.close()
    emit({"rss": peak_rss_mb()})


# -- the driver ----------------------------------------------------------------------------


class Child:
    def __init__(self, role: str, root: Path, *extra: str) -> None:
        self.p = subprocess.Popen(
            [sys.executable, __file__, "--role", role, "--root", str(root), *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def read(self, key: str) -> dict[str, Any]:
        assert self.p.stdout is not None
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"child exited before sending {key!r}")
            obj = json.loads(line)
            if key in obj:
                return obj

    def send(self, obj: dict[str, Any]) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(json.dumps(obj) + "\n")
        self.p.stdin.flush()


def run(n: int, copies: int) -> None:
    with tempfile.TemporaryDirectory(prefix="kith-bench-link-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        total = setup(root, n)
        print(f"setup: {n:,} messages ({total:,} events) in {time.perf_counter() - t0:.1f} s "
              f"(not measured); kith.db {(root / 'alice' / DB_FILE).stat().st_size / 1e6:.0f} MB")
        send = Child("sender", root)
        recv = Child("receiver", root, "-n", str(n), "--copies", str(copies))
        try:
            send.read("ready")
            link = recv.read("code")
            send.send({"code": link["code"], "port": link["port"]})
            linked = send.read("linked")
            synced = recv.read("synced")
            copy_seconds: list[float] = []
            for i in range(copies):
                copy_port = recv.read("copy_port")["copy_port"]
                send.send({"copy_port": copy_port})
                if i == 0:
                    sender_cpu = send.read("sender_cpu")["sender_cpu"]
                copied = recv.read("copy_seconds")
                copy_seconds.append(copied["copy_seconds"])
                send.read("copied")
            recv_rss = recv.read("rss")["rss"]
            send.send({})
            send_rss = send.read("rss")["rss"]
        finally:
            for c in (send, recv):
                try:
                    c.p.wait(30)
                except subprocess.TimeoutExpired:
                    c.p.kill()
        seconds = synced["synced"]
        print(f"link (code, SPAKE2, certificate): {linked['linked'] * 1000:.0f} ms")
        print(f"history sync: {synced['messages']:,} messages in {seconds:.2f} s = "
              f"{synced['messages'] / seconds:,.0f} events/s "
              f"(receiver holds {synced['events']:,} of {synced['target_events']:,} events)")
        print(f"CPU during the sync: receiver {synced['cpu']:.1f} s, sender {sender_cpu:.1f} s "
              f"(of {seconds:.1f} s)")
        mb = copied["copy_bytes"] / 1e6
        copy = statistics.median(copy_seconds)
        spread = ", ".join(f"{c:.2f}" for c in copy_seconds)
        print(f"database file copy over the same loopback: {mb:.0f} MB in {copy:.2f} s "
              f"({mb / copy:,.0f} MB/s; median of {copies}: {spread} s); "
              f"sync / copy = {seconds / copy:.0f}x (target <= 10x: "
              f"{'met' if seconds <= 10 * copy else 'MISSED'}; see bench_storage_floor.py)")
        print(f"peak RSS: sender {send_rss['vmhwm_mb']:.0f} MB, receiver "
              f"{recv_rss['vmhwm_mb']:.0f} MB (VmHWM)")
        for label, (wall, cpu) in synced.get("stages", {}).items():
            print(f"  {label:46s} {wall:6.2f} s wall {cpu:6.2f} s CPU")
        target = 5.0 if n <= 100_000 else 20.0  # the targets for 100k and 1M
        print(f"target <= {target:g} s: {'met' if seconds <= target else 'MISSED'}")
        if os.environ.get("KITH_PROFILE"):
            import pstats

            stats = pstats.Stats(str(root / "receiver.prof"))
            stats.sort_stats(os.environ.get("KITH_PROFILE_SORT", "tottime"))  # or cumulative
            stats.print_stats(int(os.environ.get("KITH_PROFILE_LINES", "25")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=100_000, help="messages in the history")
    p.add_argument("--copies", type=int, default=3,
                   help="plain copies of the database file to time (the median counts)")
    p.add_argument("--role", choices=["sender", "receiver"], help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "sender":
        asyncio.run(sender(Path(args.root)))
    elif args.role == "receiver":
        asyncio.run(receiver(Path(args.root), args.n, args.copies))
    else:
        run(args.n, args.copies)


if __name__ == "__main__":
    main()
