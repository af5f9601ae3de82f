"""p2p.contacts, sans-IO: the request / accept / decline state machine, name clashes,
the roster my devices share (last writer wins in any arrival order) and what a failed
batch leaves behind."""

from __future__ import annotations

import itertools
import sqlite3

import pytest
from corekit import Author, Me, apply, me_fixture, other_device, person

from kith.p2p.api import ACCEPTED, DECLINED, PENDING_IN, PENDING_OUT, ContactChanged
from kith.p2p.contacts import ContactBody, RosterBody
from kith.p2p.messages import MessageBody

__all__ = ["me_fixture"]


def _stranger(me: Me, name: str = "bob") -> tuple[Author, bytes]:
    who = person(name)
    me.knows(who)
    return who, me.core.convs.direct(who.user)


def _state(me: Me, user: bytes) -> str | None:
    """The contact's state, in the cache and on disk (they must agree)."""
    cached = me.core.contacts.row(user)
    stored = me.db.contact(user)
    assert (cached and cached.state) == (stored and stored.state)
    return stored.state if stored else None


def _rosters(me: Me) -> list[RosterBody]:
    return [b for _, k, b in me.mine(me.core.convs.self_conv) if k == "roster"]  # type: ignore[misc]


# -- the state machine ------------------------------------------------------------------------


async def test_a_request_from_a_stranger_is_pending_and_told_to_my_devices(me: Me) -> None:
    bob, conv = _stranger(me)
    apply(me, [bob.event(conv, ContactBody("request", "Bob B."))])
    c = me.db.contact(bob.user)
    assert c is not None
    assert (c.name, c.state, c.verified, c.key_changed) == ("Bob B.", PENDING_IN, False, False)
    assert ContactChanged(bob.user) in me.events
    await me.core.log.commit()
    assert _rosters(me) == [RosterBody(bob.user, "Bob B.", PENDING_IN, False, None, False, False)]


async def test_a_request_without_a_name_takes_the_peers_name(me: Me) -> None:
    bob, conv = _stranger(me)
    apply(me, [bob.event(conv, ContactBody("request", ""))], peer_name="bob-laptop")
    assert me.db.contact(bob.user).name == "bob-laptop"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [
        (None, "request", PENDING_IN),
        (None, "accept", PENDING_IN),
        (None, "decline", DECLINED),
        (PENDING_OUT, "request", ACCEPTED),  # our requests crossed
        (PENDING_OUT, "accept", ACCEPTED),
        (PENDING_OUT, "decline", DECLINED),
        (PENDING_IN, "request", PENDING_IN),
        (PENDING_IN, "accept", PENDING_IN),  # accepting what I never asked for changes nothing
        (PENDING_IN, "decline", DECLINED),
        (ACCEPTED, "request", ACCEPTED),
        (ACCEPTED, "accept", ACCEPTED),
        (ACCEPTED, "decline", DECLINED),
        (DECLINED, "request", PENDING_IN),  # asking again after a refusal
        (DECLINED, "accept", DECLINED),
        (DECLINED, "decline", DECLINED),
    ],
)
async def test_contact_state_machine(
    me: Me, before: str | None, action: str, after: str
) -> None:
    bob, conv = _stranger(me)
    if before is not None:
        me.core.contacts.save(bob.user, name="bob", state=before)
    apply(me, [bob.event(conv, ContactBody(action, "bob"))])
    assert _state(me, bob.user) == after
    await me.core.log.commit()
    published = _rosters(me)
    if after != before:  # my other devices learn every change of state, and only those
        assert [r.state for r in published] == [after]
    else:
        assert published == []


async def test_request_then_accept_in_one_batch(me: Me) -> None:
    bob, conv = _stranger(me)
    me.core.contacts.save(bob.user, name="bob", state=PENDING_OUT)
    apply(me, [bob.event(conv, ContactBody("accept", "bob")),
               bob.event(conv, MessageBody("hi, friend"))])
    assert _state(me, bob.user) == ACCEPTED
    assert [m.text for m in me.db.messages(conv)] == ["hi, friend"]


async def test_my_own_contact_events_from_another_device_change_nothing(me: Me) -> None:
    """My devices tell each other about contacts with roster events, not contact events."""
    bob, conv = _stranger(me)
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    apply(me, [laptop.event(conv, ContactBody("request", me.node.name))], via=laptop)
    assert me.db.contact(bob.user) is None


# -- a name that is already taken -------------------------------------------------------------


async def test_a_request_under_a_known_contacts_name_flags_a_key_change(me: Me) -> None:
    old_bob = person("bob")
    me.core.contacts.save(old_bob.user, name="Bob", state=ACCEPTED, verified=True)
    new_bob, conv = _stranger(me, "bob")
    apply(me, [new_bob.event(conv, ContactBody("request", "bob"))])
    c = me.db.contact(new_bob.user)
    assert c is not None
    assert (c.state, c.key_changed, c.replaces) == (PENDING_IN, True, old_bob.user)
    assert me.db.contact(old_bob.user).verified  # type: ignore[union-attr]  # until confirmed


