"""Conversations and their members: the one place that says who is in which conversation,
and so who may author in it, who receives it and who may relay it.

A conversation has a type (:data:`~p2p.kinds.SELF`, :data:`~p2p.kinds.DIRECT`,
:data:`~p2p.kinds.GROUP`) and members with roles. The self conversation holds only my own
user; a direct conversation is the two-member case, its id derived from the pair (so a
direct conversation with anyone exists implicitly before its first event). Entitlement
asks the member list, then the type's gate: a feature may add a rule for its type (the
contacts feature says that in a direct conversation only contacts in good standing get
our events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kith.p2p import events as ev
from kith.p2p.kinds import DIRECT, GROUP, SELF, Batch, Part
from kith.p2p.membership import is_group_id

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.storage import Store

MEMBER = "member"
Gate = Callable[[bytes, bytes], bool]  # (user, conv) -> allowed
# (conv, author user) -> a check of each event of one run: why it is refused, or None
Checker = Callable[[bytes, bytes], Callable[[ev.SignedEvent, Any], str | None]]
Items = Sequence[tuple[bytes, bytes | None]]  # events as they travel: (head, body)


class HeadOnly(str):
    """A checker's verdict that refuses an event's content but keeps its head: the
    device's log stays continuous (a removed group member's events past their cut-off:
    nothing of them is shown or passed on, but what the device writes after being added
    again can follow them)."""


@dataclass(slots=True)
class Conversation:
    id: bytes
    type: str
    members: dict[bytes, str] = field(default_factory=dict)  # user id -> role


@dataclass(frozen=True, slots=True)
class _Gates:
    send: Gate
    receive: Gate


class _NewConversations(Part):
    """Conversations (with members) first seen in a batch, written with it."""

    def __init__(self, convs: Conversations) -> None:
        self.convs = convs
        self.me = convs.me
        self.new: dict[bytes, Conversation] = {}

    def write(self, store: Store) -> None:
        for c in self.new.values():
            store.ensure_conversation(
                c.id, c.type, sorted(c.members.items()),
                peer_user=_other(c, self.me) if c.type == DIRECT else None,
            )

    def failed(self) -> None:
        for conv in self.new:
            self.convs.forget(conv)  # not stored: the next event that shows it stores it


def _other(c: Conversation, me: bytes | None) -> bytes | None:
    return next((u for u in c.members if u != me), None)


class Conversations:
    """Every conversation this device knows, with members; entitlement queries."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.me = core.user_id
        self.self_conv = ev.self_conversation(self.me)
        self._convs: dict[bytes, Conversation] = {}
        self._by_user: dict[bytes, set[bytes]] = {}
        self._direct: dict[bytes, bytes] = {}  # user -> direct conversation id
        self._gates: dict[str, _Gates] = {}
        self._checkers: dict[str, Checker] = {}
        self._offers: dict[str, Callable[[bytes, bytes, dict[bytes, int]], dict[bytes, int]]] = {}
        self._outgoing: dict[str, Callable[[bytes, bytes, Items], Items]] = {}

    def load(self, store: Store) -> None:
        store.join_everywhere(self.me, DIRECT)  # (a first-release profile lacks these)
        for conv, kind in store.conversations():
            self._convs[conv] = Conversation(conv, kind)
        for conv, user, role in store.all_members():
            c = self._convs.get(conv)
            if c is not None:
                c.members[user] = role
                self._by_user.setdefault(user, set()).add(conv)
        self._convs[self.self_conv] = Conversation(self.self_conv, SELF, {self.me: MEMBER})

    def gate(self, conv_type: str, *, send: Gate, receive: Gate) -> None:
        """A feature's extra rule for one conversation type."""
        self._gates[conv_type] = _Gates(send, receive)

    def checker(self, conv_type: str, checker: Checker) -> None:
        """A feature's check of each received event of one conversation type (groups:
        membership at that event), run after the kind table's verdict."""
        self._checkers[conv_type] = checker

    def run_checker(
        self, conv_type: str, conv: bytes, author_user: bytes
    ) -> Callable[[ev.SignedEvent, Any], str | None] | None:
        make = self._checkers.get(conv_type)
        return None if make is None else make(conv, author_user)

    # -- identity of conversations -----------------------------------------------------

    def direct(self, user: bytes) -> bytes:
        """The id of the direct conversation with ``user``."""
        conv = self._direct.get(user)
        if conv is None:
            conv = self._direct[user] = ev.direct_conversation(self.me, user)
        return conv

    def get(self, conv: bytes) -> Conversation | None:
        return self._convs.get(conv)

    def type_of(self, conv: bytes, user: bytes | None = None) -> str | None:
        """The conversation's type; an unknown conversation that is the direct one with
        ``user`` is direct; None if neither."""
        c = self._convs.get(conv)
        if c is not None:
            return c.type
        if user is not None and conv == self.direct(user):
            return DIRECT
        return GROUP if is_group_id(conv) else None

    def type_for_event(self, conv: bytes, author_user: bytes, via_own_device: bool) -> str | None:
        """The type of the conversation a received event is in. An unknown one is the
        direct conversation with its author, or (from my own devices) a direct one of
        mine whose other member my devices' roster names, maybe later in the stream."""
        c = self._convs.get(conv)
        if c is not None:
            return c.type
        if is_group_id(conv):
            return GROUP
        if author_user != self.me and conv == self.direct(author_user):
            return DIRECT
        if via_own_device:
            return DIRECT
        return None

    def peer_of(self, conv: bytes) -> bytes | None:
        """The other user of a direct conversation, if known."""
        c = self._convs.get(conv)
        if c is None or c.type != DIRECT:
            return None
        return _other(c, self.me)

    def is_member(self, conv: bytes, user: bytes) -> bool:
        c = self._convs.get(conv)
        if c is not None:
            return user in c.members
        return conv == self.direct(user)  # implicit until its first event

    def of_user(self, user: bytes) -> set[bytes]:
        """The conversations ``user`` is a member of (that this device knows)."""
        return set(self._by_user.get(user, ()))

    def ids(self) -> list[bytes]:
        return list(self._convs)

    # -- writing -----------------------------------------------------------------------

    def ensure_direct(self, user: bytes) -> bytes:
        """Make the direct conversation with ``user`` known (stored now); its id."""
        conv = self.direct(user)
        if conv not in self._convs:
            c = self._remember(conv, DIRECT, {self.me: MEMBER, user: MEMBER})
            self.core.db.ensure_conversation(
                conv, DIRECT, sorted(c.members.items()), peer_user=user
            )
        return conv

    def note(self, batch: Batch, conv: bytes, user: bytes) -> None:
        """A received event shows that ``conv`` exists (the direct one with ``user``):
        remember it and store it with the batch."""
        if conv in self._convs or conv != self.direct(user):
            return
        c = self._remember(conv, DIRECT, {self.me: MEMBER, user: MEMBER})
        batch.part(self, lambda: _NewConversations(self)).new[conv] = c

    def set_members(self, conv: bytes, kind: str, members: dict[bytes, str]) -> None:
        """A conversation's members as its feature says (a group's fold)."""
        self.forget(conv)
        self._remember(conv, kind, members)

    def forget(self, conv: bytes) -> None:
        c = self._convs.pop(conv, None)
        if c is not None:
            for u in c.members:
                self._by_user.get(u, set()).discard(conv)

    def _remember(self, conv: bytes, kind: str, members: dict[bytes, str]) -> Conversation:
        c = self._convs[conv] = Conversation(conv, kind, dict(members))
        for u in members:
            self._by_user.setdefault(u, set()).add(conv)
        return c

    # -- entitlement -------------------------------------------------------------------

    def may_send(self, user: bytes, conv: bytes) -> bool:
        """May events of ``conv`` go to devices of ``user``? (My own devices get every
        conversation; anyone else only what they are a member of, as its type allows.)"""
        if user == self.me:
            return not self.core.devices.removed
        if conv == self.self_conv or not self.is_member(conv, user):
            return False
        gates = self._gates.get(self.type_of(conv, user) or "")
        return gates is None or gates.send(user, conv)

    def may_receive(self, user: bytes, conv: bytes) -> bool:
        """May devices of ``user`` author or relay events of ``conv`` to me?"""
        if user == self.me:
            return not self.core.devices.removed
        if conv == self.self_conv or not self.is_member(conv, user):
            return False
        gates = self._gates.get(self.type_of(conv, user) or "")
        return gates is None or gates.receive(user, conv)

    def offer(self, user: bytes, conv: bytes, vector: dict[bytes, int]) -> dict[bytes, int]:
        """What of ``vector`` (ours, of ``conv``) goes to ``user``'s devices: all of it,
        unless the conversation type's rule says less (p2p.groups: a former member gets
        what came up to their removal)."""
        if user == self.me:
            return vector
        make = self._offers.get(self.type_of(conv, user) or "")
        return vector if make is None else make(user, conv, vector)

    def offer_rule(
        self, conv_type: str,
        rule: Callable[[bytes, bytes, dict[bytes, int]], dict[bytes, int]],
    ) -> None:
        self._offers[conv_type] = rule

    def outgoing(self, user: bytes, conv: bytes, items: Items) -> Items:
        """The (head, body) pairs of ``conv`` as they go to ``user``'s devices: as they
        are, unless the type's rule keeps some bodies back (p2p.groups: what came before
        a member was added, if the group keeps its history to itself)."""
        if user == self.me or not self._outgoing:
            return items
        rule = self._outgoing.get(self.type_of(conv, user) or "")
        return items if rule is None else rule(user, conv, items)

    def outgoing_rule(self, conv_type: str, rule: Callable[[bytes, bytes, Items], Items]) -> None:
        self._outgoing[conv_type] = rule

    def shared_with(self, user: bytes, durable: set[bytes]) -> list[bytes]:
        """The conversations to offer ``user``'s devices (``durable``: every conversation
        with events on disk)."""
        if user == self.me:
            if self.core.devices.removed:
                return []
            return sorted(durable | {self.self_conv})
        convs = self.of_user(user) | {self.direct(user)}
        return sorted(c for c in convs if self.may_send(user, c))
