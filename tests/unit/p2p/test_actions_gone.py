"""p2p.actions, sans-IO: unsend, delete for me, contact cards and disappearing messages."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from corekit import Me, apply, me_fixture, other_device, person, start_me
from test_actions import body_erased, contact, send, text_of

from kith.p2p.actions import CardBody, EditBody, HideBody, ReactionBody, TimerBody, UnsendBody
from kith.p2p.actions.cards import CARD
from kith.p2p.actions.disappearing import describe, parse_duration
from kith.p2p.api import PENDING_OUT, MessagesAdded, MessagesChanged, TimerChanged
from kith.p2p.errors import RemoteProtocolError, UserError
from kith.p2p.messages import MessageBody as Msg
from kith.p2p.messages import ReadBody, ReceiptBody
from kith.storage import Store
from kith.storage.actions import WINDOW_MS

__all__ = ["me_fixture"]

NOW = lambda: int(time.time() * 1000)  # noqa: E731


# -- unsend -----------------------------------------------------------------------------------


async def test_an_unsent_message_loses_its_text_index_versions_reactions_and_bodies(
    me: Me,
) -> None:
    bob, conv = contact(me)
    msg = bob.event(conv, Msg("my password is hunter2"))
    edit = bob.event(conv, EditBody(msg.id, "my password is hunter3"))
    apply(me, [msg, edit, me.author.event(conv, ReactionBody(msg.id, "\U0001f602"))])
    apply(me, [bob.event(conv, UnsendBody(msg.id))])
    row = me.db.message_by_id(msg.id)
    assert row is not None and (row.text, row.unsent, row.edits) == ("", True, 0)
    assert me.db.search("hunter2") == [] and me.db.search("hunter3") == []
    assert me.db.search("password") == []
    assert me.db.versions(msg.id) == [] and me.db.reactions([msg.id]) == {}
    assert body_erased(me, conv, bob.device, msg.event.seq)
    assert body_erased(me, conv, bob.device, edit.event.seq)
    assert msg.id in me.emitted(MessagesChanged)[-1].ids
    with pytest.raises(UserError, match="unsent"):
        await me.core.actions.reply(conv, msg.id.hex(), "what was that?")


async def test_an_unsend_by_someone_else_or_too_late_is_refused(me: Me) -> None:
    bob, conv = contact(me)
    mine = await send(me, conv, "mine to keep")
    apply(me, [bob.event(conv, UnsendBody(mine))])
    assert text_of(me, mine) == "mine to keep"
    sent = NOW() - 3 * WINDOW_MS
    old = bob.event(conv, Msg("from long ago"), time_ms=sent)
    apply(me, [old, bob.event(conv, UnsendBody(old.id), time_ms=sent + WINDOW_MS + 1)])
    assert text_of(me, old.id) == "from long ago"
    assert me.db.gone_reason(old.id) is None  # (nothing of a refused one is kept)
    with pytest.raises(UserError, match="not your message"):
        await me.core.actions.unsend(conv, old.id.hex())


async def test_the_tombstone_wins_over_the_message_arriving_after_it(me: Me) -> None:
    bob, conv = contact(me)
    laptop = other_device(bob.identity, "bob-laptop")
    me.knows(laptop)
    msg = bob.event(conv, Msg("oops, wrong chat"))
    apply(me, [laptop.event(conv, UnsendBody(msg.id))])  # bob unsent it from his laptop
    apply(me, [msg])  # the original reaches me only afterwards, with its body
    row = me.db.message_by_id(msg.id)
    assert row is not None and (row.text, row.unsent) == ("", True)
    assert me.db.search("wrong") == []
    assert body_erased(me, conv, bob.device, msg.event.seq)
    [added] = [e for e in me.emitted(MessagesAdded) if e.conv == conv]
    assert [(m.text, m.unsent) for m in added.messages] == [("", True)]


async def test_i_unsend_my_own_message(me: Me) -> None:
    bob, conv = contact(me)
    mine = await send(me, conv, "ignore this")
    row = await me.core.actions.unsend(conv, mine.hex()[:6])
    assert (row.text, row.unsent) == ("", True)
    [(seq,)] = me.db.execute("SELECT seq FROM messages WHERE event_id = ?", (mine,))
    assert body_erased(me, conv, me.core.device_id, seq)
    with pytest.raises(UserError, match="unsent"):
        await me.core.actions.unsend(conv, mine.hex())


# -- delete for me ----------------------------------------------------------------------------


async def test_delete_for_me_removes_it_from_my_devices_only(me: Me) -> None:
    bob, conv = contact(me)
    msg = bob.event(conv, Msg("a silly joke"))
    apply(me, [msg])
    await me.core.actions.delete_for_me(conv, msg.id.hex())
    assert me.db.message_by_id(msg.id) is None and me.db.search("joke") == []
    [(seq, kind, body)] = [x for x in me.mine(me.core.convs.self_conv) if x[1] == "hide"]
    assert body == HideBody(conv, msg.id)  # told to my devices only (self conversation)
    assert "hide" not in [k for _, k, _ in me.mine(conv)]  # nothing in the chat with bob


async def test_a_hide_from_my_other_device_before_the_message_hides_it(me: Me) -> None:
    bob, conv = contact(me)
    laptop = other_device(me.node.identity, "my-laptop")
    me.knows(laptop)
    msg = bob.event(conv, Msg("hide me"))
    apply(me, [laptop.event(me.core.convs.self_conv, HideBody(conv, msg.id))])
    apply(me, [msg])
    assert me.db.message_by_id(msg.id) is None and me.db.search("hide") == []


# -- contact cards ----------------------------------------------------------------------------


async def test_a_card_is_a_bubble_and_a_request_from_it_is_introduced_by_its_sender(
    me: Me,
) -> None:
    bob, conv = contact(me)
    carol = person("carol")
    card = bob.event(conv, CardBody(carol.user, "carol"))
    apply(me, [card])
    row = me.db.message_by_id(card.id)
    assert row is not None and not row.outgoing
    details = me.core.actions.details([row])[card.id]
    assert details["card"] == {"user_id": carol.user.hex(), "name": "carol", "contact": None,
                               "key_changed": False, "me": False}
    info = await me.core.actions.request_from_card(conv, card.id.hex())
    assert (info.state, info.verified) == (PENDING_OUT, False)
    assert me.db.introduced_by(carol.user) == bob.user
    to_carol = me.core.convs.direct(carol.user)
    assert [k for _, k, _ in me.mine(to_carol)] == ["contact"]
    with pytest.raises(UserError, match="already a contact"):
        await me.core.actions.request_from_card(conv, card.id.hex())


async def test_a_card_with_a_known_name_and_another_key_warns_as_for_a_key_change(
    me: Me,
) -> None:
    bob, conv = contact(me)
    contact(me, "carol")  # the carol I know
    impostor = person("carol")
    card = bob.event(conv, CardBody(impostor.user, "carol"))
    apply(me, [card])
    row = me.db.message_by_id(card.id)
    assert row is not None
    assert me.core.actions.details([row])[card.id]["card"]["key_changed"] is True
    with pytest.raises(UserError, match="WARNING.*different identity key"):
        await me.core.actions.request_from_card(conv, card.id.hex())
    info = await me.core.actions.request_from_card(conv, card.id.hex(), trust_new_key=True)
    assert info.state == PENDING_OUT


@pytest.mark.parametrize("body", [
    CardBody(b"\x00" * 32, "carol"),  # not a point of the curve
    CardBody(b"\x01" * 31, "carol"),
    CardBody(person("x").user, ""),
    CardBody(person("x").user, "evil\u202ename"),
])
def test_a_card_with_an_invalid_key_or_name_is_malformed(body: CardBody) -> None:
    import msgspec

    with pytest.raises(RemoteProtocolError, match="malformed card"):
        CARD.decode(msgspec.msgpack.encode(body))


async def test_i_share_a_contact_and_only_a_contact(me: Me) -> None:
    bob, conv = contact(me)
    carol, _ = contact(me, "carol")
    row = await me.core.actions.share_contact(conv, carol.user)
    assert row.outgoing and row.text == "carol"
    assert me.db.cards([row.event_id])[row.event_id].user_id == carol.user
    with pytest.raises(UserError, match="only a contact"):
        await me.core.actions.share_contact(conv, person("dave").user)
    with pytest.raises(UserError, match="writing to"):
        await me.core.actions.share_contact(conv, bob.user)


# -- disappearing messages --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("off", 0), ("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1w", 604800),
    ("1h30m", 5400), (" 2D ", 172800),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 minutes", "-5m", "0s", "5y", "99w"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UserError):
        parse_duration(text)


def test_described_durations() -> None:
    assert [describe(s) for s in (0, 300, 3600, 93600)] == [
        "off", "5 minutes", "1 hour", "1 day 2 hours"]


async def test_the_newest_timer_is_in_force_and_every_message_carries_it(me: Me) -> None:
    bob, conv = contact(me)
    apply(me, [bob.event(conv, TimerBody(3600), lamport=5)])
    assert me.emitted(TimerChanged)[-1].conv == conv
    t = me.core.actions.timer(conv)
    assert t is not None and (t.timer, t.by_user) == (3600, bob.user)
    row = await me.node.send_message(bob.user.hex(), "now you see me")
    assert row is not None and row.timer == 3600
    assert row.expires_at == row.time + 3600 * 1000  # the sender counts from sending
    await me.core.actions.set_timer(conv, 300)
    apply(me, [bob.event(conv, TimerBody(0), lamport=2)])  # older: does not win
    t = me.core.actions.timer(conv)
    assert t is not None and (t.timer, t.by_user) == (300, me.user)
    assert [c.timer for c in me.db.timer_changes(conv)] == [0, 3600, 300]
    with pytest.raises(UserError, match="already"):
        await me.core.actions.set_timer(conv, 300)


async def test_the_reader_counts_from_the_first_read_on_any_of_their_devices(me: Me) -> None:
    bob, conv = contact(me)
    laptop = other_device(me.node.identity, "my-laptop")
    me.knows(laptop)
    a = bob.event(conv, Msg("one", b"", 600))
    b = bob.event(conv, Msg("two", b"", 600))
    apply(me, [a, b])
    row = me.db.message_by_id(a.id)
    assert row is not None and row.expires_at is None  # unread: not counting yet
    read_at = NOW() - 1000
    apply(me, [laptop.event(conv, ReceiptBody("read", bob.device, 1), time_ms=read_at)])
    row = me.db.message_by_id(a.id)
    assert row is not None and row.expires_at == read_at + 600 * 1000
    other = me.db.message_by_id(b.id)
    assert other is not None and other.expires_at is None
    apply(me, [laptop.event(me.core.convs.self_conv, ReadBody(conv, bob.device, 2),
                            time_ms=read_at + 5)])
    other = me.db.message_by_id(b.id)
    assert other is not None and other.expires_at == read_at + 5 + 600 * 1000


async def test_reading_here_starts_the_clock(me: Me) -> None:
    bob, conv = contact(me)
    msg = bob.event(conv, Msg("read me", b"", 60))
    apply(me, [msg])
    before = NOW()
    await me.node.mark_read(bob.user)
    row = me.db.message_by_id(msg.id)
    assert row is not None and row.expires_at is not None
    assert before + 60_000 <= row.expires_at <= NOW() + 60_000


async def test_a_message_that_arrives_already_expired_is_erased_as_it_arrives(me: Me) -> None:
    bob, conv = contact(me)
    phone = other_device(me.node.identity, "my-phone")
    me.knows(phone)
    sent = NOW() - 120_000
    mine = phone.event(conv, Msg("gone in 60 seconds", b"", 60), time_ms=sent)
    apply(me, [mine])
    assert me.db.message_by_id(mine.id) is None and me.db.search("seconds") == []
    assert body_erased(me, conv, phone.device, mine.event.seq)
    assert me.db.gone_reason(mine.id) == "expired"
    assert all(not e.messages for e in me.emitted(MessagesAdded) if e.conv == conv)


async def test_the_expiry_task_erases_a_message_when_its_time_is_up(me: Me) -> None:
    bob, conv = contact(me)
    phone = other_device(me.node.identity, "my-phone")
    me.knows(phone)
    msg = phone.event(conv, Msg("short-lived", b"", 1), time_ms=NOW() - 700)
    gone = asyncio.Event()
    me.node.subscribe(lambda e: gone.set() if isinstance(e, MessagesChanged)
                      and msg.id in e.ids else None)
    apply(me, [msg])
    row = me.db.message_by_id(msg.id)
    assert row is not None and row.text == "short-lived"
    await asyncio.wait_for(gone.wait(), 30)
    assert me.db.message_by_id(msg.id) is None and me.db.search("lived") == []


async def test_what_expired_while_the_node_was_off_is_erased_at_start(tmp_path: Path) -> None:
    me = await start_me(tmp_path)
    bob, conv = contact(me)
    msg = bob.event(conv, Msg("while you were away", b"", 3600))
    apply(me, [msg])
    await me.node.mark_read(bob.user)
    await me.node.stop()
    db = Store(tmp_path / "alice" / "kith.db")
    db.execute("UPDATE messages SET expires_at = 1 WHERE event_id = ?", (msg.id,))
    db._conn.commit()
    db.close()
    me = await start_me(tmp_path)
    try:
        assert me.db.message_by_id(msg.id) is None
        assert me.db.search("away") == []
        assert body_erased(me, conv, bob.device, msg.event.seq)
    finally:
        await me.node.stop()