async def test_a_name_shared_with_a_mere_request_is_no_key_change(me: Me) -> None:
    pending = person("bob")
    me.core.contacts.save(pending.user, name="bob", state=PENDING_IN)
    other, conv = _stranger(me, "bob")
    apply(me, [other.event(conv, ContactBody("request", "bob"))])
    c = me.db.contact(other.user)
    assert c is not None and (c.key_changed, c.replaces) == (False, None)


# -- the roster: last writer wins -------------------------------------------------------------


def _roster_writes(me: Me, carol: bytes) -> list[tuple[Author, RosterBody, int]]:
    laptop = other_device(me.node.identity, "laptop")
    desktop = other_device(me.node.identity, "desktop")
    tablet = other_device(me.node.identity, "tablet")
    me.knows(laptop, desktop, tablet)
    # desktop and tablet write at the same lamport: the author device id breaks the tie.
    return [
        (laptop, RosterBody(carol, "carol", PENDING_OUT, False), 5),
        (desktop, RosterBody(carol, "Carol D.", ACCEPTED, True), 7),
        (tablet, RosterBody(carol, "Caroline", DECLINED, False), 7),
    ]


def _winner(writes: list[tuple[Author, RosterBody, int]]) -> RosterBody:
    return max(writes, key=lambda w: (w[2], w[0].device))[1]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_roster_last_writer_wins_in_every_arrival_order(
    me: Me, order: tuple[int, ...]
) -> None:
    carol = person("carol")
    writes = _roster_writes(me, carol.user)
    self_conv = me.core.convs.self_conv
    events = {i: w[0].event(self_conv, w[1], lamport=w[2]) for i, w in enumerate(writes)}
    for i in order:  # one batch each
        author = writes[i][0]
        apply(me, [events[i]], via=author)
    win = _winner(writes)
    c = me.db.contact(carol.user)
    assert c is not None
    assert (c.name, c.state, c.verified) == (win.name, win.state, win.verified)
    assert me.core.contacts.row(carol.user) == c


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_roster_last_writer_wins_within_one_batch(me: Me, order: tuple[int, ...]) -> None:
    carol = person("carol")
    writes = _roster_writes(me, carol.user)
    self_conv = me.core.convs.self_conv
    events = [writes[i][0].event(self_conv, writes[i][1], lamport=writes[i][2]) for i in order]
    apply(me, events, via=writes[0][0])
    win = _winner(writes)
    c = me.db.contact(carol.user)
    assert c is not None and (c.name, c.state, c.verified) == (win.name, win.state, win.verified)


async def test_an_older_roster_write_loses_to_what_is_stored(me: Me) -> None:
    carol = person("carol")
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    self_conv = me.core.convs.self_conv
    apply(me, [laptop.event(self_conv, RosterBody(carol.user, "carol", ACCEPTED, True),
                            lamport=10)], via=laptop)
    me.core.contacts.forget_cache()
    desktop = other_device(me.node.identity, "desktop")
    me.knows(desktop)
    apply(me, [desktop.event(self_conv, RosterBody(carol.user, "carol", DECLINED, False),
                             lamport=9)], via=desktop)
    assert _state(me, carol.user) == ACCEPTED
    assert me.db.lww_clock(f"contact:{carol.user.hex()}") == (10, laptop.device)


async def test_a_roster_write_makes_the_direct_conversation_known(me: Me) -> None:
    carol = person("carol")
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    apply(me, [laptop.event(me.core.convs.self_conv,
                            RosterBody(carol.user, "carol", ACCEPTED, False))], via=laptop)
    conv = me.core.convs.direct(carol.user)
    assert {m.user_id for m in me.db.members(conv)} == {me.user, carol.user}
    assert me.core.convs.may_send(carol.user, conv)


async def test_a_roster_entry_about_myself_is_ignored(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    apply(me, [laptop.event(me.core.convs.self_conv,
                            RosterBody(me.user, "me", ACCEPTED, True))], via=laptop)
    assert me.db.contact(me.user) is None


# -- a failed batch -----------------------------------------------------------------------------


async def test_a_failed_batch_leaves_the_cache_as_the_database_has_it(
    me: Me, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob, conv = _stranger(me)
    carol = person("carol")
    me.core.contacts.save(carol.user, name="carol", state=PENDING_OUT)
    me.knows(carol)
    assert me.core.contacts.row(bob.user) is None  # (the cache is loaded)

    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(me.db, "upsert_contact", full)
    with pytest.raises(sqlite3.OperationalError):
        apply(me, [bob.event(conv, ContactBody("request", "bob")),
                   carol.event(me.core.convs.direct(carol.user), ContactBody("accept", "c"))])
    monkeypatch.undo()
    assert me.core.contacts.row(bob.user) is None
    assert me.core.contacts.row(carol.user).state == PENDING_OUT  # type: ignore[union-attr]
    assert me.core.contacts.rows() == me.db.contacts()
    assert ContactChanged(bob.user) not in me.events
