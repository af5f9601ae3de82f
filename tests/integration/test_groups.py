"""Group chats with several nodes in one process: creation, fan-out, relay, add with and
without history, removal, leave, rename, roles, two devices of one member, bad input."""

from __future__ import annotations

import pytest
from nodekit import add_device, befriend, until

from kith.p2p.errors import UserError
from kith.p2p.messages import MessageBody
from kith.storage import STATUS_DELIVERED, STATUS_READ


def texts(node, conv):
    return [m.text for m in node.db.messages(conv, limit=1000)]


def member_names(node, conv):
    g = node.core.groups.get(conv)
    return sorted(node.core.groups.name_of(u, g) for u in g.state.members) if g else []


async def friends(a, *others):
    """Make ``a`` an accepted contact of each of ``others``."""
    for b in others:
        await befriend(a, b)
        await until(lambda b=b: a.core.contacts.accepted(b.user_id)
                    and b.core.contacts.accepted(a.user_id), a, b)


async def trio(nodes):
    alice, bob, carol = await nodes("alice"), await nodes("bob"), await nodes("carol")
    await friends(alice, bob, carol)
    return alice, bob, carol


async def test_create_fan_out_and_receipts(nodes):
    alice, bob, carol = await trio(nodes)
    info = await alice.create_group("Board games", ["bob", "carol"])
    assert info.name == "Board games" and info.role == "owner"
    conv = info.id
    await until(lambda: bob.core.groups.get(conv) and carol.core.groups.get(conv),
                alice, bob, carol)
    assert member_names(bob, conv) == ["alice", "bob", "carol"]
    assert bob.group("Board").role == "member"

    row = await alice.send_to("Board games", "who brings Catan?")
    await until(lambda: texts(bob, conv) == ["who brings Catan?"]
                and texts(carol, conv) == ["who brings Catan?"], alice, bob, carol)
    # Delivered once every member holds it; read by n of m.
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    await bob.mark_read_in(conv)
    await until(lambda: [s for _, s in alice.core.groups.receipts_of(conv, row.author, row.seq)]
                .count("read") == 1, alice, bob)
    assert alice.db.message_at(conv, row.author, row.seq).status_name == "delivered"
    await carol.mark_read_in(conv)
    assert await alice.wait_status(row, STATUS_READ, 10)

    # Bob and Carol are not contacts: each sees the other's messages under their name.
    await bob.send_to("Board games", "me")
    await until(lambda: texts(carol, conv)[-1:] == ["me"], alice, bob, carol)
    m = carol.db.messages(conv)[-1]
    assert m.sender == bob.user_id
    assert carol.core.groups.name_of(bob.user_id, carol.core.groups.get(conv)) == "bob"
    assert not [x for x in carol.group(conv.hex()).members if x.name == "bob"][0].contact


async def test_relay_to_a_returning_member_via_bob(nodes):
    alice, bob, carol = await trio(nodes)
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await until(lambda: carol.core.groups.get(conv) is not None, alice, carol)
    carol_port = carol.port
    await nodes.stop(carol)
    await alice.send_to("Board games", "Saturday at 8")
    await until(lambda: texts(bob, conv) == ["Saturday at 8"], alice, bob)
    await nodes.stop(alice)  # only Bob is around when Carol comes back
    carol = await nodes("carol", port=carol_port)
    await carol.connect("127.0.0.1", bob.port)  # (not contacts: they meet in the group)
    await until(lambda: texts(carol, conv) == ["Saturday at 8"], bob, carol)
    [m] = carol.db.messages(conv)
    assert m.sender == alice.user_id
    # Carol writes; Bob relays it on to Alice when she is back.
    await carol.send_to("Board games", "I'll be there")
    alice = await nodes("alice")
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: texts(alice, conv) == ["Saturday at 8", "I'll be there"], alice, bob)


