"""`kith listen | head -1`: once the reader has gone, `kith listen` ends quietly (exit
141, no BrokenPipe traceback), attached to a running node through its control socket."""

from __future__ import annotations

import asyncio
import os

from clikit import spawn
from nodekit import befriend

from kith.p2p.control import ControlServer


async def test_listen_into_a_closed_pipe_ends_quietly(tmp_path, nodes):
    alice = await nodes("alice")
    bob = await nodes("bob")
    await befriend(alice, bob)
    control = ControlServer(alice)
    await control.start()
    listener = None
    read, write = os.pipe()
    pipe = os.fdopen(read, "rb")
    try:
        listener = await spawn(tmp_path / "alice", "listen", stdout=write)
        os.close(write)
        assert listener.stderr is not None
        told = await asyncio.wait_for(listener.stderr.readline(), 60)
        assert b"listening for messages" in told, told
        await bob.send_message("alice", "first")
        first = await asyncio.wait_for(asyncio.to_thread(pipe.readline), 60)
        assert b"bob: first" in first, first
        pipe.close()  # `head -1` has its line and exits: nobody reads the pipe any more
        n = 0
        while listener.returncode is None:  # each message tries to print; one fails
            n += 1
            await bob.send_message("alice", f"more {n}")
            try:
                await asyncio.wait_for(listener.wait(), 2)
            except TimeoutError:
                assert n < 30, "kith listen kept running with nobody reading"
        err = await listener.stderr.read()
        assert listener.returncode == 141, err
        assert err == b"", err  # no traceback, no "Exception ignored"
    finally:
        pipe.close()
        if listener is not None and listener.returncode is None:
            listener.kill()
            await listener.wait()
        await control.stop()
