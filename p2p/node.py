"""The Node: one running Kith device. The facade the CLI, the daemon and the app use.

It owns the lifecycle (profile lock, database, listening, discovery) and wires the parts;
the work lives in them (``p2p/README.md`` has the map)::

    network       p2p.network        discovery, dialling, connections, tie-break, backoff
    event log     p2p.eventlog       heads, vectors, clocks; the one write path
    receive       p2p.receive        decode -> chain -> authorize -> apply -> commit -> forward
    replication   p2p.replication    digests, wants, history streams, live push, relay
    conversations p2p.conversations  types, members, entitlement
    features      p2p.contacts, p2p.devices, p2p.messages, p2p.settings, p2p.signals,
                  p2p.actions
                  (each declares its event kinds and wire messages)

Everything runs on one asyncio loop; listeners get :class:`NodeEvent` values
synchronously on that loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kith.p2p import api, nearby
from kith.p2p import events as ev
from kith.p2p.actions import Actions
from kith.p2p.api import (
    ACCEPTED,
    DECLINED,
    PENDING_IN,
    PENDING_OUT,
    ContactChanged,
    ContactInfo,
    DeviceInfo,
    DevicesChanged,
    GroupChanged,
    HandoffOffer,
    MessagesAdded,
    NodeEvent,
    PeerInfo,
    PeersChanged,
    SettingChanged,
    StatusChanged,
    TypingChanged,
    message_json,
)
from kith.p2p.chats import Chat, resolve_chat
from kith.p2p.contacts import Contacts
from kith.p2p.conversations import Conversations
from kith.p2p.core import Core, NodeOptions
from kith.p2p.devices import Devices
from kith.p2p.errors import EnvironmentProblem, UserError
from kith.p2p.eventlog import EventLog
from kith.p2p.files.feature import Files
from kith.p2p.groups import GroupInfo, Groups
from kith.p2p.identity import Identity, seal_key_file
from kith.p2p.messages import Messages
from kith.p2p.network import Network, parse_address
from kith.p2p.presence import Presence
from kith.p2p.profile import DB_FILE, ProfileLock, require_identity
from kith.p2p.receive import Receiver
from kith.p2p.replication import Replication
from kith.p2p.settings import SYNCED_SETTINGS, Settings
from kith.p2p.signals import TYPING_TTL, Signals
from kith.storage import MessageRow, StorageError, Store, cipher

log = logging.getLogger(__name__)

__all__ = [
    "ACCEPTED", "DECLINED", "PENDING_IN", "PENDING_OUT", "SYNCED_SETTINGS", "TYPING_TTL",
    "ContactChanged", "ContactInfo", "DeviceInfo", "GroupChanged", "DevicesChanged", "HandoffOffer",
    "MessagesAdded", "Node", "NodeEvent", "NodeOptions", "PeerInfo", "PeersChanged",
    "SettingChanged", "StatusChanged", "TypingChanged", "api", "message_json",
    "parse_address",
]


class Node:
    """One Kith device: identity, database, network. Create, ``await start()``, use,
    ``await stop()``."""

    def __init__(self, profile: Path, options: NodeOptions | None = None) -> None:
        self.profile = Path(profile)
        self.options = options or NodeOptions()
        core = self.core = Core(
            self.profile, self.options, require_identity(self.profile, self.options.data_key))
        self._lock = ProfileLock(self.profile)
        # Wiring, in dependency order: each part registers its kinds, wire handlers and
        # connection hooks with the ones before it.
        core.convs = Conversations(core)
        core.log = EventLog(core)
        core.net = self.net = Network(core)
        core.repl = Replication(core)
        self._receiver = Receiver(core)
        core.devices = self.devices_feature = Devices(core)
        core.contacts = self.contacts_feature = Contacts(core)
        core.messages = self.messages_feature = Messages(core)
        core.groups = self.groups_feature = Groups(core)
        core.settings = self.settings_feature = Settings(core)
        core.signals = self.signals_feature = Signals(core)
        core.presence = Presence(core)
        core.files = self.files = Files(core)
        core.actions = self.actions = Actions(core)  # (replies, reactions, edits... p2p.actions)
        # Last after a handshake: what we hold (the features have said their piece).
        self.net.connected.append(core.repl.send_digest)

    # -- identity --------------------------------------------------------------------

    @property
    def identity(self) -> Identity:
        return self.core.identity

    @property
    def user_id(self) -> bytes:
        return self.core.user_id

    @property
    def device_id(self) -> bytes:
        return self.core.device_id

    @property
    def name(self) -> str:
        return self.core.name

    @property
    def store(self) -> Store | None:
        return self.core.store

    @property
    def db(self) -> Store:
        return self.core.db

    @property
    def port(self) -> int:
        return self.net.port

    @property
    def removed(self) -> bool:
        """This device was removed by another of my devices."""
        return self.core.devices.removed

    @property
    def self_conv(self) -> bytes:
        return self.core.convs.self_conv

    @property
    def handoffs(self) -> dict[bytes, HandoffOffer]:
        return self.core.signals.handoffs

    def conv_with(self, user: bytes) -> bytes:
        """The direct conversation with ``user``."""
        return self.core.convs.direct(user)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, *, discover: bool = True) -> None:
        """Open the database, listen and (with ``discover``) start LAN discovery. The app
        passes False and calls ``start_discovery()`` once its window is up: registering
        on the LAN probes the name first, about 1.2 s."""
        self._lock.acquire()
        path, key = self.profile / DB_FILE, self.options.data_key
        try:
            if key is not None:
                cipher.ensure_encrypted(path, key)  # (finishes an interrupted migration)
                seal_key_file(self.profile, key)  # a first-release plain key file
            self.core.store = Store(path, key=key)
        except StorageError as e:
            self._lock.release()
            raise EnvironmentProblem(str(e)) from e
        try:
            await self._start(discover)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, discover: bool) -> None:
        core = self.core
        store = core.db
        core.log.load(store)
        core.convs.load(store)
        core.groups.load(store)
        core.devices.load()
        core.running = True
        core.files.load()
        core.actions.start()  # (erases what expired while off, before anything is served)
        if store.search_pending():  # (a sync that ended before its search index was filled)
            core.messages.index_search_later()
        if not self.options.network:
            return
        if core.devices.removed:
            # Nobody would talk to it: no listening socket, no advert, no dialling.
            log.warning("this device was removed by another of %s's devices; it stays off "
                        "the network", self.name)
            return
        await self.net.listen()
        for p in store.peers():
            if p.manual:
                host, _, port = p.address.rpartition(":")
                self.net.remember_manual(host.strip("[]"), int(port), p.device_id)
        if discover:
            await self.start_discovery()

    async def start_discovery(self) -> None:
        """Announce this device and browse for peers on the LAN, if the options want
        discovery; nothing if it already runs. EnvironmentProblem if the network is
        unusable (the node keeps running without discovery)."""
        core = self.core
        if not core.running or not self.options.network or not self.options.discovery:
            return
        if core.devices.removed:  # (a removed device stays off)
            return
        await self.net.start_discovery(self.name if self.discoverable else None)

    async def stop(self) -> None:
        core = self.core
        core.running = False
        await core.devices.stop()
        await self.net.stop()
        await core.log.stop()  # the last group commit lands
        if core.store is not None:
            core.files.stop()
            core.messages.stop()  # (the search index gets what a sync left for it)
        tasks = list(core.tasks)
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except BaseException:  # noqa: S110 - cancelled or failed: it is gone either way
                pass
        if core.store is not None:
            core.store.close()
            core.store = None
        self._lock.release()

    def subscribe(self, listener: Callable[[NodeEvent], None]) -> Callable[[], None]:
        return self.core.subscribe(listener)

    async def flush(self) -> None:
        """Wait until every event queued so far (``queue_message``) is on disk."""
        await self.core.log.commit()

    # -- network ---------------------------------------------------------------------

    async def connect(self, host: str, port: int, timeout: float = 10.0) -> PeerInfo:
        """Dial ``host:port`` now, remember the address, and wait for the handshake."""
        self.core.devices.refuse_if_removed()
        return nearby.peer_info(self.core, await self.net.connect(host, port, timeout))

    def peers(self) -> list[PeerInfo]:
        """Every device seen on the network or connected, one entry per device."""
        return nearby.peer_infos(self.core)

    def people(self) -> list[PeerInfo]:
        """The people on the network, one entry per user (see p2p.nearby.people)."""
        return nearby.people(self.core)

    def online(self, user: bytes) -> bool:
        return self.net.online(user)

    def online_device(self, device_id: bytes) -> bool:
        return self.net.online_device(device_id)

    def reachable(self, user: bytes) -> bool:
        """Does any of my devices (this one included) talk to a device of ``user``?"""
        return self.core.presence.reachable(user)

    def reachable_via(self, user: bytes) -> list[bytes]:
        """My other live devices that hold a live session with ``user``."""
        return self.core.presence.via(user)

    def retry_delivery(self, user: bytes) -> None:
        """Dial every known device of ``user`` now instead of waiting for the backoff."""
        self.net.redial(user)

    # -- settings --------------------------------------------------------------------

    @property
    def discoverable(self) -> bool:
        return self.core.settings.discoverable

    async def set_discoverable(self, value: bool) -> None:
        await self.core.settings.set_discoverable(value)

    def set_setting(self, key: str, value: Any) -> None:
        self.core.settings.set(key, value)

    async def set_name(self, name: str) -> None:
        await self.core.settings.set_name(name)

    # -- my devices ------------------------------------------------------------------

    def devices(self) -> list[DeviceInfo]:
        return self.core.devices.list()

    async def link_device(
        self, code: str, *, address: tuple[str, int] | None = None, wait: float = 10.0
    ) -> DeviceInfo:
        return await self.core.devices.link(code, address=address, wait=wait)

    async def remove_device(self, query: str) -> DeviceInfo:
        return await self.core.devices.remove(query)

    def removed_notice(self) -> str:
        return self.core.devices.removed_notice()

    # -- contacts and trust ------------------------------------------------------------

    def resolve(self, query: str) -> tuple[bytes, str]:
        """A PEER argument (name, user id or unique prefix of either) -> (user_id, name)."""
        return self.core.contacts.resolve(query)

    async def add_contact(self, query: str, *, trust_new_key: bool = False) -> ContactInfo:
        return await self.core.contacts.add(query, trust_new_key=trust_new_key)

    async def accept_contact(self, query: str, *, trust_new_key: bool = False) -> ContactInfo:
        return await self.core.contacts.accept(query, trust_new_key=trust_new_key)

    async def decline_contact(self, query: str) -> ContactInfo:
        return await self.core.contacts.decline(query)

    def contacts(self) -> list[ContactInfo]:
        contacts = self.core.contacts
        return [contacts.info(c.user_id) for c in self.db.contacts()]

    def names(self) -> dict[bytes, str]:
        return self.core.contacts.names()

    def safety_number(self, query: str) -> str:
        return self.core.contacts.safety_number(query)

    def sas(self, query: str) -> list[tuple[str, str]]:
        return self.core.contacts.sas(query)

    def verify(self, query: str, number: str) -> bool:
        """Mark verified if ``number`` is our safety number with that contact."""
        return self.core.contacts.verify(query, number)

    def set_verified(self, user: bytes, verified: bool) -> None:
        self.core.contacts.set_verified(user, verified)

    def set_contact_name(self, query: str, name: str | None) -> ContactInfo:
        """The name I know a contact by (None: the one they chose); it follows my
        devices."""
        user, _ = self.resolve(query)
        self.core.contacts.set_name(user, name)
        return self.core.contacts.info(user)

    def restore_old_key(self, old: bytes) -> bytes:
        """Go back to the key the person had before a new one was taken (see
        Contacts.restore_old_key); the new key's user id."""
        return self.core.contacts.restore_old_key(old)

    def trust_new_key(self, user: bytes) -> None:
        self.core.contacts.trust_new_key(user)

    # -- messages --------------------------------------------------------------------

    def queue_message(self, user: bytes, text: str, reply_to: bytes = b"") -> ev.SignedEvent:
        """Sign and queue a message (``reply_to``: the event id it answers); it is stored
        on the next loop turn (group commit)."""
        return self.core.messages.queue(user, text, reply_to=reply_to)

    async def send_message(self, query: str, text: str) -> MessageRow:
        user, _ = self.resolve(query)
        e = self.queue_message(user, text)
        await self.core.log.commit()
        row = self.core.messages.row_of(e)  # (waiting for its log's head: seq 0)
        if row is None:
            raise UserError("the message could not be stored")
        return row

    async def wait_status(self, row: MessageRow, status: int, timeout: float) -> bool:
        """Wait until our message reaches ``status`` (e.g. delivered); False on timeout."""
        return await self.core.messages.wait_status(row, status, timeout)

    def history(self, query: str, limit: int = 50) -> list[MessageRow]:
        """The newest ``limit`` messages with ``query``, oldest first; ours that wait for
        the log's true head (p2p.restore) after them, status waiting."""
        user, _ = self.resolve(query)
        conv = self.conv_with(user)
        return self.db.messages(conv, limit=limit) + self.core.messages.waiting_rows(conv)

    async def mark_read(self, user: bytes, up_to: int | None = None) -> None:
        """Mark the chat with ``user`` read (``up_to``: the lamport of the newest message
        the user saw; later ones stay unread)."""
        await self.core.messages.mark_read(user, up_to)

    # -- groups and chats ------------------------------------------------------------

    def resolve_chat(self, query: str) -> Chat:
        """A CHAT argument (contact or group: name, id or unique prefix) -> the chat."""
        return resolve_chat(self.core, query)

    async def send_to(self, query: str, text: str) -> MessageRow:
        """Send ``text`` to a CHAT (a contact or a group)."""
        e = self.core.messages.queue_in(self.resolve_chat(query).conv, text)
        await self.core.log.commit()
        row = self.core.messages.row_of(e)  # (waiting for its log's head: seq 0)
        if row is None:
            raise UserError("the message could not be stored")
        return row

    def queue_in(self, conv: bytes, text: str, reply_to: bytes = b"") -> ev.SignedEvent:
        return self.core.messages.queue_in(conv, text, reply_to=reply_to)

    async def mark_read_in(self, conv: bytes, up_to: int | None = None) -> None:
        await self.core.messages.mark_read_in(conv, up_to)

    def groups(self) -> list[GroupInfo]:
        return self.core.groups.all()

    def group(self, query: str) -> GroupInfo:
        return self.core.groups.resolve(query)

    async def create_group(self, name: str, members: list[str]) -> GroupInfo:
        return await self.core.groups.create(name, members)

    # -- ephemeral signals -----------------------------------------------------------

    def set_typing(self, user: bytes, active: bool) -> None:
        self.core.signals.set_typing(user, active)

    def typing(self, conv: bytes) -> list[bytes]:
        return self.core.signals.typing(conv)

    def set_open_chat(self, user: bytes | None, draft: str = "") -> None:
        self.core.signals.set_open_chat(user, draft)
