"""The asyncio side of linking (:mod:`p2p.linking` holds the logic).

- :func:`wait_for_link` runs on the new device (``kith link``): it listens on TCP,
  advertises ``link=<hint>`` over mDNS, and accepts tries until one proves the code
  (or three fail, or the time runs out). It then saves the received identity.
- :func:`link_device` runs on the existing device (``kith devices add CODE``, through
  :meth:`p2p.node.Node.link_device`): it dials the waiting device and hands over.

Both use the ordinary Noise channel (:class:`~p2p.connection.Connection`); the new device
presents a throwaway identity whose device key becomes its real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings as sodium

from kith.p2p import linking, wire
from kith.p2p.connection import Connection, Timing
from kith.p2p.errors import RemoteProtocolError, UserError
from kith.p2p.identity import Identity, save_identity
from kith.p2p.session import PeerHello, Session

log = logging.getLogger(__name__)

LINK_TIMEOUT = 300.0  # seconds a new device waits to be linked


@dataclass(frozen=True, slots=True)
class Linked:
    identity: Identity
    host: str  # the existing device's address and port, to sync from it
    port: int
    events: int


class _Owner:
    """ConnectionOwner that hands a link connection's traffic to callbacks."""

    def __init__(
        self,
        on_hello: Callable[[Connection, PeerHello], bool],
        on_link: Callable[[Connection, linking.LinkMessage], None],
        on_closed: Callable[[Connection, str], None],
    ) -> None:
        self._on_hello, self._on_link, self._on_closed = on_hello, on_link, on_closed

    def on_handshake(self, conn: Connection, peer: PeerHello) -> bool:
        return self._on_hello(conn, peer)

    def on_messages(self, conn: Connection, messages: Sequence[wire.Message]) -> None:
        try:
            for m in messages:
                if not isinstance(m, wire.Link):
                    raise RemoteProtocolError(f"{type(m).__name__} on a linking connection")
                self._on_link(conn, linking.decode_message(m.data))
        except RemoteProtocolError as e:
            log.warning("linking: %s", e)
            conn.close(f"protocol error: {e}")

    def on_closed(self, conn: Connection, reason: str) -> None:
        self._on_closed(conn, reason)


def _send(conn: Connection, messages: Sequence[linking.LinkMessage]) -> None:
    for m in messages:
        conn.send(wire.Link(linking.encode_message(m)))


