"""`kith reply|react|edit|unsend|delete-for-me|share-contact|card-request|disappear` and
what `history --json` says of them, through the control socket of alice's running node
(bob's node, in the same process, receives). Refusals exit 1 with a clear message."""

from __future__ import annotations

import json

import pytest
from clikit import (
    chat_fixture,  # noqa: F401 (the fixture `chat`)
    short_one_shot_waits,
)
from clikit import kith_in_process as kith
from nodekit import befriend, until

from kith.storage import STATUS_DELIVERED


async def history(capsys, profile: str) -> list[dict]:
    code, out, err = await kith(capsys, "--profile", profile, "history", "bob", "--json")
    assert code == 0, err
    return json.loads(out)


async def test_each_action_from_the_command_line_and_history_json(chat, capsys) -> None:
    alice, bob, profile = chat
    row = await bob.send_message("alice", "dinner at 8?")
    await until(lambda: alice.db.message_by_id(row.event_id) is not None, alice)
    [msg] = await history(capsys, profile)
    assert (msg["reply_to"], msg["reactions"], msg["edited"], msg["unsent"]) == (
        None, [], 0, False)
    assert msg["expires_at"] is None and msg["card"] is None
    bobs = msg["id"][:10]

    code, out, err = await kith(capsys, "--profile", profile, "reply", "bob", bobs, "yes!")
    assert code == 0, err
    code, out, err = await kith(capsys, "--profile", profile, "react", "bob", bobs,
                                "\U0001f44d", "--json")
    assert code == 0, err
    assert json.loads(out)["reactions"] == [
        {"emoji": "\U0001f44d", "user_id": alice.user_id.hex(), "name": alice.name}]
    rows = await history(capsys, profile)
    reply = rows[-1]
    assert reply["reply_to"] == msg["id"] and reply["text"] == "yes!"

    code, out, err = await kith(capsys, "--profile", profile, "edit", "bob", reply["id"],
                                "yes, at 8!")
    assert code == 0 and "edited (1)" in out, err
    code, out, err = await kith(capsys, "--profile", profile, "share-contact", "bob", "carol")
    assert code == 0, err
    code, out, err = await kith(capsys, "--profile", profile, "disappear", "bob", "1h")
    assert code == 0 and "1 hour (set by you)" in out, (out, err)
    code, out, err = await kith(capsys, "--profile", profile, "send", "bob", "fleeting")
    assert code == 0, err
    rows = await history(capsys, profile)
    edited, card, fleeting = rows[-3:]
    assert (edited["text"], edited["edited"]) == ("yes, at 8!", 1)
    assert card["card"]["name"] == "carol" and card["card"]["user_id"] == carol_id(alice)
    assert fleeting["expires_at"] == pytest.approx(fleeting["time"] + 3600, abs=0.01)

    code, out, err = await kith(capsys, "--profile", profile, "unsend", "bob", edited["id"])
    assert code == 0, err
    rows = await history(capsys, profile)
    gone = next(r for r in rows if r["id"] == edited["id"])
    assert (gone["text"], gone["unsent"], gone["edited"]) == ("", True, 0)
    code, out, err = await kith(capsys, "--profile", profile, "history", "bob")
    assert code == 0 and "(unsent)" in out and "yes, at 8" not in out, out

    code, out, err = await kith(capsys, "--profile", profile, "delete-for-me", "bob", bobs)
    assert code == 0, err
    assert all(r["id"] != msg["id"] for r in await history(capsys, profile))

    # Bob got all of it: the reply, the reaction, the edit then the unsend, the card.
    def bob_has_it_all() -> bool:
        got_card = bob.db.message_by_id(bytes.fromhex(card["id"]))
        got_edit = bob.db.message_by_id(bytes.fromhex(edited["id"]))
        return got_card is not None and got_edit is not None and got_edit.unsent

    await until(bob_has_it_all, bob, timeout=15)
    assert bob.db.reactions([row.event_id]) == {row.event_id: [("\U0001f44d", alice.user_id)]}
    assert bob.db.message_by_id(row.event_id) is not None  # (deleted for alice only)
    assert bob.db.search("yes") == []


