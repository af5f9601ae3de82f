"""My devices through the real command line: `kith` processes on loopback.

`kith link` and `kith devices add` find each other over mDNS (zeroconf on 127.0.0.1),
so these tests run only in a private network namespace (``mdns_isolated``).
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from clikit import kith, new_profile, spawn

CODE = re.compile(r"\d{3}-\d{3}-\d{3}")


async def line_matching(stream: asyncio.StreamReader, pattern: str, timeout: float = 20) -> str:
    """The next line of ``stream`` that matches ``pattern`` (earlier lines are skipped)."""

    async def find() -> str:
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError(f"the stream ended before a line matching {pattern!r}")
            line = raw.decode()
            if re.search(pattern, line):
                return line

    return await asyncio.wait_for(find(), timeout)


def wrong_code_for(code: str, n: int) -> str:
    """Another code with the same public hint (so `devices add` finds the same device)."""
    return code[:-1] + str((int(code[-1]) + n) % 10)


@pytest.fixture
async def linking(tmp_path, mdns_isolated):
    """alice's profile and a running `kith link` on a fresh one; yields (alice, link, code)."""
    alice = tmp_path / "alice"
    new_profile(alice, "alice")  # (as `kith init` makes it, without a process)
    link = await spawn(tmp_path / "laptop", "link", "--name", "laptop", "--timeout", "60")
    try:
        assert link.stdout is not None
        first = (await asyncio.wait_for(link.stdout.readline(), 20)).decode().strip()
        assert CODE.fullmatch(first), first
        yield alice, link, first
    finally:
        if link.returncode is None:
            link.kill()
        await link.wait()


async def test_wrong_codes_fail_on_both_sides_and_the_third_ends_the_attempt(linking, tmp_path):
    alice, link, code = linking
    assert link.stderr is not None
    await line_matching(link.stderr, r"kith devices add " + code)
    for n, left in ((1, "2 tries left"), (2, "1 try left")):
        rc, out, err = await kith(alice, "devices", "add", wrong_code_for(code, n))
        assert rc == 1, (out, err)
        assert "wrong code" in err and "nothing was sent" in err and "try again" in err, err
        told = await line_matching(link.stderr, r"wrong code")
        assert told.startswith("kith: a wrong code was entered on the other device"), told
        assert "nothing was sent or received" in told and left in told, told
        assert link.returncode is None  # a wrong code is not the end

    rc, out, err = await kith(alice, "devices", "add", wrong_code_for(code, 3))
    assert rc == 1, (out, err)
    assert "third wrong code: the new device stopped waiting" in err, err
    assert await asyncio.wait_for(link.wait(), 20) == 1
    rest = (await link.stderr.read()).decode()
    assert "kith: three wrong codes were entered on the other device" in rest, rest
    assert (await link.stdout.read()).decode() == ""  # nothing after the code
    assert not (tmp_path / "laptop" / "identity.kith").exists()
    rc, out, _ = await kith(alice, "devices", "--json")
    assert rc == 0 and [d["this_device"] for d in json.loads(out)] == [True]  # no new one


async def test_the_daemon_of_a_removed_device_says_so_and_stays_off_the_network(
    tmp_path, mdns_isolated
):
    from nodekit import add_device

    from kith.p2p import wire
    from kith.p2p.identity import load_identity, revoke_device
    from kith.p2p.keystore import KeyStore
    from kith.p2p.profile import DB_FILE
    from kith.storage import Store

    new_profile(tmp_path / "alice", "alice")  # (as `kith init` makes it)
    key = KeyStore(tmp_path / "alice").unlock()
    add_device(tmp_path, "alice", "laptop", key)
    alice = load_identity(tmp_path / "alice", key)
    laptop = load_identity(tmp_path / "laptop")
    assert alice is not None and laptop is not None
    # The laptop learnt, in an earlier run, that alice's other device removed it.
    r = revoke_device(alice.user_secret, laptop.device_id)
    store = Store(tmp_path / "laptop" / DB_FILE)
    try:
        store.revoke_device(r.device, r.user, r.created, wire.encode_revocation(r))
    finally:
        store.close()

    daemon = await spawn(tmp_path / "laptop", "daemon")
    try:
        assert daemon.stdout is not None and daemon.stderr is not None
        ready = await line_matching(daemon.stdout, r"^kith daemon ready")
        assert "off the network (this device was removed)" in ready, ready
        told = await line_matching(daemon.stderr, r"^kith: this device was removed")
        assert "link it anew" in told and "kith link" in told, told
        # Commands go through it: reading works, writing is refused with the same words.
        rc, out, _ = await kith(tmp_path / "laptop", "devices", "--json")
        assert rc == 0 and [d["removed"] for d in json.loads(out) if d["this_device"]] == [True]
        # exit 4: not allowed
        rc, _, err = await kith(tmp_path / "laptop", "connect", "127.0.0.1:9")
        assert rc == 4 and "this device was removed" in err and "link it anew" in err, err
        daemon.terminate()
        assert await asyncio.wait_for(daemon.wait(), 20) == 0
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()
