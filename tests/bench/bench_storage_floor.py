"""Benchmark: what storing a history costs SQLite alone, against copying its file.

Run by hand (no network)::

    .venv/bin/python tests/bench/bench_storage_floor.py [-n 100000]

The history-sync benchmark (bench_link_sync.py) compares a new device's sync with a
plain copy of the database file over loopback. This one measures the part of the sync
no protocol work can remove: inserting the same rows as a node does (events with their
heads and bodies, the messages view with its two indexes, the full-text index), in
batches like the receive pipeline's, with prebuilt rows (no decoding, hashing or
signatures), and then copying the finished database file on the same disk. The ratio of
the two is the floor under the sync/copy ratio with this schema. The last variant stores
as a history sync does since schema 11: the search index filled once, after the batches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kith.storage import MessageRow, Store  # noqa: E402

TEXT = "see you at the station at half past five, bring the tickets"
BATCH = 850  # events per transaction, as one socket read of a history stream


def run(
    n: int, *, events: bool = True, messages: bool = True, index: bool = True
) -> tuple[float, float, Path, str]:
    d = Path(tempfile.mkdtemp(prefix="kith-floor-"))
    store = Store(d / "kith.db")
    conv, author, sender = os.urandom(32), os.urandom(32), os.urandom(32)
    head, body = os.urandom(200), os.urandom(70)
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, n, BATCH):
        seqs = range(start + 1, min(n, start + BATCH) + 1)
        with store.transaction():
            if events:
                store.insert_events([
                    (b"", conv, author, s, s, 0, "message", head + s.to_bytes(8, "big"), body)
                    for s in seqs
                ])
            if messages:
                store.insert_messages([
                    MessageRow(os.urandom(32), conv, author, sender, s, s, 0, TEXT, False)
                    for s in seqs
                ], index=index)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = ""
    if not index:  # (what a history sync leaves for later: the search index in one go)
        t1, c1 = time.perf_counter(), time.process_time()
        store.index_pending()
        after = (f"; then the search index in one go: {time.perf_counter() - t1:.2f} s "
                 f"({time.process_time() - c1:.2f} s CPU)")
    store.close()
    return wall, cpu, d, after


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100_000)
    n = ap.parse_args().n
    wall, cpu, d, _ = run(n)
    db = d / "kith.db"
    size = db.stat().st_size
    t0 = time.perf_counter()
    shutil.copyfile(db, d / "copy.db")
    with open(d / "copy.db", "rb+") as f:
        os.fsync(f.fileno())
    copy = time.perf_counter() - t0
    shutil.rmtree(d)
    print(f"store {n:,} messages (events + messages + indexes + FTS): {wall:.2f} s "
          f"({cpu:.2f} s CPU), {n / wall:,.0f}/s; database {size / 1e6:.0f} MB")
    print(f"copy of that file on the same disk: {copy:.3f} s; store / copy = "
          f"{wall / copy:.0f}x")
    variants: tuple[tuple[str, dict[str, bool]], ...] = (
        ("events only", {"messages": False}),
        ("messages + FTS only", {"events": False}),
        ("all, the search index after (as a history sync)", {"index": False}),
    )
    for label, kw in variants:
        w, c, d, after = run(n, **kw)
        shutil.rmtree(d)
        print(f"  {label}: {w:.2f} s ({c:.2f} s CPU){after}")


if __name__ == "__main__":
    main()
