"""Reactions: one emoji per person per message.

Kind (in direct conversations and groups, by any member):

    reaction [target, emoji]   my reaction to the message ``target`` (an event id) of this
                               conversation; "" takes it back. Per (message, person) the
                               newest (lamport, author device) wins, so changing it
                               replaces it and every device agrees.

An emoji is one emoji as Unicode defines them (the ``emoji`` package's table of fully
and minimally qualified emoji, ZWJ sequences, flags, keycaps and skin tones), nothing
else: not text, not two emoji.
"""

from __future__ import annotations

import emoji as emoji_data
import msgspec

from kith.p2p import events as ev
from kith.p2p.actions.base import may_author, part
from kith.p2p.kinds import DIRECT, GROUP, Applying, Author, Kind

TAPBACKS = ("\u2764\ufe0f", "\U0001f44d", "\U0001f44e", "\U0001f602", "\u203c\ufe0f", "\u2753")
MAX_EMOJI = 32  # code points: the longest emoji sequences (families, flags of regions) fit


class ReactionBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    target: bytes
    emoji: str  # "": no reaction any more


def emoji_problem(text: str) -> str | None:
    """Why ``text`` is not a single emoji, or None."""
    if not text:
        return "no emoji given"
    if len(text) > MAX_EMOJI or not emoji_data.is_emoji(text):
        return f"{text[:MAX_EMOJI]!r} is not a single emoji"
    return None


def _check(b: ReactionBody) -> str | None:
    if len(b.target) != 32:
        return "bad target"
    return None if b.emoji == "" else emoji_problem(b.emoji)


def _apply(ctx: Applying, e: ev.SignedEvent, body: ReactionBody) -> None:
    if not may_author(ctx, "reaction"):
        return
    x = e.event
    user = ctx.author_user
    part(ctx).record(body.target, x.conv, lambda store: store.put_reaction(
        body.target, x.conv, user, body.emoji, x.lamport, x.author, x.time,
    ))


REACTION: Kind[ReactionBody] = Kind(
    "reaction", ReactionBody, where=frozenset({DIRECT, GROUP}), who=Author.MEMBER,
    check=_check, apply=_apply,
)
