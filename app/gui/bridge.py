"""The one seam between the Node (asyncio callbacks) and Qt (signals and slots).

The bridge subscribes to the node's events and re-emits them as Qt signals; widgets
call its methods, which either read through the node's public API or start an asyncio
task on the shared (qasync) loop. A failed task becomes an ``error`` signal with a
message for the user, never a traceback.

Signals:
    messagesAdded(conv: bytes, rows: list[MessageRow])
    statusChanged(conv: bytes, author: bytes, up_to_seq: int, status: int)
    contactChanged(user_id: bytes)
    peersChanged()
    typingChanged(conv: bytes, user_id: bytes, active: bool)
    conversationsChanged(): something a conversation row shows may have changed
    devicesChanged(): one of my devices was linked, seen or removed
    settingChanged(key: str): a setting changed here or on another of my devices
    trustLine(conv: bytes, row: MessageRow): a trust event to show in that chat
    handoffChanged(): another of my devices opened, changed or closed a chat
    error(message: str)
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from kith.app.gui import trustlog, waiting
from kith.p2p.errors import KithError
from kith.p2p.events import direct_conversation
from kith.p2p.fingerprint import format_safety_number, safety_qr_payload
from kith.p2p.membership import is_group_id
from kith.p2p.node import (
    ACCEPTED,
    PENDING_IN,
    PENDING_OUT,
    SYNCED_SETTINGS,
    ContactChanged,
    ContactInfo,
    DeviceInfo,
    DevicesChanged,
    GroupChanged,
    HandoffOffer,
    MessagesAdded,
    Node,
    NodeEvent,
    PeerInfo,
    PeersChanged,
    SettingChanged,
    StatusChanged,
    TypingChanged,
    parse_address,
)
from kith.storage import STATUS_READ, MessageRow

log = logging.getLogger(__name__)

# How the user verified a contact, remembered on this device (the core keeps only whether).
HOW_NUMBER, HOW_EMOJI = "number", "emoji"


def key_label(user: bytes) -> str:
    """A person's key, short enough to read out: the first 8 hex digits of the user id."""
    return f"{user.hex()[:4]} {user.hex()[4:8]}"


@dataclass(frozen=True, slots=True)
class Conversation:
    """One row of the sidebar's conversation list."""

    user_id: bytes
    conv: bytes
    name: str
    state: str
    verified: bool
    key_changed: bool
    online: bool
    last: MessageRow | None
    unread: int
    replaced: bool = False  # an old key: the person uses a new one now (confirmed)
    key_hint: str = ""  # the key, when another key goes by the same name
    muted: bool = False  # no notifications for this chat
    marked_unread: bool = False  # "Mark as unread" (until the chat is opened)

    @property
    def sort_key(self) -> tuple[int, str]:
        return (-(self.last.time if self.last else 0), self.name.casefold())


