"""The table of event kinds: each kind declared once, in its feature's module.

A declaration says everything the core needs to know about a kind of event::

    MESSAGE = Kind(
        "message", MessageBody,
        where={DIRECT, GROUP},      # conversation types it may appear in
        who=Author.CONTACT,         # who may author it there
        check=_check_message,       # the body's own rules (a reason, or None)
        apply=_apply_message,       # how it applies: rows into the batch, events to emit
    )

The receive path (:mod:`p2p.receive`) dispatches through the table: an event whose kind
is not declared, that appears where its kind may not, or whose author may not write it is
refused with a logged reason before anything of it is applied. The table is closed:
nothing outside a declaration decides what an event does.

Applying is sans-IO: an ``apply`` reads the store if it must and puts what it derives into
the :class:`Batch` (a part per feature), which the pipeline writes in the batch's one
transaction and then lets each part emit what it has to say.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from kith.p2p.errors import RemoteProtocolError

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.events import SignedEvent
    from kith.storage import Store

log = logging.getLogger(__name__)

# Conversation types.
SELF = "self"  # one user's own devices: contacts, verification, per-user settings
DIRECT = "direct"  # two users
GROUP = "group"  # group chats (p2p.groups)
CONV_TYPES = frozenset({SELF, DIRECT, GROUP})


class Author(enum.Enum):
    """Who may author a kind of event in a conversation where it may appear."""

    OWN = "own"  # only my own devices (the author's user is me)
    MEMBER = "member"  # any member of the conversation
    CONTACT = "contact"  # a member who is my accepted contact, or me


B = TypeVar("B", bound=msgspec.Struct)


class Part:
    """What one feature derives from one batch of received events.

    The pipeline calls, in this order: :meth:`answer` (append our own answering events,
    e.g. receipts: they join the batch's transaction), :meth:`write` (inside the
    transaction), :meth:`committed` (after it: emit node events) or, if the batch was
    abandoned, :meth:`failed` (forget what was decided in memory; it may be called more
    than once)."""

    def answer(self) -> None:
        return None

    def write(self, store: Store) -> None:
        return None

    def committed(self) -> None:
        return None

    def failed(self) -> None:
        return None


P = TypeVar("P", bound=Part)


class Batch:
    """The received events of one socket read on their way to one transaction."""

    def __init__(self) -> None:
        self._parts: dict[object, Part] = {}

    def part(self, key: object, factory: Callable[[], P]) -> P:
        """The part ``key`` (a feature) keeps in this batch, made on first use."""
        found = self._parts.get(key)
        if found is None:
            found = self._parts[key] = factory()
        return found  # type: ignore[return-value]

    def get(self, key: object) -> Part | None:
        """The part ``key`` keeps in this batch, if it has one yet (the hot path)."""
        return self._parts.get(key)

    @property
    def parts(self) -> Iterable[Part]:
        return list(self._parts.values())


@dataclass(slots=True)
class Applying:
    """What a kind's ``apply`` is told about one received event."""

    core: Core
    batch: Batch
    conv_type: str
    author_user: bytes
    mine: bool  # the author is one of my own devices
    via_own_device: bool  # it reached me through one of my own devices
    peer_name: str  # the display name of the device that sent it ("" for our own)
    # Our own new event: the API call that wrote it has already done what the user sees
    # (a read mark, a contact's state); apply only records what the log needs.
    local: bool = False


_encoder = msgspec.msgpack.Encoder()


def _no_check(body: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Kind(Generic[B]):
    """One kind of event: its name on the wire, body struct, where it may appear, who
    may author it, its body rules, and how it applies."""

    name: str
    body: type[B]
    where: frozenset[str]
    who: Author
    apply: Callable[[Applying, SignedEvent, B], None]
    check: Callable[[B], str | None] = _no_check
    # The feature's own rule on top of ``who``, asked once per run of one author in one
    # conversation: (core, author's user, conversation) -> why not, or None.
    allow: Callable[[Core, bytes, bytes], str | None] | None = None
    # Who may author it in particular conversation types, where that differs from
    # ``who`` (a message is by a contact in a direct conversation, by a member in a group).
    who_in: Mapping[str, Author] = field(default_factory=dict)
    _decoder: msgspec.msgpack.Decoder[B] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.where or not self.where <= CONV_TYPES:
            raise ValueError(f"kind {self.name!r}: unknown conversation types {self.where}")
        object.__setattr__(self, "_decoder", msgspec.msgpack.Decoder(self.body))

    def encode(self, body: B) -> bytes:
        """The bytes of a body we are about to write; one that breaks the kind's rules is
        our bug (ValueError)."""
        reason = self.check(body)
        if reason is not None:
            raise ValueError(f"invalid {self.name} body: {reason}")
        return _encoder.encode(body)

    def decode(self, data: bytes) -> B:
        """The body of an event of this kind; RemoteProtocolError if malformed."""
        try:
            value = self._decoder.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError) as e:
            raise RemoteProtocolError(f"malformed {self.name} body: {e}") from e
        reason = self.check(value)
        if reason is not None:
            raise RemoteProtocolError(f"malformed {self.name} body: {reason}")
        return value


class KindTable:
    """Every declared kind, by name and by body type."""

    def __init__(self, kinds: Iterable[Kind[Any]] = ()) -> None:
        self._by_name: dict[str, Kind[Any]] = {}
        self._by_body: dict[type, Kind[Any]] = {}
        for k in kinds:
            self.declare(k)

    def declare(self, kind: Kind[Any]) -> None:
        if kind.name in self._by_name or kind.body in self._by_body:
            raise ValueError(f"kind {kind.name!r} is declared twice")
        self._by_name[kind.name] = kind
        self._by_body[kind.body] = kind

    def get(self, name: str) -> Kind[Any] | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def encode(self, body: msgspec.Struct) -> tuple[Kind[Any], bytes]:
        """The kind of a body we are about to write, and its bytes. A body that breaks its
        kind's rules is our bug (LocalProtocolError-like: ValueError)."""
        kind = self._by_body.get(type(body))
        if kind is None:
            raise TypeError(f"not a declared event body: {body!r}")
        return kind, kind.encode(body)
