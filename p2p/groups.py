"""Group chats: the control kinds, the membership of every group, and its API.

Kinds (the rules of membership are in :mod:`p2p.membership`, sans-IO)::

    group_create   [name, members, names, history]   in the group: its first event
    group_add      [seen, users, names]               owner or admin
    group_remove   [seen, user, cutoffs]              owner or admin
    group_leave    [seen, cutoffs]                    any member, for themselves
    group_rename   [seen, name]                       owner or admin
    group_role     [seen, user, role]                 owner only
    group_settings [seen, history]                    owner only
    group_invite   [group, name]                      in a direct conversation: "I put
                                                      you in this group; fetch it from me"

A group's id says it is one (:func:`p2p.membership.is_group_id`), so its events are
typed before the group is known. Its events go to every member's devices, and any
member's device relays what it holds (replication asks :mod:`p2p.conversations`, whose
gate for groups is here). An event that cannot be judged yet (its author's add has not
arrived, the group's creation is still on its way) is refused without hanging up, and the
group is asked for again when its membership changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kith.p2p import events as ev
from kith.p2p import membership as mb
from kith.p2p.api import GroupChanged
from kith.p2p.conversations import HeadOnly
from kith.p2p.group_api import GroupApi, GroupInfo, MemberInfo, control_of
from kith.p2p.group_bodies import GroupBodies
from kith.p2p.kinds import DIRECT, GROUP, Applying, Author, Kind, Part
from kith.p2p.membership import Group, InviteBody
from kith.storage import Store
from kith.storage.groups import GroupLineRow

if TYPE_CHECKING:
    from kith.p2p.core import Core

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Receipt:
    """One member's receipt for one message."""

    user_id: bytes
    status: str  # sent | delivered | read
    former: bool  # no longer a member (removed or left since)

__all__ = ["KINDS", "Group", "GroupInfo", "Groups", "InviteBody", "MemberInfo"]


class _Changes(Part):
    """What one batch changed in groups: written with it, announced after."""

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self.changed: set[bytes] = set()
        self.added: list[tuple[bytes, bytes]] = []  # (conv, control id) new in memory
        self.lines: list[GroupLineRow] = []
        self.invites: list[tuple[bytes, bytes, str]] = []  # (conv, inviter, name)
        self.receipts: list[tuple[bytes, bytes, bytes, int, bool]] = []
        self.loosened: dict[bytes, mb.GroupState] = {}  # conv -> the fold before the batch
        self._moved: list[tuple[bytes, bytes, int, int]] = []

    def write(self, store: Store) -> None:
        groups = self.groups
        for conv, inviter, _name in self.invites:
            store.ensure_conversation(conv, GROUP, [(inviter, "inviter")])
        for conv in self.changed:
            groups.save(store, groups.groups[conv])
        store.insert_group_lines(self.lines)
        groups.hide_before_join(store, self.changed)
        self._moved = groups.write_receipts(store, self.receipts)

    def committed(self) -> None:
        groups = self.groups
        for conv in {c for c, _, _ in self.invites} | self.changed:
            groups.announce(conv, tuple(x for x in self.lines if x.conv == conv))
        from kith.p2p.api import StatusChanged

        for conv, author, seq, status in self._moved:
            groups.core.emit(StatusChanged(conv, author, seq, status))
        if self.loosened:  # (after this write: it is a write of its own)
            loop = asyncio.get_running_loop()
            for conv, before in self.loosened.items():
                loop.call_soon(groups.show_again, conv, before)

    def failed(self) -> None:
        for conv, cid in self.added:
            g = self.groups.groups.get(conv)
            if g is not None and g.controls.pop(cid, None) is not None:
                g.refold()
        for conv, _, _ in self.invites:
            g = self.groups.groups.get(conv)
            if g is not None and not g.controls:
                self.groups.groups.pop(conv, None)
        self.added = []


def _changes(ctx: Applying) -> _Changes:
    return ctx.batch.part(_Changes, lambda: _Changes(ctx.core.groups))


