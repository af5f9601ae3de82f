"""The local control socket: JSON lines over a Unix socket of the user's own.

While a node runs (``kith daemon`` or the app), other ``kith`` commands for the same
profile talk to it here instead of starting a second node. One request per line::

    -> {"cmd": "send", "args": {"peer": "bob", "text": "hi", "wait": 5}}
    <- {"ok": true, "result": {...}}     or {"ok": false, "error": "...", "code": "not_found"}

``code`` says what kind of failure it is (see :data:`p2p.commandbase.ERROR_CODES`).
``listen`` answers with one ``{"event": {...}}`` line per incoming message until the
client hangs up; a client that stops reading is dropped (with a log line) once
:data:`LISTEN_BUFFER` bytes wait for it, so it cannot grow the node without bound.

The socket is in :func:`p2p.profile.runtime_dir` (mode 0700), with mode 0600 itself, and
both ends check who is at the other end (``SO_PEERCRED``): the node serves only its own
user, and the CLI obeys only a node run by its own user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kith.p2p.commandbase import BadArguments, ListenOverflow, error_code
from kith.p2p.errors import EnvironmentProblem, KithError
from kith.p2p.profile import control_socket_path
from kith.p2p.safefs import UntrustedProfile

if TYPE_CHECKING:  # (the client side, a `kith` command, needs neither: it starts faster)
    from kith.p2p.node import Node

log = logging.getLogger(__name__)
MAX_REQUEST = 64 * 1024
LISTEN_BUFFER = 1 << 20  # bytes written to a listen client and not read yet, at most
MAX_REPLY = 16 * 1024 * 1024


def peer_uid(sock: socket.socket | None) -> int | None:
    """The user id of the process at the other end of a Unix socket (None: unknown,
    on a system without ``SO_PEERCRED``)."""
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class ControlServer:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.path = control_socket_path(node.profile)
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
            uid = peer_uid(writer.get_extra_info("socket"))
            if uid is not None and uid != os.geteuid():
                log.warning("control socket: refused a client run by uid %d", uid)
                await _reply(writer, {"ok": False, "code": "not_allowed",
                                      "error": "this Kith serves only its own user"})
                return
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
                await _reply(writer, {"ok": False, "code": "usage", "error": "request too long"})
                return
            if not line:
                return
            try:
                name, args = parse_request(line)
            except BadArguments as e:
                await _reply(writer, {"ok": False, "code": "usage", "error": str(e)})
                continue
            if name == "listen":
                await self._listen(reader, writer)
                return
            await _reply(writer, await self._run(name, args))

    async def _run(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        from kith.p2p import commands

        try:
            result = await commands.run(self.node, name, args)
        except KithError as e:
            return {"ok": False, "error": str(e), "code": error_code(e)}
        except Exception as e:  # a bug: tell the client instead of hanging it
            log.exception("control command %s failed", name)
            return {"ok": False, "code": "failed", "error": f"internal error: {e!r}"}
        return {"ok": True, "result": result}

    async def _listen(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def emit(message: dict[str, Any]) -> None:
            waiting = writer.transport.get_write_buffer_size()
            if waiting > LISTEN_BUFFER:
                raise ListenOverflow(
                    f"a `kith listen` client does not read ({waiting} bytes wait for it)"
                )
            writer.write(json.dumps({"event": message}).encode() + b"\n")

        from kith.p2p import commands

        await _reply(writer, {"ok": True, "result": "listening"})
        listener = asyncio.create_task(commands.listen(self.node, emit))
        hangup = asyncio.create_task(reader.read())  # until the client hangs up
        try:
            await asyncio.wait({listener, hangup}, return_when=asyncio.FIRST_COMPLETED)
            if listener.done() and not listener.cancelled():
                e = listener.exception()
                if isinstance(e, ListenOverflow):
                    log.warning("control socket: dropped a listen client: %s", e)
                    writer.transport.abort()
                elif e is not None:
                    raise e
        finally:
            for t in (listener, hangup):
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t


def parse_request(line: bytes) -> tuple[str, dict[str, Any]]:
    """``{"cmd": NAME, "args": {...}}`` or BadArguments with what is wrong with it."""
    try:
        request = json.loads(line)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting far too deep
        raise BadArguments("malformed request: not one JSON object a line") from e
    if not isinstance(request, dict):
        raise BadArguments("malformed request: not a JSON object")
    name = request.get("cmd")
    args = request.get("args") or {}
    if not isinstance(name, str):
        raise BadArguments("malformed request: \"cmd\" must be a command name")
    if not isinstance(args, dict):
        raise BadArguments("malformed request: \"args\" must be an object")
    return name, args


async def _reply(writer: asyncio.StreamWriter, obj: dict[str, Any]) -> None:
    writer.write(json.dumps(obj).encode() + b"\n")
    await writer.drain()


class ControlClient:
    """Blocking-free client used by the CLI (one request per connection). It talks only
    to a socket of its own user: the socket file and the process serving it must both
    be the user's (else UntrustedProfile, and nothing is sent)."""

    def __init__(self, profile: Path) -> None:
        self.path = control_socket_path(profile)

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return None
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
            raise UntrustedProfile(
                f"{self.path} is not a control socket of yours: Kith will not talk to it; "
                f"remove it (rm {self.path})"
            )
        try:
            streams = await asyncio.open_unix_connection(str(self.path), limit=MAX_REPLY)
        except (ConnectionRefusedError, FileNotFoundError):
            return None
        uid = peer_uid(streams[1].get_extra_info("socket"))
        if uid is not None and uid != os.geteuid():
            streams[1].close()
            raise UntrustedProfile(
                f"the control socket {self.path} is served by another user (uid {uid}): "
                "Kith will not obey it"
            )
        return streams

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
        try:
            reply = json.loads(line)
        except (ValueError, RecursionError) as e:
            raise EnvironmentProblem("the running Kith sent a malformed reply") from e
        if not isinstance(reply, dict):
            raise EnvironmentProblem("the running Kith sent a malformed reply")
        return reply
