"""The membership rules of a group, sans-IO: control event bodies, the fold, admission.

A group's membership is the fold of its control events (create, add, remove, leave,
rename, role, settings), in one total order that every device computes alike::

    order     (lamport, author device, seq) of each control event. A Lamport clock is
              above every event its author had seen, so this order is a topological
              order of the ``seen`` links (what the author had seen comes first).
    validity  at arrival, an event is checked against the fold of its causal past only
              (the control events it names as seen, transitively): the same verdict
              whatever else has arrived, so "no right" is refused and not stored.
    effect    in the total order, an event whose author has lost the right meanwhile
              (a concurrent change sorted before it) has no effect: skipped, the same on
              every device.

A removal (or a leave) names, per device of the user who goes, the last seq that still
counts (``cutoffs``). Later events of those devices do not count whatever the order in
which they arrive: the node keeps them as heads only (p2p.groups; the chain stays
whole), and one that arrived before its removal is un-shown when the removal is applied.
A device the removal does not name counts for nothing.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import msgspec

MAX_MEMBERS = 256
MAX_NAME = 100
OWNER, ADMIN, MEMBER = "owner", "admin", "member"
ROLES = (OWNER, ADMIN, MEMBER)
_ID_TAG = b"kith-group\0"


# -- group ids ---------------------------------------------------------------------------


def new_group_id() -> bytes:
    """A random group id that says it is one: 16 random bytes and a 16-byte tag over them
    (a direct or self conversation id, a hash, matches with probability 2^-128)."""
    nonce = secrets.token_bytes(16)
    return nonce + hashlib.blake2b(_ID_TAG + nonce, digest_size=16).digest()


def is_group_id(conv: bytes) -> bool:
    return len(conv) == 32 and (
        hashlib.blake2b(_ID_TAG + conv[:16], digest_size=16).digest() == conv[16:]
    )


# -- bodies ------------------------------------------------------------------------------


class Cutoff(msgspec.Struct, array_like=True, frozen=True, gc=False):
    device: bytes
    seq: int


class CreateBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A new group: its name, the members besides its author (the owner), whether new
    members see the history."""

    name: str
    members: list[bytes]
    names: list[str]  # the display names of the author and the members, in that order
    history: bool = False


class AddBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    seen: list[bytes]
    users: list[bytes]
    names: list[str]  # their display names, as the author knows them


class RemoveBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    seen: list[bytes]
    user: bytes
    cutoffs: list[Cutoff]


class LeaveBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    seen: list[bytes]
    cutoffs: list[Cutoff]


class RenameBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    seen: list[bytes]
    name: str


class RoleBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    seen: list[bytes]
    user: bytes
    role: str


class SettingsBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    seen: list[bytes]
    history: bool


ControlBody = CreateBody | AddBody | RemoveBody | LeaveBody | RenameBody | RoleBody | SettingsBody


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "the group name is empty"
    if len(name) > MAX_NAME:
        return f"a group name has at most {MAX_NAME} characters"
    return None


def _ids_ok(ids: Iterable[bytes], size: int = 32) -> bool:
    return all(len(i) == size for i in ids)


def ref(device: bytes, seq: int) -> bytes:
    """How a control event names another: its log and seq (an event id would not do: the
    writer signs the tip of a batch after queueing it, which changes the id)."""
    return device + seq.to_bytes(8, "big")


def check_body(b: ControlBody) -> str | None:
    """The body's own rules (sizes and shapes), whatever the group's state."""
    if isinstance(b, CreateBody):
        if (p := name_problem(b.name)) is not None:
            return p
        if len(set(b.members)) + 1 > MAX_MEMBERS:
            return f"a group has at most {MAX_MEMBERS} members"
        if len(b.names) != len(b.members) + 1 or any(len(n) > MAX_NAME for n in b.names):
            return "bad member names"
        return None if _ids_ok(b.members) else "bad member id"
    if len(b.seen) > MAX_MEMBERS * 8 or not _ids_ok(b.seen, 40):
        return "bad seen links"
    if isinstance(b, AddBody):
        if not b.users or len(b.users) > MAX_MEMBERS:
            return f"a group has at most {MAX_MEMBERS} members"
        if len(b.names) != len(b.users) or any(len(n) > MAX_NAME for n in b.names):
            return "bad member names"
        return None if _ids_ok(b.users) else "bad member id"
    if isinstance(b, RemoveBody | LeaveBody):
        if len(b.cutoffs) > 1000 or not _ids_ok(c.device for c in b.cutoffs):
            return "bad cut-offs"
        if any(c.seq < 0 for c in b.cutoffs):
            return "bad cut-offs"
        return None if isinstance(b, LeaveBody) or len(b.user) == 32 else "bad member id"
    if isinstance(b, RenameBody):
        return name_problem(b.name)
    if isinstance(b, RoleBody):
        if b.role not in (ADMIN, MEMBER):
            return "a role is admin or member"
        return None if len(b.user) == 32 else "bad member id"
    return None


