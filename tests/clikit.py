"""The `kith` command line as a real process on loopback (``--interface 127.0.0.1``)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository, and tests/ for the test keyring (keyringkit.FileKeyring).
PYTHONPATH = os.pathsep.join((str(ROOT), str(ROOT / "tests")))


def new_profile(profile: Path, name: str, device_name: str | None = None) -> bytes:
    """A profile as `kith init` makes it (its data key in the test keyring, the key file
    sealed), without a process; returns the data key. (A profile made by
    ``create_identity`` alone is a first-release plain one: the first `kith` start
    encrypts it and says so on stderr; the app asks how to protect it.)"""
    from p2p.keystore import KeyStore
    from p2p.profile import create_identity

    key = KeyStore(profile).create("keyring").key
    create_identity(profile, name, device_name, key=key)
    return key


async def spawn(
    profile: Path, *args: str, env: dict[str, str] | None = None, stdout: int | None = None
) -> asyncio.subprocess.Process:
    """Start ``kith --profile PROFILE --interface 127.0.0.1 ARGS`` with pipes (``env``:
    more environment variables; ``stdout``: a file descriptor instead of a pipe)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "--profile", str(profile), "--interface", "127.0.0.1",
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
