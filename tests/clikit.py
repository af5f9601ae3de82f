"""The `kith` command line as a real process on loopback (``--interface 127.0.0.1``), and
in-process: ``app.cli.main`` against nodes of the test's own (the ``chat`` and ``pair``
fixtures: import ``chat_fixture`` or ``pair_fixture`` into the test module)."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The repository, and tests/ for the test keyring (keyringkit.FileKeyring).
PYTHONPATH = os.pathsep.join((str(ROOT), str(ROOT / "tests")))


def new_profile(profile: Path, name: str, device_name: str | None = None) -> bytes:
    """A profile as `kith init` makes it (its data key in the test keyring, the key file
    sealed), without a process; returns the data key. (A profile made by
    ``create_identity`` alone is a first-release plain one: the first `kith` start
    encrypts it and says so on stderr; the app asks how to protect it.)"""
    from kith.p2p.keystore import KeyStore
    from kith.p2p.profile import create_identity

    key = KeyStore(profile).create("keyring").key
    create_identity(profile, name, device_name, key=key)
    return key


async def spawn(
    profile: Path, *args: str, env: dict[str, str] | None = None, stdout: int | None = None
) -> asyncio.subprocess.Process:
    """Start ``kith --profile PROFILE --interface 127.0.0.1 ARGS`` with pipes (``env``:
    more environment variables; ``stdout``: a file descriptor instead of a pipe)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kith", "--profile", str(profile), "--interface", "127.0.0.1",
        *args, cwd=ROOT, env={**os.environ, "PYTHONPATH": PYTHONPATH, **(env or {})},
        stdout=asyncio.subprocess.PIPE if stdout is None else stdout,
        stderr=asyncio.subprocess.PIPE,
    )


async def kith(profile: Path, *args: str, timeout: float = 40) -> tuple[int, str, str]:
    """Run it to the end: (exit code, stdout, stderr); killed after ``timeout``."""
    proc = await spawn(profile, *args)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def eventually(pred, timeout: float = 30, every: float = 0.02) -> None:
    """Wait until ``pred()`` holds, checking every ``every`` seconds (for conditions no
    event announces: a file appearing, a log line); AssertionError after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, f"condition not met within {timeout} s"
        await asyncio.sleep(every)


async def kith_in_process(capsys, *args: str) -> tuple[int, str, str]:
    """``kith ARGS`` through ``app.cli.main`` (argparse errors give their exit code)."""
    from kith.app.cli import main

    def call() -> int:
        try:
            return main(list(args))
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else 1

    gc.collect()  # whatever earlier tests left in cycles dies here, not in the worker
    code = await asyncio.to_thread(call)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(name="chat")
async def chat_fixture(tmp_path, nodes):
    """alice befriended with bob and carol (nodes in this process), commands through
    alice's control socket: (alice, bob, alice's profile)."""
    from nodekit import befriend

    from kith.p2p.control import ControlServer

    alice, bob, carol = [await nodes(name) for name in ("alice", "bob", "carol")]
    await befriend(alice, bob)
    await befriend(alice, carol)
    control = ControlServer(alice)
    await control.start()
    try:
        yield alice, bob, str(tmp_path / "alice")
    finally:
        await control.stop()


@pytest.fixture(name="pair")
async def pair_fixture(nodes):
    """alice and bob befriended (nodes in this process), both with a control socket."""
    from nodekit import befriend

    from kith.p2p.control import ControlServer

    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    servers = [ControlServer(alice), ControlServer(bob)]
    for s in servers:
        await s.start()
    try:
        yield alice, bob
    finally:
        for s in servers:
            await s.stop()


def short_one_shot_waits(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.2) -> None:
    """An in-process one-shot command looks for peers and lingers to deliver ``seconds``
    instead of 3 s each by the clock: for tests that check what it stores, not whom it
    reaches (nodes of a test have discovery off: it would wait the whole time)."""
    from kith.app import cli_run

    monkeypatch.setattr(cli_run, "DISCOVER_SECONDS", seconds)
    monkeypatch.setattr(cli_run, "LINGER_SECONDS", seconds)