async def test_add_without_and_with_history(nodes):
    alice, bob, carol = await trio(nodes)
    dave, erin = await nodes("dave"), await nodes("erin")
    await friends(alice, dave, erin)
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await alice.send_to(conv.hex(), "before dave")
    await until(lambda: texts(bob, conv) == ["before dave"], alice, bob)
    with pytest.raises(UserError, match="only the owner and admins"):
        await bob.core.groups.rename("Board games", "Bob's games")
    await until(lambda: texts(bob, conv) == ["before dave"], alice, bob)
    await alice.core.groups.add("Board games", ["dave"])
    await alice.send_to("Board games", "welcome dave")
    await until(lambda: texts(dave, conv) == ["welcome dave"], alice, dave)
    assert member_names(dave, conv) == ["alice", "bob", "carol", "dave"]
    # What came before his add reached Dave's device as heads only: no text to read.
    bodies = [b for _, b in dave.db.execute(
        "SELECT kind, body FROM events WHERE conv = ? AND kind = 'message'", (conv,))]
    assert len(bodies) == 2 and bodies.count(None) == 1
    assert all(b"before dave" not in (b or b"") for b in bodies)
    lines = [alice.core.groups.line_text(x) for x in dave.db.group_lines(conv)]
    assert "alice added you" in [dave.core.groups.line_text(x) for x in dave.db.group_lines(conv)]
    assert lines

    await alice.core.groups.set_history("Board games", True)
    await alice.core.groups.add("Board games", ["erin"])
    await until(lambda: texts(erin, conv) == ["before dave", "welcome dave"], alice, erin)
    # Bob sees everyone, and Dave's messages reach Bob though they are not contacts.
    await dave.send_to("Board games", "hi all")
    await until(lambda: texts(bob, conv)[-1:] == ["hi all"], alice, bob)


async def test_removal_refuses_later_events_and_carol_keeps_history(nodes):
    alice, bob, carol = await trio(nodes)
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await until(lambda: carol.core.groups.get(conv) is not None, alice, carol)
    await carol.send_to("Board games", "counts")
    await until(lambda: texts(bob, conv) == ["counts"], alice, bob, carol)
    await alice.core.groups.remove("Board games", ["carol"])
    await until(lambda: carol.group(conv.hex()).left, alice, carol)
    assert carol.group(conv.hex()).role is None
    assert "You were removed from the group by alice" in [
        carol.core.groups.line_text(x) for x in carol.db.group_lines(conv)]
    assert texts(carol, conv) == ["counts"]  # she keeps what she had
    with pytest.raises(UserError, match="removed from Board games by alice"):
        await carol.send_to("Board games", "still here?")
    # A modified client writes anyway: every member's device refuses it.
    carol.core.log.append(conv, MessageBody("sneaky"))
    await carol.flush()
    await alice.send_to("Board games", "after carol")
    await until(lambda: texts(bob, conv)[-1:] == ["after carol"], alice, bob)
    await carol.connect("127.0.0.1", bob.port)
    await until(lambda: bob.online(carol.user_id), bob, carol)
    await alice.send_to("Board games", "one more")
    await until(lambda: texts(bob, conv)[-1:] == ["one more"], alice, bob)
    assert "sneaky" not in texts(bob, conv) and "sneaky" not in texts(alice, conv)
    assert "one more" not in texts(carol, conv)  # her devices stop receiving
    # Added again, what she writes counts (her log goes on past the refused event, which
    # everyone keeps as a head only); the refused one still does not show.
    await alice.core.groups.add("Board games", ["carol"])
    await until(lambda: not carol.group(conv.hex()).left, alice, carol)
    await carol.send_to("Board games", "back")
    await until(lambda: texts(bob, conv)[-1:] == ["back"], alice, bob, carol)
    assert "sneaky" not in texts(bob, conv) + texts(alice, conv)


async def test_leave_rename_and_roles(nodes):
    alice, bob, carol = await trio(nodes)
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await until(lambda: bob.core.groups.get(conv) and carol.core.groups.get(conv),
                alice, bob, carol)
    with pytest.raises(UserError, match="only the owner"):
        await bob.core.groups.set_role("Board games", "carol", True)
    await alice.core.groups.set_role("Board games", "bob", True)
    await until(lambda: bob.group(conv.hex()).role == "admin", alice, bob)
    await bob.core.groups.rename("Board games", "Game night")
    await until(lambda: carol.group(conv.hex()).name == "Game night", bob, carol, alice)
    assert "bob renamed the group to 'Game night'" in [
        carol.core.groups.line_text(x) for x in carol.db.group_lines(conv)]
    await bob.core.groups.leave("Game night")
    await until(lambda: member_names(carol, conv) == ["alice", "carol"], alice, bob, carol)
    assert "bob left" in [alice.core.groups.line_text(x) for x in alice.db.group_lines(conv)]
    assert bob.group(conv.hex()).left


