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

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from p2p import events as ev
from p2p import membership as mb
from p2p.api import GroupChanged
from p2p.conversations import HeadOnly
from p2p.errors import UserError
from p2p.kinds import DIRECT, GROUP, Applying, Author, Kind, Part
from storage import Store
from storage.groups import GroupLineRow, GroupRow

if TYPE_CHECKING:
    from p2p.core import Core

log = logging.getLogger(__name__)


class InviteBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    group: bytes
    name: str


def _check_invite(b: InviteBody) -> str | None:
    if not mb.is_group_id(b.group):
        return "not a group id"
    return mb.name_problem(b.name)


@dataclass(slots=True)
class Group:
    """What this device knows of one group."""

    conv: bytes
    controls: dict[bytes, mb.Control]
    state: mb.GroupState
    inviter: bytes | None = None  # invited, not created yet here: who to fetch it from

    def refold(self) -> None:
        self.state = mb.fold(self.controls.values())


class _Changes(Part):
    """What one batch changed in groups: written with it, announced after."""

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self.changed: set[bytes] = set()
        self.added: list[tuple[bytes, bytes]] = []  # (conv, control id) new in memory
        self.lines: list[GroupLineRow] = []
        self.invites: list[tuple[bytes, bytes, str]] = []  # (conv, inviter, name)
        self.receipts: list[tuple[bytes, bytes, bytes, int, bool]] = []
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
        from p2p.api import StatusChanged

        for conv, author, seq, status in self._moved:
            groups.core.emit(StatusChanged(conv, author, seq, status))

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


def _control(e: ev.SignedEvent, user: bytes, body: mb.ControlBody) -> mb.Control:
    x = e.event
    return mb.Control(mb.ref(x.author, x.seq), user, x.author, x.seq, x.lamport, x.time, body)


def _apply_control(ctx: Applying, e: ev.SignedEvent, body: mb.ControlBody) -> None:
    groups = ctx.core.groups
    conv = e.event.conv
    g = groups.groups.get(conv)
    if g is None:  # (checked before: the run's checker made it)
        return
    part = _changes(ctx)
    c = _control(e, ctx.author_user, body)
    if c.id not in g.controls:
        g.controls[c.id] = c
        g.refold()
        part.added.append((conv, c.id))
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
    check=_check_invite, apply=_apply_invite,
)
CONTROL_KINDS = (CREATE, ADD, REMOVE, LEAVE, RENAME, ROLE, SETTINGS)
CONTROL_NAMES = frozenset(k.name for k in CONTROL_KINDS)
KINDS = (*CONTROL_KINDS, INVITE)


@dataclass(frozen=True, slots=True)
class MemberInfo:
    user_id: bytes
    name: str
    role: str
    contact: bool

    def to_json(self) -> dict[str, Any]:
        return {"user_id": self.user_id.hex(), "name": self.name, "role": self.role,
                "contact": self.contact}


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: bytes
    name: str
    role: str | None  # mine; None when I am no longer in it
    left: bool
    history: bool
    muted: bool
    members: list[MemberInfo]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id.hex(), "name": self.name, "role": self.role or "none",
            "left": self.left, "history_for_new_members": self.history, "muted": self.muted,
            "members": [m.to_json() for m in self.members],
        }


