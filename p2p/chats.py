"""A CHAT argument: a contact or a group, by name, id or a unique prefix of either.

The one place that turns what a user typed into a conversation, for the CLI, the control
socket and anyone else (``send``, ``history``, ``read``, ``listen``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kith.p2p.api import ACCEPTED
from kith.p2p.errors import UserError
from kith.p2p.kinds import DIRECT, GROUP

if TYPE_CHECKING:
    from kith.p2p.core import Core


@dataclass(frozen=True, slots=True)
class Chat:
    conv: bytes
    type: str  # direct | group
    name: str
    user: bytes | None = None  # the contact, for a direct chat


def resolve_chat(core: Core, query: str) -> Chat:
    """The chat ``query`` names. An exact name or id wins over prefixes; several hits at
    the same level are an error that lists them."""
    q = query.strip()
    if not q:
        raise UserError("say which chat: a contact or a group (a name, an id or a prefix)")
    folded = q.casefold()
    contacts = [
        c for c in core.db.contacts()
        if c.state == ACCEPTED and core.contacts.replaced_by(c.user_id) is None
    ]
    groups = core.groups.all()
    for exact in (True, False):
        def hit(name: str, ident: bytes, exact: bool = exact) -> bool:
            n, i = name.casefold(), ident.hex()
            if exact:
                return folded in (n, i)
            return n.startswith(folded) or i.startswith(folded)

        found = [Chat(core.convs.direct(c.user_id), DIRECT, c.name, c.user_id)
                 for c in contacts if hit(c.name, c.user_id)]
        found += [Chat(g.id, GROUP, g.name) for g in groups if hit(g.name, g.id)]
        if len(found) == 1:
            return found[0]
        if found:
            listing = ", ".join(
                f"{c.name} ({'group' if c.type == GROUP else 'contact'} "
                f"{(c.conv if c.type == GROUP else c.user or b'').hex()[:12]})"
                for c in found
            )
            raise UserError(f"{query!r} matches several chats: {listing}; use an id")
    # Someone on the network who is not a contact yet, or nobody: the contacts feature
    # says which (its "no peer or contact called ..." is what scripts know).
    user, name = core.contacts.resolve(q)
    return Chat(core.convs.direct(user), DIRECT, name, user)