class Bridge(QObject):
    messagesAdded = Signal(bytes, list)
    statusChanged = Signal(bytes, bytes, int, int)
    contactChanged = Signal(bytes)
    peersChanged = Signal()
    typingChanged = Signal(bytes, bytes, bool)
    conversationsChanged = Signal()
    devicesChanged = Signal()
    settingChanged = Signal(str)
    handoffChanged = Signal()
    groupChanged = Signal(bytes)  # a group's members, name or settings (app.gui.groupinfo)
    trustLine = Signal(bytes, object)
    error = Signal(str)

    def __init__(self, node: Node, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.node = node
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self.read_times: dict[tuple[bytes, bytes], float] = {}  # (conv, author) -> when read
        # Unread counts by conversation, until an event of that conversation: counting
        # scans a conversation's incoming messages (tens of ms for 100k), and the sidebar
        # asks after every event of any conversation.
        self._unread: dict[bytes, int] = {}
        self._trust: dict[bytes, trustlog.TrustState] = {}  # as last seen, by user

    # -- lifecycle ---------------------------------------------------------------------

    def attach(self) -> None:
        """Start forwarding node events (call once the node has started)."""
        if self._unsubscribe is None:
            self._trust = {c.user_id: trustlog.TrustState.of(c) for c in self.node.contacts()}
            self._unsubscribe = self.node.subscribe(self._on_node_event)

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except BaseException:  # noqa: S110 - cancelled or already reported
                pass

    def _on_node_event(self, e: NodeEvent) -> None:
        if isinstance(e, MessagesAdded | StatusChanged):
            self._unread.pop(e.conv, None)
        if isinstance(e, MessagesAdded):
            self.messagesAdded.emit(e.conv, list(e.messages))
            self.conversationsChanged.emit()
        elif isinstance(e, StatusChanged):
            if e.status == STATUS_READ:
                self.read_times[(e.conv, e.author)] = time.time()
            self.statusChanged.emit(e.conv, e.author, e.up_to_seq, e.status)
            self.conversationsChanged.emit()
        elif isinstance(e, ContactChanged):
            self._note_trust(e.user_id)
            self.contactChanged.emit(e.user_id)
            self.conversationsChanged.emit()
        elif isinstance(e, PeersChanged):
            self.peersChanged.emit()
            self.conversationsChanged.emit()
        elif isinstance(e, TypingChanged):
            self.typingChanged.emit(e.conv, e.user_id, e.active)
        elif isinstance(e, DevicesChanged):
            self.devicesChanged.emit()
        elif isinstance(e, SettingChanged):
            self.settingChanged.emit(e.key)
            self.conversationsChanged.emit()
        elif isinstance(e, HandoffOffer):
            self.handoffChanged.emit()
        elif isinstance(e, GroupChanged):
            self.groupChanged.emit(e.conv)
            for line in groups_gui.line_rows(self, e.conv)[-len(e.lines):] if e.lines else []:
                self.trustLine.emit(e.conv, line)  # (shown in the open chat as they come)
            self.conversationsChanged.emit()

    def _note_trust(self, user: bytes) -> None:
        """Write the chats' system lines for what changed in ``user``'s trust, and in
        that of others with the name (taking a new key changes the old one too)."""
        c = self.contact(user)
        if c is None:
            return
        self._note_one(c)
        name = c.name.casefold()
        for other in self.node.contacts():
            if other.user_id != user and other.name.casefold() == name:
                self._note_one(other)

    def _note_one(self, c: ContactInfo) -> None:
        user = c.user_id
        before = self._trust.get(user)
        self._trust[user] = trustlog.TrustState.of(c)
        conv = self.conv_for(user)
        for text in trustlog.changes(before, c, self.verified_how(user)):
            self.trustLine.emit(conv, trustlog.record(self.node.db, conv, text))

    def trust_lines(self, conv: bytes) -> list[MessageRow]:
        from kith.app.gui.actions import timer_lines  # (disappearing-message timers set)

        lines = trustlog.lines(self.node.db, conv) + timer_lines(self.node, conv)
        if is_group_id(conv):  # (a group's system lines: app.gui.groups)
            return lines + groups_gui.line_rows(self, conv)
        return lines

    def run(
        self,
        coro: Awaitable[Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> asyncio.Task[Any]:
        """Run a node coroutine on the loop; report failures as ``error`` signals."""

        async def wrapper() -> Any:
            try:
                result = await coro
            except KithError as e:
                (on_error or self.error.emit)(str(e))
                return None
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.exception("unexpected failure")
                (on_error or self.error.emit)(self.tr("Something went wrong: {error}").format(
                    error=e))
                return None
            if on_done is not None:
                on_done(result)
            return result

        def done(task: asyncio.Task[Any]) -> None:
            self._tasks.discard(task)
            # cancelled before it ever ran (the app closed at once): no "never awaited"
            if inspect.iscoroutine(coro) and \
                    inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()

        task = asyncio.get_running_loop().create_task(wrapper())
        self._tasks.add(task)
        task.add_done_callback(done)
        return task

    # -- who am I ----------------------------------------------------------------------

    @property
    def my_name(self) -> str:
        return self.node.name

    @property
    def my_user(self) -> bytes:
        return self.node.user_id

    def conv_for(self, user: bytes) -> bytes:
        if is_group_id(user):  # a group's row is keyed by its conversation (app.gui.groups)
            return user
        return direct_conversation(self.node.user_id, user)

    # -- reads -------------------------------------------------------------------------

    def contacts(self) -> list[ContactInfo]:
        return self.node.contacts()

    def contact(self, user: bytes) -> ContactInfo | None:
        for c in self.node.contacts():
            if c.user_id == user:
                return c
        return None

    def conversations(self) -> list[Conversation]:
        """Accepted contacts and sent requests, newest activity first."""
        db = self.node.db
        out = []
        contacts = self.node.contacts()
        shared = self.shared_names(contacts)
        for c in contacts:
            if c.state not in (ACCEPTED, PENDING_OUT):
                continue
            conv = self.conv_for(c.user_id)
            out.append(Conversation(
                c.user_id, conv, c.name, c.state, c.verified, c.key_changed, c.reachable,
                self.last_message(conv), self.unread_count(conv), c.replaced_by is not None,
                key_label(c.user_id) if c.name.casefold() in shared else "",
                self.muted(c.user_id), self.marked_unread(conv),
            ))
        out.extend(groups_gui.group_rows(self))
        # a deleted chat leaves the list until a new message (p2p.actions.deletion)
        out = [x for x in out if x.last is not None or not db.chat_cut(x.conv)]
        out.sort(key=lambda x: x.sort_key)
        return out

    def last_message(self, conv: bytes) -> MessageRow | None:
        """The newest message of ``conv`` for the sidebar: ours that waits for this
        device's history to be known (app.gui.waiting: newer than everything written),
        else the newest stored one."""
        held = waiting.rows(self, conv)
        return held[-1] if held else self.node.db.last_message(conv)

    def shared_names(self, contacts: list[ContactInfo] | None = None) -> set[str]:
        """Names (casefolded) that more than one key goes by, among contacts, requests
        and people nearby: wherever such a name shows, its key shows next to it."""
        keys: dict[str, set[bytes]] = {}
        for c in contacts if contacts is not None else self.node.contacts():
            if c.state != "declined":
                keys.setdefault(c.name.casefold(), set()).add(c.user_id)
        for p in self.node.peers():
            if p.user_id is not None and p.user_id != self.node.user_id and p.name:
                keys.setdefault(p.name.casefold(), set()).add(p.user_id)
        return {name for name, users in keys.items() if len(users) > 1}

    def person_title(self, user: bytes) -> str:
        """A person's name as a title (a notification's): with their key if another
        key uses the same name, and a mark when this key is not the one the user knows."""
        if is_group_id(user):
            return self.node.group(user.hex()).name
        c = self.contact(user)
        name = c.name if c else self.names().get(user, key_label(user))
        if name.casefold() in self.shared_names():
            name = f"{name} ({key_label(user)})"
        if c is not None and c.key_changed:
            name = self.tr("⚠ {name}, different key").format(name=name)
        elif c is not None and c.verified:
            name = f"{name} ✔"
        return name

    def namesakes(self, user: bytes) -> list[ContactInfo]:
        """Other contacts with ``user``'s name (the person it may claim to be)."""
        me = self.contact(user)
        if me is None:
            return []
        name = me.name.casefold()
        return [c for c in self.node.contacts()
                if c.user_id != user and c.name.casefold() == name and c.replaced_by is None]

    def requests(self) -> list[ContactInfo]:
        return [c for c in self.node.contacts() if c.state == PENDING_IN]

    def nearby(self) -> list[PeerInfo]:
        """People on the network who are not contacts yet: one entry per person however
        many of their devices are online (connected if any of them is), and never me
        (my own other devices are under My devices)."""
        people: dict[bytes, PeerInfo] = {}
        for p in self.node.peers():
            if p.user_id is None and p.problem:  # another version: say so (by device)
                people[b"?" + (p.device_id or b"")] = p
                continue
            if p.user_id is None or p.contact is not None or p.user_id == self.node.user_id:
                continue
            user = p.user_id
            seen = people.get(user)
            if seen is None:
                people[user] = p
                continue
            if p.connected and not seen.connected:  # the entry speaks for a live device
                seen, p = p, seen
            people[user] = dataclasses.replace(
                seen,
                name=seen.name or p.name,
                addresses=[*seen.addresses, *(a for a in p.addresses if a not in seen.addresses)],
                key_changed=seen.key_changed or p.key_changed,
            )
        return sorted(people.values(), key=lambda p: p.name.casefold())

    def messages(
        self, conv: bytes, before: tuple[int, bytes] | None = None, limit: int = 100
    ) -> list[MessageRow]:
        return self.node.db.messages(conv, limit=limit, before=before)

    def messages_after(
        self, conv: bytes, after: tuple[int, bytes], limit: int = 100
    ) -> list[MessageRow]:
        return self.node.db.messages_after(conv, after, limit=limit)

    def search(self, text: str, limit: int = 50) -> list[MessageRow]:
        return self.node.db.search(text, limit=limit)

    def names(self) -> dict[bytes, str]:
        return self.node.names()

    def conversation_peer(self, conv: bytes) -> bytes | None:
        if is_group_id(conv):
            return conv if self.node.core.groups.get(conv) is not None else None
        return self.node.db.conversation_peer(conv)

    def unread_count(self, conv: bytes) -> int:
        n = self._unread.get(conv)
        if n is None:
            n = self._unread[conv] = self.node.db.unread_count(conv)
        return n

    def unread_total(self) -> int:
        return sum(c.unread for c in self.conversations())

    def draft(self, conv: bytes) -> str:
        return self.node.db.get_draft(conv)

    def set_draft(self, conv: bytes, text: str) -> None:
        if self.node.db.get_draft(conv) != text:
            self.node.db.set_draft(conv, text)

    def safety_groups(self, user: bytes) -> list[str]:
        return format_safety_number(self.node.safety_number(user.hex()))

    def qr_payload(self, user: bytes) -> bytes:
        return safety_qr_payload(self.node.user_id, user)

    def online(self, user: bytes) -> bool:
        """A live session with one of their devices, here."""
        if is_group_id(user):
            return any(r.online for r in groups_gui.group_rows(self) if r.conv == user)
        return self.node.online(user)

    def reachable_through(self, user: bytes) -> list[str]:
        """The names of my other devices that talk to ``user`` now (when this one
        does not, what they write still reaches me through those)."""
        names = {d.device_id: d.name for d in self.node.devices()}
        return [names.get(d, self.tr("another device")) for d in self.node.reachable_via(user)]

    def sas(self, user: bytes) -> list[tuple[str, str]]:
        return self.node.sas(user.hex())

    def synced_settings(self) -> frozenset[str]:
        """Setting keys that belong to the person and follow to all their devices."""
        return SYNCED_SETTINGS

    def my_addresses(self) -> list[str]:
        """This device's HOST:PORT addresses, for "Connect by address" on another one."""
        from kith.app.gui.netifs import listening_addresses

        return listening_addresses(self.node.options.interfaces, self.node.port)

    def setting(self, key: str, default: Any) -> Any:
        return self.node.db.get_setting(key, default)

    def typing(self, conv: bytes) -> list[bytes]:
        """Who is typing in ``conv`` now (the core expires silent typists)."""
        return self.node.typing(conv)

    def devices(self) -> list[DeviceInfo]:
        return self.node.devices()

    def handoffs(self) -> list[HandoffOffer]:
        """Chats open on my other devices, newest device name order."""
        return sorted((o for o in self.node.handoffs.values() if o.user is not None),
                      key=lambda o: o.device_name.casefold())

    # -- writes ------------------------------------------------------------------------

    def send_message(self, user: bytes, text: str, reply_to: bytes = b"") -> bool:
        """Queue a message (stored and shown on the next loop turn); False if refused."""
        try:
            if is_group_id(user):
                self.node.queue_in(user, text, reply_to)
            else:
                self.node.queue_message(user, text, reply_to)
        except KithError as e:
            self.error.emit(str(e))
            return False
        return True

    def add_contact(self, user: bytes, trust_new_key: bool = False) -> asyncio.Task[Any]:
        return self.run(self.node.add_contact(user.hex(), trust_new_key=trust_new_key))

    def accept_contact(self, user: bytes, trust_new_key: bool = False) -> asyncio.Task[Any]:
        return self.run(self.node.accept_contact(user.hex(), trust_new_key=trust_new_key))

    def decline_contact(self, user: bytes) -> asyncio.Task[Any]:
        return self.run(self.node.decline_contact(user.hex()))

    def connect_address(self, address: str) -> asyncio.Task[Any] | None:
        try:
            host, port = parse_address(address.strip())
        except KithError as e:
            self.error.emit(str(e))
            return None
        return self.run(self.node.connect(host, port))

    def mark_read(self, user: bytes, up_to: int | None = None) -> None:
        """Mark read what the user saw (``up_to``: the lamport of the newest message on
        screen; what arrived after it stays unread)."""
        conv = self.conv_for(user)
        if self.unread_count(conv):
            def forget(_result: object) -> None:
                self._unread.pop(conv, None)

            read = (self.node.mark_read_in(conv, up_to) if is_group_id(user)
                    else self.node.mark_read(user, up_to))
            self.run(read, on_done=forget)

    def set_typing(self, user: bytes, active: bool) -> None:
        try:  # (a group's id: to its members, p2p.signals)
            self.node.set_typing(user, active)
        except KithError as e:
            log.info("typing not sent: %s", e)

    def set_verified(self, user: bytes, verified: bool, how: str | None = None) -> None:
        """Mark ``user`` verified (``how``: HOW_NUMBER or HOW_EMOJI) or not."""
        self.node.db.set_setting(f"verified_how:{user.hex()}", how if verified else None)
        self.node.set_verified(user, verified)  # (its event shows the "how" just saved)

    def muted(self, user: bytes) -> bool:
        """No notifications for this chat (the person's choice: it follows to my devices;
        a group's is kept with the group)."""
        if is_group_id(user):
            return self.node.group(user.hex()).muted
        return bool(self.node.db.get_setting(f"muted:{user.hex()}", False))

    def set_muted(self, user: bytes, muted: bool) -> None:
        if is_group_id(user):
            self.node.core.groups.set_muted(user.hex(), muted)
            self.conversationsChanged.emit()
            return
        self.node.set_setting(f"muted:{user.hex()}", muted)
        self.conversationsChanged.emit()

    def marked_unread(self, conv: bytes) -> bool:
        """The user marked the chat unread (on any of their devices) and has not opened
        it since."""
        return bool(self.node.db.get_setting(f"unread:{conv.hex()}", False))

    def set_marked_unread(self, user: bytes, value: bool) -> None:
        key = f"unread:{self.conv_for(user).hex()}"
        if bool(self.node.db.get_setting(key, False)) != value:
            self.node.set_setting(key, value)
            self.conversationsChanged.emit()

    def verified_how(self, user: bytes) -> str | None:
        """How the user verified ``user`` on this device, if they did it here."""
        how = self.node.db.get_setting(f"verified_how:{user.hex()}", None)
        return str(how) if how else None

    def set_setting(self, key: str, value: Any) -> None:
        """Through the node: per-user settings reach my other devices."""
        if self.node.db.get_setting(key, None) != value:
            self.node.set_setting(key, value)

    def set_name(self, name: str) -> asyncio.Task[Any]:
        return self.run(self.node.set_name(name),
                        on_done=lambda _: self.conversationsChanged.emit())

    def set_contact_name(self, user: bytes, name: str | None) -> bool:
        try:
            self.node.set_contact_name(user.hex(), name)
        except KithError as e:
            self.error.emit(str(e))
            return False
        return True

    def restore_old_key(self, old: bytes) -> bool:
        try:
            self.node.restore_old_key(old)
        except KithError as e:
            self.error.emit(str(e))
            return False
        return True

    def trust_new_key(self, user: bytes) -> bool:
        try:
            self.node.trust_new_key(user)
        except KithError as e:
            self.error.emit(str(e))
            return False
        return True

    def retry_delivery(self, user: bytes) -> None:
        self.node.retry_delivery(user)

    def set_open_chat(self, user: bytes | None, draft: str = "") -> None:
        self.node.set_open_chat(user, draft)

    def link_device(self, code: str, on_done: Callable[[Any], None],
                    on_error: Callable[[str], None]) -> asyncio.Task[Any]:
        return self.run(self.node.link_device(code), on_done=on_done, on_error=on_error)

    def remove_device(self, device_id: bytes) -> asyncio.Task[Any]:
        return self.run(self.node.remove_device(device_id.hex()))

    def set_discoverable(self, value: bool) -> asyncio.Task[Any]:
        return self.run(self.node.set_discoverable(value))


from kith.app.gui import groups as groups_gui  # noqa: E402 (it builds on the bridge)
