"""The fuzzing and kill -9 campaigns, at a size CI can afford (hardening: keep what holds).

``KITH_CAMPAIGN_SCALE`` multiplies their size: 1 here (a few thousand frames, ten kills),
more by hand (``tests/bench/campaigns.py`` runs them at full size and prints the
figures). Each checks what must hold whatever the peer sends or however often a node
dies: nothing crashes, nothing acknowledged is lost or duplicated, chains stay intact,
and the node keeps serving the people it knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import signal

import msgspec
from clikit import new_profile
from nodekit import befriend, until
from test_crash import _kith, _run
from test_hostile import RawPeer, assert_still_serves

from kith.p2p import events as ev
from kith.p2p import wire
from kith.p2p.events import direct_conversation
from kith.p2p.identity import Identity
from kith.p2p.keystore import KeyStore
from kith.p2p.node import StatusChanged
from kith.p2p.profile import DB_FILE
from kith.storage import STATUS_DELIVERED, Store

SCALE = int(os.environ.get("KITH_CAMPAIGN_SCALE", "1"))
HANDSHAKES = 500 * SCALE  # connections sending mutated handshake bytes
FRAMES = 2000 * SCALE  # mutated transport frames after a valid handshake
KILLS = 10 * SCALE
PER_KILL = 150  # messages streamed between two kills


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One of: flipped bits, a cut, random bytes spliced in, a duplicated stretch."""
    b = bytearray(data)
    how = rng.randrange(4)
    if how == 0 and b:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif how == 1 and b:
        del b[rng.randrange(len(b)):]
    elif how == 2:
        at = rng.randrange(len(b) + 1)
        b[at:at] = rng.randbytes(rng.randint(1, 64))
    elif b:
        at = rng.randrange(len(b))
        b[at:at] = b[at: at + rng.randint(1, 64)]
    return bytes(b)


def _samples(bob_user: bytes, eve: Identity) -> list[bytes]:
    """Well-formed messages of every type, to mutate."""
    conv = direct_conversation(eve.user_id, bob_user)
    head = b"\x92" + msgspec.msgpack.encode(b"h" * 40) + msgspec.msgpack.encode(b"")
    msgs: list[wire.Message] = [
        wire.Digest([(conv, b"d" * 32)]), wire.Want(conv, {eve.device_id: 3}),
        wire.Events([(head, b"body")]), wire.Certs([eve.cert]), wire.Revoke([]),
        wire.Typing(conv, True), wire.Profile("eve"), wire.Handoff(conv, "draft"),
        wire.Presence([bob_user]), wire.Ping(1), wire.Link(b"x" * 20),
    ]
    return [wire.encode(m) for m in msgs]


def _no_crash(caplog) -> None:
    """Nothing of the node failed unexpectedly (an error, a task that died)."""
    bad = [r for r in caplog.records
           if r.levelno >= logging.ERROR or r.exc_info is not None
           or "Task exception" in r.getMessage()]
    assert not bad, "\n".join(r.getMessage() for r in bad[:5])


async def test_mutated_handshakes_crash_nothing(nodes, caplog):
    caplog.set_level(logging.WARNING)
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    rng = random.Random(20261202)
    hello = RawPeer(Identity.generate("eve")).session.initiate()  # a valid message 1
    for i in range(HANDSHAKES):
        reader, writer = await asyncio.open_connection("127.0.0.1", bob.port)
        writer.write(_mutate(hello, rng) if i % 2 else rng.randbytes(rng.randint(0, 200)))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()
        if i % 50 == 49:  # let the node keep up with the closes
            await asyncio.sleep(0)
    await until(lambda: len([c for c in bob.net.conns if not c.established]) == 0, bob,
                timeout=30)
    await assert_still_serves(alice, bob)
    _no_crash(caplog)