def _apply_control(ctx: Applying, e: ev.SignedEvent, body: mb.ControlBody) -> None:
    groups = ctx.core.groups
    conv = e.event.conv
    g = groups.groups.get(conv)
    if g is None:  # (checked before: the run's checker made it)
        return
    part = _changes(ctx)
    c = control_of(e, ctx.author_user, body)
    if c.id not in g.controls:
        before = g.state
        g.controls[c.id] = c
        g.refold()
        part.added.append((conv, c.id))
        if mb.loosened(before, g.state):
            part.loosened.setdefault(conv, before)
    part.changed.add(conv)
    for ch in g.state.changes:
        if ch.event.id == c.id:
            part.lines.append(GroupLineRow(
                conv, c.device, c.seq, c.lamport, c.time, ch.kind, ch.actor, ch.targets,
                ch.value,
            ))


def _apply_invite(ctx: Applying, e: ev.SignedEvent, body: InviteBody) -> None:
    if ctx.mine:
        return  # (my own invitation to someone else)
    groups = ctx.core.groups
    if body.group in groups.groups:
        return
    groups.groups[body.group] = Group(body.group, {}, mb.GroupState(), ctx.author_user)
    _changes(ctx).invites.append((body.group, ctx.author_user, body.name))


def _kind(name: str, body: Any) -> Kind[Any]:
    return Kind(
        name, body, where=frozenset({GROUP}), who=Author.MEMBER, check=mb.check_body,
        apply=_apply_control,
    )


CREATE = _kind("group_create", mb.CreateBody)
ADD = _kind("group_add", mb.AddBody)
REMOVE = _kind("group_remove", mb.RemoveBody)
LEAVE = _kind("group_leave", mb.LeaveBody)
RENAME = _kind("group_rename", mb.RenameBody)
ROLE = _kind("group_role", mb.RoleBody)
SETTINGS = _kind("group_settings", mb.SettingsBody)
INVITE: Kind[InviteBody] = Kind(
    "group_invite", InviteBody, where=frozenset({DIRECT}), who=Author.CONTACT,
    check=mb.check_invite, apply=_apply_invite,
)
CONTROL_KINDS = (CREATE, ADD, REMOVE, LEAVE, RENAME, ROLE, SETTINGS)
CONTROL_NAMES = frozenset(k.name for k in CONTROL_KINDS)
KINDS = (*CONTROL_KINDS, INVITE)


