"""p2p.receive: the pipeline from a socket read to one transaction, and its closed
authorization (an undeclared kind, a kind out of place, an OWN kind by someone else, a
CONTACT kind from a stranger are refused with a logged reason; nothing of it applies)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

import msgspec
import pytest
from corekit import Author, Me, me_fixture, other_device, peer, person, receive, start_me
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.p2p import events as ev
from kith.p2p import wire
from kith.p2p.api import ACCEPTED, PENDING_IN, PENDING_OUT, MessagesAdded
from kith.p2p.contacts import CONTACT, ROSTER, ContactBody, RosterBody
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.kinds import DIRECT, SELF
from kith.p2p.messages import MESSAGE, READ, MessageBody, ReadBody, ReceiptBody
from kith.p2p.settings import SettingBody

__all__ = ["me_fixture"]
_enc = msgspec.msgpack.encode


def _texts(me: Me, conv: bytes) -> list[str]:
    return [m.text for m in me.db.messages(conv)]


# -- authorize: the table decides alone --------------------------------------------------------


async def test_authorize_refuses_an_undeclared_kind(me: Me) -> None:
    reason = me.node._receiver.authorize(None, "poke", DIRECT, me.user, False)
    assert reason == "undeclared event kind 'poke'"


async def test_authorize_refuses_a_kind_outside_its_conversation_types(me: Me) -> None:
    authorize = me.node._receiver.authorize
    assert authorize(MESSAGE, "message", SELF, me.user, False) == (
        "message events do not belong in a self conversation"
    )
    assert "do not belong in a direct" in (authorize(READ, "read", DIRECT, me.user, False) or "")
    assert "do not belong in a group" in (authorize(READ, "read", "group", me.user, True)
                                         or "")
    # A message in a group is by any member (p2p.groups decides who is one), not only
    # by a contact.
    stranger = person("stranger")
    assert authorize(MESSAGE, "message", "group", stranger.user, False) is None
    assert authorize(MESSAGE, "message", DIRECT, stranger.user, False) == (
        "message event from someone who is not a contact")


async def test_authorize_refuses_an_own_kind_by_another_user(me: Me) -> None:
    bob = person("bob")
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    authorize = me.node._receiver.authorize
    assert authorize(ROSTER, "roster", SELF, bob.user, False) == (
        "roster events come only from my own devices"
    )
    assert authorize(ROSTER, "roster", SELF, bob.user, True) is not None  # relayed: still no
    assert authorize(ROSTER, "roster", SELF, me.user, True) is None


async def test_authorize_refuses_a_contact_kind_from_a_non_contact(me: Me) -> None:
    bob = person("bob")
    authorize = me.node._receiver.authorize
    refused = "message event from someone who is not a contact"
    assert authorize(MESSAGE, "message", DIRECT, bob.user, False) == refused
    for state in (PENDING_IN, PENDING_OUT, "declined"):
        me.core.contacts.save(bob.user, name="bob", state=state)
        assert authorize(MESSAGE, "message", DIRECT, bob.user, False) == refused, state
    me.core.contacts.save(bob.user, state=ACCEPTED)
    assert authorize(MESSAGE, "message", DIRECT, bob.user, False) is None
    assert authorize(MESSAGE, "message", DIRECT, me.user, False) is None  # me


async def test_authorize_allows_a_contact_kind_via_my_own_device(me: Me) -> None:
    """My own device checked the contact already (my roster may lag behind it)."""
    carol = person("carol")
    assert me.node._receiver.authorize(MESSAGE, "message", DIRECT, carol.user, True) is None


async def test_authorize_lets_a_member_kind_come_from_anyone_in_the_conversation(me: Me) -> None:
    stranger = person("stranger")
    assert me.node._receiver.authorize(CONTACT, "contact", DIRECT, stranger.user, False) is None


# -- the pipeline --------------------------------------------------------------------------------


async def test_a_contacts_messages_are_stored_and_announced_in_one_batch(me: Me) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    via = peer(bob)
    receive(me, via, [bob.event(conv, MessageBody("one")), bob.event(conv, MessageBody("two"))])
    assert _texts(me, conv) == ["one", "two"]
    [added] = me.emitted(MessagesAdded)
    assert [m.text for m in added.messages] == ["one", "two"]
    assert me.core.log.head(conv, bob.device) == ev.Head(2, bob.heads[conv][1])
    assert via.sync.after(conv, bob.device) == 2
    assert me.core.log.vector(conv)[bob.device] == 2


async def test_an_undeclared_kind_is_refused_with_a_logged_reason_and_stops_its_run(
    me: Me, caplog: pytest.LogCaptureFixture
) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    before = bob.event(conv, MessageBody("before"))
    poke = bob.raw(conv, "poke", _enc([1]))
    after = bob.event(conv, MessageBody("after"))
    with caplog.at_level(logging.WARNING, logger="kith.p2p.receive"):
        receive(me, peer(bob), [before, poke, after])
    assert "undeclared event kind 'poke'" in caplog.text
    assert _texts(me, conv) == ["before"]
    assert [s for s, _, _ in me.stored(conv, bob.device)] == [1]
    assert me.core.log.head(conv, bob.device) == ev.Head(1, before.id)


async def test_a_message_from_a_non_contact_is_not_stored(
    me: Me, caplog: pytest.LogCaptureFixture
) -> None:
    bob = person("bob")
    me.knows(bob)
    conv = me.core.convs.direct(bob.user)
    with caplog.at_level(logging.WARNING, logger="kith.p2p.receive"):
        receive(me, peer(bob), [bob.event(conv, MessageBody("spam"))])
    assert "message event from someone who is not a contact" in caplog.text
    assert me.stored(conv, bob.device) == []
    assert me.db.messages(conv) == []
    assert me.emitted(MessagesAdded) == []


async def test_a_message_from_a_non_contact_relayed_by_my_own_device_is_stored(me: Me) -> None:
    carol = person("carol")
    laptop = other_device(me.node.identity, "laptop")
    me.knows(carol, laptop)
    conv = me.core.convs.direct(carol.user)
    receive(me, peer(laptop), [carol.event(conv, MessageBody("hello via laptop"))])
    assert _texts(me, conv) == ["hello via laptop"]


async def test_a_roster_event_by_a_contact_is_refused(
    me: Me, caplog: pytest.LogCaptureFixture
) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    carol = person("carol")
    with caplog.at_level(logging.WARNING, logger="kith.p2p.receive"):
        receive(me, peer(bob), [bob.event(conv, RosterBody(carol.user, "carol", ACCEPTED, True))])
    assert "roster events do not belong in a direct conversation" in caplog.text
    assert me.core.contacts.row(carol.user) is None
    assert me.stored(conv, bob.device) == []


async def test_a_refusal_is_logged_once_per_peer_and_reason(
    me: Me, caplog: pytest.LogCaptureFixture
) -> None:
    bob = person("bob")
    me.knows(bob)
    conv = me.core.convs.direct(bob.user)
    via = peer(bob)
    with caplog.at_level(logging.WARNING, logger="kith.p2p.receive"):
        for _ in range(5):
            bob.heads.clear()
            receive(me, via, [bob.event(conv, MessageBody("spam"))])
    assert caplog.text.count("not a contact") == 1


async def test_events_of_an_unknown_device_are_a_protocol_error(me: Me) -> None:
    bob = person("bob")
    conv = me.core.convs.direct(bob.user)
    with pytest.raises(RemoteProtocolError, match="unknown device"):
        receive(me, peer(bob), [bob.event(conv, MessageBody("who am I"))])


async def test_events_for_a_conversation_the_author_is_not_in_are_a_protocol_error(me: Me) -> None:
    bob, carol = person("bob"), person("carol")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    theirs = ev.direct_conversation(bob.user, carol.user)
    with pytest.raises(RemoteProtocolError, match="not in"):
        receive(me, peer(bob), [bob.event(theirs, MessageBody("not yours"))])
    with pytest.raises(RemoteProtocolError, match="not in"):
        receive(me, peer(bob), [bob.event(me.core.convs.self_conv, MessageBody("mine"))])


async def test_the_events_of_someone_i_declined_are_refused(me: Me) -> None:
    """(So a request after my refusal never reaches the contacts feature: see the
    (declined, request) case of test_contacts, reachable only by applying directly.)"""
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state="declined")
    conv = me.core.convs.direct(bob.user)
    # refused with a logged reason, not as a broken protocol: the connection stays
    receive(me, peer(bob), [bob.event(conv, ContactBody("request", "bob, again"))])
    assert me.stored(conv, bob.device) == []
    assert me.db.contact(bob.user).state == "declined"  # type: ignore[union-attr]


async def test_events_relayed_by_someone_outside_the_conversation_are_refused(me: Me) -> None:
    bob, carol = person("bob"), person("carol")
    me.knows(bob, carol)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    me.core.contacts.save(carol.user, name="carol", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    with pytest.raises(RemoteProtocolError, match="relay is not in"):
        receive(me, peer(carol), [bob.event(conv, MessageBody("relayed by carol"))])


async def test_a_gap_stores_nothing_and_asks_again(me: Me) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    bob.event(conv, MessageBody("lost"))
    via = peer(bob)
    receive(me, via, [bob.event(conv, MessageBody("after a gap"))])
    assert me.stored(conv, bob.device) == []
    assert [type(m) for m in via.conn.sent] == [wire.Want]  # type: ignore[union-attr]
    assert via.conn.sent[0].conv == conv  # type: ignore[union-attr]


async def test_duplicates_are_not_applied_again(me: Me) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    first = bob.event(conv, MessageBody("once"))
    receive(me, peer(bob), [first])
    receive(me, peer(bob), [first, bob.event(conv, MessageBody("twice"))])
    assert _texts(me, conv) == ["once", "twice"]
    assert len(me.emitted(MessagesAdded)) == 2


async def test_a_head_whose_body_was_erased_is_stored_and_applies_nothing(me: Me) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    erased = ev.without_body(bob.event(conv, MessageBody("unsent")))
    kept = bob.event(conv, MessageBody("kept"))
    receive(me, peer(bob), [erased, kept])
    assert _texts(me, conv) == ["kept"]
    assert [(s, k) for s, k, _ in me.stored(conv, bob.device)] == [(1, "message"), (2, "message")]
    assert me.db.event(conv, bob.device, 1) == (erased.head, None)


async def test_a_forged_tip_stores_nothing_of_its_run(me: Me) -> None:
    bob, mallory = person("bob"), person("mallory")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    good = bob.event(conv, MessageBody("real"))
    header = msgspec.msgpack.decode(good.head)[0]
    fields = msgspec.msgpack.decode(header)
    fields[3], fields[4] = 2, good.id
    forged_header = _enc(fields)
    forged = ev.decode(_enc([forged_header, ev.sign(mallory.identity.device_secret,
                                                     forged_header)]), good.body)
    with pytest.raises(RemoteProtocolError, match="bad signature"):
        receive(me, peer(bob), [good, forged])
    assert me.stored(conv, bob.device) == []


async def test_a_batch_abandoned_on_a_malformed_body_leaves_no_contact_behind(me: Me) -> None:
    bob = person("bob")
    me.knows(bob)
    conv = me.core.convs.direct(bob.user)
    request = bob.event(conv, ContactBody("request", "bob"))
    with pytest.raises(RemoteProtocolError, match="malformed contact body"):
        receive(me, peer(bob), [request, bob.raw(conv, "contact", b"\xc1")])
    assert me.db.contact(bob.user) is None
    assert me.core.contacts.row(bob.user) is None, "the cache shows a request that is not stored"


def _v1(who: Author, conv: bytes, seq: int, prev: bytes, body: msgspec.Struct) -> ev.SignedEvent:
    """An event as the first release wrote it: the body inside the signed event."""
    inner = _enc([conv, who.device, seq, prev, seq, 5, "message", _enc(body)])
    return ev.decode(_enc([inner, ev.sign(who.identity.device_secret, inner)]))


async def test_a_format_1_log_is_received_and_applied(me: Me) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    first = _v1(bob, conv, 1, ev.GENESIS, MessageBody("from the first release"))
    second = _v1(bob, conv, 2, first.id, MessageBody("still format 1"))
    receive(me, peer(bob), [first, second])
    assert _texts(me, conv) == ["from the first release", "still format 1"]
    assert me.core.log.head(conv, bob.device) == ev.Head(2, second.id)


async def test_a_received_format_1_event_is_stored_so_that_it_streams_on(me: Me) -> None:
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    conv = me.core.convs.direct(bob.user)
    first = _v1(bob, conv, 1, ev.GENESIS, MessageBody("old"))
    receive(me, peer(bob), [first])
    [(head, body)] = me.db.events_after(conv, bob.device, 0)
    assert (head, body) == first.wire()
    assert ev.decode(head, body).id == first.id  # what the next device does with it


# -- fuzz: whatever a contact or my own device sends ---------------------------------------------


_bodies = st.one_of(
    st.builds(MessageBody, st.text(max_size=20)),
    st.builds(ReceiptBody, st.sampled_from(["delivered", "read", "seen"]),
              st.binary(min_size=31, max_size=33), st.integers(-1, 3)),
    st.builds(ReadBody, st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32),
              st.integers(0, 3)),
    st.builds(ContactBody, st.sampled_from(["request", "accept", "decline", "x"]),
              st.text(max_size=70)),
    st.builds(RosterBody, st.binary(min_size=32, max_size=32), st.text(max_size=5),
              st.sampled_from([ACCEPTED, PENDING_IN, PENDING_OUT, "declined", "x"]),
              st.booleans()),
    st.builds(SettingBody, st.sampled_from(["read_receipts", "theme", ""]),
              st.sampled_from(["true", "{", "0", ""])),
).map(_enc) | st.binary(max_size=40)

_items = st.lists(
    st.tuples(
        st.sampled_from(["bob", "laptop"]),  # the author
        st.sampled_from(["direct", "self", "theirs"]),  # the conversation
        st.sampled_from(["message", "receipt", "read", "contact", "roster", "setting", "poke"]),
        _bodies,
        st.booleans(),  # the body erased
    ),
    min_size=1, max_size=6,
)


@settings(database=None, max_examples=50, deadline=None)
@given(items=_items, bob_state=st.sampled_from([None, ACCEPTED, PENDING_OUT, "declined"]),
       via_laptop=st.booleans())
def test_received_events_raise_only_remote_protocol_error(
    items: list[tuple[str, str, str, bytes, bool]], bob_state: str | None, via_laptop: bool
) -> None:
    async def scenario(root: Path) -> None:
        me = await start_me(root)
        try:
            bob, carol = person("bob"), person("carol")
            laptop = other_device(me.node.identity, "laptop")
            me.knows(bob, laptop)
            if bob_state is not None:
                me.core.contacts.save(bob.user, name="bob", state=bob_state)
            convs = {"direct": me.core.convs.direct(bob.user), "self": me.core.convs.self_conv,
                     "theirs": ev.direct_conversation(bob.user, carol.user)}
            authors = {"bob": bob, "laptop": laptop}
            sent = []
            for who, where, kind, body, erased in items:
                e = authors[who].raw(convs[where], kind, body)
                sent.append(ev.without_body(e) if erased else e)
            via = peer(laptop if via_laptop else bob)
            try:
                receive(me, via, sent)
            except RemoteProtocolError:
                pass
            await me.core.log.commit()
            for (conv, author), (seq, _) in me.core.log.heads.items():  # no gap was stored
                assert [s for s, _, _ in me.stored(conv, author)] == list(range(1, seq + 1))
        finally:
            await me.node.stop()

    with tempfile.TemporaryDirectory() as root:
        asyncio.run(scenario(Path(root)))
