"""Unsend (for everyone) and delete for me.

Kinds:

    unsend [target]        direct conversations and groups: the author takes ``target``
                           back within 24 hours of sending (by their clock). Every
                           device erases its text, search entry, earlier versions and the
                           bodies of its events, and shows a tombstone line instead.
    hide   [conv, target]  self conversation, my devices only: delete ``target`` (of
                           ``conv``) for me. My devices erase it; nobody else learns it.

Both are tombstones kept for good (storage ``gone``): a device that was away and syncs
later, or the message arriving after its tombstone, never brings the text back.
"""

from __future__ import annotations

import msgspec

from kith.p2p import events as ev
from kith.p2p.actions.base import may_author, part
from kith.p2p.kinds import DIRECT, GROUP, SELF, Applying, Author, Kind
from kith.storage import Store
from kith.storage.actions import HIDDEN, UNSENT


class UnsendBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    target: bytes


class HideBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    conv: bytes
    target: bytes


def _check_unsend(b: UnsendBody) -> str | None:
    return None if len(b.target) == 32 else "bad target"


def _check_hide(b: HideBody) -> str | None:
    return None if len(b.target) == 32 and len(b.conv) == 32 else "bad conversation or target"


def _apply_unsend(ctx: Applying, e: ev.SignedEvent, body: UnsendBody) -> None:
    if not may_author(ctx, "unsend"):
        return
    x = e.event
    user = ctx.author_user

    def write(store: Store) -> bool:
        store.add_gone(body.target, UNSENT, x.conv, user, x.time)
        return False  # (settling says whether it went)

    part(ctx).record(body.target, x.conv, write)


def _apply_hide(ctx: Applying, e: ev.SignedEvent, body: HideBody) -> None:
    x = e.event
    user = ctx.author_user

    def write(store: Store) -> bool:
        store.add_gone(body.target, HIDDEN, body.conv, user, x.time)
        return False

    part(ctx).record(body.target, body.conv, write)


UNSEND: Kind[UnsendBody] = Kind(
    "unsend", UnsendBody, where=frozenset({DIRECT, GROUP}), who=Author.MEMBER,
    check=_check_unsend, apply=_apply_unsend,
)
HIDE: Kind[HideBody] = Kind(
    "hide", HideBody, where=frozenset({SELF}), who=Author.OWN,
    check=_check_hide, apply=_apply_hide,
)
