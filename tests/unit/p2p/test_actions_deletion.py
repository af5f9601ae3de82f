"""Delete chat (p2p.actions.deletion), sans-IO through the kind table: one self-conversation
event removes a chat up to a lamport on my devices, with its index, actions' state, bodies
and files; what comes later up to the cut never shows; what comes after it does. And
unsend and expiry erase their message's files."""

from __future__ import annotations

import time

import msgspec
import pytest
from corekit import Me, apply, me_fixture, other_device, peer, person, receive
from test_actions import body_erased, contact, send
from test_file_messages import _att

from kith.p2p import events as ev
from kith.p2p.actions import CardBody, EditBody, HideChatBody, ReactionBody, UnsendBody
from kith.p2p.actions.deletion import HIDE_CHAT
from kith.p2p.api import FileChanged, MessagesChanged
from kith.p2p.commands import run
from kith.p2p.errors import RemoteProtocolError, UserError
from kith.p2p.messages import MessageBody as Msg

__all__ = ["me_fixture"]


async def test_delete_chat_is_one_event_and_takes_everything_of_the_chat(me: Me) -> None:
    bob, conv = contact(me)
    carol, other = contact(me, "carol")
    msgs = [bob.event(conv, Msg(f"secret number {i}")) for i in range(5)]
    edit = bob.event(conv, EditBody(msgs[0].id, "secret number zero"))
    card = bob.event(conv, CardBody(carol.user, "carol"))
    apply(me, [*msgs, edit, card, bob.event(conv, ReactionBody(msgs[1].id, "\U0001f44d"))])
    mine = await send(me, conv, "my own secret too")
    apply(me, [carol.event(other, Msg("carol keeps her secret"))])
    assert await me.core.actions.delete_chat(conv) == 7
    assert me.db.messages(conv) == [] and me.db.unread_count(conv) == 0
    assert [m.text for m in me.db.search("secret")] == ["carol keeps her secret"]
    ids = [m.id for m in msgs]
    assert me.db.reactions(ids) == {} and me.db.versions(msgs[0].id) == []
    assert me.db.cards([card.id]) == {}
    for e in [*msgs, edit, card]:
        assert body_erased(me, conv, bob.device, e.event.seq)
    [(seq, lamport)] = me.db.execute(
        "SELECT seq, lamport FROM events WHERE conv = ? AND kind = 'message' AND author = ?",
        (conv, me.core.device_id))
    assert body_erased(me, conv, me.core.device_id, seq)
    assert mine in me.emitted(MessagesChanged)[-1].ids
    [body] = [b for _, k, b in me.mine(me.core.convs.self_conv) if k == "hide_chat"]
    assert body == HideChatBody(conv, lamport)  # one event (up to my message), my devices
    assert "hide_chat" not in [k for _, k, _ in me.mine(conv)]  # bob learns nothing
    assert len(me.db.messages(other)) == 1
    with pytest.raises(UserError, match="nothing to delete"):
        await me.core.actions.delete_chat(conv)


async def test_what_arrives_later_up_to_the_cut_never_shows_and_a_new_message_does(
    me: Me,
) -> None:
    bob, conv = contact(me)
    laptop = other_device(bob.identity, "bob-laptop")
    me.knows(laptop)
    apply(me, [bob.event(conv, Msg("hello")), bob.event(conv, Msg("still there?"))])
    late = laptop.event(conv, Msg("from the laptop, before the cut"), lamport=2)
    await me.core.actions.delete_chat(conv)
    apply(me, [late])  # (a relay, or a device that was away, brings it only now)
    assert me.db.messages(conv) == [] and me.db.search("laptop") == []
    assert body_erased(me, conv, laptop.device, late.event.seq)
    new = bob.event(conv, Msg("are you there?"))
    apply(me, [new])
    assert [m.text for m in me.db.messages(conv)] == ["are you there?"]


async def test_a_delete_from_my_other_device_applies_here_and_before_the_chat(me: Me) -> None:
    bob, conv = contact(me)
    laptop = other_device(me.node.identity, "my-laptop")
    me.knows(laptop)
    apply(me, [laptop.event(me.core.convs.self_conv, HideChatBody(conv, 3))])
    old = [bob.event(conv, Msg(f"old {i}")) for i in range(3)]
    apply(me, old)  # the chat's history reaches this device only after the delete
    assert me.db.messages(conv) == []
    apply(me, [laptop.event(me.core.convs.self_conv, HideChatBody(conv, 1))])  # (older)
    apply(me, [bob.event(conv, Msg("new one"))])
    assert [m.text for m in me.db.messages(conv)] == ["new one"]
    assert me.db.chat_cut(conv) == 3  # the highest cut stays in force


def test_a_hide_chat_with_a_bad_conversation_or_lamport_is_malformed() -> None:
    for body in (HideChatBody(b"short", 3), HideChatBody(b"c" * 32, 0),
                 HideChatBody(b"c" * 32, 2**63)):
        with pytest.raises(RemoteProtocolError):
            HIDE_CHAT.decode(msgspec.msgpack.encode(body))


async def test_delete_chat_frees_the_files_no_other_chat_names(me: Me) -> None:
    bob, conv = contact(me)
    carol, other = contact(me, "carol")
    me.node.set_setting("auto_download", 0)
    only, shared = _att(1000, "only.txt", 1), _att(2000, "shared.txt", 2)
    apply(me, [bob.event(conv, Msg("files", files=(only, shared)))])
    apply(me, [carol.event(other, Msg("same", files=(shared,)))])
    await me.core.actions.delete_chat(conv)
    assert me.db.file(only.id) is None and me.db.file(shared.id) is not None
    assert me.db.attachments(conv) == []
    assert only.id in {e.file for e in me.emitted(FileChanged)}
    late = bob.event(conv, Msg("late file", files=(_att(500, "late.txt", 3),)), lamport=1)
    apply(me, [late])  # (before the cut: never shown, names no file)
    assert me.db.file(bytes([3]) * 32) is None and me.db.attachments(conv) == []


