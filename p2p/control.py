"""The local control socket: JSON lines over a Unix socket in the profile folder.

While a node runs (``kith daemon`` or the app), other ``kith`` commands for the same
profile talk to it here instead of starting a second node. One request per line::

    -> {"cmd": "send", "args": {"peer": "bob", "text": "hi", "wait": 5}}
    <- {"ok": true, "result": {...}}          or {"ok": false, "error": "..."}

``listen`` answers with one ``{"event": {...}}`` line per incoming message until the
client hangs up. The socket is created with mode 0600 (owner only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from p2p import commands
from p2p.errors import EnvironmentProblem, KithError
from p2p.node import Node
from p2p.profile import CONTROL_SOCKET

log = logging.getLogger(__name__)
MAX_REQUEST = 64 * 1024


class ControlServer:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.path = node.profile / CONTROL_SOCKET
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # stale: the profile lock proves no other node runs
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._on_client, path=str(self.path), limit=MAX_REQUEST
            )
        except OSError as e:
            raise EnvironmentProblem(f"cannot create the control socket {self.path}: {e}") from e
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self._clients):
                t.cancel()
            for t in list(self._clients):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # stop() cancels the clients. End normally: on Python 3.11 asyncio's own
            # done-callback calls task.exception() and logs a bogus traceback for a
            # cancelled client_connected_cb task (fixed in 3.12).
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                await _reply(writer, {"ok": False, "error": "request too long"})
                return
            if not line:
                return
            try:
                request = json.loads(line)
                name = str(request["cmd"])
                args = dict(request.get("args") or {})
            except (ValueError, KeyError, TypeError):
                await _reply(writer, {"ok": False, "error": "malformed request"})
                continue
            if name == "listen":
                await self._listen(reader, writer)
                return
            try:
                result = await commands.run(self.node, name, args)
            except KithError as e:
                await _reply(writer, {"ok": False, "error": str(e)})
            except (KeyError, ValueError, TypeError) as e:
                await _reply(writer, {"ok": False, "error": f"bad arguments: {e}"})
            except Exception as e:  # a bug: tell the client instead of hanging it
                log.exception("control command %s failed", name)
                await _reply(writer, {"ok": False, "error": f"internal error: {e!r}"})
            else:
                await _reply(writer, {"ok": True, "result": result})

    async def _listen(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def emit(message: dict[str, Any]) -> None:
            writer.write(json.dumps({"event": message}).encode() + b"\n")

        await _reply(writer, {"ok": True, "result": "listening"})
        listener = asyncio.create_task(commands.listen(self.node, emit))
        try:
            await reader.read()  # until the client hangs up
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def _reply(writer: asyncio.StreamWriter, obj: dict[str, Any]) -> None:
    writer.write(json.dumps(obj).encode() + b"\n")
    await writer.drain()


class ControlClient:
    """Blocking-free client used by the CLI (one request per connection)."""

    def __init__(self, profile: Path) -> None:
        self.path = profile / CONTROL_SOCKET

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if not self.path.exists():
            return None
        try:
            return await asyncio.open_unix_connection(str(self.path), limit=16 * 1024 * 1024)
        except (ConnectionRefusedError, FileNotFoundError):
            return None

    async def request(
        self, streams: tuple[asyncio.StreamReader, asyncio.StreamWriter], name: str,
        args: dict[str, Any],
    ) -> dict[str, Any]:
        reader, writer = streams
        writer.write(json.dumps({"cmd": name, "args": args}).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
        if not line:
            raise EnvironmentProblem("the running Kith closed the control connection")
        reply: dict[str, Any] = json.loads(line)
        return reply