class Groups(GroupApi):
    """Every group this device knows; entitlement for groups; the group API."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.me = core.user_id
        self.groups: dict[bytes, Group] = {}
        for kind in KINDS:
            core.kinds.declare(kind)
        core.convs.gate(GROUP, send=self._may_send, receive=self._may_receive)
        core.convs.checker(GROUP, self.run_checker)
        core.convs.offer_rule(GROUP, self._offer)
        core.convs.outgoing_rule(GROUP, self._outgoing)
        self.bodies = GroupBodies(core, self)

    # -- state -------------------------------------------------------------------------

    def load(self, store: Store) -> None:
        names = sorted(CONTROL_NAMES)
        inviters = {conv: user for conv, user, role in store.all_members() if role == "inviter"}
        for conv, kind in store.conversations():
            if kind != GROUP:
                continue
            controls: dict[bytes, mb.Control] = {}
            for head, body in store.control_events(conv, names):
                e = ev.decode(head, body)
                k = self.core.kinds.get(e.event.kind)
                device = store.device(e.event.author)
                if k is None or e.body is None or device is None:
                    continue
                c = control_of(e, device.user_id, k.decode(e.body))
                controls[c.id] = c
            g = Group(conv, controls, mb.fold(controls.values()), inviters.get(conv))
            self.groups[conv] = g
            self._publish(g)
            self.bodies.load(conv, store)

    def _publish(self, g: Group) -> None:
        """Tell the conversations and the event log what the fold says."""
        # (former members stay in the list: their devices get the group up to the event
        # that removed them, and what they hold from before still counts)
        members = {u: "former" for u in g.state.former}
        members.update((u, m.role) for u, m in g.state.members.items())
        if not g.state.created and g.inviter is not None:
            members = {g.inviter: "inviter"}
        self.core.convs.set_members(g.conv, GROUP, members)

    def _user_of(self, device: bytes) -> bytes | None:
        row = self.core.db.device(device)
        return None if row is None else row.user_id

    def save(self, store: Store, g: Group) -> None:
        s = g.state
        store.ensure_conversation(g.conv, GROUP)
        if not s.created:
            return
        store.save_group(
            g.conv, s.name, s.history, self.me not in s.members,
            sorted((u, m.role) for u, m in s.members.items()),
        )
        # What former members' devices wrote past their cut-off (and devices the removal
        # did not name) is un-shown, and never passed on (_outgoing). Its bodies stay:
        # what is hidden follows the fold, and a removal that turns out to have no
        # effect (a concurrent demotion of the remover sorts first) shows it again.
        for device, (seq, _) in s.cutoffs.items():
            if self._user_of(device) in s.members:
                continue  # (added again: what came between is a head already)
            store.hide_messages_after(g.conv, device, seq)
        for user in s.former:
            keep = [d for d in s.cutoffs if self._user_of(d) == user]
            store.hide_messages_of(g.conv, user, keep)

    def announce(self, conv: bytes, lines: tuple[GroupLineRow, ...] = ()) -> None:
        g = self.groups.get(conv)
        if g is None:
            return
        self._publish(g)
        self.core.emit(GroupChanged(conv, lines))
        self.fetch(conv)
        self.bodies.fold_changed(conv)

    def show_again(self, conv: bytes, before: mb.GroupState) -> None:
        """The fold changed so that events which did not count may count now: show
        again what they hid (re-applied from their stored bodies; a body that went at
        arrival is asked for from the members' devices, p2p.group_bodies)."""
        g = self.groups.get(conv)
        if g is None:
            return
        after = g.state
        users = set(before.former)
        logs = self.core.log.durable.get(conv, {})
        devices = set(before.cutoffs) | {d for d in logs if self._user_of(d) in users}
        db = self.core.db
        skip = sorted(CONTROL_NAMES)
        again: list[ev.SignedEvent] = []
        lack: list[tuple[bytes, int]] = []
        for device in sorted(devices):
            user = self._user_of(device)
            if user is None:
                continue
            for head, body in db.events_of(conv, device, 0, skip):
                e = ev.decode(head, body)
                x = e.event
                event = (user, device, x.seq, x.lamport)
                if not mb.counted_again(before, after, [event]):
                    continue
                if body is None:
                    if e.erasable:
                        lack.append((device, x.seq))
                elif x.kind != "message" or db.message_at(conv, device, x.seq) is None:
                    again.append(e)
        if again:
            self.bodies.apply_stored(conv, again, fill=False)
        if lack:
            self.bodies.note(conv, lack)

    def fetch(self, conv: bytes) -> None:
        """Ask every live peer entitled to ``conv`` for what it holds of it (membership
        changed: events refused before may count now)."""
        convs = self.core.convs
        for peer in self.core.net.live():
            if peer.user_id is not None and convs.may_receive(peer.user_id, conv):
                self.core.repl.ask(peer, conv)

    # -- entitlement -------------------------------------------------------------------

    def _may_send(self, user: bytes, conv: bytes) -> bool:
        g = self.groups.get(conv)
        return g is not None and (user in g.state.members or user in g.state.former)

    def _offer(self, user: bytes, conv: bytes, vector: dict[bytes, int]) -> dict[bytes, int]:
        """A former member's devices get each log up to the event that removed them (a
        prefix of every log: lamport clocks grow along a log), so they learn it."""
        g = self.groups.get(conv)
        if g is None or user in g.state.members:
            return vector
        f = g.state.former.get(user)
        if f is None:
            return {}
        upto = self.core.db.seqs_up_to(conv, f.lamport)
        return {a: min(s, upto.get(a, 0)) for a, s in vector.items() if upto.get(a, 0)}

    def _may_receive(self, user: bytes, conv: bytes) -> bool:
        g = self.groups.get(conv)
        if g is None:
            return False
        return user in g.state.members or user in g.state.former or (
            not g.state.created and user == g.inviter
        )

    def _outgoing(
        self, user: bytes, conv: bytes, items: Sequence[tuple[bytes, bytes | None]]
    ) -> Sequence[tuple[bytes, bytes | None]]:
        """A member added later, in a group that keeps its history to itself, gets the
        heads of what came before the add (the chains stay whole) but not the bodies;
        control events keep theirs (the member folds the membership from them)."""
        g = self.groups.get(conv)
        if g is None:
            return items
        s = g.state
        m = s.members.get(user)
        before_add = m is not None and bool(m.since) and not s.history
        # What does not count as the fold stands (a former member's past the cut-off) is
        # never passed on, whoever asks.
        suspects = set(s.cutoffs)
        if s.former:
            suspects |= {d for d in self.core.log.durable.get(conv, {})
                         if self._user_of(d) in s.former}
        if not before_add and not suspects:
            return items
        out: list[tuple[bytes, bytes | None]] = []
        for head, body in items:
            if body is not None:
                x = ev.decode(head).event
                if x.kind in CONTROL_NAMES:
                    pass
                elif before_add and m is not None and x.lamport <= m.since:
                    body = None
                elif x.author in suspects:
                    author = self._user_of(x.author)
                    if author is None or not mb.counts(s, author, x.author, x.seq, x.lamport):
                        body = None
            out.append((head, body))
        return out

    def admit_run(self, conv: bytes, author_user: bytes, relay_user: bytes) -> str | None:
        """Why a run of ``conv`` by ``author_user``, relayed by ``relay_user``, is refused
        before its events are looked at; None to go on."""
        g = self.groups.get(conv)
        if g is None:
            if relay_user != self.me:
                return "events of a group I am not in"
            # My own device holds it: the group reaches me through it.
            g = self.groups[conv] = Group(conv, {}, mb.GroupState())
        s = g.state
        if relay_user != self.me and relay_user not in s.members and not (
            relay_user == g.inviter and not s.created
        ) and relay_user not in s.former:
            return "relayed event for a group the relay is not in"
        return None

    def run_checker(
        self, conv: bytes, author_user: bytes
    ) -> Callable[[ev.SignedEvent, Kind[Any]], str | None]:
        """A check of each event of one run, in order, against the group as it stands
        with the run's earlier control events."""
        g = self.groups.get(conv)
        controls = dict(g.controls) if g is not None else {}
        state = [g.state if g is not None else mb.GroupState()]
        lacking: list[tuple[bytes, int, int, bool]] = []

        def check(e: ev.SignedEvent, kind: Kind[Any]) -> str | None:
            x = e.event
            if kind.name in CONTROL_NAMES:
                if e.body is None:
                    return "a group control event without its body"
                c = control_of(e, author_user, kind.decode(e.body))
                if c.id in controls:
                    return None
                reason = mb.admit_control(c, controls)
                if reason is not None:
                    return f"{kind.name}: {reason}"
                controls[c.id] = c
                state[0] = mb.fold(controls.values())
                return None
            if not mb.counts(state[0], author_user, x.author, x.seq, x.lamport):
                s = state[0]
                if author_user in s.former or x.author in s.cutoffs:
                    return HeadOnly("event of a former member past its cut-off (kept as a "
                                    "head only)")
                return "event from someone who is not a member of the group (yet)"
            if e.body is None and e.erasable:  # a head: may I read it? (p2p.group_bodies)
                if not lacking:
                    self.bodies.note_later(conv, lacking)
                lacking.append((x.author, x.seq, x.lamport, author_user == self.me))
            return None

        return check

    def shows(self, conv: bytes, lamport: int) -> bool:
        """Does a message at ``lamport`` show here? (A member added later sees what
        came after the add, unless the group shares its history.)"""
        g = self.groups.get(conv)
        if g is None:
            return False
        s = g.state
        m = s.members.get(self.me)
        if s.history:
            return True
        if m is not None:
            return lamport > m.since
        # Not added yet as far as this batch has gone: my add may come later in it, and
        # hide_before_join decides once the batch is written.
        return True

    def may_read(self, conv: bytes, lamport: int, mine: bool) -> bool:
        """May I read an event of ``conv`` at ``lamport`` (one that counts)? I am a
        member, and it is mine, or from after my add, or the group shares its history."""
        g = self.groups.get(conv)
        return g is not None and self.me in g.state.members and (
            mine or self.shows(conv, lamport))

    def hide_before_join(self, store: Store, convs: Iterable[bytes]) -> set[bytes]:
        """Un-show what came before I was added to these groups (unless they share their
        history); the ids of the messages that went."""
        gone: set[bytes] = set()
        for conv in convs:
            g = self.groups.get(conv)
            m = g.state.members.get(self.me) if g is not None else None
            if g is not None and m is not None and m.since and not g.state.history:
                gone |= store.hide_incoming_before(conv, m.since)
        return gone

    # -- receipts ----------------------------------------------------------------------

    def receipt(self, ctx: Applying, conv: bytes, author: bytes, seq: int, read: bool) -> None:
        """A member's receipt for one log (``author``: a device)."""
        if ctx.author_user == self._user_of(author):
            return
        _changes(ctx).receipts.append((conv, author, ctx.author_user, seq, read))

    def write_receipts(
        self, store: Store, receipts: Iterable[tuple[bytes, bytes, bytes, int, bool]]
    ) -> list[tuple[bytes, bytes, int, int]]:
        from kith.storage import STATUS_DELIVERED, STATUS_READ, STATUS_SENDING

        touched: set[tuple[bytes, bytes]] = set()
        for conv, author, user, seq, read in receipts:
            if store.raise_member_mark(conv, author, user, seq, read):
                touched.add((conv, author))
        moved: list[tuple[bytes, bytes, int, int]] = []
        for conv, author in touched:
            g = self.groups.get(conv)
            writer = self._user_of(author)
            if g is None:
                continue
            others = [u for u in g.state.members if u != writer and u != self.me]
            if not others:
                continue
            marks = store.member_marks(conv, author)
            delivered = min(marks.get(u, (0, 0))[0] for u in others)
            read_all = min(marks.get(u, (0, 0))[1] for u in others)
            before = len(moved)
            if delivered and store.raise_mark(conv, author, delivered, STATUS_DELIVERED):
                moved.append((conv, author, delivered, STATUS_DELIVERED))
            if read_all and store.raise_mark(conv, author, read_all, STATUS_READ):
                moved.append((conv, author, read_all, STATUS_READ))
            if len(moved) == before:  # one member's receipt: "Read by 2 of 3" moves
                moved.append((conv, author, max(s for s, _ in marks.values()), STATUS_SENDING))
        return moved

    def receipts(self, conv: bytes, author: bytes, seq: int) -> list[Receipt]:
        """Per member the message was written to, other than its writer: "sent",
        "delivered" or "read"; a former member stays listed, marked as such."""
        g = self.groups.get(conv)
        if g is None:
            return []
        writer = self._user_of(author)
        row = self.core.db.message_at(conv, author, seq)
        if row is not None:
            members = mb.members_at(g.state, row.lamport)
        else:
            members = dict.fromkeys(g.state.members, False)
        marks = self.core.db.member_marks(conv, author)
        out = []
        for u in sorted(members):
            if u == writer:
                continue
            if u == self.me:
                out.append(Receipt(u, "read", members[u]))
                continue
            d, r = marks.get(u, (0, 0))
            status = "read" if r >= seq else "delivered" if d >= seq else "sent"
            out.append(Receipt(u, status, members[u]))
        return out

    def receipts_of(self, conv: bytes, author: bytes, seq: int) -> list[tuple[bytes, str]]:
        """(user, status) of :meth:`receipts`."""
        return [(r.user_id, r.status) for r in self.receipts(conv, author, seq)]