async def test_two_devices_of_one_member(nodes, tmp_path):
    alice, bob = await nodes("alice"), await nodes("bob")
    await friends(alice, bob)
    bob2 = await nodes(add_device(tmp_path, "bob", "bob-laptop"))
    await bob2.connect("127.0.0.1", bob.port)
    conv = (await alice.create_group("Board games", ["bob"])).id
    await alice.send_to("Board games", "to both devices")
    await until(lambda: texts(bob2, conv) == ["to both devices"], alice, bob, bob2)
    assert bob2.group("Board games").role == "member"
    await bob2.send_to("Board games", "from the laptop")
    await until(lambda: texts(alice, conv)[-1:] == ["from the laptop"], alice, bob, bob2)
    await until(lambda: texts(bob, conv)[-1:] == ["from the laptop"], bob, bob2)
    # ... and the read state: read on one device, read on the other.
    await alice.send_to("Board games", "read me")
    await until(lambda: texts(bob2, conv)[-1:] == texts(bob, conv)[-1:] == ["read me"],
                alice, bob, bob2)
    assert bob2.db.unread_count(conv) > 0
    await bob.mark_read_in(conv)
    await until(lambda: bob2.db.unread_count(conv) == 0, bob, bob2)


async def test_group_survives_restart(nodes):
    alice, bob, carol = await trio(nodes)
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await alice.core.groups.rename("Board games", "Game night")
    await nodes.stop(alice)
    alice = await nodes("alice")
    info = alice.group("Game night")
    assert info.id == conv and info.role == "owner" and len(info.members) == 3
    await alice.connect("127.0.0.1", bob.port)
    await alice.send_to("Game night", "still here")
    await until(lambda: texts(bob, conv) == ["still here"], alice, bob)


async def test_files_in_a_group(nodes, tmp_path):
    """A file sent in a group reaches every member: from a contact it downloads by
    itself, from a member who is not a contact it waits for a fetch, which any member's
    device that holds it can serve."""
    alice, bob, carol = await trio(nodes)  # bob and carol are not contacts
    info = await alice.create_group("Photos", ["bob", "carol"])
    conv = info.id
    await until(lambda: bob.core.groups.get(conv) and carol.core.groups.get(conv),
                alice, bob, carol)
    src = tmp_path / "plan.bin"
    src.write_bytes(bytes(range(256)) * 1000)
    e = await alice.files.send_in(conv, "the plan", [src])
    await alice.flush()
    (fid,) = [a.file for a in alice.db.message_attachments(conv, e.event.author, e.event.seq)]
    for member in (bob, carol):  # alice is a contact of both: it comes by itself
        assert await member.files.wait_complete(fid, 20)
    # bob sends one in the group: carol does not know bob, so it waits for her click
    other = tmp_path / "bobs.bin"
    other.write_bytes(b"b" * 200_000)
    e2 = await bob.files.send_in(conv, "", [other])
    await bob.flush()
    (fid2,) = [a.file for a in bob.db.message_attachments(conv, e2.event.author, e2.event.seq)]
    await until(lambda: carol.db.file(fid2) is not None, bob, carol)
    assert fid2 not in carol.files.transfers
    carol.files.start(fid2)
    assert await carol.files.wait_complete(fid2, 20)
    with pytest.raises(UserError, match="no such conversation"):
        await carol.files.send_in(b"\x00" * 32, "", [other])


