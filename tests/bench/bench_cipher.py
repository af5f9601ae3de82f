"""Benchmark: an encrypted profile (SQLCipher) against a plain one, in the same run.

Run inside a private network namespace (it only uses loopback)::

    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_cipher.py'
    unshare -n sh -c 'ip link set lo up; .venv/bin/python tests/bench/bench_cipher.py \\
        --messages 100000 --history 100000 --rounds 5'

0. first, in this process: the CPU time of the store alone writing messages in commits
   of 50 and paging back through them (``--pragma`` tries a SQLCipher setting beside it;
   ``--only store`` stops there);
1. ``bench_messages.py``: sustained one-way messages/s between two nodes in two
   processes (both stores encrypted in the encrypted run);
2. ``bench_link_sync.py``: the whole history to a newly linked device (the sender's
   and the receiver's stores encrypted);
3. in this process: opening a profile with a 100k-message chat and reading its newest
   page (what the app does to show a chat).

1 and 2 run ``--rounds`` times each, plain and encrypted alternately (plain first in odd
rounds, encrypted first in even ones, so that a drift of the machine's speed hits both
alike); ``--binding`` adds sqlcipher3 without a key (what its Python binding costs by
itself), ``--pragma`` an encrypted variant with that SQLCipher setting. For each: the
benchmark's own figure and the CPU time (user + sys) and bytes written of its sender's
and receiver's processes, as median and range. Each encrypted run is compared with the
plain run of its round; the verdict, PASS or FAIL, is the median of those per-pair
ratios against the target, for the figure and for the CPU time. On a shared machine the
figure (wall time) moves with the others' load, the CPU time much less.

The encrypted runs pass a random data key to the children in ``KITH_BENCH_DB_KEY``;
only this file reads it, and makes every ``Store`` of that process open with it.

Target (issue 16): encrypted at most 15 % slower than plain.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import importlib
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

KEY_ENV = "KITH_BENCH_DB_KEY"
RUN_ENV = "KITH_BENCH_CIPHER_RUN"  # the benchmark module a child process runs
PRAGMAS_ENV = "KITH_BENCH_CIPHER_PRAGMAS"  # "a=1;b=2": SQLCipher settings to try
CPU_ENV = "KITH_BENCH_CIPHER_CPU"  # a directory: each measured process writes its CPU time
MEASURED_ROLES = ("sender", "receiver")  # the processes of both benchmarks that run a Node
TARGET = 0.15
BINDING_ONLY = "binding"

PATTERNS = {
    # module: (its figure in its output, unit, higher is better, format)
    "bench_messages": (r"sustained one-way:\s+([\d,]+) messages/s", "messages/s", True, ",.0f"),
    "bench_link_sync": (r"history sync: [\d,]+ messages in ([\d.]+) s", "s", False, ".2f"),
}


def use_key_from_env() -> None:
    """In a child: every Store of this process opens with the key in KITH_BENCH_DB_KEY
    (or, for ``binding``, through sqlcipher3 without a key: what the library's Python
    binding costs by itself)."""
    hexkey = os.environ.get(KEY_ENV)
    if not hexkey:
        return
    import kith.storage.db
    from kith.storage import cipher

    if hexkey == BINDING_ONLY:
        import sqlcipher3.dbapi2 as sqlcipher

        def unkeyed(path: Path | str, key: bytes | None, *, check_same_thread: bool = False):
            return sqlcipher.connect(str(path), isolation_level=None,
                                     check_same_thread=check_same_thread)

        cipher.connect = unkeyed  # type: ignore[assignment]
        return
    bench_key = bytes.fromhex(hexkey)
    real_init = kith.storage.db.Store.__init__

    def keyed(self, path: Path | str, key: bytes | None = None) -> None:  # noqa: ANN001
        real_init(self, path, key if key is not None else bench_key)  # (a node passes None)

    kith.storage.db.Store.__init__ = keyed  # type: ignore[method-assign]
    pragmas = [p for p in os.environ.get(PRAGMAS_ENV, "").split(";") if p]
    if pragmas:  # SQLCipher settings to try (each connection, right after the key)
        apply_key = cipher._apply_key

        def with_pragmas(conn, key: bytes) -> None:  # noqa: ANN001
            apply_key(conn, key)
            for pragma in pragmas:
                conn.execute(f"PRAGMA {pragma}")

        cipher._apply_key = with_pragmas


def child() -> None:
    """Run one benchmark module as its own script would, its children through this file
    (so that they too pick up the key). A process of a role (the benchmark's sender and
    receiver) writes its CPU time at exit into the directory named by CPU_ENV."""
    use_key_from_env()
    cpu_dir = os.environ.get(CPU_ENV)
    if cpu_dir and "--role" in sys.argv:
        role = sys.argv[sys.argv.index("--role") + 1]
        if role in MEASURED_ROLES:
            atexit.register(write_cpu, Path(cpu_dir) / f"{role}-{os.getpid()}")
    module = importlib.import_module(os.environ[RUN_ENV])
    module.__file__ = __file__  # its children: `python <__file__> --role ...`
    module.main()


def write_cpu(path: Path) -> None:
    """At exit: this process's CPU seconds (user + sys) and the bytes it wrote."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    written = 0
    with contextlib.suppress(OSError, ValueError), open("/proc/self/io") as f:
        written = int(dict(line.split(": ") for line in f.read().splitlines())["wchar"])
    path.write_text(f"{usage.ru_utime + usage.ru_stime:.6f} {written}")