async def test_unsend_and_expiry_erase_the_messages_files_unless_another_names_them(
    me: Me,
) -> None:
    bob, conv = contact(me)
    me.node.set_setting("auto_download", 0)
    a, b = _att(1000, "a.txt", 1), _att(1000, "b.txt", 2)
    m1 = bob.event(conv, Msg("two files", files=(a, b)))
    m2 = bob.event(conv, Msg("b again", files=(b,)))
    apply(me, [m1, m2])
    apply(me, [bob.event(conv, UnsendBody(m1.id))])
    assert me.db.file(a.id) is None and me.db.file(b.id) is not None
    assert [x.file for x in me.db.attachments(conv)] == [b.id]
    # an unsend that reaches me before its message: the message names no file either
    c = _att(1000, "c.txt", 3)
    m3 = bob.event(conv, Msg("c", files=(c,)))
    apply(me, [bob.event(conv, UnsendBody(m3.id))])
    apply(me, [m3])
    assert me.db.file(c.id) is None
    # expiry: on its time (the task), and already due as it arrives
    d, e = _att(1000, "d.txt", 4), _att(1000, "e.txt", 5)
    m4 = bob.event(conv, Msg("soon gone", files=(d,), timer=3600))
    apply(me, [m4])
    me.db.execute("UPDATE messages SET expires_at = 1 WHERE event_id = ?", (m4.id,))
    assert me.core.actions.expiry.run_once() is not None
    assert me.db.message_by_id(m4.id) is None and me.db.file(d.id) is None
    phone = other_device(me.node.identity, "my-phone")
    me.knows(phone)
    old = int(time.time() * 1000) - 120_000
    apply(me, [phone.event(conv, Msg("gone in 60", files=(e,), timer=60), time_ms=old)])
    assert me.db.file(e.id) is None and me.db.attachments(conv) == [
        x for x in me.db.attachments(conv) if x.file == b.id]


async def test_introduced_by_stays_with_the_contact_when_the_card_goes(me: Me) -> None:
    bob, conv = contact(me)
    carol = person("carol")
    card = bob.event(conv, CardBody(carol.user, "carol"))
    apply(me, [card])
    await me.core.actions.request_from_card(conv, card.id.hex())
    await me.core.actions.delete_chat(conv)  # (the card goes with the chat)
    assert me.db.cards([card.id]) == {}
    assert me.core.actions.introduced_by(carol.user) == bob.user
    listed = {c["name"]: c["introduced_by"] for c in await run(me.node, "contacts", {})}
    assert listed == {"bob": None, "carol": {"user_id": bob.user.hex(), "name": "bob"}}
    keys = [b.key for _, k, b in me.mine(me.core.convs.self_conv) if k == "setting"]
    assert f"introduced:{carol.user.hex()}" in keys  # (it follows my devices)


async def test_a_format_1_message_is_hidden_but_its_signed_head_keeps_the_text(me: Me) -> None:
    bob, conv = contact(me)
    enc = msgspec.msgpack.encode  # (as the first release wrote it: the body in the head)
    inner = enc([conv, bob.device, 1, ev.GENESIS, 1, 5, "message", enc(Msg("first release words"))])
    old = ev.decode(enc([inner, ev.sign(bob.identity.device_secret, inner)]))
    receive(me, peer(bob), [old])
    assert [m.text for m in me.db.messages(conv)] == ["first release words"]
    await me.core.actions.delete_chat(conv)
    assert me.db.messages(conv) == [] and me.db.search("release") == []
    receive(me, peer(bob), [old])  # (again, as a re-sync would bring it)
    assert me.db.messages(conv) == []
    [(head, body)] = me.db.events_after(conv, bob.device, 0)
    assert b"first release words" in head and body is None  # (signed: it cannot go)


async def test_an_unsent_files_download_in_progress_stops(me: Me) -> None:
    bob, conv = contact(me)
    a = _att(1000, "coming.txt", 7)
    msg = bob.event(conv, Msg("here it comes", files=(a,)))
    apply(me, [msg])
    assert a.id in me.node.files.transfers  # (small, from a contact: it comes by itself)
    apply(me, [bob.event(conv, UnsendBody(msg.id))])
    assert a.id not in me.node.files.transfers and me.db.file(a.id) is None
    assert not me.node.files.disk.path(a.id).exists()


async def test_through_the_receive_pipeline_only_my_devices_may_delete_a_chat(
    me: Me, caplog: pytest.LogCaptureFixture,
) -> None:
    bob, conv = contact(me)
    laptop = other_device(me.node.identity, "my-laptop")
    me.knows(laptop)
    apply(me, [bob.event(conv, Msg("keep me"))])
    mine = me.core.convs.self_conv
    with pytest.raises(RemoteProtocolError):  # (not his to say)
        receive(me, peer(bob), [bob.event(mine, HideChatBody(conv, 5))])
    receive(me, peer(bob), [bob.event(conv, HideChatBody(conv, 5))])  # (nor in our chat)
    assert "hide_chat events do not belong in a direct conversation" in caplog.text
    assert [m.text for m in me.db.messages(conv)] == ["keep me"] and me.db.chat_cut(conv) == 0
    receive(me, peer(laptop), [laptop.event(mine, HideChatBody(conv, 5))])
    assert me.db.messages(conv) == [] and me.db.chat_cut(conv) == 5
