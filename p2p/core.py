"""What the parts of a node share: identity, database, listeners, tasks and each other.

The :class:`~p2p.node.Node` builds one :class:`Core` and hands it to every part (the
network, the event log, replication, each feature); the parts reach each other through
it. Nothing here does work of its own beyond emitting events and running tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kith.p2p.api import NodeEvent
from kith.p2p.connection import Timing
from kith.p2p.errors import UserError
from kith.p2p.identity import Identity
from kith.p2p.kinds import KindTable
from kith.storage import Store

if TYPE_CHECKING:
    from kith.p2p.actions import Actions
    from kith.p2p.contacts import Contacts
    from kith.p2p.conversations import Conversations
    from kith.p2p.devices import Devices
    from kith.p2p.eventlog import EventLog
    from kith.p2p.files.feature import Files
    from kith.p2p.groups import Groups
    from kith.p2p.messages import Messages
    from kith.p2p.network import Network
    from kith.p2p.presence import Presence
    from kith.p2p.replication import Replication
    from kith.p2p.settings import Settings
    from kith.p2p.signals import Signals

log = logging.getLogger(__name__)


@dataclass
class NodeOptions:
    interfaces: list[str] | None = None  # None: every LAN interface
    port: int | None = None  # None: the profile's remembered port, else any free one
    discovery: bool = True
    network: bool = True  # False: no listening, no discovery, no dialling (database only)
    timing: Timing = field(default_factory=Timing)
    reconnect_min: float = 0.25
    reconnect_max: float = 30.0
    # The profile's data key (p2p.keystore): the database is encrypted with it (a plain
    # one is migrated first). None: a plain database. The caller unlocks it, the node
    # never prompts.
    data_key: bytes | None = None


class Core:
    """The shared context of one node's parts."""

    # The parts, set by the node while it wires them (in this order).
    convs: Conversations
    log: EventLog
    net: Network
    repl: Replication
    contacts: Contacts
    devices: Devices
    messages: Messages
    groups: Groups
    settings: Settings
    signals: Signals
    presence: Presence
    files: Files
    actions: Actions

    def __init__(self, profile: Path, options: NodeOptions, identity: Identity) -> None:
        self.profile = profile
        self.options = options
        self.identity = identity
        self.user_id = identity.user_id
        self.device_id = identity.device_id
        self.kinds = KindTable()
        self.store: Store | None = None
        self.running = False
        self._listeners: list[Callable[[NodeEvent], None]] = []
        self._held: list[NodeEvent] | None = None  # (see emits_after)
        self.tasks: set[asyncio.Task[Any]] = set()

    @property
    def db(self) -> Store:
        if self.store is None:
            raise UserError("the node is not running")
        return self.store

    @property
    def name(self) -> str:
        return self.identity.name

    # -- listeners -------------------------------------------------------------------

    def subscribe(self, listener: Callable[[NodeEvent], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(self, event: NodeEvent) -> None:
        if self._held is not None:
            self._held.append(event)
            return
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("listener failed on %r", event)

    @contextlib.contextmanager
    def emits_after(self) -> Iterator[None]:
        """Hold what is emitted inside the block and deliver it, in order, when the
        block ends (also on an error). A write of our own events announces them only
        once they are on their way to the peers: the listeners (the app's models and
        sidebar, 0.2-0.7 ms a message) must not delay a message to its recipient
        (:meth:`EventLog.write`). Re-entered, it holds for the outer block."""
        if self._held is not None:
            yield
            return
        held: list[NodeEvent] = []
        self._held = held
        try:
            yield
        finally:
            self._held = None
            for event in held:
                self.emit(event)

    async def wait_event(self, pred: Callable[[NodeEvent], bool], timeout: float) -> bool:
        """Wait until an emitted event satisfies ``pred``; False on timeout."""
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

    # -- tasks -----------------------------------------------------------------------

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run a task that lives at most as long as the node (stop() cancels it)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task
