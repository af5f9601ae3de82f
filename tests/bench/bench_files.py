"""Benchmark: one large file between two nodes in two processes over loopback.

Run inside a private network namespace (it only uses loopback)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_files.py'
    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_files.py --mb 200'

Setup (not measured): alice, bob and carol befriended; a file of random bytes (1 GiB
by default) that alice sends to bob and to carol (one copy in her profile).

Measured:

1. **rate**: bob's node (its own process) fetches the file from alice's (another
   process): encrypted (Noise), every block hashed and verified, written to disk,
   renamed; from ``fetch`` to complete;
2. **plain copy**: the same file from alice's process to bob's over a plain TCP socket
   on the same loopback (``sendfile`` into a file), in the same run;
3. **resume**: carol fetches it, is killed with SIGKILL at 50 %, starts again and
   finishes; alice counts the bytes she sent carol in all;
4. the peak RSS (VmHWM) of each process;
5. the CPU time (user + sys, every thread) of each side during the fetch, per GiB: the
   machine's other load disturbs it less than the wall time.

Targets (issue 11): rate >= 1/3 of the plain copy's; peak RSS < 150 MB on either side;
bytes sent to carol < 101 % of the file's size. The profiles have data keys, as the app
makes them (the database through SQLCipher, the files sealed at rest); ``--plain-profiles``
runs without (files stored in clear), to compare. ``KITH_PROFILE=DIR`` profiles each
process (cProfile) and writes where its time went into DIR.

``--rounds N`` (N > 1) runs all of it N times (a fresh setup each time), the Kith
transfer and the plain copy in alternating order (Kith first in odd rounds, the copy
first in even ones, so that a drift of the machine's speed hits both alike): a line per
round, then the median and range of each figure, the ratio pair by pair (each round's
Kith rate against its own copy's), and a PASS/FAIL line per target on the medians.
``--window-kib`` sets the receiver's request window per holder (to compare windows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
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

from nodekit import befriend  # noqa: E402

from kith.p2p.api import FileChanged  # noqa: E402
from kith.p2p.connection import Timing  # noqa: E402
from kith.p2p.node import Node, NodeOptions  # noqa: E402
from kith.p2p.profile import create_identity  # noqa: E402


def options(port: int = 0, profile: Path | None = None) -> NodeOptions:
    key = None
    if profile is not None and (profile / KEY_NAME).exists():
        key = bytes.fromhex((profile / KEY_NAME).read_text())
    return NodeOptions(interfaces=["127.0.0.1"], port=port, discovery=False, timing=Timing(),
                       reconnect_min=0.05, reconnect_max=0.5, data_key=key)


KEY_NAME = "bench-data-key"  # (a benchmark's profiles keep their key beside them)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


async def read_command() -> dict[str, Any]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return json.loads(line) if line.strip() else {}


# -- setup (not measured) ----------------------------------------------------------------


async def setup(root: Path, size: int, keys: bool, quiet: bool = False) -> None:
    nodes = {}
    for name in ("alice", "bob", "carol"):
        key = os.urandom(32) if keys else None
        create_identity(root / name, name, device_name=name, key=key)
        if key is not None:
            (root / name / KEY_NAME).write_text(key.hex())
        nodes[name] = Node(root / name, options(profile=root / name))
        await nodes[name].start()
    alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
    try:
        await befriend(alice, bob)
        await befriend(alice, carol)
        for n in (bob, carol):
            n.set_setting("auto_download", 0)  # the fetch is measured
        path = root / "big.bin"
        with path.open("wb") as f:
            left = size
            while left:
                n = min(left, 1 << 24)
                f.write(os.urandom(n))
                left -= n
        t0 = time.perf_counter()
        for n in (bob, carol):
            await alice.files.send(n.user_id, "", [path])
        await alice.flush()
        if not quiet:  # (--rounds: one line per round instead)
            emit({"import_seconds": time.perf_counter() - t0})
    finally:
        for n in nodes.values():
            await n.stop()
    path.unlink()


# -- the processes ----------------------------------------------------------------------


async def sender(root: Path) -> None:
    node = Node(root / "alice", options(profile=root / "alice"))
    await node.start()
    try:
        [row] = node.db.files_in_state("complete")
        # the plain copy's source (decrypted now and written out, so that its writing
        # does not slow the copy down)
        plain = node.files.disk.plain_path(row.id)
        os.sync()
        emit({"ready": node.port, "file": row.id.hex(), "size": row.size})
        while True:
            cmd = await read_command()
            if cmd.get("copy_port"):
                loop = asyncio.get_running_loop()
                with socket.create_connection(("127.0.0.1", cmd["copy_port"])) as s:
                    s.setblocking(False)
                    with plain.open("rb") as f:
                        await loop.sock_sendfile(s, f)
                emit({"copied": row.size})
            elif cmd.get("cpu"):
                emit({"cpu": time.process_time()})
            elif cmd.get("served_to"):
                device = bytes.fromhex(cmd["served_to"])
                emit({"served": node.files.served_to[(device, row.id)]})
            else:
                break
    finally:
        await node.stop()
    emit({"rss": peak_rss_mb()})


async def receiver(root: Path, name: str, port: int, copy: bool,
                   copy_first: bool = False) -> None:
    if copy and copy_first:
        plain_copy(root)
        await read_command()  # (the driver notes the sender's CPU time, then says go)
    node = Node(root / name, options(profile=root / name))
    await node.start()
    done = asyncio.Event()

    def on(e: object) -> None:
        if isinstance(e, FileChanged):
            emit({"have": e.have, "size": e.size, "state": e.state})
            if e.state == "complete":
                done.set()

    try:
        await node.connect("127.0.0.1", port)
        [att] = node.db.attachments(node.conv_with(node.resolve("alice")[0]))
        emit({"device": node.device_id.hex()})
        node.subscribe(on)
        t0, cpu = time.perf_counter(), time.process_time()
        if node.files.start(att.file).state == "complete":
            done.set()  # (a resumed one whose blocks had all come before the kill)
        await asyncio.wait_for(done.wait(), 1800)
        emit({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - cpu})
        node.files.disk.path(att.file).unlink()  # (the page cache and the disk's space)
    finally:
        await node.stop()
    if copy and not copy_first:
        plain_copy(root)
    emit({"rss": peak_rss_mb()})


def plain_copy(root: Path) -> None:
    """Receive the file over a plain TCP socket into a file (fsynced), timed."""
    server = socket.create_server(("127.0.0.1", 0))
    emit({"copy_port": server.getsockname()[1]})
    conn, _ = server.accept()
    t0 = time.perf_counter()
    size = 0
    target = root / "copy.bin"
    with conn, target.open("wb") as out:
        while chunk := conn.recv(1 << 20):
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    emit({"copy_seconds": time.perf_counter() - t0, "copy_bytes": size})
    target.unlink()
    server.close()


# -- the driver ----------------------------------------------------------------------------


CHANNEL: list[str] = []  # (the children's --channel, when one was given)
WINDOW: list[str] = []  # (the children's --window-kib, likewise)


class Child:
    def __init__(self, root: Path, *args: str) -> None:
        self.p = subprocess.Popen(
            [sys.executable, __file__, "--root", str(root), *CHANNEL, *WINDOW, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def read(self, key: str, pred: Any = None) -> dict[str, Any]:
        assert self.p.stdout is not None
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"child exited before sending {key!r}")
            obj = json.loads(line)
            if key in obj and (pred is None or pred(obj)):
                return obj

    def send(self, obj: dict[str, Any]) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(json.dumps(obj) + "\n")
        self.p.stdin.flush()


def run(size: int, keys: bool = True, copy_first: bool = False,
        quiet: bool = False) -> dict[str, Any]:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kith-bench-files-", dir=os.environ.get("TMPDIR"))\
            as tmp:
        root = Path(tmp)
        asyncio.run(setup(root, size, keys, quiet))
        alice = Child(root, "--role", "sender")
        port = alice.read("ready")["ready"]

        def plain_copy() -> dict[str, Any]:
            got = bob.read("copy_port")
            alice.send({"copy_port": got["copy_port"]})
            return bob.read("copy_seconds")

        bob = Child(root, "--role", "receiver", "--name", "bob", "--port", str(port), "--copy",
                    *(["--copy-first"] if copy_first else []))
        if copy_first:
            copy = plain_copy()
        alice.send({"cpu": 1})
        alice_cpu0 = alice.read("cpu")["cpu"]
        if copy_first:
            bob.send({"go": 1})
        took = bob.read("seconds")
        alice.send({"cpu": 1})
        alice_cpu = alice.read("cpu")["cpu"] - alice_cpu0
        if not copy_first:
            copy = plain_copy()
        bob_rss = bob.read("rss")["rss"]
        bob.p.wait()

        carol = Child(root, "--role", "receiver", "--name", "carol", "--port", str(port))
        device = carol.read("device")["device"]
        carol.read("have", lambda o: o["have"] >= size // 2)
        carol.p.send_signal(signal.SIGKILL)
        carol.p.wait()
        alice.send({"served_to": device})
        at_kill = alice.read("served")["served"]
        carol = Child(root, "--role", "receiver", "--name", "carol", "--port", str(port))
        carol.read("seconds")
        carol_rss = carol.read("rss")["rss"]
        carol.p.wait()
        alice.send({"served_to": device})
        sent_to_carol = alice.read("served")["served"]
        alice.send({})
        alice_rss = alice.read("rss")["rss"]
        alice.p.wait()

    rate = size / took["seconds"]
    copy_rate = size / copy["copy_seconds"]
    return {
        "size_mb": size / 1e6,
        "files_sealed_at_rest": keys,
        "channel": CHANNEL[1] if CHANNEL else "best",
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "kith_seconds": round(took["seconds"], 2),
        "kith_mb_s": round(rate / 1e6, 1),
        "receiver_cpu_s": round(took["cpu"], 2),
        "sender_cpu_s": round(alice_cpu, 2),
        "cpu_s_per_gib": {"receiver": round(took["cpu"] * (1 << 30) / size, 2),
                          "sender": round(alice_cpu * (1 << 30) / size, 2)},
        "plain_copy_seconds": round(copy["copy_seconds"], 2),
        "plain_copy_mb_s": round(copy_rate / 1e6, 1),
        "ratio": round(rate / copy_rate, 3),
        "rss_mb": {"sender": round(alice_rss, 1), "receiver": round(bob_rss, 1),
                   "resumed_receiver": round(carol_rss, 1)},
        "resume": {"sent_before_kill": at_kill, "sent_in_all": sent_to_carol,
                   "over_size_percent": round(100 * (sent_to_carol - size) / size, 3)},
        "targets_met": {
            "ratio_at_least_a_third": rate / copy_rate >= 1 / 3,
            "rss_under_150_mb": max(alice_rss, bob_rss, carol_rss) < 150,
            "resume_under_1_percent": sent_to_carol < 1.01 * size,
        },
    }


def spread(values: list[float], fmt: str) -> str:
    """Median and range, for a line of the report."""
    return (f"median {format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)} to {format(max(values), fmt)})")


def rounds(n: int, size: int, keys: bool) -> None:
    """``n`` runs, the Kith transfer and the plain copy in alternating order; each
    round's figures as it ends, then medians, ranges and the verdicts on the medians."""
    got: list[dict[str, Any]] = []
    print(f"bench_files: {n} rounds of {size / 1e6:.0f} MB, Kith first in odd rounds, the "
          f"plain copy first in even ones", flush=True)
    for i in range(n):
        r = run(size, keys, copy_first=i % 2 == 1, quiet=True)
        got.append(r)
        print(f"  round {i + 1} ({'copy' if i % 2 else 'Kith'} first; load "
              f"{r['load_before'][0]:.2f}): Kith {r['kith_mb_s']:.1f} MB/s, plain copy "
              f"{r['plain_copy_mb_s']:.1f} MB/s, ratio {r['ratio']:.3f}; resume "
              f"{r['resume']['over_size_percent']:+.3f} %; peak RSS "
              f"{max(r['rss_mb'].values()):.1f} MB; CPU s/GiB receiver "
              f"{r['cpu_s_per_gib']['receiver']:.2f}, sender {r['cpu_s_per_gib']['sender']:.2f}",
              flush=True)
    ratios = [r["ratio"] for r in got]
    resume = [r["resume"]["over_size_percent"] for r in got]
    rss = [max(r["rss_mb"].values()) for r in got]
    print(f"  Kith MB/s {spread([r['kith_mb_s'] for r in got], '.1f')}")
    print(f"  plain copy MB/s {spread([r['plain_copy_mb_s'] for r in got], '.1f')}")
    print(f"  ratio pair by pair: {', '.join(f'{x:.3f}' for x in ratios)}; "
          f"{spread(ratios, '.3f')}")
    print(f"  resume, sent over the size: {', '.join(f'{x:+.3f} %' for x in resume)}; "
          f"{spread(resume, '+.3f')} %")
    print(f"  peak RSS (either side) MB {spread(rss, '.1f')}")
    verdicts = [
        ("rate at least a third of the plain copy's (median ratio)",
         statistics.median(ratios) >= 1 / 3),
        ("peak RSS under 150 MB (median)", statistics.median(rss) < 150),
        ("resume sends under 1 % more than the size (median)",
         statistics.median(resume) < 1),
    ]
    for what, ok in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}: {what}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=1024 * 1.048576, help="file size in MB "
                    "(default: 1 GiB)")
    ap.add_argument("--role")
    ap.add_argument("--root")
    ap.add_argument("--name")
    ap.add_argument("--port", type=int)
    ap.add_argument("--copy", action="store_true")
    ap.add_argument("--copy-first", action="store_true")
    ap.add_argument("--rounds", type=int, default=1,
                    help="runs, the Kith transfer and the plain copy in alternating order; "
                    "more than 1: medians, ranges and verdicts (default: 1, as JSON)")
    ap.add_argument("--window-kib", type=int,
                    help="the receiver's request window per holder, in KiB (default: "
                    "p2p.files.transfer's)")
    ap.add_argument("--plain-profiles", action="store_true",
                    help="profiles without a data key (files stored in clear)")
    ap.add_argument("--channel", choices=["best", "chacha"], default="best",
                    help="the channel's transport cipher: the best both offer (AEGIS-256), "
                    "or ChaChaPoly as a node that offers none would use (to compare)")
    args = ap.parse_args()
    if args.channel == "chacha":
        from kith.p2p import channel_cipher

        channel_cipher.OFFERED = ()
        CHANNEL[:] = ["--channel", "chacha"]
    if args.window_kib:
        from kith.p2p.files import transfer

        transfer.WINDOW_BYTES = args.window_kib * 1024
        WINDOW[:] = ["--window-kib", str(args.window_kib)]
    if args.role:
        prof = None
        if os.environ.get("KITH_PROFILE"):
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        if args.role == "sender":
            asyncio.run(sender(Path(args.root)))
        else:
            asyncio.run(receiver(Path(args.root), args.name, args.port, args.copy,
                                 args.copy_first))
        if prof is not None:
            prof.disable()
            import pstats

            out = Path(os.environ["KITH_PROFILE"]) / f"{args.role}-{args.name or ''}.txt"
            with out.open("a") as f:
                pstats.Stats(prof, stream=f).sort_stats("tottime").print_stats(18)
    elif args.rounds > 1:
        rounds(args.rounds, int(args.mb * 1e6), not args.plain_profiles)
    else:
        print(json.dumps(run(int(args.mb * 1e6), not args.plain_profiles), indent=2))


if __name__ == "__main__":
    main()
