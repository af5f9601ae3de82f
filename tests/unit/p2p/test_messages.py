"""p2p.messages, sans-IO: events in through the kinds, rows, marks, answering receipts
and node events out."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from corekit import Author, Me, apply, me_fixture, other_device, person, start_me
from eventkit import body_of

from kith.p2p.api import ACCEPTED, MessagesAdded, StatusChanged
from kith.p2p.messages import BULK_MESSAGES, ReadBody, ReceiptBody
from kith.p2p.messages import MessageBody as Msg
from kith.p2p.profile import DB_FILE
from kith.storage import STATUS_DELIVERED, STATUS_READ, STATUS_RECEIVED, Store
from kith.storage.messages import SEARCH_BATCH

__all__ = ["me_fixture"]


def _contact(me: Me, name: str = "bob") -> tuple[Author, bytes]:
    who = person(name)
    me.knows(who)
    me.core.contacts.save(who.user, name=name, state=ACCEPTED)
    return who, me.core.convs.direct(who.user)


async def _send(me: Me, conv: bytes, *texts: str) -> None:
    for t in texts:
        me.core.log.append(conv, Msg(t))
    await me.core.log.commit()


async def test_incoming_messages_become_rows_and_one_added_event_per_conversation(
    me: Me,
) -> None:
    bob, conv = _contact(me)
    apply(me, [bob.event(conv, Msg("hi")), bob.event(conv, Msg("there"))])
    rows = me.db.messages(conv)
    assert [(m.text, m.outgoing, m.status, m.sender, m.author, m.seq) for m in rows] == [
        ("hi", False, STATUS_RECEIVED, bob.user, bob.device, 1),
        ("there", False, STATUS_RECEIVED, bob.user, bob.device, 2),
    ]
    [added] = me.emitted(MessagesAdded)
    assert added.conv == conv and [m.text for m in added.messages] == ["hi", "there"]


async def test_one_delivery_receipt_per_log_is_written_with_the_messages(me: Me) -> None:
    bob, conv = _contact(me)
    bob_phone = other_device(bob.identity, "bob-phone")
    me.knows(bob_phone)
    carol, conv_c = _contact(me, "carol")
    mine = apply(me, [
        bob.event(conv, Msg("1")), bob.event(conv, Msg("2")), bob.event(conv, Msg("3")),
        bob_phone.event(conv, Msg("from the phone")), carol.event(conv_c, Msg("c")),
    ])
    receipts = {(e.conv, b.author, b.seq, b.status) for e in mine for b in [body_of(e)]
                if isinstance(b, ReceiptBody)}
    assert len(receipts) == len(mine)
    assert receipts == {
        (conv, bob.device, 3, "delivered"), (conv, bob_phone.device, 1, "delivered"),
        (conv_c, carol.device, 1, "delivered"),
    }
    # Stored in the same write as what they acknowledge (not queued for later).
    assert [(s, b) for s, _, b in me.mine(conv)] == [
        (1, ReceiptBody("delivered", bob.device, 3)),
        (2, ReceiptBody("delivered", bob_phone.device, 1)),
    ]
    assert [b for _, _, b in me.mine(conv_c)] == [ReceiptBody("delivered", carol.device, 1)]


async def test_receipts_written_with_their_batch_start_no_group_commit(me: Me) -> None:
    bob, conv = _contact(me)
    log = me.core.log
    apply(me, [bob.event(conv, Msg("hi"))])
    assert [b for _, _, b in me.mine(conv)] == [ReceiptBody("delivered", bob.device, 1)]
    assert log._flusher is None or log._flusher.done()  # (it would find nothing to do)
    me.node.queue_message(bob.user, "and ours")  # our own event still starts one
    assert log._flusher is not None and not log._flusher.done()


def _fail_messages(me: Me, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(rows: object, **kw: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(me.db, "insert_messages", full)


async def test_a_failed_write_keeps_neither_messages_nor_receipts(
    me: Me, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob, conv = _contact(me)
    e = bob.event(conv, Msg("hi"))
    _fail_messages(me, monkeypatch)
    with pytest.raises(sqlite3.OperationalError):
        apply(me, [e])
    assert me.stored(conv, bob.device) == [] and me.mine(conv) == []
    assert me.db.messages(conv) == []
    assert me.emitted(MessagesAdded) == []


async def test_after_a_failed_write_no_receipt_outlives_what_it_acknowledges(
    me: Me, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob, conv = _contact(me)
    e = bob.event(conv, Msg("hi"))
    _fail_messages(me, monkeypatch)
    with pytest.raises(sqlite3.OperationalError):
        apply(me, [e])
    monkeypatch.undo()
    await me.core.log.commit()  # the group commit of whatever is still queued
    assert me.mine(conv) == [], "a receipt was stored without the message it acknowledges"
    apply(me, [e])  # the peer sends it again
    assert [m.text for m in me.db.messages(conv)] == ["hi"]
    assert [b for _, _, b in me.mine(conv)] == [ReceiptBody("delivered", bob.device, 1)]


async def test_messages_relayed_by_my_own_device_get_no_receipt(me: Me) -> None:
    bob, conv = _contact(me)
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    mine = apply(me, [bob.event(conv, Msg("hi")), bob.event(conv, Msg("ho"))], via=laptop)
    assert mine == []
    assert me.mine(conv) == []
    assert [m.text for m in me.db.messages(conv)] == ["hi", "ho"]


async def test_my_message_from_my_other_device_is_outgoing_and_not_acknowledged(me: Me) -> None:
    bob, conv = _contact(me)
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    assert apply(me, [laptop.event(conv, Msg("sent on the laptop"))]) == []
    [row] = me.db.messages(conv)
    assert (row.text, row.outgoing, row.sender, row.author) == (
        "sent on the laptop", True, me.user, laptop.device,
    )


async def test_receipts_move_the_marks_of_my_messages(me: Me) -> None:
    bob, conv = _contact(me)
    await _send(me, conv, "a", "b", "c")
    mine = me.core.device_id
    apply(me, [bob.event(conv, ReceiptBody("delivered", mine, 2))])
    assert me.db.mark(conv, mine) == (2, 0)
    assert [m.status for m in me.db.messages(conv)] == [
        STATUS_DELIVERED, STATUS_DELIVERED, 0,
    ]
    apply(me, [bob.event(conv, ReceiptBody("read", mine, 3))])
    assert me.db.mark(conv, mine) == (3, 3)
    assert [m.status for m in me.db.messages(conv)] == [STATUS_READ] * 3
    assert [(s.author, s.up_to_seq, s.status) for s in me.emitted(StatusChanged)] == [
        (mine, 2, STATUS_DELIVERED), (mine, 3, STATUS_READ),
    ]


async def test_a_late_lower_receipt_moves_nothing_and_says_nothing(me: Me) -> None:
    bob, conv = _contact(me)
    await _send(me, conv, "a", "b")
    mine = me.core.device_id
    apply(me, [bob.event(conv, ReceiptBody("read", mine, 2))])
    apply(me, [bob.event(conv, ReceiptBody("delivered", mine, 1))])
    assert me.db.mark(conv, mine) == (2, 2)
    assert len(me.emitted(StatusChanged)) == 1


async def test_my_other_devices_receipts(me: Me) -> None:
    """My laptop's delivery receipt for bob's message tells me nothing; its read receipt
    means I read them there."""
    bob, conv = _contact(me)
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    apply(me, [bob.event(conv, Msg("1")), bob.event(conv, Msg("2"))])
    apply(me, [laptop.event(conv, ReceiptBody("delivered", bob.device, 2))], via=laptop)
    assert me.db.mark(conv, bob.device) == (0, 0)
    apply(me, [laptop.event(conv, ReceiptBody("read", bob.device, 1))], via=laptop)
    assert me.db.mark(conv, bob.device) == (1, 1)
    assert [m.status for m in me.db.messages(conv)] == [STATUS_READ, STATUS_RECEIVED]


async def test_the_read_kind_moves_the_read_mark(me: Me) -> None:
    bob, conv = _contact(me)
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    apply(me, [bob.event(conv, Msg("1")), bob.event(conv, Msg("2"))])
    assert me.db.unread_count(conv) == 2
    apply(me, [laptop.event(me.core.convs.self_conv, ReadBody(conv, bob.device, 2))],
          via=laptop)
    assert me.db.mark(conv, bob.device)[1] == 2
    assert me.db.unread_count(conv) == 0
    assert me.emitted(StatusChanged)[-1] == StatusChanged(conv, bob.device, 2, STATUS_READ)


@pytest.mark.parametrize("receipts", [True, False])
async def test_mark_read_tells_the_sender_or_only_my_devices(me: Me, receipts: bool) -> None:
    bob, conv = _contact(me)
    me.db.set_setting("read_receipts", receipts)
    apply(me, [bob.event(conv, Msg("1")), bob.event(conv, Msg("2"))])
    await me.node.mark_read(bob.user)
    assert me.db.mark(conv, bob.device)[1] == 2
    sent_to_bob = [b for _, _, b in me.mine(conv) if isinstance(b, ReceiptBody)]
    to_my_devices = [b for _, _, b in me.mine(me.core.convs.self_conv)]
    if receipts:
        assert ReceiptBody("read", bob.device, 2) in sent_to_bob
        assert to_my_devices == []
    else:
        assert [b.status for b in sent_to_bob] == ["delivered"]
        assert to_my_devices == [ReadBody(conv, bob.device, 2)]


async def test_a_contacts_receipt_about_their_own_messages_moves_no_mark(me: Me) -> None:
    bob, conv = _contact(me)
    apply(me, [bob.event(conv, Msg("1")), bob.event(conv, Msg("2"))])
    apply(me, [bob.event(conv, ReceiptBody("read", bob.device, 2))])
    assert me.db.unread_count(conv) == 2
    assert me.db.mark(conv, bob.device) == (0, 0)


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_a_history_batch_is_searchable_at_once_and_indexed_when_quiet(me: Me) -> None:
    bob, conv = _contact(me)
    n = BULK_MESSAGES + 50
    apply(me, [bob.event(conv, Msg(f"history{i}z line")) for i in range(n)])
    assert len(me.db.messages(conv, limit=n)) == n
    assert me.db.search_pending()  # (a history sync's batch: indexed after the sync)
    [added] = me.emitted(MessagesAdded)
    assert len(added.messages) == n
    # The index fills by itself once the batches stop coming...
    assert await _until(lambda: not me.db.search_pending())
    assert [m.text for m in me.db.search("history7z")] == ["history7z line"]
    assert len(me.db.search("line", limit=2 * n)) == n


async def test_a_search_finds_a_history_batch_before_the_index_fills(me: Me) -> None:
    bob, conv = _contact(me)
    apply(me, [bob.event(conv, Msg(f"early{i}z")) for i in range(BULK_MESSAGES)])
    assert me.db.search_pending()
    assert [m.text for m in me.db.search("early3z")] == ["early3z"]
    assert not me.db.search_pending()


def _indexed(me: Me, word: str) -> int:
    (n,) = me.db.execute(
        "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (word,))[0]
    return int(n)


async def test_live_messages_go_into_the_index_in_batches_and_when_quiet(me: Me) -> None:
    bob, conv = _contact(me)
    apply(me, [bob.event(conv, Msg("live0z"))])
    # (one index segment per SEARCH_BATCH messages, not one per commit)
    assert me.db.search_pending() and _indexed(me, "live0z") == 0
    for i in range(1, SEARCH_BATCH):  # one commit each, as live traffic comes
        apply(me, [bob.event(conv, Msg(f"live{i}z"))])
    assert not me.db.search_pending()  # (the batch's last write indexed them all)
    assert _indexed(me, "live0z") == 1 and _indexed(me, f"live{SEARCH_BATCH - 1}z") == 1
    apply(me, [bob.event(conv, Msg("quiet1z"))])
    assert me.db.search_pending()
    assert await _until(lambda: not me.db.search_pending())  # the chat went quiet
    assert _indexed(me, "quiet1z") == 1


async def test_a_search_finds_a_live_message_that_waits_for_the_index(me: Me) -> None:
    bob, conv = _contact(me)
    apply(me, [bob.event(conv, Msg("fresh1z line"))])
    assert me.db.search_pending()
    assert [m.text for m in me.db.search("fresh1z")] == ["fresh1z line"]


async def test_what_waits_for_the_index_goes_in_at_stop(tmp_path: Path) -> None:
    me = await start_me(tmp_path)
    try:
        bob, conv = _contact(me)
        apply(me, [bob.event(conv, Msg(f"stop{i}z")) for i in range(BULK_MESSAGES)])
        assert me.db.search_pending()
    finally:
        await me.node.stop()
    store = Store(tmp_path / "alice" / DB_FILE)
    try:
        assert not store.search_pending()
        (n,) = store.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'stop9z'")[0]
        assert n == 1
    finally:
        store.close()


async def test_a_start_fills_what_a_crash_left_for_the_index(tmp_path: Path) -> None:
    me = await start_me(tmp_path)
    bob, conv = _contact(me)
    me.core.messages.index_search = lambda: None  # type: ignore[method-assign]
    apply(me, [bob.event(conv, Msg(f"crash{i}z")) for i in range(BULK_MESSAGES)])
    await me.node.stop()  # (as a killed process: nothing indexed, neither later nor at stop)
    store = Store(tmp_path / "alice" / DB_FILE)
    try:
        assert store.search_pending()
    finally:
        store.close()
    again = await start_me(tmp_path)
    try:
        assert await _until(lambda: not again.db.search_pending())
        (n,) = again.db.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'crash9z'")[0]
        assert n == 1
    finally:
        await again.node.stop()


async def test_my_message_leaves_before_it_is_announced_a_received_one_shows_first(
    me: Me, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The app's listeners (models, sidebar) take milliseconds: a message I send leaves
    # before they run; a message I receive is shown before its receipt and relay go.
    bob, conv = _contact(me)
    order: list[str] = []
    monkeypatch.setattr(me.core.repl, "push", lambda new, source=None: order.append(
        "push " + ",".join(sorted({body_of(e).__class__.__name__ for e in new}))))
    me.node.subscribe(lambda e: order.append("announce")
                      if isinstance(e, MessagesAdded) else None)
    apply(me, [bob.event(conv, Msg("hi"))])
    assert order == ["announce", "push MessageBody", "push ReceiptBody"]
    order.clear()
    await _send(me, conv, "hello")
    assert order == ["push MessageBody", "announce"]
    assert [m.text for m in me.emitted(MessagesAdded)[-1].messages] == ["hello"]


async def test_what_is_emitted_inside_emits_after_comes_after_the_block_in_order(me: Me) -> None:
    seen: list[str] = []
    me.node.subscribe(lambda e: seen.append(type(e).__name__))
    with me.core.emits_after():
        me.core.emit(StatusChanged(b"c" * 32, b"a" * 32, 1, STATUS_DELIVERED))
        with me.core.emits_after():  # (re-entered: held for the outer block)
            me.core.emit(MessagesAdded(b"c" * 32, []))
        assert seen == []
    assert seen == ["StatusChanged", "MessagesAdded"]
