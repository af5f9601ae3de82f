"""The group API and queries: create, add, remove, leave, rename, roles, settings, mute;
a group's info, its members' names, a GROUP argument, the system lines' text.

A mixin of :class:`p2p.groups.Groups` (which keeps the state, the kinds and the rules of
entitlement): every change is checked against the group as this device sees it, applied
here at once and queued as a control event (p2p.membership has the rules)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kith.p2p import events as ev
from kith.p2p import membership as mb
from kith.p2p.api import GroupChanged
from kith.p2p.errors import UserError
from kith.p2p.membership import Group, InviteBody
from kith.storage.groups import GroupLineRow, GroupRow

if TYPE_CHECKING:
    from kith.p2p.core import Core


def control_of(e: ev.SignedEvent, user: bytes, body: mb.ControlBody) -> mb.Control:
    """A control event as the fold sees it (``user``: its author's)."""
    x = e.event
    return mb.Control(mb.ref(x.author, x.seq), user, x.author, x.seq, x.lamport, x.time, body)


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


class GroupApi:
    """What a user does with groups, and what the CLI and the app read of them."""

    core: Core
    me: bytes
    groups: dict[bytes, Group]

    if TYPE_CHECKING:  # (p2p.groups.Groups)
        def announce(self, conv: bytes, lines: tuple[GroupLineRow, ...] = ()) -> None: ...
        def _publish(self, g: Group) -> None: ...

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

    def is_member(self, user: bytes, conv: bytes) -> bool:
        """Is ``user`` a current member of the group ``conv``?"""
        g = self.get(conv)
        return g is not None and user in g.state.members

    def members_of(self, conv: bytes) -> list[bytes]:
        """The group's current members (none if I do not know it)."""
        g = self.get(conv)
        return sorted(g.state.members) if g is not None else []

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
        c = control_of(e, self.me, body)
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
