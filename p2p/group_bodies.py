"""Bodies of group events held as heads only, fetched from a member's device that has
them; and events shown again when the membership fold lets them count again.

A device can hold an event of a group as its head only, and rightly be entitled to its
text: the member it synced from had the head only (it was added later, without the
history, and the group shares its history now), or the event was past a removal's
cut-off when it arrived and the removal turned out to have no effect (a concurrent
demotion of the remover sorted first). Replication cannot tell: the vectors say the
event is held. So a head that arrives without a body I may read is noted as missing,
and every live member's device is asked for the bodies (``gbw``, p2p.group_protocol);
one that has a body and may pass it on to me answers (``gbd``). A holder whose own fold
does not let it pass a body on yet keeps the request and answers when its fold changes.
A body that comes is checked against its head's signed hash and applied through its
kind, as if it had come with its head. (What is noted is kept in memory: a device asks
again for what it noted since it started.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kith.p2p import events as ev
from kith.p2p import membership as mb
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.group_protocol import MAX_REFS, Bodies, BodyWant
from kith.p2p.kinds import GROUP, Applying, Batch, Part
from kith.storage import Store

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.groups import Groups
    from kith.p2p.network import Peer

log = logging.getLogger(__name__)

MAX_MISSING = 20_000  # heads without bodies noted per group
Ref = tuple[bytes, int]  # (author device, seq)


class _Filled(Part):
    """The bodies that came, written in the transaction of what they apply."""

    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, bytes, bytes, int]] = []  # (body, conv, author, seq)

    def write(self, store: Store) -> None:
        store.fill_bodies(self.bodies)


class GroupBodies:
    """Missing bodies of group events: noted, asked for, answered, applied."""

    def __init__(self, core: Core, groups: Groups) -> None:
        self.core = core
        self.groups = groups
        self.missing: dict[bytes, dict[Ref, None]] = {}  # conv -> refs, in order noted
        self._asked: dict[bytes, set[tuple[bytes, Ref]]] = {}  # peer device -> asked of it
        self._held: dict[bytes, dict[bytes, set[Ref]]] = {}  # peer device -> conv -> refs
        self._soon: set[bytes] = set()
        # heads stored without bodies that I may not read (yet): (author, seq, lamport, mine)
        self._unread: dict[bytes, list[tuple[bytes, int, int, bool]]] = {}
        net = core.net
        net.handlers[BodyWant] = self._on_want
        net.handlers[Bodies] = self._on_bodies
        net.connected.append(self._on_connected)
        net.disconnected.append(self._on_disconnected)

    # -- what I lack ---------------------------------------------------------------------

    def note(self, conv: bytes, refs: Iterable[Ref]) -> None:
        """Heads of ``conv`` I hold without the body I may read: ask for them soon."""
        m = self.missing.setdefault(conv, {})
        if not refs and not m:
            self.missing.pop(conv, None)
            return
        for r in refs:
            if len(m) >= MAX_MISSING:
                break
            m[r] = None
        if m and conv not in self._soon:
            self._soon.add(conv)
            asyncio.get_running_loop().call_soon(self._ask_everyone, conv)

    def load(self, conv: bytes, store: Store) -> None:
        """At start: the heads of ``conv`` stored without bodies (looked at once peers
        come: those I may read are asked for)."""
        heads = []
        user_of = self.groups._user_of
        for head in store.heads_without_bodies(conv, sorted(_control_names())):
            x = ev.decode(head).event
            if x.format >= 2:
                heads.append((x.author, x.seq, x.lamport, user_of(x.author) == self.core.user_id))
        if heads:
            self._unread[conv] = heads

    def note_later(self, conv: bytes, heads: list[tuple[bytes, int, int, bool]]) -> None:
        """``heads`` (author, seq, lamport, mine), filled while a run is checked, once the
        batch is written: those stored as heads only that I may read are noted."""
        def stored() -> None:
            db = self.core.db
            kept = [h for h in heads
                    if (row := db.event(conv, h[0], h[1])) is not None and row[1] is None]
            self._unread.setdefault(conv, []).extend(kept[:MAX_MISSING])
            self._readable(conv)

        asyncio.get_running_loop().call_soon(stored)

    def _readable(self, conv: bytes) -> None:
        """Note what I may read of the heads stored without bodies; the rest waits for
        the fold to change (my own add may come after what it lets me read)."""
        heads = self._unread.pop(conv, [])
        may_read = self.groups.may_read
        wait = [h for h in heads if not may_read(conv, h[2], h[3])]
        if wait:
            self._unread[conv] = wait[-MAX_MISSING:]
        self.note(conv, [(h[0], h[1]) for h in heads if may_read(conv, h[2], h[3])])

    def _ask_everyone(self, conv: bytes) -> None:
        self._soon.discard(conv)
        for peer in self.core.net.live():
            self._ask(peer, conv)

    def _ask(self, peer: Peer, conv: bytes) -> None:
        user = peer.user_id
        missing = self.missing.get(conv)
        if not missing or peer.conn is None or user is None:
            return
        if not self.core.convs.may_receive(user, conv):
            return
        asked = self._asked.setdefault(peer.device_id, set())
        refs = [r for r in missing if (conv, r) not in asked][:MAX_REFS]
        if refs:
            asked.update((conv, r) for r in refs)
            peer.conn.send(BodyWant(conv, refs))

    def _on_connected(self, peer: Peer) -> None:
        for conv in list(self._unread):
            self._readable(conv)  # (what came at start, or waits for my add)
        for conv in list(self.missing):
            self._ask(peer, conv)

    def _on_disconnected(self, peer: Peer) -> None:
        self._asked.pop(peer.device_id, None)
        self._held.pop(peer.device_id, None)

    # -- answering -----------------------------------------------------------------------

    def _on_want(self, peer: Peer, m: BodyWant) -> None:
        user = peer.user_id
        if user is None or not self.core.convs.may_send(user, m.conv):
            return
        self._answer(peer, m.conv, [(a, s) for a, s in m.refs[:MAX_REFS] if len(a) == 32])

    def _answer(self, peer: Peer, conv: bytes, refs: Sequence[Ref]) -> None:
        assert peer.user_id is not None
        db = self.core.db
        have: list[Ref] = []
        items: list[tuple[bytes, bytes | None]] = []
        for author, seq in refs:
            row = db.event(conv, author, seq)
            if row is not None and row[1] is not None:
                have.append((author, seq))
                items.append(row)
        out: list[tuple[bytes, bytes]] = []
        held = self._held.setdefault(peer.device_id, {}).setdefault(conv, set())
        for ref, (head, body) in zip(
            have, self.core.convs.outgoing(peer.user_id, conv, items), strict=True
        ):
            if body is None:
                if len(held) < MAX_MISSING:
                    held.add(ref)  # not for them as my fold stands: maybe once it changes
            else:
                held.discard(ref)
                out.append((head, body))
        if out and peer.conn is not None:
            peer.conn.send(Bodies(conv, out))

    def fold_changed(self, conv: bytes) -> None:
        """The membership changed: answer what I held back, ask again for what I lack
        (a relay may pass on now what it kept from me before)."""
        for peer in self.core.net.live():
            refs = self._held.get(peer.device_id, {}).pop(conv, None)
            if refs:
                self._answer(peer, conv, sorted(refs))
        for asked in self._asked.values():
            for x in [x for x in asked if x[0] == conv]:
                asked.discard(x)
        if conv in self._unread:
            self._readable(conv)
        elif self.missing.get(conv):
            self.note(conv, ())

    # -- what came -----------------------------------------------------------------------

    def _on_bodies(self, peer: Peer, m: Bodies) -> None:
        user = peer.user_id
        missing = self.missing.get(m.conv)
        if user is None or not missing or not self.core.convs.may_receive(user, m.conv):
            return
        db = self.core.db
        fills: list[ev.SignedEvent] = []
        for head, body in m.events[:MAX_REFS]:
            try:
                e = ev.decode(head, body)  # (the body must match the hash its head signs)
            except RemoteProtocolError as err:
                log.warning("refusing a group event body from %s: %s", peer.name, err)
                continue
            x = e.event
            if x.conv != m.conv or (x.author, x.seq) not in missing:
                continue
            stored = db.event(m.conv, x.author, x.seq)
            if stored is None or stored[0] != head or stored[1] is not None:
                missing.pop((x.author, x.seq), None)  # (not what I hold, or filled already)
                continue
            fills.append(e)
        gone = db.gone_of([e.id for e in fills]) if fills else set()
        for e in fills:
            if e.id in gone:  # (its text went for good here: it does not come back)
                missing.pop((e.event.author, e.event.seq), None)
        fills = [e for e in fills if e.id not in gone]
        if fills:
            self.apply_stored(m.conv, fills, fill=True, peer_name=peer.name)
        if not missing:
            self.missing.pop(m.conv, None)
        else:
            self._ask(peer, m.conv)  # (more than one want held)

    def apply_stored(
        self, conv: bytes, events: Sequence[ev.SignedEvent], *, fill: bool, peer_name: str = ""
    ) -> None:
        """Apply events whose heads are stored as if they came now (``fill``: their bodies
        came now, and are written too) - if they count and show here as the fold stands."""
        from kith.p2p.eventlog import WRITE_ERRORS

        core = self.core
        groups = self.groups
        g = groups.groups.get(conv)
        if g is None:
            return
        batch = Batch()
        part = batch.part(_Filled, _Filled)
        todo: list[tuple[Any, ev.SignedEvent, Any, bytes]] = []
        for e in events:
            x = e.event
            kind = core.kinds.get(x.kind)
            user = groups._user_of(x.author)
            if kind is None or e.body is None or user is None or x.kind in _control_names():
                continue
            if not mb.counts(g.state, user, x.author, x.seq, x.lamport):
                continue
            try:
                body = kind.decode(e.body)
            except RemoteProtocolError as err:
                log.warning("refusing a stored group event's body: %s", err)
                continue
            if fill:
                part.bodies.append((e.body, conv, x.author, x.seq))
            todo.append((kind, e, body, user))
        if not todo:
            return
        for kind, e, body, user in todo:
            ctx = Applying(core, batch, GROUP, user, user == core.user_id, False, peer_name)
            kind.apply(ctx, e, body)
        try:
            core.log.write(batch, [])
        except WRITE_ERRORS as err:
            log.error("cannot store group event bodies: %s", err)
            return
        missing = self.missing.get(conv, {})
        for _, e, _, _ in todo:
            missing.pop((e.event.author, e.event.seq), None)


def _control_names() -> frozenset[str]:
    from kith.p2p.groups import CONTROL_NAMES

    return CONTROL_NAMES
