"""Edits: the author changes the text of a message, within 24 hours, up to 10 times.

Kind (direct conversations and groups):

    edit [target, text]   the new text of ``target`` (an event id of this conversation)

Only the message's author may edit it, within 24 hours of sending and 10 times, both
counted by the author's clock (the times in the events, as Signal does). The versions are
kept; the newest valid edit (by lamport, author device) is the text shown. An edit that
breaks a rule is refused (logged) and its body erased; an edit that comes before its
message waits for it (storage/actions.py settles both in any order).
"""

from __future__ import annotations

import msgspec

from kith.p2p import events as ev
from kith.p2p.actions.base import may_author, part
from kith.p2p.kinds import DIRECT, GROUP, Applying, Author, Kind
from kith.p2p.messages import MAX_TEXT
from kith.storage import Store


class EditBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    target: bytes
    text: str


def _check(b: EditBody) -> str | None:
    if len(b.target) != 32:
        return "bad target"
    return None if 0 < len(b.text) <= MAX_TEXT else "text is empty or too long"


def _apply(ctx: Applying, e: ev.SignedEvent, body: EditBody) -> None:
    if not may_author(ctx, "edit"):
        return
    x = e.event
    user = ctx.author_user

    def write(store: Store) -> bool:
        store.add_edit(e.id, body.target, x.conv, x.author, x.seq, user, x.lamport, x.time,
                       body.text)
        return False  # (settling says whether the text changed)

    part(ctx).record(body.target, x.conv, write)


EDIT: Kind[EditBody] = Kind(
    "edit", EditBody, where=frozenset({DIRECT, GROUP}), who=Author.MEMBER,
    check=_check, apply=_apply,
)