async def test_mutated_frames_after_a_valid_handshake_crash_nothing(nodes, caplog):
    caplog.set_level(logging.WARNING)
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    stored = bob.store.count_events()
    rng = random.Random(1202)
    sent = 0
    connections = 0
    while sent < FRAMES:
        eve = Identity.generate("eve")
        peer = RawPeer(eve)
        await peer.open(bob.port)
        connections += 1
        samples = _samples(bob.user_id, eve)
        for _ in range(rng.randint(1, 40)):
            payload = _mutate(rng.choice(samples), rng)
            try:
                peer.writer.write(peer.session.send_encoded(payload))
            except Exception:  # noqa: BLE001 - our own session refused to frame it
                continue
            sent += 1
        with contextlib.suppress(ConnectionError):
            await peer.writer.drain()
        peer.close()
    assert connections > 1
    await assert_still_serves(alice, bob)
    assert bob.store.count_events() >= stored  # (what strangers sent is never stored...)
    conv = direct_conversation(alice.user_id, bob.user_id)
    assert set(bob.db.vector(conv)) <= {alice.device_id, bob.device_id}  # ...only ours
    _no_crash(caplog)


async def test_kill_9_again_and_again_loses_nothing_acknowledged(nodes, tmp_path):
    alice = await nodes("alice")
    bob_dir = tmp_path / "bob"
    new_profile(bob_dir, "bob")  # (as `kith init` makes it, without a process)
    port = 0
    daemon = None

    async def start_bob() -> asyncio.subprocess.Process:
        nonlocal port
        args = ["--profile", str(bob_dir), "--interface", "127.0.0.1", "daemon"]
        proc = await _kith(*(args + (["--port", str(port)] if port else [])))
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        match = re.search(r"ready: .* port (\d+)", line)
        if not match:  # say why it did not start
            rest, _ = await asyncio.wait_for(proc.communicate(), 30)
            raise AssertionError(f"bob's daemon did not start:\n{line}{rest.decode()}")
        port = int(match.group(1))
        return proc

    try:
        daemon = await start_bob()
        await alice.connect("127.0.0.1", port)
        await alice.add_contact("bob")
        await _run("--profile", str(bob_dir), "accept", "alice")
        await until(lambda: alice.contacts()[0].state == "accepted", alice, timeout=15)
        bob_user = alice.contacts()[0].user_id
        conv = direct_conversation(alice.user_id, bob_user)
        acked = 0
        target = asyncio.Event()
        want = 0

        def on_event(e: object) -> None:
            nonlocal acked
            if isinstance(e, StatusChanged) and e.conv == conv and e.status >= STATUS_DELIVERED:
                acked = max(acked, e.up_to_seq)
                if acked >= want:
                    target.set()

        unsubscribe = alice.subscribe(on_event)
        first = alice.db.vector(conv).get(alice.device_id, 0)
        sent = 0
        for _kill in range(KILLS):
            want = acked + PER_KILL // 3
            target.clear()
            for _ in range(PER_KILL):
                alice.queue_message(bob_user, f"message {sent}")
                sent += 1
            await asyncio.wait_for(target.wait(), 60)
            daemon.send_signal(signal.SIGKILL)  # mid-stream: more is in flight
            await daemon.wait()
            assert daemon.returncode == -signal.SIGKILL
            daemon = await start_bob()  # same port: alice redials by herself
        await alice.flush()
        last = alice.db.vector(conv)[alice.device_id]
        want = last
        target.clear()
        if acked < last:
            await asyncio.wait_for(target.wait(), 60)  # everything arrives in the end
        unsubscribe()
    finally:
        if daemon is not None and daemon.returncode is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(daemon.wait(), 20)
            except TimeoutError:
                daemon.kill()
                await daemon.wait()

    store = Store(bob_dir / DB_FILE, key=KeyStore(bob_dir).unlock())  # (in the test keyring)
    try:
        assert store.execute("PRAGMA integrity_check") == [("ok",)]
        have = store.vector(conv).get(alice.device_id, 0)
        assert have == last  # every message, after ten kills
        chain = [ev.decode(h, b) for h, b in store.events_after(conv, alice.device_id, 0,
                                                               last + 10)]
        assert [e.event.seq for e in chain] == list(range(1, have + 1))
        ev.verify_chain(None, chain)
        texts = [m.text for m in store.messages(conv, limit=last + 10) if not m.outgoing]
        assert len(texts) == len(set(texts)) == sent  # each exactly once
        assert have - first >= sent
    finally:
        store.close()