class Groups:
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
                c = _control(e, device.user_id, k.decode(e.body))
                controls[c.id] = c
            g = Group(conv, controls, mb.fold(controls.values()), inviters.get(conv))
            self.groups[conv] = g
            self._publish(g)

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
        # did not name) is un-shown, and its bodies go: they are never passed on.
        controls = sorted(CONTROL_NAMES)
        for device, (seq, _) in s.cutoffs.items():
            if self._user_of(device) in s.members:
                continue  # (added again: what came between is a head already)
            store.hide_messages_after(g.conv, device, seq)
            store.erase_bodies_after(g.conv, device, seq, controls)
        for user in s.former:
            keep = [d for d in s.cutoffs if self._user_of(d) == user]
            store.hide_messages_of(g.conv, user, keep)
            for device in self.core.log.durable.get(g.conv, {}):
                if device not in keep and self._user_of(device) == user:
                    store.erase_bodies_after(g.conv, device, 0, controls)

    def announce(self, conv: bytes, lines: tuple[GroupLineRow, ...] = ()) -> None:
        g = self.groups.get(conv)
        if g is None:
            return
        self._publish(g)
        self.core.emit(GroupChanged(conv, lines))
        self.fetch(conv)

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
        m = g.state.members.get(user) if g is not None else None
        if g is None or m is None or not m.since or g.state.history:
            return items
        out: list[tuple[bytes, bytes | None]] = []
        for head, body in items:
            if body is not None:
                x = ev.decode(head).event
                if x.lamport <= m.since and x.kind not in CONTROL_NAMES:
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

        def check(e: ev.SignedEvent, kind: Kind[Any]) -> str | None:
            x = e.event
            if kind.name in CONTROL_NAMES:
                if e.body is None:
                    return "a group control event without its body"
                c = _control(e, author_user, kind.decode(e.body))
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
        from storage import STATUS_DELIVERED, STATUS_READ

        touched: set[tuple[bytes, bytes]] = set()
        for conv, author, user, seq, read in receipts:
            if store.raise_member_mark(conv, author, user, seq, read):
                touched.add((conv, author))
        moved = []
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
            if delivered and store.raise_mark(conv, author, delivered, STATUS_DELIVERED):
                moved.append((conv, author, delivered, STATUS_DELIVERED))
            if read_all and store.raise_mark(conv, author, read_all, STATUS_READ):
                moved.append((conv, author, read_all, STATUS_READ))
        return moved

    def receipts_of(self, conv: bytes, author: bytes, seq: int) -> list[tuple[bytes, str]]:
        """Per member other than the writer: "sent", "delivered" or "read"."""
        g = self.groups.get(conv)
        if g is None:
            return []
        writer = self._user_of(author)
        marks = self.core.db.member_marks(conv, author)
        out = []
        for u in sorted(g.state.members):
            if u == writer:
                continue
            if u == self.me:
                out.append((u, "read"))
                continue
            d, r = marks.get(u, (0, 0))
            out.append((u, "read" if r >= seq else "delivered" if d >= seq else "sent"))
        return out

    # -- queries -----------------------------------------------------------------------

    def member_names(self) -> dict[bytes, str]:
        """Everyone in a group I am in, by the name the group knows them by (a member
        who is not my contact can be asked for contact, or compared safety numbers with)."""
        out: dict[bytes, str] = {}
        for g in self.groups.values():
            if self.me in g.state.members:
                for u in g.state.members:
                    if u != self.me:
                        out.setdefault(u, g.state.names.get(u, u.hex()[:12]))
        return out

    def get(self, conv: bytes) -> Group | None:
        g = self.groups.get(conv)
        return g if g is not None and g.state.created else None

    def name_of(self, user: bytes, g: Group | None = None) -> str:
        names = self.core.contacts.names()
        if user == self.me:
            return self.core.name
        if user in names:
            return names[user]
        if g is not None and user in g.state.names:
            return g.state.names[user]
        return user.hex()[:12]

    def info(self, conv: bytes) -> GroupInfo:
        g = self.get(conv)
        if g is None:
            raise UserError("no such group")
        row = self.core.db.group(conv)
        s = g.state
        contacts = self.core.contacts
        rank = {mb.OWNER: 0, mb.ADMIN: 1}
        members = sorted(
            (MemberInfo(u, self.name_of(u, g), m.role, u == self.me or contacts.accepted(u))
             for u, m in s.members.items()),
            key=lambda i: (rank.get(i.role, 2), i.name.casefold(), i.user_id),
        )
        return GroupInfo(conv, s.name, s.role(self.me), self.me not in s.members, s.history,
                         bool(row and row.muted), members)

    def all(self) -> list[GroupInfo]:
        return [self.info(conv) for conv, g in self.groups.items() if g.state.created]

    def rows(self) -> list[GroupRow]:
        return self.core.db.groups()

    def find(self, query: str) -> list[GroupInfo]:
        """Groups whose name or id is ``query`` (exactly, else by prefix)."""
        q = query.strip().casefold()
        infos = self.all()
        for test in (
            lambda i: i.name.casefold() == q or i.id.hex() == q,
            lambda i: i.name.casefold().startswith(q) or i.id.hex().startswith(q),
        ):
            hits = [i for i in infos if test(i)]
            if hits:
                return hits
        return []

    def resolve(self, query: str) -> GroupInfo:
        hits = self.find(query)
        if not hits:
            raise UserError(f"no group called {query!r}; see `kith groups`")
        if len(hits) > 1:
            listing = ", ".join(f"{i.name} ({i.id.hex()[:12]})" for i in hits)
            raise UserError(f"{query!r} matches several groups: {listing}; use a group id")
        return hits[0]

    # -- the API -----------------------------------------------------------------------

    def _contact(self, query: str) -> tuple[bytes, str]:
        user, name = self.core.contacts.resolve(query)
        if not self.core.contacts.accepted(user):
            raise UserError(f"{name} is not a contact yet: send a request with `kith add`")
        return user, name

    def _member_of(self, g: Group, query: str) -> bytes:
        q = query.strip().casefold()
        hits = [u for u in g.state.members if u.hex() == q or
                self.name_of(u, g).casefold() == q]
        if not hits:
            hits = [u for u in g.state.members if u.hex().startswith(q) or
                    self.name_of(u, g).casefold().startswith(q)]
        if len(hits) != 1:
            what = "several members" if hits else "no member"
            raise UserError(f"{query!r} names {what} of {g.state.name}")
        return hits[0]

    def _append(self, g: Group, body: mb.ControlBody) -> ev.SignedEvent:
        """Check a control event of mine against the group as I see it, apply it here at
        once (the next call sees it) and queue it."""
        core = self.core
        core.devices.refuse_if_removed()
        problem = mb.check_body(body)
        if problem is not None:
            raise UserError(problem)
        kind, _ = core.kinds.encode(body)
        head = core.log.head(g.conv, core.device_id)
        lamport = core.log.lamport.get(g.conv, 0) + 1
        trial = mb.Control(b"", self.me, core.device_id, (head.seq if head else 0) + 1,
                           lamport, 0, body)
        reason = mb.step(g.state.clone(), trial)
        if reason is not None:
            raise UserError(reason)
        e = core.log.append(g.conv, body)
        c = _control(e, self.me, body)
        g.controls[c.id] = c
        g.refold()
        self._publish(g)
        return e

    def _seen(self, g: Group) -> list[bytes]:
        return mb.heads(g.controls.values())

    async def create(self, name: str, members: list[str]) -> GroupInfo:
        name = name.strip()
        if (p := mb.name_problem(name)) is not None:
            raise UserError(p)
        users: dict[bytes, str] = {}
        for q in members:
            u, n = self._contact(q)
            users[u] = n
        users.pop(self.me, None)
        if len(users) + 1 > mb.MAX_MEMBERS:
            raise UserError(f"a group has at most {mb.MAX_MEMBERS} members (you named "
                            f"{len(users) + 1} with you)")
        conv = mb.new_group_id()
        g = self.groups[conv] = Group(conv, {}, mb.GroupState())
        body = mb.CreateBody(name, list(users), [self.core.name, *users.values()])
        self._append(g, body)
        self._invite(conv, name, users)
        await self.core.log.commit()
        self.announce(conv)
        return self.info(conv)

    def _invite(self, conv: bytes, name: str, users: Iterable[bytes]) -> None:
        for u in users:
            direct = self.core.convs.ensure_direct(u)
            self.core.log.append(direct, InviteBody(conv, name))

    def _managed(self, query: str) -> Group:
        g = self.get(self.resolve(query).id)
        assert g is not None
        if self.me not in g.state.members:
            raise UserError(f"you are no longer in {g.state.name}")
        return g

    async def add(self, group: str, members: list[str]) -> GroupInfo:
        g = self._managed(group)
        users: dict[bytes, str] = {}
        for q in members:
            u, n = self._contact(q)
            if u in g.state.members:
                raise UserError(f"{n} is in {g.state.name} already")
            users[u] = n
        if len(g.state.members) + len(users) > mb.MAX_MEMBERS:
            raise UserError(f"a group has at most {mb.MAX_MEMBERS} members")
        self._append(g, mb.AddBody(self._seen(g), list(users), list(users.values())))
        self._invite(g.conv, g.state.name, users)
        await self._done(g)
        return self.info(g.conv)

    def _cutoffs(self, g: Group, user: bytes) -> list[mb.Cutoff]:
        db = self.core.db
        vec = self.core.log.vector(g.conv)
        out = []
        for author, seq in sorted(vec.items()):
            row = db.device(author)
            if row is not None and row.user_id == user:
                out.append(mb.Cutoff(author, seq))
        return out

    async def remove(self, group: str, members: list[str]) -> GroupInfo:
        g = self._managed(group)
        targets = [self._member_of(g, q) for q in members]
        for u in targets:
            self._append(g, mb.RemoveBody(self._seen(g), u, self._cutoffs(g, u)))
        await self._done(g)
        return self.info(g.conv)

    async def leave(self, group: str) -> GroupInfo:
        g = self._managed(group)
        self._append(g, mb.LeaveBody(self._seen(g), self._cutoffs(g, self.me)))
        await self._done(g)
        return self.info(g.conv)

    async def rename(self, group: str, name: str) -> GroupInfo:
        g = self._managed(group)
        self._append(g, mb.RenameBody(self._seen(g), name.strip()))
        await self._done(g)
        return self.info(g.conv)

    async def set_role(self, group: str, member: str, admin: bool) -> GroupInfo:
        g = self._managed(group)
        u = self._member_of(g, member)
        self._append(g, mb.RoleBody(self._seen(g), u, mb.ADMIN if admin else mb.MEMBER))
        await self._done(g)
        return self.info(g.conv)

    async def set_history(self, group: str, on: bool) -> GroupInfo:
        g = self._managed(group)
        self._append(g, mb.SettingsBody(self._seen(g), on))
        await self._done(g)
        return self.info(g.conv)

    def set_muted(self, group: str, muted: bool) -> GroupInfo:
        g = self.get(self.resolve(group).id)
        assert g is not None
        self.core.db.set_group_muted(g.conv, muted)
        self.core.emit(GroupChanged(g.conv))
        return self.info(g.conv)

    async def _done(self, g: Group) -> None:
        await self.core.log.commit()
        self.announce(g.conv)

    def require_member(self, conv: bytes) -> Group:
        g = self.get(conv)
        if g is None:
            raise UserError("no such group")
        if self.me not in g.state.members:
            f = g.state.former.get(self.me)
            if f is not None and f.how == "removed":
                raise UserError(f"you were removed from {g.state.name} by "
                                f"{self.name_of(f.by, g)}")
            raise UserError(f"you left {g.state.name}")
        return g

    def line_text(self, line: GroupLineRow, g: Group | None = None) -> str:
        """A system line for people."""
        g = g or self.groups.get(line.conv)
        def who(u: bytes) -> str:
            return "You" if u == self.me else self.name_of(u, g)

        def whom(u: bytes) -> str:
            return "you" if u == self.me else self.name_of(u, g)

        actor = who(line.actor)
        names = ", ".join(whom(t) for t in line.targets)
        if line.kind == "created":
            return f"{actor} created the group {line.value!r}"
        if line.kind == "member_added":
            return f"{actor} added {names}"
        if line.kind == "member_removed":
            if line.targets == [self.me]:
                return f"You were removed from the group by {self.name_of(line.actor, g)}"
            return f"{actor} removed {names}"
        if line.kind == "member_left":
            return f"{actor} left"
        if line.kind == "renamed":
            return f"{actor} renamed the group to {line.value!r}"
        if line.kind == "role":
            verb = "made" if line.value == mb.ADMIN else "revoked admin of"
            return f"{actor} {verb} {names}" + (" an admin" if line.value == mb.ADMIN else "")
        if line.kind == "history":
            return f"{actor} turned history for new members {line.value}"
        return line.kind
