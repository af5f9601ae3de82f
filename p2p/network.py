"""The network: discovery, dialling, connections, the tie-break and backoff.

It knows peers (devices found over mDNS, added by address, or connected) and owns their
connections; it does not know what is said over them. Features plug in:

- ``admit`` hooks decide, right after a handshake, whether a peer may stay (a removed
  device, a stranger while we hide); the first to refuse wins;
- ``connected`` / ``disconnected`` hooks hear of peers coming and going;
- ``handlers`` map each wire message type to the feature that answers it.

A connection's consecutive ``ev`` frames reach replication as one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kith.p2p import adverts, limits, sync, wire
from kith.p2p.advert_driver import AdvertDriver
from kith.p2p.adverts import Addresses
from kith.p2p.api import PeersChanged
from kith.p2p.budgets import StrangerBudget
from kith.p2p.connection import READER_LIMIT, Connection
from kith.p2p.errors import EnvironmentProblem, RemoteProtocolError, UserError
from kith.p2p.eventlog import WRITE_ERRORS
from kith.p2p.logs import Throttle
from kith.p2p.session import PeerHello, Session

if TYPE_CHECKING:
    from kith.p2p.core import Core

log = logging.getLogger(__name__)

Admit = Callable[[Connection, PeerHello], bool]
Hook = Callable[["Peer"], None]
Handler = Callable[["Peer", Any], None]


@dataclass
class Peer:
    """Runtime knowledge of one peer device (discovered, dialled or connected)."""

    device_id: bytes
    name: str = ""
    where: Addresses = field(default_factory=Addresses)  # by hand, proven, advertised
    user_id: bytes | None = None
    hidden: bool = False  # its advert carries no name: its user is not discoverable
    manual: bool = False
    conn: Connection | None = None
    sync: sync.PeerSync = field(default_factory=sync.PeerSync)
    dialing: bool = False
    backoff: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # ends a backoff (redial)
    certs_sent: set[bytes] = field(default_factory=set)
    streaming: set[bytes] = field(default_factory=set)
    typing: dict[bytes, float] = field(default_factory=dict)
    problem: str | None = None  # why we cannot talk (another protocol version)
    active: float = 0.0  # (monotonic) its last message that was more than a keepalive

    @property
    def live(self) -> bool:
        return self.conn is not None and self.conn.established

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Where to dial it, best first (see p2p.adverts)."""
        return self.where.all(time.monotonic())

    @property
    def instance(self) -> str | None:
        """An mDNS advert that names it now, if any."""
        return next(iter(self.where.adverts), None)


def version_problem(name: str, theirs: int) -> str:
    who = name or "this device"
    if theirs < wire.PROTOCOL_VERSION:
        return f"{who} runs an older version of Kith: ask them to update"
    return f"{who} runs a newer version of Kith: update Kith to talk to them"


