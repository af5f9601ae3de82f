"""The groups feature through the real receive pipeline, without a network: who may
write what in a group, cut-offs, relays, limits; bad input is refused and nothing of it
is stored."""

from __future__ import annotations

import logging

import msgspec
import pytest
from corekit import Me, me_fixture, peer, person, receive  # noqa: F401

from kith.p2p import membership as mb
from kith.p2p.api import ACCEPTED
from kith.p2p.errors import RemoteProtocolError, UserError
from kith.p2p.messages import MessageBody


def texts(me: Me, conv: bytes) -> list[str]:
    return [m.text for m in me.db.messages(conv, limit=100)]


@pytest.fixture
async def group(me: Me):
    """Alice (me) created "Board games" with Bob and Carol, both contacts."""
    bob, carol = person("bob"), person("carol")
    for p in (bob, carol):
        me.core.contacts.save(p.user, name=p.name, state=ACCEPTED)
    me.knows(bob, carol)
    info = await me.core.groups.create("Board games", ["bob", "carol"])
    return info.id, bob, carol


async def test_a_member_message_counts_and_a_strangers_does_not(me: Me, group, caplog) -> None:
    conv, bob, _ = group
    receive(me, peer(bob), [bob.event(conv, MessageBody("hi"), lamport=5)])
    assert texts(me, conv) == ["hi"]
    dave = person("dave")
    me.knows(dave)
    with caplog.at_level(logging.WARNING):
        receive(me, peer(bob), [dave.event(conv, MessageBody("let me in"), lamport=6)])
    assert texts(me, conv) == ["hi"] and me.stored(conv, dave.device) == []
    assert "not a member of the group" in caplog.text


async def test_a_relay_that_is_not_in_the_group_is_refused(me: Me, group, caplog) -> None:
    conv, bob, _ = group
    dave = person("dave")
    me.knows(dave)
    me.core.contacts.save(dave.user, name="dave", state=ACCEPTED)
    with caplog.at_level(logging.WARNING):
        receive(me, peer(dave), [bob.event(conv, MessageBody("via dave"), lamport=5)])
    assert texts(me, conv) == [] and me.stored(conv, bob.device) == []
    assert "relay is not in" in caplog.text


async def test_a_change_without_the_right_is_refused_and_not_stored(me: Me, group, caplog) -> None:
    conv, bob, carol = group
    seen = mb.heads(me.core.groups.groups[conv].controls.values())
    with caplog.at_level(logging.WARNING):
        receive(me, peer(bob), [bob.event(conv, mb.RenameBody(seen, "Bob's"), lamport=5)])
        receive(me, peer(bob), [bob.event(conv, mb.RemoveBody(seen, carol.user, []),
                                          lamport=6)])
    assert me.stored(conv, bob.device) == []
    assert me.node.group(conv.hex()).name == "Board games"
    assert carol.user in {m.user_id for m in me.node.group(conv.hex()).members}
    assert "only the owner and admins may rename" in caplog.text
    # The node keeps serving Bob: a message of his after that counts.
    bob.heads.clear()
    receive(me, peer(bob), [bob.event(conv, MessageBody("sorry"), lamport=7)])
    assert texts(me, conv) == ["sorry"]


async def test_an_admin_may_rename(me: Me, group) -> None:
    conv, bob, _ = group
    await me.core.groups.set_role("Board games", "bob", True)
    seen = mb.heads(me.core.groups.groups[conv].controls.values())
    receive(me, peer(bob), [bob.event(conv, mb.RenameBody(seen, "Game night"), lamport=9)])
    assert me.node.group(conv.hex()).name == "Game night"
    assert [line.kind for line in me.db.group_lines(conv)] == ["created", "role", "renamed"]


async def test_a_removal_cuts_off_later_events_in_either_order(me: Me, group, caplog) -> None:
    conv, bob, carol = group
    c1 = carol.event(conv, MessageBody("one"), lamport=3)
    receive(me, peer(carol), [c1])
    c2 = carol.event(conv, MessageBody("two (arrives before the removal)"), lamport=4)
    c3 = carol.event(conv, MessageBody("three (after)"), lamport=5)
    receive(me, peer(carol), [c2])
    assert texts(me, conv) == ["one", "two (arrives before the removal)"]
    # Bob (made admin) removed Carol having seen only her first message.
    await me.core.groups.set_role("Board games", "bob", True)
    seen = mb.heads(me.core.groups.groups[conv].controls.values())
    rm = bob.event(conv, mb.RemoveBody(seen, carol.user, [mb.Cutoff(carol.device, 1)]),
                   lamport=20)
    receive(me, peer(bob), [rm])
    assert texts(me, conv) == ["one"]  # un-shown when the removal came
    with caplog.at_level(logging.WARNING):
        receive(me, peer(bob), [c3])  # relayed by Bob
    assert texts(me, conv) == ["one"]
    assert "past its cut-off" in caplog.text
    # What arrives past the cut-off is kept as a head only (her log stays continuous,
    # should she be added again); what came before the removal keeps its body here (what
    # is hidden follows the fold), and no text past the cut-off is passed on.
    assert [(seq, body) for seq, _, body in me.stored(conv, carol.device)] == [
        (1, MessageBody("one")), (2, MessageBody("two (arrives before the removal)")),
        (3, None)]
    items = me.db.events_after(conv, carol.device, 0, 10)
    sent = me.core.convs.outgoing(bob.user, conv, items)
    assert [b is not None for _, b in sent] == [True, False, False]
    assert [x.kind for x in me.db.group_lines(conv)][-1] == "member_removed"


