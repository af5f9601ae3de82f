"""p2p.conversations: types and members, the implicit direct conversation, entitlement
(the member list first, then the type's gate), and first-release profiles."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from corekit import Me, apply, me_fixture, other_device, peer, person, receive, start_me

from kith.p2p import events as ev
from kith.p2p.api import ACCEPTED, DECLINED, PENDING_IN, PENDING_OUT
from kith.p2p.kinds import DIRECT, SELF
from kith.p2p.messages import MessageBody
from kith.storage import Store

__all__ = ["me_fixture"]

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "profile-v1"


def _members(me: Me, conv: bytes) -> set[bytes]:
    return {m.user_id for m in me.db.members(conv)}


# -- identity and members -----------------------------------------------------------------------


async def test_the_direct_conversation_is_derived_from_the_pair(me: Me) -> None:
    bob = person("bob")
    conv = me.core.convs.direct(bob.user)
    assert conv == ev.direct_conversation(me.user, bob.user)
    assert conv == ev.direct_conversation(bob.user, me.user)


async def test_a_direct_conversation_exists_implicitly_before_its_first_event(me: Me) -> None:
    bob, carol = person("bob"), person("carol")
    conv = me.core.convs.direct(bob.user)
    assert me.core.convs.get(conv) is None
    assert me.db.conversations() == []
    assert me.core.convs.type_of(conv, bob.user) == DIRECT
    assert me.core.convs.type_of(conv, carol.user) is None
    assert me.core.convs.type_of(conv) is None
    assert me.core.convs.is_member(conv, bob.user)
    assert not me.core.convs.is_member(conv, carol.user)


async def test_ensure_direct_stores_a_two_member_conversation(me: Me) -> None:
    bob = person("bob")
    conv = me.core.convs.ensure_direct(bob.user)
    c = me.core.convs.get(conv)
    assert c is not None and c.type == DIRECT
    assert set(c.members) == {me.user, bob.user}
    assert me.db.conversations() == [(conv, DIRECT)]
    assert _members(me, conv) == {me.user, bob.user}
    assert me.db.conversation_peer(conv) == bob.user
    assert me.core.convs.peer_of(conv) == bob.user
    assert conv in me.core.convs.of_user(bob.user) and conv in me.core.convs.of_user(me.user)
    assert me.core.convs.ensure_direct(bob.user) == conv  # idempotent


async def test_a_received_event_makes_its_direct_conversation_known_with_the_batch(
    me: Me,
) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    apply(me, [bob.event(conv, MessageBody("hi"))])
    assert me.core.convs.get(conv) is not None
    assert _members(me, conv) == {me.user, bob.user}
    assert me.db.conversation_peer(conv) == bob.user


async def test_the_self_conversation_holds_only_my_user(me: Me) -> None:
    convs = me.core.convs
    assert convs.self_conv == ev.self_conversation(me.user)
    c = convs.get(convs.self_conv)
    assert c is not None and c.type == SELF and set(c.members) == {me.user}
    assert convs.type_of(convs.self_conv) == SELF


async def test_type_for_event_of_an_unknown_conversation(me: Me) -> None:
    bob, carol = person("bob"), person("carol")
    convs = me.core.convs
    theirs = ev.direct_conversation(bob.user, carol.user)
    assert convs.type_for_event(convs.direct(bob.user), bob.user, False) == DIRECT
    assert convs.type_for_event(theirs, bob.user, False) is None
    # From my own devices: one of my direct conversations, its other member named later.
    assert convs.type_for_event(convs.direct(carol.user), me.user, True) == DIRECT
    assert convs.type_for_event(convs.self_conv, me.user, True) == SELF


# -- entitlement -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "key_changed", "send", "receive"),
    [
        (None, False, False, True),
        (PENDING_IN, False, False, True),
        (PENDING_OUT, False, True, True),
        (ACCEPTED, False, True, True),
        (ACCEPTED, True, False, True),  # an unconfirmed new key gets nothing of ours
        (DECLINED, False, False, False),
    ],
)
async def test_the_contacts_gate_on_direct_conversations(
    me: Me, state: str | None, key_changed: bool, send: bool, receive: bool
) -> None:
    bob = person("bob")
    if state is not None:
        me.core.contacts.save(bob.user, name="bob", state=state, key_changed=key_changed)
    convs = me.core.convs
    conv = convs.direct(bob.user)
    assert convs.may_send(bob.user, conv) is send
    assert convs.may_receive(bob.user, conv) is receive
    assert convs.shared_with(bob.user, set()) == ([conv] if send else [])


async def test_nobody_else_is_entitled_to_my_self_conversation(me: Me) -> None:
    bob = person("bob")
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    convs = me.core.convs
    assert not convs.may_send(bob.user, convs.self_conv)
    assert not convs.may_receive(bob.user, convs.self_conv)
    assert convs.may_send(me.user, convs.self_conv)
    assert convs.may_receive(me.user, convs.self_conv)


async def test_a_non_member_is_entitled_to_nothing_even_as_a_contact(me: Me) -> None:
    bob, carol = person("bob"), person("carol")
    me.core.contacts.save(carol.user, name="carol", state=ACCEPTED)
    convs = me.core.convs
    with_bob = convs.ensure_direct(bob.user)
    assert not convs.may_send(carol.user, with_bob)
    assert not convs.may_receive(carol.user, with_bob)
    assert with_bob not in convs.shared_with(carol.user, {with_bob})


async def test_my_own_devices_get_every_conversation(me: Me) -> None:
    bob = person("bob")
    convs = me.core.convs
    conv = convs.ensure_direct(bob.user)
    assert convs.may_send(me.user, conv) and convs.may_receive(me.user, conv)
    assert convs.shared_with(me.user, {conv}) == sorted({conv, convs.self_conv})


async def test_a_removed_device_is_entitled_to_nothing(me: Me) -> None:
    bob = person("bob")
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    convs = me.core.convs
    conv = convs.ensure_direct(bob.user)
    me.core.devices.removed = True
    assert not convs.may_send(me.user, conv)
    assert not convs.may_receive(me.user, convs.self_conv)
    assert convs.shared_with(me.user, {conv}) == []


# -- first-release profiles ---------------------------------------------------------------------


async def test_a_first_release_profile_gets_its_own_user_added_to_its_direct_conversations(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "alice"
    shutil.copytree(FIXTURE / "alice", profile)
    store = Store(profile / "kith.db")  # the migration alone: the schema knows one member
    try:
        direct = [c for c, kind in store.conversations() if kind == DIRECT]
        assert direct
        peers: dict[bytes, bytes] = {}
        for c in direct:
            peer_user = store.conversation_peer(c)
            assert peer_user is not None
            peers[c] = peer_user
        assert all(len(store.members(c)) == 1 for c in direct)
    finally:
        store.close()
    me = await start_me(tmp_path, profile=profile)
    try:
        alice_user = me.user
        for conv in direct:
            assert _members(me, conv) == {alice_user, peers[conv]}
            known = me.core.convs.get(conv)
            assert known is not None and set(known.members) == {alice_user, peers[conv]}
            assert me.core.convs.may_send(peers[conv], conv) == me.core.contacts.accepted(
                peers[conv]
            )
    finally:
        await me.node.stop()


async def test_a_linked_device_of_mine_is_a_member_through_my_user(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    bob = person("bob")
    conv = me.core.convs.ensure_direct(bob.user)
    assert me.core.convs.is_member(conv, laptop.user)


async def test_a_new_conversation_is_stored_after_a_failed_first_write(
    me: Me, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    hi = bob.event(conv, MessageBody("hi"))

    def full(rows: object, **kw: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(me.db, "insert_messages", full)
    with pytest.raises(sqlite3.OperationalError):
        receive(me, peer(bob), [hi])
    monkeypatch.undo()
    receive(me, peer(bob), [hi])  # the peer sends it again
    assert [m.text for m in me.db.messages(conv)] == ["hi"]
    assert me.db.conversations() == [(conv, DIRECT)]
    assert _members(me, conv) == {me.user, bob.user}