async def wait_for_link(
    profile: Path,
    code: str,
    device_name: str,
    *,
    interfaces: list[str] | None,
    timeout: float = LINK_TIMEOUT,
    port: int = 0,
    discovery: bool = True,
    on_listening: Callable[[int], None] | None = None,
    on_wrong_code: Callable[[int], None] | None = None,
    timing: Timing | None = None,
    data_key: bytes | None = None,
) -> Linked:
    """Wait until an existing device links this one with ``code``; save the identity
    (sealed with the profile's ``data_key`` if given).

    A wrong code ends that try (nothing is sent or received beyond the failed proof) and
    calls ``on_wrong_code(tries left)``; the third one ends the attempt: UserError, as
    when ``timeout`` runs out. Nothing is saved then."""
    temp = Identity.generate("new device", device_name)
    attempts = linking.LinkAttempts(code)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Linked] = loop.create_future()
    tries: dict[Connection, linking.NewDeviceLink] = {}
    conns: set[Connection] = set()
    tasks: set[asyncio.Task[Any]] = set()
    timing = timing or Timing()

    def on_hello(conn: Connection, peer: PeerHello) -> bool:
        if done.done() or attempts.over or tries:
            return False  # one try at a time
        tries[conn] = attempts.new_try(peer.handshake_hash)
        return True

    def on_link(conn: Connection, message: linking.LinkMessage) -> None:
        attempt = tries.get(conn)
        if attempt is None or done.done():
            return
        try:
            out = attempt.receive(message)
        except linking.WrongCode:
            attempts.wrong_code()
            reason = linking.REASON_STOPPED if attempts.over else linking.REASON_WRONG
            _send(conn, [linking.LinkResult(False, reason)])
            conn.close("wrong code")
            left = attempts.max_tries - attempts.failures
            log.info("a device tried a wrong code (%d left)", left)
            if attempts.over:
                count = "three" if attempts.max_tries == 3 else str(attempts.max_tries)
                done.set_exception(UserError(
                    f"{count} wrong codes were entered on the other device: "
                    "linking stopped and nothing was received. Start linking again for a "
                    "new code"
                ))
            elif on_wrong_code is not None:
                on_wrong_code(left)
            return
        _send(conn, out)
        grant = attempt.grant
        if grant is not None and conn.peer is not None:
            _, user_secret = sodium.crypto_sign_seed_keypair(grant.user_seed)
            if user_secret[32:] != conn.peer.user_id:
                done.set_exception(RemoteProtocolError("the linking device sent another identity"))
                return
            try:
                ident = Identity.linked(grant.name, user_secret, temp.device_secret, grant.cert)
            except (ValueError, RemoteProtocolError) as e:
                done.set_exception(RemoteProtocolError(f"unusable certificate: {e}"))
                return
            host = conn.address.rpartition(":")[0].strip("[]")
            done.set_result(Linked(ident, host, grant.port, grant.events))

    def on_closed(conn: Connection, reason: str) -> None:
        conns.discard(conn)
        tries.pop(conn, None)

    owner = _Owner(on_hello, on_link, on_closed)

    async def on_inbound(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = f"{peer[0]}:{peer[1]}" if peer else "?"
        conn = Connection(
            owner, Session(temp, initiator=False), reader, writer, address=address, timing=timing
        )
        conns.add(conn)
        task = conn.start()
        tasks.add(task)
        await conn.wait_closed()

    hosts: list[str] = list(interfaces or ["0.0.0.0", "::"])  # noqa: S104 - the user's LAN
    servers = []
    disc: Any = None
    try:
        for host in hosts:
            try:
                server = await asyncio.start_server(on_inbound, host=host, port=port)
            except OSError:
                if interfaces is None and host == "::":
                    continue
                raise
            servers.append(server)
            port = server.sockets[0].getsockname()[1]
        if on_listening is not None:
            on_listening(port)
        if discovery:
            from kith.p2p.discovery import Discovery

            disc = Discovery(
                device_id_hex=temp.device_id.hex(), port=port, name=None,
                interfaces=interfaces, link=linking.code_hint(code),
            )
            await disc.start()
        try:
            linked = await asyncio.wait_for(asyncio.shield(done), timeout)
        except TimeoutError:
            raise UserError(
                f"no device linked this one within {timeout:g} s; start again"
            ) from None
        # Let the confirmation reach the other side before closing.
        for conn in list(conns):
            with contextlib.suppress(Exception):
                await conn.drain()
        save_identity(profile, linked.identity, key=data_key)
        return linked
    finally:
        if not done.done():
            done.cancel()
        if disc is not None:
            with contextlib.suppress(Exception):
                await disc.stop()
        for s in servers:
            s.close()
        for conn in list(conns):
            conn.close("linking finished")
        for t in list(tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for s in servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()


async def link_device(
    identity: Identity,
    code: str,
    host: str,
    port: int,
    *,
    my_port: int,
    events: int,
    timing: Timing,
    on_certified: Callable[[bytes, str, int, bytes], None],
) -> tuple[bytes, str]:
    """Dial the waiting device at host:port and link it with ``code``; returns its
    (device id, device name). ``on_certified`` stores the new certificate first."""
    linking.normalize_code(code)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[bytes, str]] = loop.create_future()
    state: dict[str, Any] = {}

    def on_hello(conn: Connection, peer: PeerHello) -> bool:
        link = linking.ExistingDeviceLink(code, peer.handshake_hash)
        state["link"] = link
        _send(conn, link.start())
        return True

    def on_link(conn: Connection, message: linking.LinkMessage) -> None:
        link: linking.ExistingDeviceLink = state["link"]
        if done.done():
            return
        if link.state is linking.State.DONE:
            if isinstance(message, linking.LinkResult) and message.ok and conn.peer:
                done.set_result((conn.peer.device_id, conn.peer.cert.name))
            return
        if "wrong" in state:
            # We refused the code; the new device's answer says whether it still waits.
            if isinstance(message, linking.LinkResult) and not message.ok:
                wrong_code(stopped=message.reason == linking.REASON_STOPPED)
            return
        try:
            link.receive(message)
        except linking.WrongCode as e:
            with contextlib.suppress(Exception):
                _send(conn, [link.refusal()])
            state["wrong"] = str(e)
            # Wait a moment for its answer (tries left or not), then report either way.
            state["timer"] = loop.call_later(timing.handshake, wrong_code)
            return
        if link.state is linking.State.CONFIRMED and conn.peer is not None:
            name = conn.peer.cert.name
            cert = identity.for_new_device(name, conn.peer.device_id)
            on_certified(cert.device, name, cert.created, wire.encode_cert(cert))
            grant = linking.Grant(identity.name, identity.user_secret[:32], cert, my_port, events)
            _send(conn, link.grant(grant))

    def wrong_code(stopped: bool = False) -> None:
        if done.done():
            return
        if stopped:
            hint = (
                "That was the third wrong code: the new device stopped waiting. Start "
                "linking there again for a new code"
            )
        else:
            hint = (
                "Check the code and try again (after three wrong codes the new device stops "
                "waiting)"
            )
        done.set_exception(UserError(f"wrong code: {state['wrong']}; nothing was sent. {hint}"))

    def on_closed(conn: Connection, reason: str) -> None:
        if "wrong" in state:
            wrong_code()
        elif not done.done():
            done.set_exception(UserError(f"the new device closed the connection ({reason})"))

    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timing.handshake
        )
    except (OSError, TimeoutError) as e:
        raise UserError(f"cannot reach the new device at {host}:{port}: {e}") from e
    conn = Connection(
        _Owner(on_hello, on_link, on_closed), Session(identity, initiator=True), reader, writer,
        address=f"{host}:{port}", timing=timing,
    )
    task = conn.start()
    try:
        return await asyncio.wait_for(asyncio.shield(done), 30)
    except TimeoutError:
        raise UserError("the new device did not answer in time") from None
    finally:
        if "timer" in state:
            state["timer"].cancel()
        if not done.done():
            done.cancel()
        conn.close("linking finished")
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