@dataclass(frozen=True)
class Run:
    figure: float  # the benchmark's own figure (messages/s, or seconds of the sync)
    cpu: float  # CPU seconds (user + sys) of its sender and receiver processes
    written: int  # bytes those processes wrote (write calls: the database, its log)


@dataclass(frozen=True)
class Variant:
    label: str
    key: str | None  # None: plain; "random": a new key each run; BINDING_ONLY
    pragmas: tuple[str, ...] = ()


PLAIN = Variant("plain", None)
ENCRYPTED = Variant("encrypted", "random")


def run_once(module: str, args: list[str], variant: Variant) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, RUN_ENV, PRAGMAS_ENV)}
    env[RUN_ENV] = module
    if variant.key is not None:
        env[KEY_ENV] = os.urandom(32).hex() if variant.key == "random" else variant.key
    if variant.pragmas:
        env[PRAGMAS_ENV] = ";".join(variant.pragmas)
    with tempfile.TemporaryDirectory(prefix="kith-bench-cpu-") as cpu_dir:
        env[CPU_ENV] = cpu_dir
        out = subprocess.run(
            [sys.executable, __file__, *args], env=env, capture_output=True, text=True,
            timeout=1800, check=False,
        )
        cpu_files = list(Path(cpu_dir).iterdir())
        measured = [f.read_text().split() for f in cpu_files]
        cpu = sum(float(c) for c, _ in measured)
        written = sum(int(w) for _, w in measured)
    if out.returncode != 0:
        raise SystemExit(f"{module} failed:\n{out.stdout}\n{out.stderr}")
    match = re.search(PATTERNS[module][0], out.stdout)
    if not match:
        raise SystemExit(f"{module}: no figure in its output:\n{out.stdout}")
    if len(cpu_files) != len(MEASURED_ROLES):
        raise SystemExit(f"{module}: CPU time of {len(cpu_files)} processes, expected "
                         f"{len(MEASURED_ROLES)}")
    return Run(float(match.group(1).replace(",", "")), cpu, written)


def spread(values: list[float], fmt: str) -> str:
    """Median and range, for a line of the report."""
    return (f"median {format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)} to {format(max(values), fmt)})")


