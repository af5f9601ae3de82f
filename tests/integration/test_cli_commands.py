"""`kith history --limit`, `kith connect` being remembered, and `kith daemon` stopping
on a signal: the command line against real nodes on loopback.

The first two drive ``app.cli.main`` in-process (in a worker thread, since it runs its
own event loop) against nodes started with discovery off; the daemon tests run
``python -m kith`` as a real process.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal

import pytest
from clikit import kith_in_process, new_profile, spawn
from nodekit import befriend, make_node, until

from kith.p2p.control import ControlServer
from kith.p2p.profile import ProfileLock, claim, control_socket_path, create_identity
from kith.storage import STATUS_DELIVERED

TEXTS = [f"message {i}" for i in range(1, 6)]  # odd ones from alice, even ones from bob


@pytest.fixture(params=["one-shot", "control socket"])
async def chatted(request, tmp_path, nodes):
    """alice's profile after five messages with bob, alternating senders; the CLI then
    either starts its own node on it (one-shot) or talks to alice's running node."""
    alice = await nodes("alice")
    bob = await nodes("bob")
    await befriend(alice, bob)
    for i, text in enumerate(TEXTS):
        sender, receiver = (alice, bob) if i % 2 == 0 else (bob, alice)
        row = await sender.send_message(receiver.name, text)
        assert await sender.wait_status(row, STATUS_DELIVERED, 10), text
    if request.param == "one-shot":
        await nodes.stop(alice)
        await nodes.stop(bob)
        yield tmp_path / "alice"
        return
    control = ControlServer(alice)
    await control.start()
    try:
        yield tmp_path / "alice"
    finally:
        await control.stop()


