"""The asyncio driver of one :class:`~p2p.session.Session` over a TCP stream.

It owns the socket, the handshake deadline and the keepalive clock; everything it
learns goes to its ``owner`` (the Node) through three callbacks. The owner never
touches the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from kith.p2p import limits, wire
from kith.p2p.errors import KithError, RemoteProtocolError
from kith.p2p.logs import Throttle
from kith.p2p.session import HandshakeComplete, PeerHello, Session

log = logging.getLogger(__name__)
_throttle = Throttle(log)

READ_SIZE = 256 * 1024
HIGH_WATER = 1024 * 1024  # unsent bytes past which we stop reading from the peer
# The StreamReader's limit (asyncio's default, said here): its buffer pauses the socket
# past twice this, so what one connection holds unread is at most 2 x 64 KiB plus one
# socket read.
READER_LIMIT = 64 * 1024


class ConnectionOwner(Protocol):
    def on_handshake(self, conn: Connection, peer: PeerHello) -> bool:
        """Return False to refuse the peer (the connection is then closed)."""

    def on_messages(self, conn: Connection, messages: Sequence[wire.Message]) -> None: ...

    def on_closed(self, conn: Connection, reason: str) -> None: ...


class Timing:
    """Clock settings; tests shorten them."""

    def __init__(
        self, handshake: float = 10.0, keepalive: float = 4.0, dead_after: float = 10.0
    ) -> None:
        self.handshake = handshake
        self.keepalive = keepalive
        self.dead_after = dead_after


class Connection:
    """One TCP connection carrying one Noise session."""

    def __init__(
        self,
        owner: ConnectionOwner,
        session: Session,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        address: str,
        timing: Timing,
        throttle: Throttle | None = None,
    ) -> None:
        self.owner = owner
        self._throttle = throttle or _throttle  # (the owner's: one budget for its floods)
        self.session = session
        self.reader = reader
        self.writer = writer
        self.address = address
        self.timing = timing
        self.initiator = session.initiator
        self.peer: PeerHello | None = None
        self.opened_at = time.monotonic()
        self.closed = False
        self.close_reason = ""
        self._last_rx = time.monotonic()
        self._ping = 0
        self._last_unsent = 0
        self._task: asyncio.Task[None] | None = None
        self.settled = asyncio.Event()  # set once the handshake completed or failed
        # What we may hold unsent for this peer (set after the handshake: a stranger's
        # is small, p2p.budgets); past it the peer is not reading and is let go.
        self.max_unsent: int | None = None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._run(), name=f"kith-conn-{self.address}")
        return self._task

    @property
    def established(self) -> bool:
        return self.peer is not None and not self.closed

    # -- sending ----------------------------------------------------------------------

    def _lost(self) -> bool:
        """The transport is gone (reset by the peer) though the reader has not seen it
        yet: writing now would only make asyncio log "socket.send() raised exception"."""
        transport = self.writer.transport
        if transport is not None and transport.is_closing():
            self.close("connection lost")
            return True
        return False

    def send(self, message: wire.Message) -> None:
        if self.closed or self._lost():
            return
        try:
            self.writer.write(self.session.send(message))
        except (KithError, OSError, RuntimeError) as e:
            self.close(f"send failed: {e}")
            return
        self._check_unsent()

    @property
    def unsent(self) -> int:
        """Bytes written but not yet taken by the socket."""
        transport = self.writer.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def _check_unsent(self) -> None:
        if limits.over_budget(self.unsent, self.max_unsent):
            self._throttle.warn("unsent", "closing connection to %s: it does not read what "
                                "we send (%d bytes unsent, %d allowed)", self.address,
                                self.unsent, self.max_unsent)
            self.close("not reading what we send")

    def send_many(self, messages: Sequence[wire.Message]) -> None:
        """Several messages in one write (one system call, not one each)."""
        if self.closed or not messages or self._lost():
            return
        try:
            self.writer.write(b"".join(self.session.send(m) for m in messages))
        except (KithError, OSError, RuntimeError) as e:
            self.close(f"send failed: {e}")
            return
        self._check_unsent()

    def send_encoded(self, payload: bytes) -> None:
        if self.closed or self._lost():
            return
        try:
            self.writer.write(self.session.send_encoded(payload))
        except (KithError, OSError, RuntimeError) as e:
            self.close(f"send failed: {e}")
            return
        self._check_unsent()

    @property
    def congested(self) -> bool:
        return self.unsent > HIGH_WATER

    async def drain(self) -> None:
        if not self.closed:
            try:
                await self.writer.drain()
            except (OSError, RuntimeError) as e:
                self.close(f"connection lost: {e}")

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.settled.set()
        self.session.close()
        with contextlib.suppress(Exception):
            self.writer.close()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self.owner.on_closed(self, reason)

    async def wait_closed(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # -- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        keepalive: asyncio.Task[None] | None = None
        try:
            if self.session.initiator:
                self.writer.write(self.session.initiate())
            await asyncio.wait_for(self._handshake(), self.timing.handshake)
            if self.closed:
                return
            keepalive = asyncio.create_task(self._keepalive(), name="kith-keepalive")
            await self._read_loop()
        except TimeoutError:
            log.info("closing connection to %s: handshake timed out", self.address)
            self.close("handshake timed out")
        except RemoteProtocolError as e:
            # (one line per reason a minute: a flood of bad connections logs one)
            self._throttle.warn(f"protocol:{str(e)[:60]}", "closing connection to %s: %s",
                                self.address, e)
            self.close(f"protocol error: {e}")
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
            if self.peer is None:  # once established, the node logs the disconnect
                log.info("closing connection to %s: %s", self.address, e)
            self.close(f"connection lost: {e}")
        except asyncio.CancelledError:
            self.close(self.close_reason or "cancelled")
            raise
        finally:
            if keepalive is not None:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive
            self.close(self.close_reason or "closed")
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _handshake(self) -> None:
        while self.peer is None and not self.closed:
            data = await self.reader.read(READ_SIZE)
            if not data:
                raise ConnectionError("peer closed during handshake")
            events = self.session.receive_data(data)
            out = self.session.pending_output()
            if out:
                self.writer.write(out)
            for ev in events:
                if isinstance(ev, HandshakeComplete):
                    self.peer = ev.peer
                    if not self.owner.on_handshake(self, ev.peer):
                        self.close("refused")
                        return
                    self.settled.set()
                else:  # transport messages that arrived right behind the handshake
                    self._dispatch([ev.message])

    async def _read_loop(self) -> None:
        while not self.closed:
            if self.congested:
                # It does not take what we send: read no more of what it asks for until
                # it has (what it sends waits in the kernel, not here).
                await self.drain()
                if self.congested:  # (below the transport's own mark drain does not wait)
                    await asyncio.sleep(0.05)
                continue
            data = await self.reader.read(READ_SIZE)
            if not data:
                self.close("peer closed the connection")
                return
            self._last_rx = time.monotonic()
            events = self.session.receive_data(data)
            if events:
                self._dispatch(
                    [e.message for e in events if not isinstance(e, HandshakeComplete)]
                )

    def _dispatch(self, messages: list[wire.Message]) -> None:
        if not messages:
            return
        answered: list[wire.Message] = []
        for m in messages:
            if isinstance(m, wire.Ping):
                self.send(wire.Pong(m.nonce))
            elif isinstance(m, wire.Pong):
                pass
            elif isinstance(m, wire.Close):
                if answered:  # what came before the goodbye still counts
                    self.owner.on_messages(self, answered)
                self.close(f"peer said goodbye: {m.reason[:200]}")
                return
            else:
                answered.append(m)
        if answered:
            self.owner.on_messages(self, answered)

    async def _keepalive(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.timing.keepalive / 2)
            unsent = self.unsent
            if unsent and unsent < self._last_unsent:
                self._last_rx = time.monotonic()  # (not read from, but taking what we send)
            self._last_unsent = unsent
            idle = time.monotonic() - self._last_rx
            if idle > self.timing.dead_after:
                self.close(f"no answer for {idle:.0f} s")
                return
            if idle > self.timing.keepalive / 2:
                self._ping += 1
                self.send(wire.Ping(self._ping))