class Network:
    """Peers and their connections."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.peers: dict[bytes, Peer] = {}  # device id (or an address key) -> peer
        self.by_instance: dict[str, bytes] = {}
        self.conns: set[Connection] = set()
        self.servers: list[asyncio.Server] = []
        self.port = 0
        self.discovery: Any = None
        self.link_adverts: dict[str, Any] = {}  # mDNS instance -> advert with link=hint
        self.dial_budget = adverts.DialBudget()  # dials of strangers' adverts
        self._throttle = Throttle(log)
        self._conn_throttle = Throttle(logging.getLogger("kith.p2p.connection"))
        self.admit: list[Admit] = []
        self.connected: list[Hook] = []
        self.disconnected: list[Hook] = []
        self.handlers: dict[type, Handler] = {}
        self.adverts = AdvertDriver(self)
        self.budgets = StrangerBudget(self)
        self.receive_events: Callable[[Peer, list[tuple[bytes, bytes | None]]], None] = (
            lambda peer, items: None
        )

    # -- who is around -----------------------------------------------------------------

    def live(self) -> list[Peer]:
        return [p for p in self.peers.values() if p.live]

    def live_of(self, user: bytes) -> list[Peer]:
        return [p for p in self.peers.values() if p.user_id == user and p.live]

    def online(self, user: bytes) -> bool:
        return any(p.user_id == user and p.live for p in self.peers.values())

    def online_device(self, device_id: bytes) -> bool:
        p = self.peers.get(device_id)
        return p is not None and p.live

    def send_to_user(self, user: bytes, message: wire.Message) -> None:
        for p in self.live_of(user):
            assert p.conn is not None
            p.conn.send(message)

    # -- listening and discovery -------------------------------------------------------

    async def listen(self) -> None:
        # Every host gets the same port (asyncio would give IPv4 and IPv6 different
        # ephemeral ports for host=None, and we advertise only one).
        options = self.core.options
        every = ["0.0.0.0", "::"]  # noqa: S104 - the user's default: all LAN interfaces
        hosts: list[str] = list(options.interfaces or every)
        optional = set() if options.interfaces else {"::"}  # a host without IPv6
        wanted = options.port
        if wanted is None:
            wanted = int(self.core.db.get_setting("port", 0))
        for attempt_port in ([wanted, 0] if wanted else [0]):
            port = attempt_port
            servers: list[asyncio.Server] = []
            try:
                for host in hosts:
                    try:
                        server = await asyncio.start_server(
                            self._on_inbound, host=host, port=port, reuse_address=True,
                            limit=READER_LIMIT,
                        )
                    except OSError:
                        if host in optional:
                            continue
                        raise
                    servers.append(server)
                    port = server.sockets[0].getsockname()[1]
                self.servers = servers
                self.port = port
                break
            except OSError as e:
                for s in servers:
                    s.close()
                if attempt_port == 0 or options.port is not None:
                    raise EnvironmentProblem(f"cannot listen on port {attempt_port}: {e}") from e
        if options.port is None:
            self.core.db.set_setting("port", self.port)

    async def start_discovery(self, name: str | None) -> None:
        """Announce this device (with ``name`` while discoverable) and browse for peers."""
        if self.discovery is not None:
            return
        from kith.p2p.discovery import Discovery, PeerAdvert

        def found(advert: PeerAdvert) -> None:
            self.on_advert(advert)

        def lost(instance: str) -> None:
            self.on_advert_lost(instance)

        discovery = Discovery(
            device_id_hex=self.core.device_id.hex(),
            port=self.port,
            name=name,
            interfaces=self.core.options.interfaces,
            on_found=found,
            on_lost=lost,
        )
        self.discovery = discovery
        try:
            await discovery.start()
        except BaseException:
            if self.discovery is discovery:
                self.discovery = None
            raise

    async def set_advertised_name(self, name: str | None) -> None:
        if self.discovery is not None:
            await self.discovery.set_name(name)

    async def leave(self) -> None:
        """Off the network for good (a removed device): mDNS goodbye, no listening, the
        peers discovery had found forgotten."""
        servers, self.servers = self.servers, []
        for server in servers:
            server.close()
        discovery, self.discovery = self.discovery, None
        if discovery is not None:
            try:
                await discovery.stop()
            except Exception as e:  # leaving anyway
                log.warning("could not withdraw the mDNS advert: %s", e)
        for server in servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        for instance in list(self.by_instance):
            self.on_advert_lost(instance)
        self.link_adverts.clear()
        self.core.emit(PeersChanged())

    async def stop(self) -> None:
        if self.discovery is not None:
            with contextlib.suppress(Exception):
                await self.discovery.stop()
            self.discovery = None
        for s in self.servers:
            s.close()
        for conn in list(self.conns):
            conn.send(wire.Close("shutting down"))
            conn.close("shutting down")
        for conn in list(self.conns):
            await conn.wait_closed()
        for s in self.servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self.servers = []

    # -- adverts (p2p.advert_driver) ------------------------------------------------

    def on_advert(self, advert: Any) -> None:
        self.adverts.on_advert(advert)

    def on_advert_lost(self, instance: str) -> None:
        self.adverts.on_advert_lost(instance)

    def may_dial(self, peer: Peer) -> bool:
        return self.adverts.may_dial(peer)

    # -- dialling ----------------------------------------------------------------------

    def remember_manual(self, host: str, port: int, device_id: bytes | None) -> Peer:
        if device_id is None:
            device_id = next(
                (k for k, p in self.peers.items() if (host, port) in p.addresses), None
            )
        key = device_id or address_key(host, port)
        peer = self.peers.setdefault(key, Peer(key))
        peer.manual = True
        peer.where.add_manual((host, port))
        if peer.conn is None and not peer.dialing:
            self.dial_soon(peer, 0.0)
        return peer

    async def connect(self, host: str, port: int, timeout: float) -> Peer:
        """Dial ``host:port`` now, remember the address, and wait for the handshake."""
        self.core.db.remember_peer(format_address(host, port), manual=True)
        peer = self.remember_manual(host, port, None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            found = self._peer_at(host, port)
            if found is not None and found.live:
                return found
            if found is not None and found.problem:
                break
            await self.core.wait_event(
                lambda e: isinstance(e, PeersChanged), deadline - loop.time()
            )
        found = self._peer_at(host, port) or peer
        reason = found.problem or (
            peer.conn.close_reason if peer.conn and peer.conn.close_reason else ""
        )
        raise UserError(
            f"could not reach a Kith node at {format_address(host, port)}"
            + (f" ({reason})" if reason else "")
        )

    def _peer_at(self, host: str, port: int) -> Peer | None:
        for p in self.peers.values():
            if (host, port) in p.addresses and (p.conn is not None or p.problem):
                return p
        return None

    def dial_soon(self, peer: Peer, delay: float) -> None:
        if self.core.devices.removed:
            return
        peer.dialing = True
        self.core.spawn(self._dial(peer, delay), f"kith-dial-{peer.device_id.hex()[:8]}")

    def redial(self, user: bytes) -> None:
        """Dial every known device of ``user`` now instead of waiting for the backoff."""
        for p in self.peers.values():
            if (p.user_id == user or p.user_id is None) and p.conn is None and p.addresses:
                p.backoff = 0.0
                if p.dialing:
                    p.wake.set()  # (a dial waiting out its backoff goes now)
                else:
                    self.dial_soon(p, 0.0)

    async def _dial(self, peer: Peer, delay: float) -> None:
        options = self.core.options
        try:
            if delay:
                await self._pause(peer, delay)
            while (
                self.core.running and not self.core.devices.removed and peer.conn is None
                and peer.addresses
            ):
                if self.peers.get(peer.device_id) is not peer or not self.may_dial(peer):
                    return
                for host, port in list(peer.addresses):
                    if peer.conn is not None or not self.core.running:
                        return
                    if not peer.manual and not self.adverts.known(peer.device_id):
                        # strangers' adverts are dialled at a bounded rate
                        wait = self.dial_budget.delay(time.monotonic())
                        if wait:
                            await asyncio.sleep(wait)
                    try:
                        reader, writer = await asyncio.wait_for(
                            asyncio.open_connection(host, port, limit=READER_LIMIT),
                            options.timing.handshake,
                        )
                    except (OSError, TimeoutError) as e:
                        log.debug("dial %s:%s failed: %s", host, port, e)
                        continue
                    conn = self.attach(reader, writer, initiator=True, address=f"{host}:{port}")
                    await conn.settled.wait()
                    hello = conn.peer
                    if (
                        hello is not None and len(peer.device_id) == 32
                        and hello.device_id != peer.device_id
                    ):
                        # Discovery data is a hint: whoever advertised this address for
                        # the device lied (or it moved). That address is not the device's
                        # for a while; its other addresses, and redialling, stay.
                        log.warning(
                            "%s:%s claims to be device %s but %s answered; not dialling it "
                            "for that device for %d s",
                            host, port, peer.device_id.hex()[:12], hello.device_id.hex()[:12],
                            adverts.REFUTED_FOR,
                        )
                        peer.where.refute((host, port), time.monotonic())
                        self.core.emit(PeersChanged())
                        continue
                    if conn.established:
                        peer.where.proved((host, port))
                        peer.backoff = 0.0
                        return
                if not (peer.manual or peer.instance):
                    return
                peer.backoff = min(
                    max(peer.backoff * 2, options.reconnect_min), options.reconnect_max
                )
                await self._pause(peer, peer.backoff * random.uniform(0.8, 1.2))
        finally:
            peer.dialing = False

    @staticmethod
    async def _pause(peer: Peer, seconds: float) -> None:
        """Wait ``seconds`` before the next dial, or less if :meth:`redial` says so."""
        peer.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(peer.wake.wait(), seconds)

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")
        address = f"{addr[0]}:{addr[1]}" if addr else "?"
        refused = limits.refuse_inbound(address, (c.address for c in self.conns))
        if refused is not None:
            self.note_refusal(f"refusing a connection from {address}: {refused}")
            writer.close()
            return
        conn = self.attach(reader, writer, initiator=False, address=address)
        await conn.wait_closed()

    def attach(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        initiator: bool,
        address: str,
    ) -> Connection:
        session = Session(self.core.identity, initiator=initiator)
        conn = Connection(
            self, session, reader, writer, address=address, timing=self.core.options.timing,
            throttle=self._conn_throttle,
        )
        self.conns.add(conn)
        task = conn.start()
        self.core.tasks.add(task)
        task.add_done_callback(self.core.tasks.discard)
        return conn

    # -- ConnectionOwner ---------------------------------------------------------------

    def on_handshake(self, conn: Connection, hello: PeerHello) -> bool:
        if hello.device_id == self.core.device_id:
            return False  # we dialled ourselves
        if hello.version != wire.PROTOCOL_VERSION:
            return self._refuse_version(conn, hello)
        for admit in self.admit:
            if not admit(conn, hello):
                return False
        if not self.budgets.admit(conn, hello):
            return False
        peer = self._adopt(conn, hello)
        existing = peer.conn
        if existing is not None and existing is not conn and not existing.closed:
            if keep_new(existing, conn, self.core.device_id, hello.device_id):
                existing.close("replaced by a newer connection")
            else:
                return False
        peer.conn = conn
        peer.user_id = hello.user_id
        peer.name = hello.name
        peer.problem = None
        peer.active = time.monotonic()
        peer.sync = sync.PeerSync()
        peer.certs_sent = {self.core.device_id}
        peer.streaming = set()
        if conn.initiator:
            self.core.db.remember_peer(conn.address, hello.device_id, manual=peer.manual)
        log.info("connected to %s (%s)", hello.name, hello.device_id.hex()[:12])
        for hook in self.connected:
            hook(peer)
        self.core.emit(PeersChanged())
        return True

    def stranger(self, user: bytes) -> bool:
        """Neither me, nor a contact, nor in a group with me (p2p.budgets)."""
        return self.budgets.stranger(user)

    def note_refusal(self, line: str) -> None:
        """Log a refused connection, at most once a minute (a flood logs one line)."""
        self._throttle.warn("refusal", "%s", line)

    def _refuse_version(self, conn: Connection, hello: PeerHello) -> bool:
        """Another protocol version: say so to both users, and talk no further (nothing
        would half-work)."""
        problem = version_problem(hello.name, hello.version)
        log.warning("refusing %s (%s): %s", hello.name, hello.device_id.hex()[:12], problem)
        conn.send(wire.Close(
            f"protocol version {wire.PROTOCOL_VERSION} here, {hello.version} there: "
            + ("update Kith" if hello.version < wire.PROTOCOL_VERSION else
               f"{self.core.name} runs an older version of Kith")
        ))
        peer = self._adopt(conn, hello)
        peer.problem = problem
        if not peer.name:
            peer.name = hello.name
        self.core.emit(PeersChanged())
        return False

    def _adopt(self, conn: Connection, hello: PeerHello) -> Peer:
        """The peer a handshake was with. A device we only knew by the address we dialled
        becomes that device; if we knew the device already (at another address), the
        address joins it."""
        known = self.peers.get(hello.device_id)
        for key, p in list(self.peers.items()):
            if len(key) == 32 or p is known:
                continue
            if key == address_key_from(conn.address) or any(
                format_address(h, port) == conn.address or f"{h}:{port}" == conn.address
                for h, port in p.addresses
            ):
                del self.peers[key]
                if known is None:
                    p.device_id = hello.device_id
                    known = self.peers[hello.device_id] = p
                else:  # (redialled at its new address: remember that one first)
                    known.where.merge(p.where)
                    known.manual = known.manual or p.manual
        if known is None:
            known = self.peers[hello.device_id] = Peer(hello.device_id)
        return known

    def on_closed(self, conn: Connection, reason: str) -> None:
        self.conns.discard(conn)
        if conn.peer is None:
            return
        peer = self.peers.get(conn.peer.device_id)
        if peer is None or peer.conn is not conn:
            return
        peer.conn = None
        log.info("disconnected from %s: %s", peer.name, reason)
        for hook in self.disconnected:
            hook(peer)
        self.core.emit(PeersChanged())
        if (
            self.core.running and not self.core.devices.removed
            and (peer.manual or peer.instance) and not peer.dialing
        ):
            # (a peer that let us go to make room for others is not dialled again at once)
            crowded = reason.startswith(("peer said goodbye: busy", "peer said goodbye: idle"))
            options = self.core.options
            self.dial_soon(peer, options.reconnect_max if crowded else options.reconnect_min)

    def on_messages(self, conn: Connection, messages: Sequence[wire.Message]) -> None:
        assert conn.peer is not None
        peer = self.peers.get(conn.peer.device_id)
        if peer is None or peer.conn is not conn:
            return
        peer.active = time.monotonic()  # (keepalives never get here)
        items: list[tuple[bytes, bytes | None]] = []
        try:
            for m in messages:
                if isinstance(m, wire.Events):
                    items.extend(m.events)
                    continue
                if items:
                    self.receive_events(peer, items)
                    items = []
                handler = self.handlers.get(type(m))
                if handler is not None:
                    handler(peer, m)
            if items:
                self.receive_events(peer, items)
        except RemoteProtocolError as e:
            self._throttle.warn(f"protocol:{str(e)[:60]}", "closing connection to %s: %s",
                                peer.name, e)
            conn.close(f"protocol error: {e}")
        except WRITE_ERRORS as e:
            # Nothing of it was stored (or acknowledged): the peer offers it again later.
            log.error("cannot store what %s sent: %s", peer.name, e)
            conn.close(f"cannot store: {e}")

def keep_new(old: Connection, new: Connection, me: bytes, them: bytes) -> bool:
    """Tie-break between two live connections to the same device (same answer on both
    sides): a reconnect by the same dialler replaces the old connection; otherwise the
    connection dialled by the lower device id wins."""
    old_dialler = me if old.initiator else them
    new_dialler = me if new.initiator else them
    if old_dialler == new_dialler:
        return True
    return new_dialler == min(me, them)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_key(host: str, port: int) -> bytes:
    return f"addr:{host}:{port}".encode()


def address_key_from(address: str) -> bytes:
    return f"addr:{address}".encode()


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port); raises UserError."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{text!r} is not HOST:PORT")
    return host, int(port)