async def test_history_limit_gives_the_newest_messages_oldest_first(chatted, capsys):
    profile = str(chatted)
    code, out, err = await kith_in_process(
        capsys, "--profile", profile, "history", "bob", "--json", "--limit", "2"
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [r["text"] for r in rows] == ["message 4", "message 5"]
    for r in rows:
        assert set(r) >= {"id", "from", "text", "time", "status"}, r
        assert len(bytes.fromhex(r["id"])) == 32
        assert isinstance(r["time"], int | float) and isinstance(r["status"], str)
    assert [r["from"] for r in rows] == ["bob", "me"]
    assert rows[1]["status"] == "delivered"
    assert rows[0]["id"] != rows[1]["id"] and rows[0]["time"] <= rows[1]["time"]

    code, out, err = await kith_in_process(capsys, "--profile", profile, "history", "bob")
    assert code == 0, err
    shown = [re.sub(r"^\S+ \S+  (.*?)(  \[\w+\])?$", r"\1", line) for line in out.splitlines()]
    assert shown == [f"{'me' if i % 2 == 0 else 'bob'}: {t}" for i, t in enumerate(TEXTS)]

    code, out, err = await kith_in_process(
        capsys, "--profile", profile, "history", "bob", "--json", "--limit", "1"
    )
    assert code == 0, err
    assert [r["text"] for r in json.loads(out)] == ["message 5"]


async def test_history_refuses_a_limit_that_is_not_a_positive_number(chatted, capsys):
    for bad in ("0", "-1", "-50", "abc", "2.5", ""):
        code, out, err = await kith_in_process(
            capsys, "--profile", str(chatted), "history", "bob", "--json", "--limit", bad
        )
        assert code != 0, (bad, out)
        assert out == "", (bad, out)
        assert "--limit" in err and "Traceback" not in err, (bad, err)
        assert re.search(r"at least 1|positive|whole number", err), (bad, err)


async def test_a_connected_address_is_redialled_by_itself_on_the_next_start(
    tmp_path, nodes, capsys
):
    bob = await nodes("bob")
    alice = await nodes("alice")  # nodekit nodes run without discovery (no mDNS)
    control = ControlServer(alice)
    await control.start()
    try:
        code, out, err = await kith_in_process(
            capsys, "--profile", str(tmp_path / "alice"), "connect", f"127.0.0.1:{bob.port}"
        )
    finally:
        await control.stop()
    assert code == 0, err
    assert out.startswith("connected to bob"), out
    user = alice.user_id
    await nodes.stop(alice)
    await until(lambda: not bob.online(user), bob)

    # A fresh node on alice's profile, still without mDNS and with no connect call:
    # only the remembered address can bring bob back (bob never dials alice: it did
    # not dial her in the first place, and her new node listens on another port).
    again = await nodes("alice")
    assert not again.online(bob.user_id)
    await until(lambda: again.online(bob.user_id) and bob.online(user), again, bob, timeout=5)
    addresses = [a for p in again.peers() if p.user_id == bob.user_id for a in p.addresses]
    assert f"127.0.0.1:{bob.port}" in addresses, addresses


async def test_a_command_waits_for_the_socket_of_a_node_that_is_starting(tmp_path, capsys):
    """The profile is held by a daemon that has not opened its control socket yet: the
    command neither fails nor runs a node of its own; it waits and goes through the
    socket once it is there."""
    profile = tmp_path / "alice"
    create_identity(profile, "alice", device_name="alice")
    lock = claim(profile, "daemon", wait_for=lambda h: False)  # "kith daemon" starting
    node = control = None
    try:
        command = asyncio.ensure_future(
            kith_in_process(capsys, "--profile", str(profile), "whoami", "--json"))
        node = make_node(tmp_path, "alice")
        await node.start()  # nests in the claim, as in `kith daemon`
        control = ControlServer(node)
        assert not command.done()  # it cannot have run: the lock is held, no socket yet
        await control.start()
        code, out, err = await asyncio.wait_for(command, 60)
    finally:
        if control is not None:
            await control.stop()
        if node is not None:
            await node.stop()
        lock.release()
    assert code == 0, err
    assert json.loads(out)["port"] == node.port  # only the running node knows its port


# -- kith daemon as a real process ------------------------------------------------------


async def next_line(stream: asyncio.StreamReader | None, timeout: float = 20) -> str:
    assert stream is not None
    raw = await asyncio.wait_for(stream.readline(), timeout)
    assert raw, "the stream ended"
    return raw.decode()


async def stop(proc: asyncio.subprocess.Process | None) -> None:
    if proc is not None and proc.returncode is None:
        proc.kill()
        await proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_the_daemon_stops_cleanly_on_a_signal_and_frees_the_profile(
    tmp_path, mdns_isolated, sig, capsys
):
    # (mdns_isolated: the daemon announces itself over mDNS on 127.0.0.1)
    profile = tmp_path / "alice"
    new_profile(profile, "alice", device_name="alice")
    daemon = listener = None
    try:
        daemon = await spawn(profile, "daemon")
        ready = await next_line(daemon.stdout)
        assert ready.startswith("kith daemon ready: alice"), ready
        assert ProfileLock.held(profile) and control_socket_path(profile).exists()
        # A client still attached over the control socket must not hold the stop up.
        listener = await spawn(profile, "listen", "--json")
        told = await next_line(listener.stderr)
        assert "listening for messages" in told, told

        daemon.send_signal(sig)
        out, err = await asyncio.wait_for(daemon.communicate(), 10)
        assert daemon.returncode == 0, (out, err)
        assert out.decode().splitlines() == ["kith daemon stopped"], out
        assert "Traceback" not in err.decode(), err.decode()
        assert err.decode() == "", err.decode()
        # The attached client sees the socket close and ends normally.
        assert await asyncio.wait_for(listener.wait(), 10) == 0
    finally:
        await stop(listener)
        await stop(daemon)
    assert not control_socket_path(profile).exists()
    assert not ProfileLock.held(profile)

    # The profile is usable right away: a command (in this process: one start fewer),
    # and a second daemon (the lock).
    rc, out, err = await kith_in_process(capsys, "--profile", str(profile), "whoami", "--json")
    assert rc == 0 and json.loads(out)["name"] == "alice", err
    second = None
    try:
        second = await spawn(profile, "daemon")
        ready = await next_line(second.stdout)
        assert ready.startswith("kith daemon ready: alice"), ready
        second.send_signal(sig)
        out, err = await asyncio.wait_for(second.communicate(), 10)
        assert (second.returncode, out.decode()) == (0, "kith daemon stopped\n"), err
    finally:
        await stop(second)
