"""`kith delete-chat CHAT [--leave] [--json]` through the control socket of alice's running
node: the chat is empty for her (`history` shows nothing up to the cut), bob keeps his,
a new message brings it back alone; refusals exit 1 with a clear message."""

from __future__ import annotations

import json

from clikit import (
    chat_fixture,  # noqa: F401 (the fixture `chat`)
    short_one_shot_waits,
)
from clikit import kith_in_process as kith
from nodekit import befriend, until
from test_cli_actions import history

from kith.p2p.keystore import KeyStore
from kith.p2p.profile import DB_FILE
from kith.storage import STATUS_DELIVERED, Store


async def test_delete_chat_from_the_command_line(chat, capsys) -> None:
    alice, bob, profile = chat
    for text in ("first of two", "second of two"):
        row = await bob.send_message("alice", text)
    await until(lambda: alice.db.message_by_id(row.event_id) is not None, alice)
    code, out, err = await kith(capsys, "--profile", profile, "delete-chat", "bob", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["name"], result["type"], result["deleted"], result["left"]) == (
        "bob", "direct", 2, False)
    assert await history(capsys, profile) == []
    code, out, err = await kith(capsys, "--profile", profile, "history", "bob")
    assert code == 0 and "of two" not in out, out
    assert len(bob.db.messages(alice.conv_with(bob.user_id))) == 2  # (his is his)

    again = await bob.send_message("alice", "hello again")
    await until(lambda: alice.db.message_by_id(again.event_id) is not None, alice)
    assert [m["text"] for m in await history(capsys, profile)] == ["hello again"]
    code, out, err = await kith(capsys, "--profile", profile, "delete-chat", "bob")
    assert code == 0 and "on all your devices: 1 message" in out, (out, err)


async def test_delete_chat_refusals_exit_1_and_an_unknown_chat_3(chat, capsys) -> None:
    alice, bob, profile = chat
    row = await bob.send_message("alice", "something")
    assert await bob.wait_status(row, STATUS_DELIVERED, 10)
    cases = [
        (("delete-chat", "nobody-of-that-name"), "no peer or contact", 3),  # (as `send`)
        (("delete-chat", "bob", "--leave"), "--leave is for a group", 1),
        (("delete-chat", "carol"), "nothing to delete", 1),
    ]
    for args, message, exit_code in cases:
        code, out, err = await kith(capsys, "--profile", profile, *args)
        assert code == exit_code, (args, code, out, err)
        assert message in err and "Traceback" not in err, (args, err)
        assert out == ""


async def test_delete_and_leave_a_group(chat, capsys) -> None:
    alice, bob, profile = chat
    g = await alice.create_group("Climbing", ["bob"])
    await alice.send_to("Climbing", "saturday at the wall?")
    code, out, err = await kith(capsys, "--profile", profile, "delete-chat", "Climbing",
                                "--leave", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["type"], result["left"]) == ("group", True)
    assert alice.db.messages(g.id) == []
    assert alice.user_id not in alice.core.groups.get(g.id).state.members
    code, out, err = await kith(capsys, "--profile", profile, "history", "Climbing", "--json")
    assert code == 0, err
    assert [line.get("text") for line in json.loads(out)] == []  # (its lines too)


async def test_a_one_shot_delete_chat_without_a_running_node(
    tmp_path, nodes, capsys, monkeypatch
) -> None:
    short_one_shot_waits(monkeypatch)  # (bob is not to be found: discovery is off)
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    row = await bob.send_message("alice", "delete me later")
    assert await bob.wait_status(row, STATUS_DELIVERED, 10)
    conv = alice.conv_with(bob.user_id)
    await nodes.stop(alice)
    profile = str(tmp_path / "alice")
    code, out, err = await kith(capsys, "--profile", profile, "delete-chat", "bob", "--json")
    assert code == 0, err
    assert json.loads(out)["deleted"] == 1
    store = Store(tmp_path / "alice" / DB_FILE, key=KeyStore(tmp_path / "alice").unlock())
    try:  # (stored, with the one event for my other devices)
        assert store.messages(conv) == [] and store.chat_cut(conv) == row.lamport
        assert store.execute("SELECT count(*) FROM events WHERE kind = 'hide_chat'") == [(1,)]
    finally:
        store.close()