def compare(
    module: str, args: list[str], rounds: int, others: list[Variant]
) -> tuple[bool, bool]:
    """Plain and encrypted (and ``others``) alternately, ``rounds`` times: round 1 plain
    first, round 2 encrypted first, and so on, so that a drift of the machine's speed
    hits both alike. Each encrypted run is compared with the plain run of its round
    (ratio per pair); the verdicts are the medians of those against TARGET, for the
    figure and for the CPU time."""
    _, unit, higher_is_better, fmt = PATTERNS[module]
    variants = [PLAIN, ENCRYPTED, *others]
    runs: dict[str, list[Run]] = {v.label: [] for v in variants}
    for i in range(rounds):
        for v in variants if i % 2 == 0 else [variants[1], variants[0], *variants[2:]]:
            runs[v.label].append(run_once(module, args, v))

    def slower(plain: Run, other: Run) -> float:
        if higher_is_better:
            return plain.figure / other.figure - 1
        return other.figure / plain.figure - 1

    print(f"{module} {' '.join(args)}: {rounds} rounds, plain and encrypted alternately "
          f"(CPU: user + sys of the sender's and the receiver's processes)")
    width = max(len(v.label) for v in variants)
    for v in variants:
        got = runs[v.label]
        print(f"  {v.label:<{width}}  {unit} {spread([r.figure for r in got], fmt)}; "
              f"cpu s {spread([r.cpu for r in got], '.2f')}; MB written "
              f"{spread([r.written / 1e6 for r in got], ',.0f')}")
    verdict = (True, True)
    for v in variants[1:]:
        pairs = list(zip(runs["plain"], runs[v.label], strict=True))
        ratios = [slower(p, e) for p, e in pairs]
        cpu = [e.cpu / p.cpu - 1 for p, e in pairs]
        median, cpu_median = statistics.median(ratios), statistics.median(cpu)
        ok = (median <= TARGET, cpu_median <= TARGET)
        if v is ENCRYPTED:
            verdict = ok
        print(f"  {v.label} against plain, pair by pair: slower "
              f"{', '.join(f'{r * 100:+.1f} %' for r in ratios)}; median "
              f"{median * 100:+.1f} %: {'PASS' if ok[0] else 'FAIL'} (target <= "
              f"{TARGET * 100:.0f} %)")
        print(f"  {' ' * len(v.label)}   cpu {', '.join(f'{r * 100:+.1f} %' for r in cpu)}; "
              f"median {cpu_median * 100:+.1f} %: {'PASS' if ok[1] else 'FAIL'}")
    return verdict


def open_chat(n: int, rounds: int) -> None:
    """Open a profile whose chat has ``n`` messages and read the newest 50 (cold open of
    the store included, as at the app's start)."""
    from kith.storage import MessageRow, Store

    conv = hashlib.blake2b(b"conv", digest_size=32).digest()
    me, peer = b"\xaa" * 32, b"\xbb" * 32
    with tempfile.TemporaryDirectory(prefix="kith-bench-cipher-") as tmp:
        results = {}
        for label, key in (("plain", None), ("encrypted", os.urandom(32))):
            path = Path(tmp) / f"{label}.db"
            s = Store(path, key=key)
            s.ensure_conversation(conv, "direct", [(me, "member"), (peer, "member")],
                                  peer_user=peer)
            batch = []
            for seq in range(1, n + 1):
                eid = hashlib.blake2b(seq.to_bytes(8, "big"), digest_size=32).digest()
                batch.append(MessageRow(eid, conv, me, me, seq, seq, seq,
                                        f"message number {seq}, bring the tickets", True))
                if len(batch) == 10_000:
                    s.insert_messages(batch)
                    batch = []
            s.insert_messages(batch)
            s.close()
            best = float("inf")
            for _ in range(rounds * 3):
                t = time.perf_counter()
                s = Store(path, key=key)
                page = s.messages(conv, limit=50)
                best = min(best, time.perf_counter() - t)
                s.close()
            assert len(page) == 50
            results[label] = best
        print(f"open a {n:,}-message chat (store open + newest 50): plain "
              f"{results['plain'] * 1000:.1f} ms, encrypted {results['encrypted'] * 1000:.1f} ms "
              "(target < 100 ms)")


