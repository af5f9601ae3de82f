"""Delete chat: a whole conversation, for me, on every one of my devices.

Kind:

    hide_chat [conv, lamport]   self conversation, my devices only: every message of
                                ``conv`` up to ``lamport`` (my clock of that conversation
                                when I deleted it) is gone from my devices: its text,
                                search entry, the state of its actions (edits, reactions,
                                cards), the bodies of its events, its files that no other
                                message names.

One event however long the chat (not one ``hide`` per message). The cut is kept for good
(storage ``chat_cuts``, the highest wins): what arrives later up to ``lamport`` (from a
device that was away, a relay, a history sync) never shows; a message after it brings the
chat back with only that message. The heads stay in the logs, so every chain still
verifies and syncs; nobody but my devices learns of it.
"""

from __future__ import annotations

import msgspec

from kith.p2p import events as ev
from kith.p2p.actions.base import part
from kith.p2p.kinds import SELF, Applying, Author, Kind
from kith.storage import Store


class HideChatBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    conv: bytes
    lamport: int


MAX_LAMPORT = 2**62  # (what SQLite stores; no clock gets near it)


def _check(b: HideChatBody) -> str | None:
    ok = len(b.conv) == 32 and 1 <= b.lamport < MAX_LAMPORT
    return None if ok else "bad conversation or lamport"


def _apply(ctx: Applying, e: ev.SignedEvent, body: HideChatBody) -> None:
    user = ctx.author_user
    when = e.event.time

    def write(store: Store) -> bool:
        return store.cut_chat(body.conv, body.lamport, user, when)

    part(ctx).cut(body.conv, write)


HIDE_CHAT: Kind[HideChatBody] = Kind(
    "hide_chat", HideChatBody, where=frozenset({SELF}), who=Author.OWN,
    check=_check, apply=_apply,
)