async def test_typing_in_a_group(nodes):
    """Typing reaches the members' connected devices; only a current member's counts;
    the "send typing indicators" setting applies; nothing of it is stored."""
    from kith.p2p import wire

    alice, bob, carol = await trio(nodes)
    dave = await nodes("dave")
    await friends(alice, dave)  # Alice's contact, not in the group
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await until(lambda: bob.core.groups.get(conv) and carol.core.groups.get(conv),
                alice, bob, carol)
    await carol.connect("127.0.0.1", bob.port)  # (they meet in the group)
    await until(lambda: bob.online(carol.user_id), bob, carol)
    events_before = alice.db.count_events()

    bob.set_typing(conv, True)
    await until(lambda: alice.typing(conv) == [bob.user_id], alice, bob)
    carol.set_typing(conv, True)
    await until(lambda: alice.typing(conv) == sorted([bob.user_id, carol.user_id])
                and bob.typing(conv) == [carol.user_id], alice, bob, carol)
    bob.set_typing(conv, False)
    await until(lambda: alice.typing(conv) == [carol.user_id], alice, bob)
    assert alice.db.count_events() == events_before  # never stored

    # Someone who is not a member says they type in the group: not listed. (Dave's next
    # signal on the same connection shows the first one was handled.)
    dave.core.net.send_to_user(alice.user_id, wire.Typing(conv, True))
    dave.set_typing(alice.user_id, True)
    direct = alice.core.convs.direct(dave.user_id)
    await until(lambda: alice.typing(direct) == [dave.user_id], alice, dave)
    assert dave.user_id not in alice.typing(conv)

    # Typing indicators off: Bob's typing is not sent (his next signal, on the same
    # connection, arrives alone).
    bob.set_setting("typing_indicators", False)
    bob.set_typing(conv, True)
    bob.set_setting("typing_indicators", True)
    bob.set_typing(alice.user_id, True)
    await until(lambda: alice.typing(alice.core.convs.direct(bob.user_id)) == [bob.user_id],
                alice, bob)
    assert bob.user_id not in alice.typing(conv)

    # Removed, Carol's typing no longer counts.
    carol.set_typing(conv, True)
    await until(lambda: carol.user_id in alice.typing(conv), alice, carol)
    await alice.core.groups.remove("Board games", ["carol"])
    assert carol.user_id not in alice.typing(conv)
    await until(lambda: carol.group(conv.hex()).left, alice, carol)
    carol.core.net.send_to_user(alice.user_id, wire.Typing(conv, True))
    carol.set_typing(alice.user_id, True)  # (her next signal: the first was handled)
    await until(lambda: carol.user_id in alice.typing(alice.core.convs.direct(carol.user_id)),
                alice, carol)
    assert alice.typing(conv) == []


async def test_history_body_comes_from_a_holder_that_has_it(nodes):
    """Erin syncs the group from Dave, who was added without the history and holds what
    came before him as heads only; Alice shares the history: the text comes from her,
    who has it, when they meet (a want for the bodies of heads Erin may read), and Dave
    gets it too."""
    alice, bob, carol = await trio(nodes)
    dave, erin = await nodes("dave"), await nodes("erin")
    await friends(alice, dave)
    await befriend(dave, erin)
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await alice.send_to("Board games", "before dave")
    await until(lambda: texts(bob, conv) == ["before dave"], alice, bob)
    await alice.core.groups.add("Board games", ["dave"])
    await alice.core.groups.set_role("Board games", "dave", True)
    await until(lambda: dave.core.groups.get(conv) is not None
                and dave.group(conv.hex()).role == "admin" and dave.db.execute(
                    "SELECT count(*) FROM events WHERE conv = ? AND kind = 'message' "
                    "AND body IS NULL", (conv,))[0][0] == 1, alice, dave)
    dave_port, alice_port = dave.port, alice.port
    await nodes.stop(dave)
    await alice.core.groups.set_history("Board games", True)
    await nodes.stop(alice)
    dave = await nodes("dave", port=dave_port)
    await dave.connect("127.0.0.1", erin.port)
    await until(lambda: dave.online(erin.user_id), dave, erin)
    await dave.core.groups.add("Board games", ["erin"])  # Erin syncs from Dave only
    await until(lambda: erin.core.groups.get(conv) is not None and erin.db.execute(
        "SELECT count(*) FROM events WHERE conv = ? AND kind = 'message'", (conv,)
    )[0][0] == 1, dave, erin)
    assert texts(erin, conv) == []
    alice = await nodes("alice", port=alice_port)
    await erin.connect("127.0.0.1", alice.port)  # (they meet in the group)
    await until(lambda: texts(erin, conv) == ["before dave"], alice, erin)
    [m] = erin.db.messages(conv)
    assert m.sender == alice.user_id and not erin.core.groups.bodies.missing.get(conv)
    await alice.connect("127.0.0.1", dave.port)
    await until(lambda: texts(dave, conv) == ["before dave"], alice, dave)