# -- the state and the fold --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Control:
    """One control event as the fold sees it."""

    id: bytes  # ref(device, seq)
    user: bytes  # the author's user
    device: bytes
    seq: int
    lamport: int
    time: int
    body: ControlBody

    @property
    def key(self) -> tuple[int, bytes, int]:
        return (self.lamport, self.device, self.seq)

    @property
    def seen(self) -> list[bytes]:
        return [] if isinstance(self.body, CreateBody) else self.body.seen


@dataclass(slots=True)
class Member:
    role: str
    since: int  # the lamport of the event that made them a member (0: at creation)
    by: bytes  # who added them


@dataclass(slots=True)
class Former:
    how: str  # "removed" | "left"
    by: bytes
    lamport: int
    since: int = 0  # the lamport of the event that had made them a member


def members_at(state: GroupState, lamport: int) -> dict[bytes, bool]:
    """Who was a member when an event at ``lamport`` was written: user -> a former
    member now (a message's receipts list everyone it was written to)."""
    out = {u: False for u, m in state.members.items() if m.since < lamport}
    out.update((u, True) for u, f in state.former.items() if f.since < lamport < f.lamport)
    return out


@dataclass(slots=True)
class Change:
    """What one effective control event did, for system lines (``kind`` as in the CLI's
    JSON: created, member_added, member_removed, member_left, renamed, role, history)."""

    kind: str
    actor: bytes
    targets: list[bytes]
    value: str
    event: Control


@dataclass(slots=True)
class GroupState:
    created: bool = False
    name: str = ""
    history: bool = False
    members: dict[bytes, Member] = field(default_factory=dict)
    former: dict[bytes, Former] = field(default_factory=dict)
    cutoffs: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # device: (seq, lamport)
    changes: list[Change] = field(default_factory=list)
    names: dict[bytes, str] = field(default_factory=dict)  # as the adders named them

    def role(self, user: bytes) -> str | None:
        m = self.members.get(user)
        return None if m is None else m.role

    @property
    def owner(self) -> bytes | None:
        return next((u for u, m in self.members.items() if m.role == OWNER), None)

    def clone(self) -> GroupState:
        return copy.deepcopy(self)


def _may_manage(state: GroupState, user: bytes) -> bool:
    return state.role(user) in (OWNER, ADMIN)


def step(state: GroupState, c: Control) -> str | None:
    """Apply one control event to ``state`` (in place); why it has no effect, or None."""
    b = c.body
    if isinstance(b, CreateBody):
        if state.created:
            return "the group exists already"
        state.created = True
        state.name = b.name
        state.history = b.history
        state.members[c.user] = Member(OWNER, 0, c.user)
        state.names.update(zip([c.user, *b.members], b.names, strict=False))
        for u in b.members:
            if u != c.user:
                state.members.setdefault(u, Member(MEMBER, 0, c.user))
        state.changes.append(Change("created", c.user, sorted(state.members), b.name, c))
        return None
    if not state.created:
        return "the group does not exist"
    if c.user not in state.members:
        return "the author is not a member of the group"
    if isinstance(b, LeaveBody):
        _go(state, c.user, "left", c, b.cutoffs)
        state.changes.append(Change("member_left", c.user, [c.user], "", c))
        return None
    if isinstance(b, AddBody):
        if not _may_manage(state, c.user):
            return "only the owner and admins may add members"
        new = sorted({u for u in b.users if u not in state.members})
        if not new:
            return "everyone named is a member already"
        if len(state.members) + len(new) > MAX_MEMBERS:
            return f"a group has at most {MAX_MEMBERS} members"
        for u, n in zip(b.users, b.names, strict=False):
            state.names.setdefault(u, n)
        for u in new:
            state.members[u] = Member(MEMBER, c.lamport, c.user)
            state.former.pop(u, None)
        state.changes.append(Change("member_added", c.user, new, "", c))
        return None
    if isinstance(b, RemoveBody):
        target = state.members.get(b.user)
        if target is None:
            return "the user named is not a member"
        if not _may_manage(state, c.user) or b.user == c.user:
            return "only the owner and admins may remove members (and not themselves)"
        if target.role == OWNER or (target.role == ADMIN and state.role(c.user) != OWNER):
            return "only the owner may remove an admin, and nobody the owner"
        _go(state, b.user, "removed", c, b.cutoffs)
        state.changes.append(Change("member_removed", c.user, [b.user], "", c))
        return None
    if isinstance(b, RenameBody):
        if not _may_manage(state, c.user):
            return "only the owner and admins may rename the group"
        state.name = b.name
        state.changes.append(Change("renamed", c.user, [], b.name, c))
        return None
    if isinstance(b, RoleBody):
        if state.role(c.user) != OWNER:
            return "only the owner may make or unmake admins"
        target = state.members.get(b.user)
        if target is None or target.role == OWNER:
            return "the user named is not a member (or is the owner)"
        target.role = b.role
        state.changes.append(Change("role", c.user, [b.user], b.role, c))
        return None
    if isinstance(b, SettingsBody):
        if state.role(c.user) != OWNER:
            return "only the owner may change who sees the history"
        state.history = b.history
        state.changes.append(Change("history", c.user, [], "on" if b.history else "off", c))
        return None
    return "unknown control event"


