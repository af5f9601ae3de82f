"""Delete chat between real nodes on loopback: alice, bob and bob's laptop. Bob deletes
his chat with alice on one device: it is gone from both of his (with its files), never
comes back with a device that was away, alice keeps hers, and her next message brings the
chat back with only that message. Unsend erases a message's file on every device."""

from __future__ import annotations

from pathlib import Path

from nodekit import until
from test_actions_sync import has, three
from test_files import make_file

from kith.p2p.node import Node


def stored_messages(node: Node, conv: bytes) -> int:
    [(n,)] = node.db.execute(
        "SELECT count(*) FROM events WHERE conv = ? AND kind = 'message'", (conv,)
    )
    return int(n)


async def test_delete_chat_on_one_device_deletes_it_on_all_of_mine(nodes, tmp_path) -> None:
    alice, bob, laptop = await three(nodes, tmp_path)
    conv = alice.conv_with(bob.user_id)
    first = await alice.send_message("bob", "the first secret")
    photo = make_file(tmp_path / "photo.jpg", 3000)
    e = await alice.files.send(bob.user_id, "a photo", [photo])
    await alice.flush()
    fid = alice.db.attachments(conv)[-1].file
    await until(lambda: all(n.files.disk.complete(fid) for n in (bob, laptop)),
                bob, laptop, timeout=15)
    await nodes.stop(laptop)  # away: it missed what follows
    away = await alice.send_message("bob", "sent while the laptop was off")
    await until(lambda: has(bob, away.event_id), bob)

    assert await bob.actions.delete_chat(conv) == 3
    assert bob.db.messages(conv) == [] and bob.db.search("secret") == []
    assert bob.db.file(fid) is None and not bob.files.disk.path(fid).exists()
    assert bob.db.execute(  # (the heads stay: chains verify and sync)
        "SELECT count(*), count(body) FROM events WHERE conv = ? AND kind = 'message'", (conv,)
    ) == [(3, 0)]

    laptop = await nodes("bob", profile="bob-laptop")  # back: it hears of the delete, and
    await laptop.connect("127.0.0.1", bob.port)  # gets the message it missed from alice
    await laptop.connect("127.0.0.1", alice.port)
    await until(lambda: stored_messages(laptop, conv) == 3 and laptop.db.chat_cut(conv) > 0,
                laptop, timeout=15)
    assert laptop.db.messages(conv) == [] and laptop.db.search("laptop") == []
    assert laptop.db.file(fid) is None and not laptop.files.disk.path(fid).exists()

    again = await alice.send_message("bob", "are you still there?")
    await until(lambda: has(bob, again.event_id) and has(laptop, again.event_id),
                bob, laptop, timeout=15)
    for n in (bob, laptop):
        assert [m.text for m in n.db.messages(conv)] == ["are you still there?"]
    assert [m.text for m in alice.db.messages(conv)] == [
        "the first secret", "a photo", "sent while the laptop was off", "are you still there?"]
    assert alice.files.disk.complete(fid)  # (the other person's chat is theirs)
    assert first.event_id and e.id


async def test_unsend_erases_the_file_on_every_device(nodes, tmp_path: Path) -> None:
    alice, bob, laptop = await three(nodes, tmp_path)
    conv = alice.conv_with(bob.user_id)
    e = await alice.files.send(bob.user_id, "oops", [make_file(tmp_path / "x.bin", 5000)])
    await alice.flush()
    fid = alice.db.attachments(conv)[-1].file
    row = alice.db.message_at(conv, e.event.author, e.event.seq)
    assert row is not None
    await until(lambda: all(n.files.disk.complete(fid) for n in (bob, laptop)),
                bob, laptop, timeout=15)
    await alice.actions.unsend(conv, row.event_id.hex())
    everyone = (alice, bob, laptop)
    await until(lambda: all(n.db.file(fid) is None for n in everyone), *everyone, timeout=15)
    for n in everyone:
        assert not n.files.disk.path(fid).exists() and n.db.attachments(conv) == []
