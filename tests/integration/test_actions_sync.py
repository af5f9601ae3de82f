"""Message actions between real nodes on loopback: alice, bob and bob's laptop (a second
device of bob). Edits, reactions and unsend reach every device; a device that was away
while a message was unsent or expired never brings it back; search finds none of its
words on any device."""

from __future__ import annotations

from nodekit import add_device, befriend, until

from kith.p2p.node import Node
from kith.storage import STATUS_DELIVERED


def has(node: Node, event_id: bytes) -> bool:
    return node.db.message_by_id(event_id) is not None


def bodies_of(node: Node, event_id: bytes) -> list[bytes | None]:
    """The stored bodies of the events of the log holding ``event_id``'s message."""
    row = node.db.message_by_id(event_id)
    if row is None:
        return []
    return [b for _, b in node.db.events_after(row.conv, row.author, row.seq - 1, 1)]


async def three(nodes, tmp_path) -> tuple[Node, Node, Node]:
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    laptop = await nodes("bob", profile=add_device(tmp_path, "bob", "bob-laptop"))
    await laptop.connect("127.0.0.1", bob.port)
    await laptop.connect("127.0.0.1", alice.port)
    await until(lambda: [c.state for c in laptop.contacts()] == ["accepted"], laptop, bob)
    return alice, bob, laptop


async def test_edits_reactions_and_unsend_reach_every_device(nodes, tmp_path) -> None:
    alice, bob, laptop = await three(nodes, tmp_path)
    conv = alice.conv_with(bob.user_id)
    row = await bob.send_message("alice", "meet at the station at 7")
    mid = row.event_id
    await until(lambda: has(alice, mid) and has(laptop, mid), alice, laptop)

    # Bob edits it from his laptop; alice reacts; everybody sees both.
    await laptop.actions.edit(conv, mid.hex(), "meet at the station at 8")
    await alice.actions.react(conv, mid.hex()[:8], "\U0001f44d")
    everyone = (alice, bob, laptop)

    def settled() -> bool:
        return all(
            (n.db.message_by_id(mid) or row).text == "meet at the station at 8"
            and n.db.reactions([mid]) == {mid: [("\U0001f44d", alice.user_id)]}
            for n in everyone
        )

    await until(settled, *everyone, timeout=15)
    # Alice replies; the quote on bob's laptop is drawn from the target.
    reply = await alice.actions.reply(conv, mid.hex(), "see you then")
    await until(lambda: has(laptop, reply.event_id), laptop)
    got = laptop.db.message_by_id(reply.event_id)
    assert got is not None
    quote = laptop.actions.quote(got)
    assert quote is not None and quote.text == "meet at the station at 8"

    # Bob unsends it from the laptop (he sent it from his other device).
    await laptop.actions.unsend(conv, mid.hex())
    await until(lambda: all((n.db.message_by_id(mid) or row).unsent for n in everyone),
                *everyone, timeout=15)
    for n in everyone:
        assert n.db.search("station") == [] and n.db.search("meet") == []
        assert bodies_of(n, mid) == [None]
        assert n.db.reactions([mid]) == {} and n.db.versions(mid) == []
    quote = laptop.actions.quote(got)
    assert quote is not None and quote.unsent and quote.text == ""


async def test_a_device_away_during_an_unsend_does_not_bring_the_text_back(
    nodes, tmp_path
) -> None:
    alice, bob, laptop = await three(nodes, tmp_path)
    conv = alice.conv_with(bob.user_id)
    row = await alice.send_message("bob", "the surprise party is on friday")
    mid = row.event_id
    await until(lambda: has(bob, mid) and has(laptop, mid), bob, laptop)
    await nodes.stop(laptop)  # away, with the text

    await alice.actions.unsend(conv, mid.hex())
    await until(lambda: (bob.db.message_by_id(mid) or row).unsent, bob)

    laptop = await nodes("bob", profile="bob-laptop")  # back: it syncs with both
    await laptop.connect("127.0.0.1", bob.port)
    await laptop.connect("127.0.0.1", alice.port)
    await until(lambda: (laptop.db.message_by_id(mid) or row).unsent, laptop, timeout=15)
    after = await alice.send_message("bob", "nothing to see here")
    await until(lambda: has(laptop, after.event_id) and has(bob, after.event_id),
                laptop, bob, timeout=15)  # (everything it had to say was said)
    for n in (alice, bob, laptop):
        m = n.db.message_by_id(mid)
        assert m is not None and (m.text, m.unsent) == ("", True)
        assert n.db.search("surprise") == [] and n.db.search("friday") == []
        assert bodies_of(n, mid) == [None]


async def test_a_device_away_while_a_message_expired_erases_it_at_start(
    nodes, tmp_path
) -> None:
    alice, bob, laptop = await three(nodes, tmp_path)
    conv = alice.conv_with(bob.user_id)
    await alice.actions.set_timer(conv, 2)
    await until(lambda: (laptop.actions.timer(conv) or None) is not None, laptop)
    row = await alice.send_message("bob", "this will self-destruct")
    mid = row.event_id
    assert row.timer == 2 and row.expires_at == row.time + 2000
    await until(lambda: has(bob, mid) and has(laptop, mid), bob, laptop)
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    await bob.mark_read(alice.user_id)  # bob's clock starts now, on both his devices
    await until(lambda: (laptop.db.message_by_id(mid) or row).expires_at is not None,
                laptop, timeout=15)
    await nodes.stop(laptop)  # off before it is due

    await until(lambda: not has(alice, mid) and not has(bob, mid), alice, bob, timeout=30)
    laptop = await nodes("bob", profile="bob-laptop")  # due while it was off
    assert not has(laptop, mid)
    await laptop.connect("127.0.0.1", bob.port)
    await laptop.connect("127.0.0.1", alice.port)
    await alice.actions.set_timer(conv, 0)  # (what follows stays, however slow the machine)
    after = await alice.send_message("bob", "still here")
    await until(lambda: has(laptop, after.event_id), laptop, timeout=15)
    for n in (alice, bob, laptop):
        assert not has(n, mid)
        assert n.db.search("destruct") == []
        assert n.db.gone_reason(mid) == "expired"
    assert after.timer == 0 and [t.timer for t in laptop.db.timer_changes(conv)] == [2, 0]