async def test_over_the_limits_is_refused(me: Me, group) -> None:
    conv, bob, _ = group
    with pytest.raises(UserError, match="at most 100"):
        await me.core.groups.rename("Board games", "x" * 101)
    many = [person(f"p{i}") for i in range(256)]
    for p in many:
        me.core.contacts.save(p.user, name=p.name, state=ACCEPTED)
    with pytest.raises(UserError, match="at most 256"):
        await me.core.groups.create("Too many", [p.user.hex() for p in many])
    await me.core.groups.set_role("Board games", "bob", True)
    seen = mb.heads(me.core.groups.groups[conv].controls.values())
    body = msgspec.msgpack.encode(mb.RenameBody(seen, "y" * 101))
    with pytest.raises(RemoteProtocolError, match="at most 100"):
        receive(me, peer(bob), [bob.raw(conv, "group_rename", body)])
    assert me.stored(conv, bob.device) == []
    assert me.node.group(conv.hex()).name == "Board games"


async def test_events_of_a_group_i_was_never_invited_to_are_refused(me: Me, caplog) -> None:
    stranger = person("stranger")
    me.knows(stranger)
    conv = mb.new_group_id()
    create = stranger.event(conv, mb.CreateBody("Spam", [me.user], ["s", "me"]))
    with caplog.at_level(logging.WARNING):
        receive(me, peer(stranger), [create])
    assert me.node.groups() == [] and me.stored(conv, stranger.device) == []
    assert "group I am not in" in caplog.text


async def test_removed_from_a_group_i_cannot_write_and_see_why(me: Me) -> None:
    bob = person("bob")
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    me.knows(bob)
    conv = mb.new_group_id()
    from kith.p2p.groups import InviteBody

    direct = me.core.convs.direct(bob.user)
    receive(me, peer(bob), [bob.event(direct, InviteBody(conv, "Bob's"))])
    create = bob.event(conv, mb.CreateBody("Bob's", [me.user], ["bob", "alice"]))
    receive(me, peer(bob), [create])
    assert me.node.group("Bob's").role == "member"
    rm = bob.event(conv, mb.RemoveBody([mb.ref(bob.device, 1)], me.user, []))
    receive(me, peer(bob), [rm])
    info = me.node.group("Bob's")
    assert info.left and info.role is None
    with pytest.raises(UserError, match="removed from Bob's by bob"):
        me.node.queue_in(conv, "hello?")
    lines = [me.core.groups.line_text(x) for x in me.db.group_lines(conv)]
    assert lines[-1] == "You were removed from the group by bob"


async def test_a_head_without_its_body_is_asked_for_and_a_forged_body_refused(
        me: Me, group, caplog) -> None:
    import asyncio

    from kith.p2p import events as ev
    from kith.p2p.group_protocol import Bodies, BodyWant

    conv, bob, carol = group
    e = bob.event(conv, MessageBody("the text"), lamport=5)
    receive(me, peer(carol), [ev.without_body(e)])  # (Carol relays its head only)
    await asyncio.sleep(0)  # (noted once the batch is written: next loop turn)
    await asyncio.sleep(0)
    assert texts(me, conv) == []
    bodies = me.core.groups.bodies
    assert list(bodies.missing[conv]) == [(bob.device, 1)]
    holder = peer(bob)
    bodies._on_connected(holder)
    assert holder.conn.sent == [BodyWant(conv, [(bob.device, 1)])]
    with caplog.at_level(logging.WARNING):
        bodies._on_bodies(holder, Bodies(conv, [(e.head, e.body[:-1] + b"!")]))
    assert "does not match its signed hash" in caplog.text and texts(me, conv) == []
    stranger = bob.event(conv, MessageBody("never noted"), lamport=6)
    bodies._on_bodies(holder, Bodies(conv, [(stranger.head, stranger.body)]))
    assert me.stored(conv, bob.device)[1:] == []  # (not asked for: nothing of it kept)
    bodies._on_bodies(holder, Bodies(conv, [(e.head, e.body)]))
    await me.core.log.commit()
    assert texts(me, conv) == ["the text"] and conv not in bodies.missing
    assert me.stored(conv, bob.device)[0][2] == MessageBody("the text")
    # I answer a member's want from what I hold, the same rule as a stream.
    asker = peer(carol)
    bodies._on_want(asker, BodyWant(conv, [(bob.device, 1), (bob.device, 9)]))
    assert asker.conn.sent == [Bodies(conv, [(e.head, e.body)])]