def store_writes(n: int, rounds: int, pragmas: list[str]) -> None:
    """CPU seconds (all threads of this process: the checkpointer too) to write ``n``
    messages in commits of 50, as the node's group commit does, then to page back
    through them: plain, encrypted, and encrypted with ``pragmas`` (SQLCipher settings
    to try). CPU time, unlike throughput, hardly moves with the other load of a shared
    machine."""
    from kith.storage import MessageRow, Store, cipher

    conv = hashlib.blake2b(b"conv", digest_size=32).digest()
    me, peer = b"\xaa" * 32, b"\xbb" * 32
    apply_key = cipher._apply_key

    def one(key: bytes | None, extra: list[str]) -> tuple[float, float]:
        def with_extra(conn, k: bytes) -> None:  # noqa: ANN001
            apply_key(conn, k)
            for pragma in extra:
                conn.execute(f"PRAGMA {pragma}")

        cipher._apply_key = with_extra  # type: ignore[assignment]
        try:
            with tempfile.TemporaryDirectory(prefix="kith-bench-cipher-") as tmp:
                s = Store(Path(tmp) / "kith.db", key=key)
                s.ensure_conversation(conv, "direct", [(me, "member"), (peer, "member")],
                                      peer_user=peer)
                t = time.process_time()
                for start in range(0, n, 50):
                    rows = [MessageRow(
                        hashlib.blake2b(seq.to_bytes(8, "big"), digest_size=32).digest(),
                        conv, me, me, seq, seq, seq,
                        f"message number {seq}, bring the tickets", True,
                    ) for seq in range(start + 1, min(start + 50, n) + 1)]
                    with s.transaction():
                        s.insert_messages(rows)
                write = time.process_time() - t
                t = time.process_time()
                before = None
                for _ in range(n // 50):
                    page = s.messages(conv, limit=50, before=before)
                    before = (page[0].lamport, page[0].author)
                read = time.process_time() - t
                s.close()
        finally:
            cipher._apply_key = apply_key  # type: ignore[assignment]
        return write, read

    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "encrypted": []}
    if pragmas:
        runs[" ".join(pragmas)] = []
    for i in range(rounds):  # alternately, plain first then encrypted first
        order = [("plain", None, []), ("encrypted", os.urandom(32), [])]
        if pragmas:
            order.append((" ".join(pragmas), os.urandom(32), pragmas))
        if i % 2:
            order[0], order[1] = order[1], order[0]
        for label, key, extra in order:
            runs[label].append(one(key, extra))
    plain = runs["plain"]
    for label, got in runs.items():
        line = (f"store, {n:,} messages in commits of 50, {label}: write cpu s "
                f"{spread([w for w, _ in got], '.2f')}, page back cpu s "
                f"{spread([r for _, r in got], '.3f')}")
        if label != "plain":
            w = statistics.median(e[0] / p[0] - 1 for p, e in zip(plain, got, strict=True))
            r = statistics.median(e[1] / p[1] - 1 for p, e in zip(plain, got, strict=True))
            line += f"; against plain, median of the pairs: write {w * 100:+.0f} %, " \
                    f"page back {r * 100:+.0f} %"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=50_000, help="messages to send")
    ap.add_argument("--history", type=int, default=100_000, help="history to sync")
    ap.add_argument("--chat", type=int, default=100_000, help="messages in the opened chat")
    ap.add_argument("--rounds", type=int, default=3,
                    help="runs of each variant (plain and encrypted alternate)")
    ap.add_argument("--store", type=int, default=40_000, help="messages of the store test")
    ap.add_argument("--pragma", action="append", default=[],
                    help="a SQLCipher setting to try beside the encrypted runs, in the store "
                    "test and the node benchmarks (cipher_page_size=8192)")
    ap.add_argument("--binding", action="store_true",
                    help="also run sqlcipher3 without a key (its binding's own cost)")
    ap.add_argument("--only", choices=["store", "messages", "sync"],
                    help="only the store test, or only one of the node benchmarks")
    ap.add_argument("--store-only", action="store_true", help="the same as --only store")
    args = ap.parse_args()
    only = "store" if args.store_only else args.only
    others = []
    if args.pragma:
        others.append(Variant(" ".join(args.pragma), "random", tuple(args.pragma)))
    if args.binding:
        others.append(Variant("sqlcipher3 without a key", BINDING_ONLY))
    if only in (None, "store"):
        store_writes(args.store, max(args.rounds, 3), args.pragma)
    if only == "store":
        return
    verdicts = {}
    if only is None:
        open_chat(args.chat, args.rounds)
    if only in (None, "messages"):
        verdicts["message throughput"] = compare(
            "bench_messages", ["-n", str(args.messages)], args.rounds, others)
    if only in (None, "sync"):
        verdicts["history sync"] = compare(
            "bench_link_sync", ["-n", str(args.history)], args.rounds, others)
    print(f"cpu count: {os.cpu_count()}")
    print(f"issue 16 (encrypted at most {TARGET * 100:.0f} % slower, median of the pairs): "
          + ", ".join(f"{name} {'PASS' if wall else 'FAIL'} (cpu {'PASS' if cpu else 'FAIL'})"
                      for name, (wall, cpu) in verdicts.items()))


if __name__ == "__main__":
    if os.environ.get(RUN_ENV):
        child()
    else:
        main()
