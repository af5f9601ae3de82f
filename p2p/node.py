"""The Node: one running Kith device. The facade the CLI, the daemon and the app use.

It ties the pieces together: the profile (keys, database, lock), the TCP server and
dialer (:mod:`p2p.connection`), discovery (:mod:`p2p.discovery`), the event log
(:mod:`p2p.events`) and replication (:mod:`p2p.sync`). Everything runs on one asyncio
loop; listeners get :class:`NodeEvent` values synchronously on that loop.

Write path (group commit): new local events are signed at once and queued; the queue
is committed in one transaction on the next loop turn, then pushed to live peers.
Receive path: everything one socket read delivered is checked log by log (chain links
plus one signature per run) and stored in one transaction, together with one delivery
receipt per log of what came from the contact (what my own devices relay was acknowledged
by the device that got it from the contact).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from p2p import events as ev
from p2p import sync, wire
from p2p.connection import Connection, Timing
from p2p.errors import EnvironmentProblem, RemoteProtocolError, UserError
from p2p.fingerprint import normalize_safety_number, safety_number, sas_emoji
from p2p.identity import (
    DeviceCertificate,
    DeviceRevocation,
    Identity,
    revoke_device,
    save_identity,
    valid_name,
)
from p2p.profile import DB_FILE, ProfileLock, require_identity
from p2p.session import PeerHello, Session
from storage import (
    STATUS_DELIVERED,
    STATUS_NAMES,
    STATUS_READ,
    STATUS_RECEIVED,
    ContactRow,
    EventRowTuple,
    MessageRow,
    StorageError,
    Store,
)

log = logging.getLogger(__name__)

BATCH_BYTES = 60 * 1024  # raw event bytes per Events frame
STREAM_PAGE = 2000  # events read from the database per page while streaming history
TYPING_TTL = 6.0  # seconds a typing signal lasts unless renewed
ACCEPTED, PENDING_IN, PENDING_OUT, DECLINED = "accepted", "pending_in", "pending_out", "declined"


# -- what listeners receive -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessagesAdded:
    conv: bytes
    messages: list[MessageRow]


@dataclass(frozen=True, slots=True)
class StatusChanged:
    conv: bytes
    author: bytes
    up_to_seq: int
    status: int


@dataclass(frozen=True, slots=True)
class ContactChanged:
    user_id: bytes


@dataclass(frozen=True, slots=True)
class PeersChanged:
    pass


@dataclass(frozen=True, slots=True)
class TypingChanged:
    conv: bytes
    user_id: bytes
    active: bool


@dataclass(frozen=True, slots=True)
class DevicesChanged:
    """One of my devices was linked, seen or removed (or this device was removed)."""


@dataclass(frozen=True, slots=True)
class SettingChanged:
    key: str


@dataclass(frozen=True, slots=True)
class HandoffOffer:
    """Another of my devices has a chat open (with ``user``) and maybe a draft in it."""

    device_id: bytes
    device_name: str
    user: bytes | None  # None: that device closed its chat
    draft: str


NodeEvent = (
    MessagesAdded | StatusChanged | ContactChanged | PeersChanged | TypingChanged
    | DevicesChanged | SettingChanged | HandoffOffer
)

_OWN_STATE_BODIES = (ev.RosterBody, ev.SettingBody, ev.ReadBody)  # self-conversation events

# Settings that belong to the user, not the device: they sync between own devices.
SYNCED_SETTINGS = frozenset({"read_receipts", "typing_indicators"})


# -- what the API returns -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerInfo:
    name: str
    user_id: bytes | None
    device_id: bytes | None
    addresses: list[str]
    contact: str | None
    key_changed: bool
    connected: bool
    # Every device of this entry: one for Node.peers(), all of the person's for
    # Node.people() (``device_id`` is then one of them, a connected one if any).
    devices: list[bytes] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user_id": self.user_id.hex() if self.user_id else None,
            "device_id": self.device_id.hex() if self.device_id else None,
            "devices": [d.hex() for d in self.devices],
            "addresses": self.addresses,
            "contact": self.contact,
            "key_changed": self.key_changed,
            "connected": self.connected,
        }


@dataclass(frozen=True, slots=True)
class ContactInfo:
    name: str
    user_id: bytes
    state: str
    verified: bool
    key_changed: bool
    online: bool
    replaced_by: bytes | None = None  # the person's new key, confirmed by the user

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user_id": self.user_id.hex(),
            "state": self.state,
            "verified": self.verified,
            "key_changed": self.key_changed,
            "online": self.online,
            "replaced_by": self.replaced_by.hex() if self.replaced_by else None,
        }


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_id: bytes
    name: str
    this_device: bool
    last_seen: int | None
    removed: bool
    online: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id.hex(),
            "name": self.name,
            "this_device": self.this_device,
            "last_seen": self.last_seen,
            "removed": self.removed,
            "online": self.online,
        }


def message_json(m: MessageRow, my_user: bytes, names: dict[bytes, str]) -> dict[str, Any]:
    return {
        "id": m.event_id.hex(),
        "from": "me" if m.sender == my_user else names.get(m.sender, m.sender.hex()[:12]),
        "from_user": m.sender.hex(),
        "text": m.text,
        "time": m.time / 1000,
        "status": STATUS_NAMES.get(m.status, "unknown"),
        "outgoing": m.outgoing,
    }


@dataclass
class _Peer:
    """Runtime knowledge of one peer device (discovered, dialled or connected)."""

    device_id: bytes
    name: str = ""
    addresses: list[tuple[str, int]] = field(default_factory=list)
    user_id: bytes | None = None
    instance: str | None = None
    hidden: bool = False  # its advert carries no name: its user is not discoverable
    manual: bool = False
    conn: Connection | None = None
    sync: sync.PeerSync = field(default_factory=sync.PeerSync)
    dialing: bool = False
    backoff: float = 0.0
    certs_sent: set[bytes] = field(default_factory=set)
    streaming: set[bytes] = field(default_factory=set)
    typing: dict[bytes, float] = field(default_factory=dict)


@dataclass
class NodeOptions:
    interfaces: list[str] | None = None  # None: every LAN interface
    port: int | None = None  # None: the profile's remembered port, else any free one
    discovery: bool = True
    network: bool = True  # False: no listening, no discovery, no dialling (database only)
    timing: Timing = field(default_factory=Timing)
    reconnect_min: float = 0.25
    reconnect_max: float = 30.0


class Node:
    """One Kith device: identity, database, network. Create, ``await start()``, use,
    ``await stop()``."""

    def __init__(self, profile: Path, options: NodeOptions | None = None) -> None:
        self.profile = Path(profile)
        self.options = options or NodeOptions()
        self.identity: Identity = require_identity(self.profile)
        self._user_id = self.identity.user_id
        self._device_id = self.identity.device_id
        self._direct: dict[bytes, bytes] = {}
        self.store: Store | None = None
        self.port = 0
        self._lock = ProfileLock(self.profile)
        self._servers: list[asyncio.Server] = []
        self._peers: dict[bytes, _Peer] = {}  # device id -> peer
        self._by_instance: dict[str, bytes] = {}
        self._conns: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listeners: list[Callable[[NodeEvent], None]] = []
        # Tip of every log, including our events still queued for the group commit...
        self._heads: dict[tuple[bytes, bytes], tuple[int, bytes]] = {}
        # ...and what is on disk, per conversation: the vectors we offer to peers.
        self._durable: dict[bytes, dict[bytes, int]] = {}
        self._lamport: dict[bytes, int] = {}
        self._pending: list[ev.SignedEvent] = []
        self._pending_msgs: list[MessageRow] = []
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._discovery: Any = None
        self._running = False
        self._sas_cache: dict[bytes, bytes] = {}
        self._contacts: dict[bytes, ContactRow] | None = None  # cache of the contacts table
        self.handoffs: dict[bytes, HandoffOffer] = {}  # my other devices' open chats
        self._open_chat: wire.Handoff | None = None  # the chat open here, for handoff
        # Own devices share every conversation; this one holds what only they share
        # (contact states, verification marks, per-user settings).
        self.self_conv = ev.self_conversation(self._user_id)
        self._revoked: dict[bytes, bytes] = {}  # removed device -> its user
        self.removed = False  # this device was removed by another of my devices
        self._link_adverts: dict[str, Any] = {}  # mDNS instance -> advert with link=hint
        self._offline: asyncio.Task[None] | None = None  # a removed device leaving the LAN

    # -- identity --------------------------------------------------------------------

    @property
    def user_id(self) -> bytes:
        return self._user_id

    @property
    def device_id(self) -> bytes:
        return self._device_id

    def conv_with(self, user: bytes) -> bytes:
        """The direct conversation with ``user``."""
        conv = self._direct.get(user)
        if conv is None:
            conv = self._direct[user] = ev.direct_conversation(self._user_id, user)
        return conv

    @property
    def name(self) -> str:
        return self.identity.name

    @property
    def db(self) -> Store:
        if self.store is None:
            raise UserError("the node is not running")
        return self.store

    def _contact_rows(self) -> list[ContactRow]:
        if self._contacts is None:
            self._contacts = {c.user_id: c for c in self.db.contacts()}
        return sorted(self._contacts.values(), key=lambda c: (c.name.casefold(), c.user_id))

    def _contact(self, user: bytes) -> ContactRow | None:
        if self._contacts is None:
            self._contact_rows()
        assert self._contacts is not None
        return self._contacts.get(user)

    def _save_contact(self, user: bytes, **fields: Any) -> ContactRow:
        row = self.db.upsert_contact(user, **fields)
        if self._contacts is not None:
            self._contacts[user] = row
        return row

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, *, discover: bool = True) -> None:
        """Open the database, listen and (with ``discover``) start LAN discovery. The app
        passes False and calls ``start_discovery()`` once its window is up: registering
        on the LAN probes the name first, about 1.2 s."""
        self._lock.acquire()
        try:
            self.store = Store(self.profile / DB_FILE)
        except StorageError as e:
            self._lock.release()
            raise EnvironmentProblem(str(e)) from e
        try:
            await self._start(discover)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, discover: bool) -> None:
        store = self.db
        for h in store.heads():
            self._heads[(h.conv, h.author)] = (h.seq, h.id)
            self._durable.setdefault(h.conv, {})[h.author] = h.seq
            if h.lamport > self._lamport.get(h.conv, 0):
                self._lamport[h.conv] = h.lamport
        c = self.identity.cert
        store.upsert_device(c.device, c.user, c.name, c.created, wire.encode_cert(c))
        self._revoked = {d: u for d, u, _ in store.revocations()}
        self.removed = self._is_revoked(self.device_id, self.user_id)
        self._running = True
        if not self.options.network:
            return
        if self.removed:
            # Nobody would talk to it: no listening socket, no advert, no dialling.
            log.warning("this device was removed by another of %s's devices; it stays off "
                        "the network", self.name)
            return
        await self._listen()
        for p in store.peers():
            if p.manual:
                host, _, port = p.address.rpartition(":")
                self._remember_manual(host.strip("[]"), int(port), p.device_id)
        if discover:
            await self.start_discovery()

    async def start_discovery(self) -> None:
        """Announce this device and browse for peers on the LAN, if the options want
        discovery; nothing if it already runs. EnvironmentProblem if the network is
        unusable (the node keeps running without discovery)."""
        if not self._running or not self.options.network or not self.options.discovery:
            return
        if self._discovery is not None or self.removed:  # (a removed device stays off)
            return
        from p2p.discovery import Discovery, PeerAdvert

        def found(advert: PeerAdvert) -> None:
            self._on_advert(advert)

        def lost(instance: str) -> None:
            self._on_advert_lost(instance)

        discovery = Discovery(
            device_id_hex=self.device_id.hex(),
            port=self.port,
            name=self.name if self.discoverable else None,
            interfaces=self.options.interfaces,
            on_found=found,
            on_lost=lost,
        )
        self._discovery = discovery
        try:
            await discovery.start()
        except BaseException:
            if self._discovery is discovery:
                self._discovery = None
            raise

    async def _listen(self) -> None:
        # Every host gets the same port (asyncio would give IPv4 and IPv6 different
        # ephemeral ports for host=None, and we advertise only one).
        every = ["0.0.0.0", "::"]  # noqa: S104 - the user's default: all LAN interfaces
        hosts: list[str] = list(self.options.interfaces or every)
        optional = set() if self.options.interfaces else {"::"}  # a host without IPv6
        wanted = self.options.port
        if wanted is None:
            wanted = int(self.db.get_setting("port", 0))
        for attempt_port in ([wanted, 0] if wanted else [0]):
            port = attempt_port
            try:
                servers = []
                for host in hosts:
                    try:
                        server = await asyncio.start_server(
                            self._on_inbound, host=host, port=port, reuse_address=True
                        )
                    except OSError:
                        if host in optional:
                            continue
                        raise
                    servers.append(server)
                    port = server.sockets[0].getsockname()[1]
                self._servers = servers
                self.port = port
                break
            except OSError as e:
                for s in servers:
                    s.close()
                if attempt_port == 0 or self.options.port is not None:
                    raise EnvironmentProblem(f"cannot listen on port {attempt_port}: {e}") from e
        if self.options.port is None:
            self.db.set_setting("port", self.port)

    async def stop(self) -> None:
        self._running = False
        if self._offline is not None:  # let a removed device finish leaving the network
            with contextlib.suppress(Exception):
                await asyncio.shield(self._offline)
        if self._discovery is not None:
            with contextlib.suppress(Exception):
                await self._discovery.stop()
            self._discovery = None
        for s in self._servers:
            s.close()
        for conn in list(self._conns):
            conn.send(wire.Close("shutting down"))
            conn.close("shutting down")
        for conn in list(self._conns):
            await conn.wait_closed()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers = []
        if self._flusher is not None:  # let the last group commit land
            with contextlib.suppress(Exception):
                await self._flusher
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.store is not None:
            with contextlib.suppress(Exception), self.store.transaction():
                self._write_local(self.store, self._pending, self._pending_msgs)
            self._pending, self._pending_msgs = [], []
            self.store.close()
            self.store = None
        self._lock.release()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def subscribe(self, listener: Callable[[NodeEvent], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: NodeEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("listener failed on %r", event)

    # -- settings --------------------------------------------------------------------

    @property
    def discoverable(self) -> bool:
        return bool(self.db.get_setting("discoverable", True))

    async def set_discoverable(self, value: bool) -> None:
        """Discoverable: anyone on the LAN sees this device (name in the advert). Not
        discoverable: the advert carries no name, Kith nodes dial it only if its user is
        their contact (or them), it dials no strangers and refuses their connections,
        and the strangers connected now are let go. Contacts and my devices notice no
        difference; adding someone new still works from this side."""
        self.db.set_setting("discoverable", value)
        self._emit(SettingChanged("discoverable"))
        if self._discovery is not None:
            await self._discovery.set_name(self.name if value else None)
        if not value:
            for p in list(self._peers.values()):
                if p.conn is not None and not p.manual and not self._known_user(p.user_id):
                    p.conn.close("no longer discoverable")
        else:  # the strangers around can be met again
            for p in list(self._peers.values()):
                if p.conn is None and p.instance and not p.dialing and self._may_dial(p):
                    self._dial_soon(p, 0.0)
        self._emit(PeersChanged())

    def _known_user(self, user: bytes | None) -> bool:
        """Me, or someone in my contacts (a request either way counts, a decline not)."""
        if user is None:
            return False
        if user == self.user_id:
            return True
        c = self._contact(user)
        return c is not None and c.state != DECLINED

    def _known_device(self, device_id: bytes) -> bool:
        row = self.db.device(device_id) if len(device_id) == 32 else None
        return row is not None and not row.revoked and self._known_user(row.user_id)

    def _may_dial(self, peer: _Peer) -> bool:
        """Dial a discovered device unless that would reveal someone who hides: it hides
        (its advert has no name) or I do, and it is not one of my contacts' or my own."""
        if peer.manual or self._known_device(peer.device_id):
            return True
        return self.discoverable and not peer.hidden

    # -- peers -----------------------------------------------------------------------

    def _on_advert(self, advert: Any) -> None:
        if getattr(advert, "link", None):
            # A device waiting to be linked: not a peer; `kith devices add` looks here.
            self._link_adverts[advert.instance] = advert
            self._emit(PeersChanged())
            return
        try:
            device_id = bytes.fromhex(advert.device_hint)
        except ValueError:
            return
        if device_id == self.device_id or len(device_id) != 32 or self._is_revoked(device_id):
            return  # (a removed device id never comes back: no point dialling it)
        self._by_instance[advert.instance] = device_id
        peer = self._peers.setdefault(device_id, _Peer(device_id))
        peer.instance = advert.instance
        peer.hidden = not advert.name
        if advert.name and not peer.user_id:
            peer.name = advert.name
        peer.addresses = [(a, advert.port) for a in advert.addresses]
        self._emit(PeersChanged())
        if peer.conn is None and not peer.dialing and self._may_dial(peer):
            # The lower device id dials first; the other waits a moment, so two nodes
            # that discover each other at once rarely race into a tie-break.
            delay = 0.0 if self.device_id < device_id else 1.0
            self._dial_soon(peer, delay)

    def _on_advert_lost(self, instance: str) -> None:
        self._link_adverts.pop(instance, None)
        device_id = self._by_instance.pop(instance, None)
        peer = self._peers.get(device_id) if device_id else None
        if peer is not None:
            peer.instance = None
            if peer.conn is None and not peer.manual:
                del self._peers[peer.device_id]
            self._emit(PeersChanged())

    def _remember_manual(self, host: str, port: int, device_id: bytes | None) -> _Peer:
        if device_id is None:
            device_id = next(
                (k for k, p in self._peers.items() if (host, port) in p.addresses), None
            )
        key = device_id or _address_key(host, port)
        peer = self._peers.setdefault(key, _Peer(key))
        peer.manual = True
        if (host, port) not in peer.addresses:
            peer.addresses.insert(0, (host, port))
        if peer.conn is None and not peer.dialing:
            self._dial_soon(peer, 0.0)
        return peer

    async def connect(self, host: str, port: int, timeout: float = 10.0) -> PeerInfo:
        """Dial ``host:port`` now, remember the address, and wait for the handshake."""
        self._refuse_if_removed()
        self.db.remember_peer(_format_address(host, port), manual=True)
        peer = self._remember_manual(host, port, None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self._peer_at(host, port)
            if found is not None and found.conn is not None and found.conn.established:
                return self._peer_info(found)
            await self._wait_event(
                lambda e: isinstance(e, PeersChanged), deadline - time.monotonic()
            )
        raise UserError(
            f"could not reach a Kith node at {_format_address(host, port)}"
            + (f" ({peer.conn.close_reason})" if peer.conn and peer.conn.close_reason else "")
        )

    def _peer_at(self, host: str, port: int) -> _Peer | None:
        for p in self._peers.values():
            if (host, port) in p.addresses and p.conn is not None:
                return p
        return None

    async def _wait_event(self, pred: Callable[[NodeEvent], bool], timeout: float) -> bool:
        if timeout <= 0:
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on(e: NodeEvent) -> None:
            if pred(e) and not fut.done():
                fut.set_result(None)

        unsubscribe = self.subscribe(on)
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            unsubscribe()

    def _dial_soon(self, peer: _Peer, delay: float) -> None:
        if self.removed:
            return
        peer.dialing = True
        self._spawn(self._dial(peer, delay), f"kith-dial-{peer.device_id.hex()[:8]}")

    async def _dial(self, peer: _Peer, delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            while self._running and not self.removed and peer.conn is None and peer.addresses:
                if self._peers.get(peer.device_id) is not peer or not self._may_dial(peer):
                    return
                for host, port in list(peer.addresses):
                    if peer.conn is not None or not self._running:
                        return
                    try:
                        reader, writer = await asyncio.wait_for(
                            asyncio.open_connection(host, port), self.options.timing.handshake
                        )
                    except (OSError, TimeoutError) as e:
                        log.debug("dial %s:%s failed: %s", host, port, e)
                        continue
                    conn = self._attach(reader, writer, initiator=True, address=f"{host}:{port}")
                    await conn.settled.wait()
                    hello = conn.peer
                    if hello is not None and peer.instance and hello.device_id != peer.device_id:
                        # Discovery data is a hint: this advert lied about who is there.
                        log.warning(
                            "mDNS advert %s claims device %s but %s answered; dropping it",
                            peer.instance, peer.device_id.hex()[:12], hello.device_id.hex()[:12],
                        )
                        self._by_instance.pop(peer.instance, None)
                        if self._peers.get(peer.device_id) is peer:
                            del self._peers[peer.device_id]
                        self._emit(PeersChanged())
                        return
                    if conn.established:
                        peer.backoff = 0.0
                        return
                if not (peer.manual or peer.instance):
                    return
                peer.backoff = min(
                    max(peer.backoff * 2, self.options.reconnect_min), self.options.reconnect_max
                )
                await asyncio.sleep(peer.backoff * random.uniform(0.8, 1.2))
        finally:
            peer.dialing = False

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")
        address = f"{addr[0]}:{addr[1]}" if addr else "?"
        conn = self._attach(reader, writer, initiator=False, address=address)
        await conn.wait_closed()

    def _attach(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        initiator: bool,
        address: str,
    ) -> Connection:
        session = Session(self.identity, initiator=initiator)
        conn = Connection(
            self, session, reader, writer, address=address, timing=self.options.timing
        )
        self._conns.add(conn)
        task = conn.start()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return conn

    # -- ConnectionOwner -------------------------------------------------------------

    def on_handshake(self, conn: Connection, hello: PeerHello) -> bool:
        if hello.device_id == self.device_id:
            return False  # we dialled ourselves
        if self.removed:
            return False  # a removed device takes part in nothing any more
        store = self.db
        device = store.device(hello.device_id)
        if self._is_revoked(hello.device_id, hello.user_id) or (
            device is not None and device.revoked
        ):
            log.warning("refusing removed device %s", hello.device_id.hex()[:12])
            # Tell it why, with the proof: it then stops trying.
            own = [r for r in self._revocations() if r.device == hello.device_id]
            if own:
                conn.send(wire.Revoke(own))
            conn.send(wire.Close("this device was removed by its owner"))
            return False
        if (
            not conn.initiator and not self.discoverable
            and not self._known_user(hello.user_id)
        ):
            log.info("refusing %s: not discoverable to strangers", hello.device_id.hex()[:12])
            conn.send(wire.Close("not discoverable"))
            return False
        peer = self._peers.get(hello.device_id)
        if peer is None:
            peer = self._adopt_peer(conn, hello)
        existing = peer.conn
        if existing is not None and existing is not conn and not existing.closed:
            if _keep_new(existing, conn, self.device_id, hello.device_id):
                existing.close("replaced by a newer connection")
            else:
                return False
        peer.conn = conn
        peer.user_id = hello.user_id
        peer.name = hello.name
        peer.sync = sync.PeerSync()
        peer.certs_sent = {self.device_id}
        peer.streaming = set()
        c = hello.cert
        store.upsert_device(c.device, c.user, c.name, c.created, wire.encode_cert(c))
        store.touch_device(c.device)
        if conn.initiator:
            store.remember_peer(conn.address, c.device, manual=peer.manual)
        self._sas_cache[hello.user_id] = hello.handshake_hash
        contact = self._contact(hello.user_id)
        if contact is not None and contact.name != hello.name:
            self._save_contact(hello.user_id, name=hello.name)
            self._emit(ContactChanged(hello.user_id))
        log.info("connected to %s (%s)", hello.name, hello.device_id.hex()[:12])
        self._emit(PeersChanged())
        if hello.user_id == self.user_id:
            self._emit(DevicesChanged())
        revocations = self._revocations()
        if revocations:
            conn.send(wire.Revoke(revocations))
        if hello.user_id == self.user_id and self._open_chat is not None:
            conn.send(self._open_chat)  # it can offer to continue what is open here
        self._send_digest(peer)
        return True

    def _adopt_peer(self, conn: Connection, hello: PeerHello) -> _Peer:
        """A handshake from a device we only knew by address (or not at all)."""
        for key, p in list(self._peers.items()):
            if any(f"{h}:{port}" == conn.address for h, port in p.addresses) and len(key) != 32:
                del self._peers[key]
                p.device_id = hello.device_id
                self._peers[hello.device_id] = p
                return p
            if key == _address_key_from(conn.address):
                del self._peers[key]
                p.device_id = hello.device_id
                self._peers[hello.device_id] = p
                return p
        peer = _Peer(hello.device_id)
        self._peers[hello.device_id] = peer
        return peer

    def on_closed(self, conn: Connection, reason: str) -> None:
        self._conns.discard(conn)
        if conn.peer is None:
            return
        peer = self._peers.get(conn.peer.device_id)
        if peer is None or peer.conn is not conn:
            return
        peer.conn = None
        log.info("disconnected from %s: %s", peer.name, reason)
        with contextlib.suppress(Exception):
            self.db.touch_device(peer.device_id)
        if self.handoffs.pop(peer.device_id, None) is not None:  # offline: nothing to continue
            self._emit(HandoffOffer(peer.device_id, peer.name, None, ""))
        for conv in list(peer.typing):
            self._emit(TypingChanged(conv, peer.user_id or b"", False))
        peer.typing.clear()
        self._emit(PeersChanged())
        if (
            self._running and not self.removed and (peer.manual or peer.instance)
            and not peer.dialing
        ):
            self._dial_soon(peer, self.options.reconnect_min)

    def on_messages(self, conn: Connection, messages: Sequence[wire.Message]) -> None:
        assert conn.peer is not None
        peer = self._peers.get(conn.peer.device_id)
        if peer is None or peer.conn is not conn:
            return
        raw_events: list[bytes] = []
        try:
            for m in messages:
                if isinstance(m, wire.Events):
                    raw_events.extend(m.events)
                    continue
                if raw_events:
                    self._receive_events(peer, raw_events)
                    raw_events = []
                self._handle(peer, m)
            if raw_events:
                self._receive_events(peer, raw_events)
        except RemoteProtocolError as e:
            log.warning("closing connection to %s: %s", peer.name, e)
            conn.close(f"protocol error: {e}")

    def _handle(self, peer: _Peer, m: wire.Message) -> None:
        if isinstance(m, wire.Digest):
            self._on_digest(peer, m)
        elif isinstance(m, wire.Want):
            self._on_want(peer, m)
        elif isinstance(m, wire.Certs):
            self._on_certs(peer, m.certs)
        elif isinstance(m, wire.Revoke):
            self._on_revoke(m.revocations)
        elif isinstance(m, wire.Typing):
            if (
                peer.user_id is not None and peer.user_id != self.user_id
                and self._may_receive(peer.user_id, m.conv)
            ):
                if m.active:
                    peer.typing[m.conv] = time.monotonic()
                else:
                    peer.typing.pop(m.conv, None)
                self._emit(TypingChanged(m.conv, peer.user_id, m.active))
        elif isinstance(m, wire.Handoff):
            self._on_handoff(peer, m)
        elif isinstance(m, wire.Profile):
            if 0 < len(m.name) <= 64 and peer.user_id is not None:
                peer.name = m.name
                if self._contact(peer.user_id) is not None:
                    self._save_contact(peer.user_id, name=m.name)
                    self._emit(ContactChanged(peer.user_id))
                self._emit(PeersChanged())

    # -- entitlement -----------------------------------------------------------------

    def _may_send(self, user_id: bytes, conv: bytes) -> bool:
        """May events of ``conv`` go to devices of ``user_id``?"""
        if user_id == self.user_id:
            return not self.removed  # own devices: every conversation
        if conv != self.conv_with(user_id):
            return False
        c = self._contact(user_id)
        return (
            c is not None and c.state in (ACCEPTED, PENDING_OUT) and not c.key_changed
        )

    def _may_receive(self, user_id: bytes, conv: bytes) -> bool:
        if user_id == self.user_id:
            return not self.removed
        if conv != self.conv_with(user_id):
            return False
        c = self._contact(user_id)
        return c is None or c.state != DECLINED

    def _shared_convs(self, user_id: bytes) -> list[bytes]:
        if user_id == self.user_id:
            if self.removed:
                return []
            return sorted(set(self._durable) | {self.self_conv})
        conv = self.conv_with(user_id)
        return [conv] if self._may_send(user_id, conv) else []

    # -- sync ------------------------------------------------------------------------

    def _vector(self, conv: bytes) -> sync.Vector:
        # Removed devices' logs are neither offered nor asked for: what we hold of them
        # stays, and nobody streams more of them.
        vec = self._durable.get(conv, {})
        if self._revoked:
            return {a: s for a, s in vec.items() if a not in self._revoked}
        return dict(vec)

    def _send_digest(self, peer: _Peer, convs: Sequence[bytes] | None = None) -> None:
        if peer.conn is None or peer.user_id is None:
            return
        convs = self._shared_convs(peer.user_id) if convs is None else convs
        if convs:
            peer.conn.send(wire.Digest([(c, sync.digest(self._vector(c))) for c in convs]))
            peer.sync.digest_sent.update(convs)

    def _on_digest(self, peer: _Peer, m: wire.Digest) -> None:
        assert peer.conn is not None and peer.user_id is not None
        for conv, their in m.convs[:10000]:
            if not self._may_receive(peer.user_id, conv):
                continue
            mine = self._vector(conv)
            if sync.digest(mine) == their:
                if self._may_send(peer.user_id, conv):
                    peer.sync.on_want(conv, mine)  # same vector: nothing to catch up
            else:
                peer.conn.send(wire.Want(conv, mine))

    def _on_want(self, peer: _Peer, m: wire.Want) -> None:
        assert peer.user_id is not None
        if not self._may_send(peer.user_id, m.conv):
            return
        vector = {a: s for a, s in list(m.vector.items())[:100000] if len(a) == 32 and s >= 0}
        peer.sync.on_want(m.conv, vector)
        if m.conv not in peer.streaming and sync.missing(self._vector(m.conv), vector):
            peer.streaming.add(m.conv)
            self._spawn(self._stream(peer, m.conv), "kith-stream")

    async def _stream(self, peer: _Peer, conv: bytes) -> None:
        """Send a peer every event of ``conv`` it lacks, a page at a time."""
        conn = peer.conn
        try:
            while conn is not None and not conn.closed and peer.conn is conn:
                todo = sync.missing(self._vector(conv), peer.sync.known.get(conv, {}))
                if not todo:
                    return
                progressed = False
                for author, after, _ in todo:
                    raws = self.db.events_after(conv, author, after, STREAM_PAGE)
                    if not raws:
                        continue
                    progressed = True
                    self._send_certs(peer, [author])
                    self._send_raw(peer, raws)
                    peer.sync.has(conv, author, after + len(raws))
                    await conn.drain()
                    await asyncio.sleep(0)
                if not progressed:  # the vector ran ahead of the database: a bug
                    log.error("stream stalled for %s; giving up", peer.name)
                    return
        finally:
            peer.streaming.discard(conv)

    def _send_certs(self, peer: _Peer, authors: Sequence[bytes]) -> None:
        certs = []
        for a in authors:
            if a in peer.certs_sent or a == peer.device_id:
                continue
            row = self.db.device(a)
            if row is not None:
                certs.append(wire.decode_cert(row.cert))
            peer.certs_sent.add(a)
        if certs and peer.conn is not None:
            peer.conn.send(wire.Certs(certs))

    def _send_raw(self, peer: _Peer, raws: Sequence[bytes]) -> None:
        assert peer.conn is not None
        batch: list[bytes] = []
        size = 0
        for raw in raws:
            if size + len(raw) > BATCH_BYTES and batch:
                peer.conn.send(wire.Events(batch))
                batch, size = [], 0
            batch.append(raw)
            size += len(raw) + 3
        if batch:
            peer.conn.send(wire.Events(batch))

    def _on_certs(self, peer: _Peer, certs: Sequence[DeviceCertificate]) -> None:
        for c in certs[:1000]:
            c.verify()
            existing = self.db.device(c.device)
            if existing is not None and existing.user_id != c.user:
                raise RemoteProtocolError("certificate moves a device to another user")
            self.db.upsert_device(c.device, c.user, c.name, c.created, wire.encode_cert(c))

    def _push(self, new: Sequence[ev.SignedEvent], source: _Peer | None = None) -> None:
        """Send freshly stored events to every live peer entitled to them."""
        live = [
            p for p in self._peers.values()
            if p is not source and p.conn is not None and p.conn.established
        ]
        if not live:  # (a history sync from my one other device: nobody to pass it to)
            return
        by_conv: dict[bytes, list[ev.SignedEvent]] = {}
        for e in new:
            by_conv.setdefault(e.event.conv, []).append(e)
        for peer in live:
            assert peer.user_id is not None
            for conv, evs in by_conv.items():
                if not self._may_send(peer.user_id, conv):
                    continue
                if conv not in peer.sync.live:
                    if conv not in peer.sync.digest_sent or conv not in peer.streaming:
                        self._send_digest(peer, [conv])
                    continue
                if conv in peer.streaming:
                    continue  # the stream task sends everything up to the head
                out = []
                for e in evs:
                    if peer.sync.after(conv, e.event.author) == e.event.seq - 1:
                        out.append(e)
                        peer.sync.has(conv, e.event.author, e.event.seq)
                if out:
                    self._send_certs(peer, list({e.event.author for e in out}))
                    self._send_raw(peer, [e.raw for e in out])
                if any(peer.sync.lacks(conv, a, s) for a, s in self._vector(conv).items()):
                    peer.streaming.add(conv)
                    self._spawn(self._stream(peer, conv), "kith-stream")

    # -- receiving events ------------------------------------------------------------

    def _receive_events(self, peer: _Peer, raws: Sequence[bytes]) -> None:
        assert peer.user_id is not None and peer.conn is not None
        decoded = [ev.decode(r) for r in raws]
        store = self.db
        accepted: list[ev.SignedEvent] = []
        msgs: list[MessageRow] = []
        status_updates: list[tuple[bytes, bytes, int, int]] = []
        contact_changes: set[bytes] = set()
        receipts_due: dict[tuple[bytes, bytes], int] = {}
        roster_due: set[bytes] = set()
        resync: set[bytes] = set()
        from_own_device = peer.user_id == self.user_id
        for (conv, author), run in sync.runs(decoded).items():
            if author == self.device_id:
                continue  # our own events coming back: we hold them already
            device = store.device(author)
            if device is None:
                raise RemoteProtocolError("event from an unknown device")
            if device.revoked or self._is_revoked(author, device.user_id):
                log.info("dropping events of removed device %s", author.hex()[:12])
                continue
            author_user = device.user_id
            if not self._may_receive(author_user, conv):
                raise RemoteProtocolError("event for a conversation the sender is not in")
            if not from_own_device and not self._may_receive(peer.user_id, conv):
                raise RemoteProtocolError("relayed event for a conversation the relay is not in")
            mine = author_user == self.user_id
            head_t = self._heads.get((conv, author))
            head = ev.Head(*head_t) if head_t else None
            known: set[bytes] = set()
            if head is not None and run[0].event.seq <= head.seq:
                known = set(
                    store.event_ids(conv, author, run[0].event.seq, head.seq).values()
                )
            part = sync.split_run(head, run, known)
            if part.forks:
                log.warning("device %s equivocated in a conversation", author.hex()[:12])
            for e in run[: len(run) - len(part.fresh)]:
                peer.sync.has(conv, author, e.event.seq)
            if not part.fresh:
                continue
            if part.gap:
                resync.add(conv)
                continue
            ev.verify_chain(head, part.fresh)
            # Apply in order; a non-contact event from a stranger stops the run.
            lamport = self._lamport.get(conv, 0)
            good: list[ev.SignedEvent] = []
            state = self._contact(author_user)
            for e in part.fresh:
                body = e.body()
                if isinstance(body, _OWN_STATE_BODIES):
                    if not mine or conv != self.self_conv:
                        raise RemoteProtocolError("own-device event from another user")
                    if isinstance(body, ev.ReadBody):
                        status_updates.append((body.conv, body.author, body.seq, STATUS_READ))
                    else:
                        self._apply_own(e, body, contact_changes)
                elif mine or conv == self.self_conv:
                    if conv == self.self_conv:
                        raise RemoteProtocolError("unexpected event in the self conversation")
                    # My other device's event: its contact actions arrive as roster
                    # events; its messages are outgoing; its receipts are my read state.
                    if isinstance(body, ev.MessageBody):
                        msgs.append(
                            MessageRow(
                                e.id, conv, author, author_user, e.event.seq, e.event.lamport,
                                e.event.time, body.text, True,
                            )
                        )
                    elif isinstance(body, ev.ReceiptBody):
                        status = STATUS_READ if body.status == "read" else STATUS_DELIVERED
                        status_updates.append((conv, body.author, body.seq, status))
                elif isinstance(body, ev.ContactBody):
                    before = state.state if state is not None else None
                    contact = self._apply_contact(author_user, body, peer.name)
                    state = contact
                    contact_changes.add(author_user)
                    if contact.state != before:
                        roster_due.add(author_user)
                elif (state is None or state.state != ACCEPTED) and not from_own_device:
                    # (my own device checked the contact already: it relays only what it
                    # accepted, possibly before our roster caught up)
                    log.warning("dropping %s event from a non-contact", e.event.kind)
                    break
                elif isinstance(body, ev.MessageBody):
                    msgs.append(
                        MessageRow(
                            e.id, conv, author, author_user, e.event.seq, e.event.lamport,
                            e.event.time, body.text, False, STATUS_RECEIVED,
                        )
                    )
                    if not from_own_device:
                        # Delivered means "reached the user": the device that got it
                        # from the contact acknowledged it (atomically, below); what my
                        # own devices relay (history, offline relay) is not acked again.
                        receipts_due[(conv, author)] = e.event.seq
                elif isinstance(body, ev.ReceiptBody):
                    status = STATUS_READ if body.status == "read" else STATUS_DELIVERED
                    status_updates.append((conv, body.author, body.seq, status))
                good.append(e)
                if e.event.lamport > lamport:
                    lamport = e.event.lamport
            if not good:
                continue
            self._lamport[conv] = lamport
            tip = good[-1]
            self._heads[(conv, author)] = (tip.event.seq, tip.id)
            self._durable.setdefault(conv, {})[author] = tip.event.seq
            peer.sync.has(conv, author, tip.event.seq)
            accepted.extend(good)
        if accepted:
            self._wrote()
            # One delivery receipt per log, stored in the same transaction as what it
            # acknowledges: a crash keeps both or neither, so no stored message stays
            # unacknowledged. Our logs stay gapless because everything of ours still
            # queued for the group commit goes into this transaction too, in order.
            for (conv, author), seq in receipts_due.items():
                self._append(conv, ev.ReceiptBody("delivered", author, seq))
            own, own_msgs = self._take_pending()
            try:
                with store.transaction():
                    for conv in {e.event.conv for e in accepted} - {self.self_conv}:
                        other = self._conv_user(conv)
                        if other is not None:
                            store.ensure_conversation(conv, "direct", other)
                    store.insert_events([_row(e) for e in accepted])
                    store.insert_messages(msgs)
                    changed = [(u, store.raise_mark(*u)) for u in status_updates]
                    self._write_local(store, own, own_msgs)
            except BaseException:
                self._requeue(own, own_msgs)  # the group commit tries them again
                raise
            for (conv, author, seq, status), n in changed:
                if n:
                    self._emit(StatusChanged(conv, author, seq, status))
            by_conv: dict[bytes, list[MessageRow]] = {}
            for m in msgs:
                by_conv.setdefault(m.conv, []).append(m)
            for conv, rows in by_conv.items():
                self._emit(MessagesAdded(conv, rows))
            self._push(accepted, source=peer)
            self._local_committed(own, own_msgs)
        for user in roster_due:
            self._publish_roster(user)
        for user in contact_changes:
            self._emit(ContactChanged(user))
        for conv in resync:
            peer.conn.send(wire.Want(conv, self._vector(conv)))

    def _apply_contact(self, user: bytes, body: ev.ContactBody, hello_name: str) -> ContactRow:
        c = self._contact(user)
        name = body.name if 0 < len(body.name) <= 64 else hello_name
        if body.action == "request":
            if c is None:
                clash = self._name_clash(user, name)
                return self._save_contact(
                    user, name=name, state=PENDING_IN, key_changed=clash is not None,
                    replaces=clash,
                )
            if c.state == PENDING_OUT:
                return self._save_contact(user, state=ACCEPTED)
            if c.state == DECLINED:
                return self._save_contact(user, state=PENDING_IN)
            return c
        if body.action == "accept":
            if c is not None and c.state in (PENDING_OUT, ACCEPTED):
                return self._save_contact(user, state=ACCEPTED)
            if c is None:
                return self._save_contact(user, name=name, state=PENDING_IN)
            return c
        # decline
        if c is None:
            return self._save_contact(user, name=name, state=DECLINED)
        return self._save_contact(user, state=DECLINED)

    def _name_clash(self, user: bytes, name: str) -> bytes | None:
        """The user id of another known contact that goes by ``name``, if any."""
        folded = name.casefold()
        for c in self._contact_rows():
            if c.user_id != user and c.name.casefold() == folded and c.state == ACCEPTED:
                return c.user_id
        return None

    # -- own devices: roster, settings, revocations ----------------------------------

    def _conv_user(self, conv: bytes) -> bytes | None:
        """The other user of a direct conversation, if we know them."""
        other = self.db.conversation_peer(conv)
        if other is not None:
            return other
        for c in self._contact_rows():
            if self.conv_with(c.user_id) == conv:
                return c.user_id
        return None

    def _publish_roster(self, user: bytes) -> None:
        """Tell my other devices my view of a contact (state, name, verified)."""
        c = self._contact(user)
        if c is None or self.removed:
            return
        e = self._append(
            self.self_conv, ev.RosterBody(user, c.name, c.state, c.verified, c.replaces)
        )
        self.db.lww_newer(f"contact:{user.hex()}", e.event.lamport, self.device_id)

    def _apply_own(
        self, e: ev.SignedEvent, body: msgspec.Struct, contact_changes: set[bytes]
    ) -> None:
        """A roster or setting event from another of my devices: last writer wins."""
        if isinstance(body, ev.RosterBody):
            if body.user == self.user_id:
                return
            if not self.db.lww_newer(f"contact:{body.user.hex()}", e.event.lamport, e.author):
                return
            old = self._contact(body.user)
            name = body.name or (old.name if old else "")
            self._save_contact(
                body.user, name=name, state=body.state, verified=body.verified,
                replaces=body.replaces,
            )
            conv = self.conv_with(body.user)
            self.db.ensure_conversation(conv, "direct", body.user)
            contact_changes.add(body.user)
            if body.state in (ACCEPTED, PENDING_OUT) and (old is None or old.state != body.state):
                # Their devices may have offered events we dropped before we knew the
                # contact: ask again.
                for p in self._peers.values():
                    if p.user_id == body.user and p.conn is not None and p.conn.established:
                        p.conn.send(wire.Want(conv, self._vector(conv)))
                        self._send_digest(p, [conv])
        elif isinstance(body, ev.SettingBody):
            if body.key not in SYNCED_SETTINGS:
                return
            if not self.db.lww_newer(f"setting:{body.key}", e.event.lamport, e.author):
                return
            try:
                value = json.loads(body.value)
            except ValueError:
                return
            self.db.set_setting(body.key, value)
            self._emit(SettingChanged(body.key))

    def set_setting(self, key: str, value: Any) -> None:
        """Change a setting; per-user ones (:data:`SYNCED_SETTINGS`) reach my other devices."""
        self.db.set_setting(key, value)
        if key in SYNCED_SETTINGS and not self.removed:
            e = self._append(self.self_conv, ev.SettingBody(key, json.dumps(value)))
            self.db.lww_newer(f"setting:{key}", e.event.lamport, self.device_id)
        self._emit(SettingChanged(key))

    def _revocations(self) -> list[DeviceRevocation]:
        return [wire.decode_revocation(raw) for _, _, raw in self.db.revocations()]

    def _is_revoked(self, device: bytes, user: bytes | None = None) -> bool:
        owner = self._revoked.get(device)
        return owner is not None and (user is None or owner == user)

    def _on_revoke(self, revocations: Sequence[DeviceRevocation]) -> None:
        fresh: list[DeviceRevocation] = []
        for r in revocations[:1000]:
            r.verify()
            if self._is_revoked(r.device, r.user):
                continue
            known = self.db.device(r.device)
            if known is not None and known.user_id != r.user:
                raise RemoteProtocolError("revocation of another user's device")
            self.db.revoke_device(r.device, r.user, r.created, wire.encode_revocation(r))
            self._revoked[r.device] = r.user
            fresh.append(r)
        if not fresh:
            return
        for r in fresh:
            if r.device == self.device_id and r.user == self.user_id:
                self._on_removed()
                return
        for r in fresh:
            peer = self._peers.get(r.device)
            if peer is not None and peer.conn is not None:
                peer.conn.send(wire.Revoke([r]))
                peer.conn.send(wire.Close("this device was removed by its owner"))
                peer.conn.close("device removed")
        for p in self._peers.values():  # pass it on: every peer should refuse the device
            if p.conn is not None and p.conn.established:
                p.conn.send(wire.Revoke(fresh))
        self._emit(DevicesChanged())
        self._emit(PeersChanged())

    def removed_notice(self) -> str:
        """What to tell the user of a removed device."""
        return (
            f"this device was removed from {self.name}'s devices by another of them: it "
            "can no longer send or receive, and it left the network (no advert, no "
            "connections); its history stays readable here. To use Kith here again, link "
            "it anew: `kith link` with a fresh profile, then `kith devices add CODE` on one "
            "of your devices"
        )

    def _refuse_if_removed(self) -> None:
        """A removed device writes nothing others would take: say so instead of queueing."""
        if self.removed:
            raise UserError(self.removed_notice())

    def _on_removed(self) -> None:
        log.warning("this device was removed by another of %s's devices", self.name)
        self.removed = True
        for conn in list(self._conns):
            conn.close("this device was removed")
        if self._offline is None:
            self._offline = asyncio.get_running_loop().create_task(
                self._leave_network(), name="kith-removed"
            )
        self._emit(DevicesChanged())

    async def _leave_network(self) -> None:
        """This device was removed: stop advertising it (mDNS goodbye), stop listening,
        forget the peers discovery had found. Its database stays readable."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        discovery, self._discovery = self._discovery, None
        if discovery is not None:
            try:
                await discovery.stop()
            except Exception as e:  # leaving anyway
                log.warning("could not withdraw the mDNS advert: %s", e)
        for server in servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        for instance in list(self._by_instance):
            self._on_advert_lost(instance)
        self._link_adverts.clear()
        self._emit(PeersChanged())

    def devices(self) -> list[DeviceInfo]:
        """My devices, this one first."""
        out = []
        for d in self.db.devices(self.user_id):
            this = d.device_id == self.device_id
            out.append(
                DeviceInfo(
                    d.device_id, d.name, this,
                    int(time.time()) if this and not self.removed else d.last_seen,
                    d.revoked or self._is_revoked(d.device_id, self.user_id),
                    self.online_device(d.device_id),
                )
            )
        out.sort(key=lambda d: (not d.this_device, d.removed, d.name.casefold()))
        return out

    def online_device(self, device_id: bytes) -> bool:
        p = self._peers.get(device_id)
        return p is not None and p.conn is not None and p.conn.established

    async def link_device(
        self, code: str, *, address: tuple[str, int] | None = None, wait: float = 10.0
    ) -> DeviceInfo:
        """Link the new device that shows ``code`` (found over mDNS by the code's hint,
        or at ``address``): hand it the identity and certify its key."""
        from p2p import link_driver, linking

        try:
            hint = linking.code_hint(code)
        except ValueError as e:
            raise UserError(str(e)) from e
        if self.removed:
            raise UserError("this device was removed; it cannot link others")
        if address is None:
            found = await self._find_link_advert(hint, wait)
            address = (found.addresses[0], found.port)
        await self.flush()

        def certified(device: bytes, name: str, created: int, cert: bytes) -> None:
            self.db.upsert_device(device, self.user_id, name, created, cert)

        device_id, _ = await link_driver.link_device(
            self.identity, code, address[0], address[1], my_port=self.port,
            events=self.db.count_events(), timing=self.options.timing, on_certified=certified,
        )
        self._emit(DevicesChanged())
        [info] = [d for d in self.devices() if d.device_id == device_id]
        return info

    async def _find_link_advert(self, hint: str, wait: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            hits = [a for a in self._link_adverts.values() if a.link == hint and a.addresses]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise UserError("several devices wait with that code; start `kith link` again")
            if not await self._wait_event(
                lambda e: isinstance(e, PeersChanged), deadline - loop.time()
            ):
                raise UserError(
                    "no device waiting with that code was found on the network; check the "
                    "code and that `kith link` still runs on the new device"
                )

    async def remove_device(self, query: str) -> DeviceInfo:
        """Revoke one of my other devices (DEVICE: a name or a device id prefix)."""
        q = query.strip().casefold()
        mine = [d for d in self.devices() if not d.removed]
        hits = [d for d in mine if d.name.casefold() == q or d.device_id.hex() == q]
        if not hits and q:
            hits = [d for d in mine if d.device_id.hex().startswith(q)]
        if not hits:
            raise UserError(f"no device of yours called {query!r}; see `kith devices`")
        if len(hits) > 1:
            listing = ", ".join(f"{d.name} ({d.device_id.hex()[:12]})" for d in hits)
            raise UserError(f"{query!r} matches several devices: {listing}; use a device id")
        [target] = hits
        if target.this_device:
            raise UserError("this is the device you are using; remove it from another one")
        self._on_revoke([revoke_device(self.identity.user_secret, target.device_id)])
        [info] = [d for d in self.devices() if d.device_id == target.device_id]
        return info

    # -- writing events --------------------------------------------------------------

    def _append(self, conv: bytes, body: msgspec.Struct) -> ev.SignedEvent:
        """Sign a new event of ours; it is committed with the next flush."""
        seq, prev = self._heads.get((conv, self.device_id), (0, ev.GENESIS))
        lamport = self._lamport.get(conv, 0) + 1
        e = ev.create(
            self.identity.device_secret,
            conv=conv,
            seq=seq + 1,
            prev=prev,
            lamport=lamport,
            time_ms=int(time.time() * 1000),
            body=body,
        )
        self._heads[(conv, self.device_id)] = (e.event.seq, e.id)
        self._lamport[conv] = lamport
        self._pending.append(e)
        if isinstance(body, ev.MessageBody):
            self._pending_msgs.append(
                MessageRow(
                    e.id, conv, self.device_id, self.user_id, e.event.seq, lamport,
                    e.event.time, body.text, True,
                )
            )
        self._schedule_flush()
        return e

    def _schedule_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_loop(), name="kith-flush"
            )

    async def _flush_loop(self) -> None:
        """Group commit of our own events: everything queued in one loop turn is one
        transaction. Our events are written only here, in order, so our logs on disk
        never have a gap. (Writing on a thread was tried: with the GIL it was slower.)
        """
        await asyncio.sleep(0)  # gather everything queued in this loop turn
        while self._pending or self._flush_waiters:
            pending, msgs = self._pending, self._pending_msgs
            waiters = self._flush_waiters
            self._pending, self._pending_msgs, self._flush_waiters = [], [], []
            if pending:
                self._wrote()
                try:
                    self._write_batch(self.db, pending, msgs)
                except StorageError as e:  # disk full and the like: nothing is lost yet
                    log.error("cannot store our events: %s", e)
                    for f in waiters:
                        if not f.done():
                            f.set_exception(EnvironmentProblem(f"cannot save: {e}"))
                    raise
            for f in waiters:
                if not f.done():
                    f.set_result(None)
            self._local_committed(pending, msgs)

    def _take_pending(self) -> tuple[list[ev.SignedEvent], list[MessageRow]]:
        """Our events not on disk yet, in order, for a caller that writes them now
        (flush waiters are left to the group commit, which finds nothing left to do)."""
        pending, msgs = self._pending, self._pending_msgs
        self._pending, self._pending_msgs = [], []
        return pending, msgs

    def _requeue(self, pending: list[ev.SignedEvent], msgs: list[MessageRow]) -> None:
        self._pending[:0] = pending
        self._pending_msgs[:0] = msgs

    def _local_committed(self, pending: list[ev.SignedEvent], msgs: list[MessageRow]) -> None:
        """Our events are on disk: offer them, show them, push them to live peers."""
        for done in pending:
            self._durable.setdefault(done.event.conv, {})[done.event.author] = done.event.seq
        by_conv: dict[bytes, list[MessageRow]] = {}
        for m in msgs:
            by_conv.setdefault(m.conv, []).append(m)
        for conv, rows in by_conv.items():
            self._emit(MessagesAdded(conv, rows))
        if pending and self._running:
            self._push(pending)

    def _wrote(self) -> None:
        """After a write: have the WAL checkpointed in the background (the store's thread,
        at most every half second), so checkpoints never delay a message in flight, and
        under steady traffic a commit never has to checkpoint a large log itself."""
        if self.store is not None:
            self.store.request_checkpoint()

    @staticmethod
    def _write_batch(store: Store, pending: list[ev.SignedEvent], msgs: list[MessageRow]) -> None:
        with store.transaction():
            Node._write_local(store, pending, msgs)

    @staticmethod
    def _write_local(store: Store, pending: list[ev.SignedEvent], msgs: list[MessageRow]) -> None:
        if pending:
            store.insert_events([_row(e) for e in pending])
            store.insert_messages(msgs)

    async def flush(self) -> None:
        """Wait until every event queued so far (``queue_message``) is on disk."""
        await self._commit()

    async def _commit(self) -> None:
        """Wait until every event queued so far is on disk."""
        if not self._pending and (self._flusher is None or self._flusher.done()):
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flush_waiters.append(fut)
        self._schedule_flush()
        await fut

    # -- contacts --------------------------------------------------------------------

    def resolve(self, query: str) -> tuple[bytes, str]:
        """A PEER argument (name, user id or unique prefix of either) -> (user_id, name)."""
        q = query.strip()
        if not q:
            raise UserError("say which peer: a name, a user id or a prefix of one")
        candidates: dict[bytes, str] = {}
        for c in self._contact_rows():
            candidates[c.user_id] = c.name
        for p in self._peers.values():
            if p.user_id is not None and p.user_id not in candidates:
                candidates[p.user_id] = p.name
        candidates.pop(self.user_id, None)
        folded = q.casefold()
        # A name that is exactly one accepted contact's means that contact, even when a
        # stranger on the network uses the same name.
        own = [
            (c.user_id, c.name) for c in self._contact_rows()
            if c.state == ACCEPTED and c.name.casefold() == folded
            and self._replaced_by(c.user_id) is None  # a name means the person's current key
        ]
        if len(own) == 1:
            return own[0]
        for test in (
            lambda u, n: n.casefold() == folded or u.hex() == folded,
            lambda u, n: n.casefold().startswith(folded) or u.hex().startswith(folded),
        ):
            hits = [(u, n) for u, n in candidates.items() if test(u, n)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                listing = ", ".join(f"{n} ({u.hex()[:12]})" for u, n in hits)
                raise UserError(f"{query!r} matches several people: {listing}; use a user id")
        raise UserError(
            f"no peer or contact called {query!r}; see `kith peers` and `kith contacts`"
        )

    async def add_contact(self, query: str, *, trust_new_key: bool = False) -> ContactInfo:
        self._refuse_if_removed()
        user, name = self.resolve(query)
        c = self._contact(user)
        if c is not None and c.state == ACCEPTED:
            raise UserError(f"{name} is already a contact")
        if c is not None and c.state == PENDING_IN:
            return await self.accept_contact(query, trust_new_key=trust_new_key)
        clash = self._name_clash(user, name)
        if clash is not None and not trust_new_key:
            raise UserError(_key_change_warning(name, user, clash, "add"))
        self._save_contact(
            user, name=name, state=PENDING_OUT, key_changed=False, replaces=clash
        )
        if clash is not None:
            self._superseded(clash)
        conv = self.conv_with(user)
        self.db.ensure_conversation(conv, "direct", user)
        self._append(conv, ev.ContactBody("request", self.name))
        self._publish_roster(user)
        await self._commit()
        self._emit(ContactChanged(user))
        return self._contact_info(user)

    async def accept_contact(self, query: str, *, trust_new_key: bool = False) -> ContactInfo:
        self._refuse_if_removed()
        user, name = self.resolve(query)
        c = self._contact(user)
        if c is None or c.state not in (PENDING_IN, DECLINED):
            raise UserError(f"there is no contact request from {name} to accept")
        if c.key_changed and not trust_new_key:
            raise UserError(_key_change_warning(name, user, c.replaces, "accept"))
        self._save_contact(user, state=ACCEPTED, key_changed=False)
        if c.key_changed and c.replaces is not None:
            self._superseded(c.replaces)
        conv = self.conv_with(user)
        self.db.ensure_conversation(conv, "direct", user)
        self._append(conv, ev.ContactBody("accept", self.name))
        self._publish_roster(user)
        await self._commit()
        self._emit(ContactChanged(user))
        return self._contact_info(user)

    async def decline_contact(self, query: str) -> ContactInfo:
        user, name = self.resolve(query)
        c = self._contact(user)
        if c is None or c.state != PENDING_IN:
            raise UserError(f"there is no contact request from {name} to decline")
        self._save_contact(user, state=DECLINED)
        self._publish_roster(user)
        await self._commit()
        self._emit(ContactChanged(user))
        return self._contact_info(user)

    def contacts(self) -> list[ContactInfo]:
        return [self._contact_info(c.user_id) for c in self.db.contacts()]

    def _contact_info(self, user: bytes) -> ContactInfo:
        c = self._contact(user)
        assert c is not None
        return ContactInfo(
            c.name, c.user_id, c.state, c.verified, c.key_changed, self.online(user),
            self._replaced_by(user),
        )

    def _replaced_by(self, user: bytes) -> bytes | None:
        """The contact the user confirmed as this one's new key (a reinstall), if any."""
        for c in self._contact_rows():
            if (
                c.replaces == user and c.user_id != user and c.state == ACCEPTED
                and not c.key_changed
            ):
                return c.user_id
        return None

    def online(self, user: bytes) -> bool:
        return any(p.user_id == user and p.conn is not None and p.conn.established
                   for p in self._peers.values())

    def peers(self) -> list[PeerInfo]:
        """Every device seen on the network or connected, one entry per device."""
        return [self._peer_info(p) for p in self._peers.values() if p.conn or p.instance]

    def people(self) -> list[PeerInfo]:
        """The people on the network (what ``kith peers`` lists): one entry per user,
        however many of their devices are around, sorted by name. My own devices are
        not people to add (``devices()`` lists them). A device whose user is not known
        yet (an advert not dialled yet, never seen before) is an entry of its own."""
        groups: dict[bytes, list[_Peer]] = {}
        for p in self._peers.values():
            if not (p.conn or p.instance):
                continue
            if p.conn is None and p.hidden and not self._known_device(p.device_id):
                continue  # a stranger who hides, met before or not
            user = p.user_id
            if user is None and len(p.device_id) == 32:
                row = self.db.device(p.device_id)  # met before: its certificate says whose
                user = row.user_id if row is not None else None
            if user == self.user_id:
                continue
            groups.setdefault(user if user is not None else b"?" + p.device_id, []).append(p)
        out = []
        for key, members in groups.items():
            user = None if key.startswith(b"?") else key
            infos = sorted(
                (self._peer_info(p, user) for p in members),
                key=lambda i: (not i.connected, not i.name, i.device_id or b""),
            )
            first = infos[0]
            out.append(PeerInfo(
                name=first.name or next((i.name for i in infos if i.name), ""),
                user_id=user,
                device_id=first.device_id,
                addresses=list(dict.fromkeys(a for i in infos for a in i.addresses)),
                contact=first.contact,
                key_changed=any(i.key_changed for i in infos),
                connected=any(i.connected for i in infos),
                devices=[d for i in infos for d in i.devices],
            ))
        out.sort(key=lambda i: (i.name.casefold(), i.user_id or b"", i.device_id or b""))
        return out

    def _peer_info(self, p: _Peer, user: bytes | None = None) -> PeerInfo:
        user = p.user_id or user
        contact = self._contact(user) if user else None
        clash = self._name_clash(user, p.name) if user and p.name else None
        key_changed = (contact.key_changed if contact else False) or (
            clash is not None and (contact is None or contact.state != ACCEPTED)
        )
        device_id = p.device_id if len(p.device_id) == 32 else None
        return PeerInfo(
            name=p.name,
            user_id=user,
            device_id=device_id,
            addresses=[_format_address(h, port) for h, port in p.addresses]
            or ([p.conn.address] if p.conn else []),
            contact=contact.state if contact else None,
            key_changed=key_changed,
            connected=p.conn is not None and p.conn.established,
            devices=[device_id] if device_id else [],
        )

    # -- messages --------------------------------------------------------------------

    def queue_message(self, user: bytes, text: str) -> ev.SignedEvent:
        """Sign and queue a message; it is stored on the next loop turn (group commit)."""
        self._refuse_if_removed()
        c = self._contact(user)
        if c is None or c.state != ACCEPTED:
            name = c.name if c else user.hex()[:12]
            raise UserError(f"{name} is not a contact yet: send a request with `kith add`")
        if c.key_changed:
            raise UserError(_key_change_warning(c.name, user, c.replaces, "accept"))
        if self._replaced_by(user) is not None:
            raise UserError(
                f"{c.name} uses a new key now (you confirmed it): write to the new one; "
                "this conversation stays for its history"
            )
        text = text.strip("\n")
        if not text.strip():
            raise UserError("the message is empty")
        if len(text) > ev.MAX_TEXT:
            raise UserError(f"the message is too long (at most {ev.MAX_TEXT} characters)")
        conv = self.conv_with(user)
        return self._append(conv, ev.MessageBody(text))

    async def send_message(self, query: str, text: str) -> MessageRow:
        user, _ = self.resolve(query)
        e = self.queue_message(user, text)
        await self._commit()
        row = self.db.message_at(e.event.conv, e.event.author, e.event.seq)
        assert row is not None
        return row

    async def wait_status(self, row: MessageRow, status: int, timeout: float) -> bool:
        """Wait until our message reaches ``status`` (e.g. delivered); False on timeout."""
        key = (row.conv, row.author)

        def reached() -> bool:
            delivered, read = self.db.mark(*key)
            return (read if status >= STATUS_READ else delivered) >= row.seq

        if reached():
            return True
        return await self._wait_event(
            lambda e: isinstance(e, StatusChanged) and (e.conv, e.author) == key and reached(),
            timeout,
        )

    def history(self, query: str, limit: int = 50) -> list[MessageRow]:
        user, _ = self.resolve(query)
        conv = self.conv_with(user)
        return self.db.messages(conv, limit=limit)

    def names(self) -> dict[bytes, str]:
        out = {c.user_id: c.name for c in self.db.contacts()}
        out[self.user_id] = self.name
        return out

    async def mark_read(self, user: bytes) -> None:
        """The user has seen the conversation: mark incoming messages read and tell my
        other devices; if read receipts are on, the receipt tells the sender as well,
        otherwise a read mark in the self conversation tells only my devices."""
        conv = self.conv_with(user)
        pending = [(author, seq) for author, seq, _ in self.db.unread(conv)]
        if not pending:
            return
        receipts = self.db.get_setting("read_receipts", True)
        with self.db.transaction():
            for author, seq in pending:
                self.db.raise_mark(conv, author, seq, STATUS_READ)
                if receipts:
                    self._append(conv, ev.ReceiptBody("read", author, seq))
                elif not self.removed:
                    self._append(self.self_conv, ev.ReadBody(conv, author, seq))
        await self._commit()
        for author, seq in pending:
            self._emit(StatusChanged(conv, author, seq, STATUS_READ))

    def set_typing(self, user: bytes, active: bool) -> None:
        if not self.db.get_setting("typing_indicators", True):
            return
        conv = self.conv_with(user)
        for p in self._peers.values():
            if p.user_id == user and p.conn is not None and p.conn.established:
                p.conn.send(wire.Typing(conv, active))

    # -- verification ----------------------------------------------------------------

    def safety_number(self, query: str) -> str:
        user, _ = self.resolve(query)
        return safety_number(self.user_id, user)

    def sas(self, query: str) -> list[tuple[str, str]]:
        user, name = self.resolve(query)
        for p in self._peers.values():
            if p.user_id == user and p.conn is not None and p.conn.established:
                assert p.conn.peer is not None
                return sas_emoji(p.conn.peer.handshake_hash)
        raise UserError(f"{name} is not connected right now; the emoji need a live connection")

    def verify(self, query: str, number: str) -> bool:
        """Mark verified if ``number`` is our safety number with that contact."""
        user, name = self.resolve(query)
        if normalize_safety_number(number) != safety_number(self.user_id, user):
            return False
        c = self._contact(user)
        if c is None:
            raise UserError(f"{name} is not a contact yet; add them first")
        self._save_contact(user, verified=True, key_changed=False)
        self._publish_roster(user)
        self._emit(ContactChanged(user))
        return True

    def trust_new_key(self, user: bytes) -> None:
        """The user has confirmed that this key really is that person (e.g. they
        reinstalled Kith): clear the key-change flag without marking them verified."""
        c = self._contact(user)
        if c is None:
            raise UserError("not a contact")
        self._save_contact(user, key_changed=False)
        if c.key_changed and c.replaces is not None:
            self._superseded(c.replaces)
        self._publish_roster(user)
        self._emit(ContactChanged(user))

    def _superseded(self, old: bytes) -> None:
        """The user took a new key as the person they knew under ``old`` (a reinstall):
        what they verified was the old key, so that contact loses its verified mark, and
        neither key carries one until the person is verified again."""
        c = self._contact(old)
        if c is None or not c.verified:
            return
        self._save_contact(old, verified=False)
        self._publish_roster(old)
        self._emit(ContactChanged(old))

    async def set_name(self, name: str) -> None:
        """Change the display name: saved in the key file, sent to connected peers and
        announced over mDNS (if discoverable)."""
        name = name.strip()
        if not valid_name(name):
            raise UserError("a name is 1 to 64 printable characters")
        if name == self.identity.name:
            return
        self.identity = self.identity.with_name(name)
        save_identity(self.profile, self.identity, replace=True)
        for p in self._peers.values():
            if p.conn is not None and p.conn.established:
                p.conn.send(wire.Profile(name))
        if self._discovery is not None and self.discoverable:
            await self._discovery.set_name(name)
        self._emit(PeersChanged())

    def set_open_chat(self, user: bytes | None, draft: str = "") -> None:
        """Tell my other online devices which chat is open here and its draft, so they
        can offer to continue it (handoff). Ephemeral: nothing is stored or sent to
        anyone else."""
        conv = self.conv_with(user) if user is not None else b""
        msg = wire.Handoff(conv, draft[: ev.MAX_TEXT])
        self._open_chat = msg if conv else None  # a device of mine that comes online later
        for p in self._peers.values():
            if (
                p.user_id == self.user_id and p.conn is not None and p.conn.established
                and not self._is_revoked(p.device_id)
            ):
                p.conn.send(msg)

    def _on_handoff(self, peer: _Peer, m: wire.Handoff) -> None:
        if peer.user_id != self.user_id or self._is_revoked(peer.device_id):
            return  # only my own devices may hand off to me
        user = None
        if m.conv:
            user = next(
                (c.user_id for c in self._contact_rows() if self.conv_with(c.user_id) == m.conv),
                None,
            )
            if user is None:
                return
        device = self.db.device(peer.device_id)
        name = device.name if device else peer.name
        offer = HandoffOffer(peer.device_id, name, user, m.draft[: ev.MAX_TEXT])
        if user is None:
            self.handoffs.pop(peer.device_id, None)
        else:
            self.handoffs[peer.device_id] = offer
        self._emit(offer)

    def typing(self, conv: bytes) -> list[bytes]:
        """Users typing in ``conv`` right now (a typing signal lasts TYPING_TTL seconds
        unless renewed, so a peer that vanishes mid-sentence stops "typing")."""
        now = time.monotonic()
        return [
            p.user_id for p in self._peers.values()
            if p.user_id is not None and now - p.typing.get(conv, -TYPING_TTL) < TYPING_TTL
        ]

    def retry_delivery(self, user: bytes) -> None:
        """Dial every known device of ``user`` now instead of waiting for the backoff."""
        for p in self._peers.values():
            if (p.user_id == user or p.user_id is None) and p.conn is None and p.addresses:
                p.backoff = 0.0
                if not p.dialing:
                    self._dial_soon(p, 0.0)

    def set_verified(self, user: bytes, verified: bool) -> None:
        self._save_contact(user, verified=verified, key_changed=False if verified else None)
        self._publish_roster(user)
        self._emit(ContactChanged(user))


def _key_change_warning(name: str, user: bytes, known: bytes | None, verb: str) -> str:
    old = f" ({known.hex()[:12]})" if known else ""
    return (
        f"WARNING: this {name!r} ({user.hex()[:12]}) has a different identity key than the "
        f"{name!r} you know{old}. It may be someone else, or {name} reinstalled Kith. "
        f"Compare safety numbers in person (kith safety-number {user.hex()[:12]}), then run "
        f"`kith {verb} {user.hex()[:12]} --trust-new-key` or `kith verify`. Nothing was sent."
    )


def _keep_new(old: Connection, new: Connection, me: bytes, them: bytes) -> bool:
    """Tie-break between two live connections to the same device (same answer on both
    sides): a reconnect by the same dialler replaces the old connection; otherwise the
    connection dialled by the lower device id wins."""
    old_dialler = me if old.initiator else them
    new_dialler = me if new.initiator else them
    if old_dialler == new_dialler:
        return True
    return new_dialler == min(me, them)


def _row(e: ev.SignedEvent) -> EventRowTuple:
    x = e.event
    return (e.id, x.conv, x.author, x.seq, x.lamport, x.time, x.kind, e.raw)


def _format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _address_key(host: str, port: int) -> bytes:
    return f"addr:{host}:{port}".encode()


def _address_key_from(address: str) -> bytes:
    return f"addr:{address}".encode()


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port); raises UserError."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{text!r} is not HOST:PORT")
    return host, int(port)

