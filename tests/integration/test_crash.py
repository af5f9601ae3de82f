"""Crash at any moment: what a node acknowledged is on its disk, and nothing is half-written.

Bob runs as a real `kith daemon` process; Alice (in this process) streams messages to him
and, as soon as his delivery receipts have acknowledged a good part of them, Bob is killed
with SIGKILL in the middle of the stream. His database must then hold every message he
acknowledged, each exactly once, with an intact hash chain, and open cleanly.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from clikit import new_profile
from nodekit import until

from kith.p2p import events as ev
from kith.p2p.events import direct_conversation
from kith.p2p.keystore import KeyStore
from kith.p2p.node import StatusChanged
from kith.p2p.profile import DB_FILE
from kith.storage import STATUS_DELIVERED, Store

ROOT = Path(__file__).resolve().parents[2]
N = 3000


async def _kith(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kith.app.cli", *args, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"]},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )


async def _run(*args: str) -> str:
    proc = await _kith(*args)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_acknowledged_messages_survive_sigkill(nodes, tmp_path):
    alice = await nodes("alice")
    bob_dir = tmp_path / "bob"
    new_profile(bob_dir, "bob")  # (as `kith init` makes it, without a process)
    daemon = await _kith("--profile", str(bob_dir), "--interface", "127.0.0.1", "daemon")
    try:
        assert daemon.stdout is not None
        line = (await asyncio.wait_for(daemon.stdout.readline(), 30)).decode()
        match = re.search(r"ready: .* port (\d+)", line)
        assert match, line
        await alice.connect("127.0.0.1", int(match.group(1)))
        await alice.add_contact("bob")
        await _run("--profile", str(bob_dir), "accept", "alice")
        await until(lambda: alice.contacts()[0].state == "accepted", alice, timeout=15)

        conv = direct_conversation(alice.user_id, alice.contacts()[0].user_id)
        acked = 0
        enough = asyncio.Event()

        def on_event(e: object) -> None:
            nonlocal acked
            if isinstance(e, StatusChanged) and e.conv == conv and e.author == alice.device_id \
                    and e.status >= STATUS_DELIVERED:
                acked = max(acked, e.up_to_seq)
                if acked >= N // 3:
                    enough.set()

        unsubscribe = alice.subscribe(on_event)
        first = alice.db.vector(conv).get(alice.device_id, 0)
        for i in range(N):
            alice.queue_message(alice.contacts()[0].user_id, f"message {i}")
            if i % 100 == 99:
                await asyncio.sleep(0)  # let the stream flow while we keep queueing
        await asyncio.wait_for(enough.wait(), 30)
        daemon.send_signal(signal.SIGKILL)  # mid-stream: more is in flight
        await daemon.wait()
        unsubscribe()
        assert daemon.returncode == -signal.SIGKILL
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()

    assert acked > first
    store = Store(bob_dir / DB_FILE, key=KeyStore(bob_dir).unlock())  # (in the test keyring)
    try:
        assert store.execute("PRAGMA integrity_check") == [("ok",)]
        have = store.vector(conv).get(alice.device_id, 0)
        assert have >= acked  # everything acknowledged is there
        chain = [ev.decode(h, b) for h, b in store.events_after(conv, alice.device_id, 0, N + 10)]
        assert [e.event.seq for e in chain] == list(range(1, have + 1))  # no gap or duplicate
        ev.verify_chain(None, chain)  # every stored event links to the one before
        texts = [m.text for m in store.messages(conv, limit=N + 10) if m.outgoing is False]
        assert len(texts) == len(set(texts)) == have - first
    finally:
        store.close()
