"""Start-up race (issue 9): `kith daemon &` (or the app) and right after it a command
for the same profile. Whoever wins the profile lock, neither side exits or fails: a
command reaches the node that is starting (it waits for its control socket), and a
daemon or app that finds a command holding the profile waits until it is done.

Real processes, both orders, ``KITH_RACE_ROUNDS`` rounds of each (default 20), a few
at a time on separate profiles.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from clikit import new_profile, spawn

from kith.p2p.profile import ProfileLock, control_socket_path

ROUNDS = int(os.environ.get("KITH_RACE_ROUNDS", 20))
AT_ONCE = 4
TIMEOUT = 90  # generous: 2 shared cores, several processes starting at once


async def _daemon_ready(proc: asyncio.subprocess.Process, profile: Path) -> None:
    assert proc.stdout is not None
    while True:
        line = (await proc.stdout.readline()).decode()
        assert line, f"the daemon ended before it was ready (exit {await proc.wait()})"
        if line.startswith("kith daemon ready"):
            return


async def _app_ready(proc: asyncio.subprocess.Process, profile: Path) -> None:
    sock = control_socket_path(profile)
    while not sock.exists():
        assert proc.returncode is None, f"the app ended (exit {proc.returncode})"
        await asyncio.sleep(0.05)


async def _round(
    profile: Path, order: str, server_args: tuple[str, ...], ready, env: dict[str, str]
) -> None:
    new_profile(profile, "alice", "desk")
    server = command = None
    try:
        if order == "server first":
            server = await spawn(profile, *server_args, env=env)
            command = await spawn(profile, "contacts", "--json")
        else:
            command = await spawn(profile, "contacts", "--json")
            server = await spawn(profile, *server_args, env=env)
        out, err = await asyncio.wait_for(command.communicate(), TIMEOUT)
        assert command.returncode == 0, (order, out, err)
        assert json.loads(out) == [], (order, out, err)
        await asyncio.wait_for(ready(server, profile), TIMEOUT)
        server.send_signal(signal.SIGTERM)
        rest, server_err = await asyncio.wait_for(server.communicate(), TIMEOUT)
        assert server.returncode == 0, (order, rest, server_err)
        assert b"already" not in server_err, server_err
        assert b"Traceback" not in server_err, server_err
    finally:
        for p in (command, server):
            if p is not None and p.returncode is None:
                p.kill()
                await p.wait()
    assert not ProfileLock.held(profile)


async def _rounds(tmp_path: Path, server_args: tuple[str, ...], ready, env=None) -> None:
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(i: int, order: str) -> None:
        async with gate:
            await _round(tmp_path / f"{order[:6]}-{i}", order, server_args, ready, env or {})

    await asyncio.gather(*(one(i, order) for order in ("server first", "command first")
                           for i in range(ROUNDS)))


@pytest.mark.timeout(600)
async def test_a_command_and_a_starting_daemon_both_succeed_in_either_order(
    tmp_path, mdns_isolated
):
    await _rounds(tmp_path, ("daemon",), _daemon_ready)


@pytest.mark.timeout(600)
async def test_a_command_and_the_starting_app_both_succeed_in_either_order(
    tmp_path, mdns_isolated
):
    await _rounds(tmp_path, (), _app_ready, env={"QT_QPA_PLATFORM": "offscreen"})
