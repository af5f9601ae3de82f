"""Contact cards: share a contact with someone.

Kind (direct conversations and groups, by any member):

    card [user, name]   "here is ``name``": their user id, the Ed25519 identity key that
                        the contacts feature keys everyone by (and their name)

A card shows as a bubble with a button to send that person a contact request; a contact
made from it is "introduced by" the sender, never verified. A card whose name is that of
a contact with another key carries the impostor warning, as for any key change, and a
request from it needs the same confirmation. A card with a key that is not a valid
Ed25519 public key, or a name that breaks the name rule, is refused.
"""

from __future__ import annotations

import msgspec
import nacl.exceptions

from kith.p2p import events as ev
from kith.p2p.actions.base import may_author, part
from kith.p2p.identity import ed25519_to_x25519_public, name_problem
from kith.p2p.kinds import DIRECT, GROUP, Applying, Author, Kind
from kith.p2p.messages import add_row
from kith.storage import STATUS_RECEIVED, MessageRow, Store


class CardBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    user: bytes
    name: str


def key_problem(user: bytes) -> str | None:
    """Why ``user`` is not a usable identity key, or None."""
    if len(user) != 32:
        return "a key is 32 bytes"
    try:
        ed25519_to_x25519_public(user)
    except (nacl.exceptions.CryptoError, ValueError):
        return "not a valid Ed25519 public key"
    return None


def _check(b: CardBody) -> str | None:
    return key_problem(b.user) or name_problem(b.name)


def _apply(ctx: Applying, e: ev.SignedEvent, body: CardBody) -> None:
    if not may_author(ctx, "contact card"):
        return
    x = e.event
    by = ctx.author_user
    mine = ctx.mine
    add_row(ctx, MessageRow(
        e.id, x.conv, x.author, by, x.seq, x.lamport, x.time, body.name, mine,
        0 if mine else STATUS_RECEIVED,
    ))

    def write(store: Store) -> bool:
        store.add_card(e.id, x.conv, body.user, body.name, by)
        return False

    part(ctx).record(e.id, x.conv, write)


CARD: Kind[CardBody] = Kind(
    "card", CardBody, where=frozenset({DIRECT, GROUP}), who=Author.MEMBER,
    check=_check, apply=_apply,
)