async def test_a_removal_without_effect_shows_again_what_it_hid(nodes):
    """Dave (admin) removes Carol while Alice, concurrently, makes him a plain member
    again. Bob gets the removal first (Carol's later message goes from his chat), then
    Alice's demotion, which sorts first: the removal has no effect, and what it hid is
    shown again."""
    alice, bob, carol = await trio(nodes)
    dave = await nodes("dave")
    await friends(alice, dave)
    conv = (await alice.create_group("Board games", ["bob", "carol", "dave"])).id
    await alice.core.groups.set_role("Board games", "dave", True)
    await until(lambda: all(n.core.groups.get(conv) is not None for n in (bob, carol, dave))
                and dave.group(conv.hex()).role == "admin", alice, bob, carol, dave)
    await carol.send_to("Board games", "one")
    await until(lambda: texts(bob, conv) == ["one"] and texts(dave, conv) == ["one"],
                alice, bob, carol, dave)
    ports = {n.name: n.port for n in (alice, bob, dave)}
    await nodes.stop(dave)
    await carol.send_to("Board games", "two")  # (Dave does not see it: his cut-off is "one")
    await until(lambda: texts(bob, conv) == ["one", "two"], alice, bob, carol)
    await nodes.stop(bob)
    await alice.core.groups.set_role("Board games", "dave", False)
    [demotion] = [c for c in alice.core.groups.groups[conv].controls.values()
                  if getattr(c.body, "role", "") == "member"]
    await nodes.stop(alice)

    dave = await nodes("dave", port=ports["dave"])
    for text in ("d1", "d2", "d3"):  # (his clock runs ahead of Alice's)
        await dave.send_to("Board games", text)
    await dave.core.groups.remove("Board games", ["carol"])
    [removal] = [c for c in dave.core.groups.groups[conv].controls.values()
                 if type(c.body).__name__ == "RemoveBody"]
    assert removal.key > demotion.key  # concurrent, and the demotion sorts first
    bob = await nodes("bob", port=ports["bob"])
    await bob.connect("127.0.0.1", dave.port)
    await until(lambda: texts(bob, conv) == ["one", "d1", "d2", "d3"], bob, dave)
    assert "carol" not in [m.name for m in bob.group(conv.hex()).members]  # as Bob sees it

    alice = await nodes("alice", port=ports["alice"])
    await alice.connect("127.0.0.1", bob.port)
    await until(lambda: texts(bob, conv) == ["one", "two", "d1", "d2", "d3"], alice, bob)
    assert "carol" in [m.name for m in bob.group(conv.hex()).members]


async def test_receipts_of_former_members_stay_listed(nodes):
    from kith.p2p.commands_groups import message_out

    alice, bob, carol = await trio(nodes)
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await until(lambda: bob.core.groups.get(conv) and carol.core.groups.get(conv),
                alice, bob, carol)
    row = await alice.send_to("Board games", "who brings Catan?")
    await until(lambda: texts(carol, conv) == ["who brings Catan?"], alice, carol)
    await carol.mark_read_in(conv)
    groups = alice.core.groups
    await until(lambda: [r.status for r in groups.receipts(conv, row.author, row.seq)]
                .count("read") == 1, alice, carol)
    await alice.core.groups.remove("Board games", ["carol"])
    after = await alice.send_to("Board games", "carol is out")
    # Carol read it, then left the group: she is still listed, marked as a former member;
    # what came after her removal was not written to her.
    assert [(r.user_id, r.former) for r in groups.receipts(conv, row.author, row.seq)] == \
        sorted([(bob.user_id, False), (carol.user_id, True)])
    assert [r.user_id for r in groups.receipts(conv, after.author, after.seq)] == [bob.user_id]
    [c] = [x for x in message_out(alice, alice.db.message_at(conv, row.author, row.seq),
                                  {})["receipts"] if x["name"] == "carol"]
    assert c["former"] is True and c["status"] == "read"