def _go(state: GroupState, user: bytes, how: str, c: Control, cutoffs: list[Cutoff]) -> None:
    was = state.members.pop(user)
    state.former[user] = Former(how, c.user, c.lamport, was.since)
    named = {x.device: x.seq for x in cutoffs}
    if how == "left":  # (the leave itself counts, whatever it names)
        named[c.device] = max(named.get(c.device, 0), c.seq)
    for device, seq in named.items():
        state.cutoffs[device] = (seq, c.lamport)
    if was.role == OWNER:  # the oldest admin, else the oldest member, takes over
        heirs = sorted(
            state.members.items(), key=lambda kv: (kv[1].role != ADMIN, kv[1].since, kv[0])
        )
        if heirs:
            heirs[0][1].role = OWNER


def fold(controls: Iterable[Control]) -> GroupState:
    """The group's state after every control event, in the one total order."""
    state = GroupState()
    for c in sorted(controls, key=lambda c: c.key):
        step(state, c)
    return state


def causal_past(c: Control, known: Mapping[bytes, Control]) -> list[Control] | None:
    """The control events ``c`` names as seen, transitively; None if one is missing."""
    out: dict[bytes, Control] = {}
    todo = list(c.seen)
    while todo:
        i = todo.pop()
        if i in out:
            continue
        x = known.get(i)
        if x is None:
            return None
        out[i] = x
        todo.extend(x.seen)
    return list(out.values())


def admit_control(c: Control, known: Mapping[bytes, Control]) -> str | None:
    """Why a newly arrived control event is refused (checked against its causal past
    only, so the verdict does not depend on arrival order), or None. Missing links say
    so with :data:`MISSING`."""
    if isinstance(c.body, CreateBody):
        if c.seq != 1 or any(isinstance(k.body, CreateBody) for k in known.values()):
            return "a group is created once, by the first event of its creator's log"
        return None
    past = causal_past(c, known)
    if past is None:
        return MISSING
    return step(fold(past), c)


MISSING = "it names control events I do not hold yet"


def counts(state: GroupState, user: bytes, device: bytes, seq: int, lamport: int) -> bool:
    """Does an event of ``device`` (of ``user``) at ``seq``/``lamport`` count in the group
    as it stands? A member's events count (unless they are past a cut-off from before the
    member came back); a former member's only up to the device's cut-off."""
    cut = state.cutoffs.get(device)  # (a device the removal does not name: nothing)
    m = state.members.get(user)
    if m is not None:
        return cut is None or seq <= cut[0] or lamport > m.since
    if user in state.former:
        return cut is not None and seq <= cut[0]
    return False


def counted_again(
    before: GroupState, after: GroupState, events: Iterable[tuple[bytes, bytes, int, int]]
) -> list[tuple[bytes, bytes, int, int]]:
    """Of ``events`` (user, device, seq, lamport), those that count in ``after`` but did
    not in ``before``: what a change of the fold shows again (a removal that turned out
    to have no effect hid them). What is hidden follows the fold, both ways."""
    return [x for x in events if counts(after, *x) and not counts(before, *x)]


def loosened(before: GroupState, after: GroupState) -> bool:
    """May events that did not count in ``before`` count in ``after``? (Someone is no
    longer a former member, or a cut-off went or moved on.)"""
    if any(u not in after.former for u in before.former):
        return True
    return any(
        d not in after.cutoffs or after.cutoffs[d][0] > seq
        for d, (seq, _) in before.cutoffs.items()
    )


def heads(controls: Iterable[Control]) -> list[bytes]:
    """The control events no other one names as seen: what a new one links to."""
    cs = list(controls)
    named = {i for c in cs for i in c.seen}
    return sorted(c.id for c in cs if c.id not in named)


# -- the invitation and one group's record -------------------------------------------------


class InviteBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    group: bytes
    name: str


def check_invite(b: InviteBody) -> str | None:
    if not is_group_id(b.group):
        return "not a group id"
    return name_problem(b.name)


@dataclass(slots=True)
class Group:
    """What this device knows of one group."""

    conv: bytes
    controls: dict[bytes, Control]
    state: GroupState
    inviter: bytes | None = None  # invited, not created yet here: who to fetch it from

    def refold(self) -> None:
        self.state = fold(self.controls.values())