def carol_id(alice) -> str:
    return next(c.user_id.hex() for c in alice.contacts() if c.name == "carol")


async def test_what_is_not_allowed_exits_1_with_a_clear_message(chat, capsys) -> None:
    alice, bob, profile = chat
    row = await bob.send_message("alice", "mine, not yours")
    assert await bob.wait_status(row, STATUS_DELIVERED, 10)
    theirs = row.event_id.hex()
    cases = [
        (("edit", "bob", theirs, "hacked"), "not your message"),
        (("unsend", "bob", theirs), "not your message"),
        (("react", "bob", theirs, "lol"), "one emoji"),
        (("react", "bob", theirs, "\U0001f44d", "--remove"), "not reacted"),
        (("reply", "bob", "abcdef0123", "hm"), "no message"),
        (("edit", "bob", "zz", "x"), "no message"),
        (("disappear", "bob", "soon"), "not a duration"),
        (("share-contact", "bob", "bob"), "writing to"),
        (("card-request", "bob", theirs), "not a contact card"),
    ]
    for args, message in cases:
        code, out, err = await kith(capsys, "--profile", profile, *args)
        assert code == 1, (args, code, err)
        assert message in err and "Traceback" not in err, (args, err)
        assert out == ""


async def test_a_one_shot_command_without_a_running_node(
    tmp_path, nodes, capsys, monkeypatch
) -> None:
    short_one_shot_waits(monkeypatch)  # (bob is not to be found: discovery is off)
    alice = await nodes("alice")
    bob = await nodes("bob")
    await befriend(alice, bob)
    row = await bob.send_message("alice", "react to me")
    assert await bob.wait_status(row, STATUS_DELIVERED, 10)
    await nodes.stop(alice)
    code, out, err = await kith(capsys, "--profile", str(tmp_path / "alice"), "react", "bob",
                                row.event_id.hex()[:8], "\u2764\ufe0f")
    assert code == 0, err
    assert "\u2764\ufe0f" in out
    code, out, err = await kith(capsys, "--profile", str(tmp_path / "alice"), "history", "bob",
                                "--json")
    assert code == 0, err
    [m] = json.loads(out)
    assert [r["emoji"] for r in m["reactions"]] == ["\u2764\ufe0f"]


async def test_card_request_from_a_card_bob_sent(chat, nodes, capsys) -> None:
    alice, bob, profile = chat
    dave = await nodes("dave")
    await befriend(bob, dave)
    await until(lambda: any(c.user_id == dave.user_id and c.state == "accepted"
                            for c in bob.contacts()), bob, dave)
    card = await bob.actions.share_contact(bob.conv_with(alice.user_id), dave.user_id)
    await until(lambda: alice.db.message_by_id(card.event_id) is not None, alice)
    rows = await history(capsys, profile)
    [shown] = [r for r in rows if r["id"] == card.event_id.hex()]
    assert shown["card"]["user_id"] == dave.user_id.hex() and shown["card"]["name"] == "dave"
    code, out, err = await kith(capsys, "--profile", profile, "card-request", "bob",
                                card.event_id.hex()[:10])
    assert code == 0, err
    assert "dave: pending_out (introduced by bob, not verified)" in out
    await alice.connect("127.0.0.1", dave.port)  # they meet: the request goes out
    await until(lambda: any(c.user_id == alice.user_id and c.state == "pending_in"
                            for c in dave.contacts()), dave, timeout=15)
    # "introduced by bob" is part of the contact, also once bob's chat is deleted
    code, out, err = await kith(capsys, "--profile", profile, "delete-chat", "bob")
    assert code == 0, err
    code, out, err = await kith(capsys, "--profile", profile, "contacts", "--json")
    assert code == 0, err
    by = {c["name"]: c["introduced_by"] for c in json.loads(out)}
    assert by["dave"] == {"user_id": bob.user_id.hex(), "name": "bob"}
    assert by["bob"] is None and by["carol"] is None
