"""`kith group ...`, `kith groups` and a CHAT for send/history/read: the command line
against alice's running node (its control socket), with bob's and carol's nodes."""

from __future__ import annotations

import asyncio
import json

import pytest
from nodekit import befriend, until
from test_cli_commands import kith_in_process

from kith.p2p import commands
from kith.p2p.control import ControlServer


@pytest.fixture
async def board(tmp_path, nodes):
    alice, bob, carol = await nodes("alice"), await nodes("bob"), await nodes("carol")
    for other in (bob, carol):
        await befriend(alice, other)
        await until(lambda o=other: alice.core.contacts.accepted(o.user_id), alice, other)
    control = ControlServer(alice)
    await control.start()
    try:
        yield alice, bob, carol, str(tmp_path / "alice")
    finally:
        await control.stop()


async def cli(capsys, profile: str, *args: str) -> tuple[int, str, str]:
    return await kith_in_process(capsys, "--profile", profile, *args)


async def test_create_list_send_history_and_manage(board, capsys):
    alice, bob, carol, profile = board
    code, out, err = await cli(capsys, profile, "group", "create", "Board games", "bob",
                               "carol", "--json")
    assert code == 0, err
    created = json.loads(out)
    assert created["name"] == "Board games" and len(bytes.fromhex(created["id"])) == 32
    conv = bytes.fromhex(created["id"])
    await until(lambda: bob.core.groups.get(conv) and carol.core.groups.get(conv),
                alice, bob, carol)

    code, out, err = await cli(capsys, profile, "groups", "--json")
    assert code == 0, err
    [g] = json.loads(out)
    assert (g["id"], g["name"], g["role"], g["left"]) == (created["id"], "Board games",
                                                        "owner", False)
    assert sorted((m["name"], m["role"]) for m in g["members"]) == [
        ("alice", "owner"), ("bob", "member"), ("carol", "member")]
    assert all(set(m) >= {"user_id", "name", "role"} for m in g["members"])

    code, out, err = await cli(capsys, profile, "send", "Board", "who brings Catan?",
                               "--wait", "10", "--json")
    assert code == 0, err
    sent = json.loads(out)
    assert sent["delivered"] and sent["conv"] == created["id"]
    assert sorted(r["status"] for r in sent["receipts"]) == ["delivered", "delivered"]
    await bob.mark_read_in(conv)
    await until(lambda: [s for _, s in alice.core.groups.receipts_of(
        conv, alice.device_id, 1)].count("read") == 1, alice, bob)

    code, out, err = await cli(capsys, profile, "group", "rename", "Board games", "Game night")
    assert code == 0, err
    code, out, err = await cli(capsys, profile, "group", "admin", "Game night", "bob")
    assert code == 0, err
    code, out, err = await cli(capsys, profile, "group", "remove", "Game night", "carol")
    assert code == 0, err
    code, out, err = await cli(capsys, profile, "history", "Game night", "--json")
    assert code == 0, err
    rows = json.loads(out)
    msgs = [r for r in rows if "kind" not in r]
    [m] = msgs
    assert m["from_user"] == alice.user_id.hex() and m["conv"] == created["id"]
    # (per member it was written to: carol, removed since, stays listed as former)
    assert {r["user_id"]: (r["status"], r["former"]) for r in m["receipts"]} == {
        bob.user_id.hex(): ("read", False), carol.user_id.hex(): ("delivered", True)}
    assert [(r["kind"], r["text"]) for r in rows if "kind" in r] == [
        ("created", "You created the group 'Board games'"),
        ("renamed", "You renamed the group to 'Game night'"),
        ("role", "You made bob an admin"),
        ("member_removed", "You removed carol"),
    ]
    await until(lambda: carol.group(created["id"]).left, alice, carol)

    code, out, err = await cli(capsys, profile, "history", "Game night")
    assert code == 0, err
    assert "-- You removed carol" in out and "me: who brings Catan?" in out

    code, out, err = await cli(capsys, profile, "group", "history-for-new-members",
                               "Game night", "on", "--json")
    assert code == 0, err
    assert json.loads(out)["history_for_new_members"] is True
    code, out, err = await cli(capsys, profile, "read", "Game night")
    assert code == 0, err


async def test_refusals_have_clear_errors_and_exit_codes(board, capsys):
    alice, bob, carol, profile = board
    code, _, err = await cli(capsys, profile, "group", "create", "x" * 101, "bob")
    assert code == 1 and "at most 100" in err
    code, _, err = await cli(capsys, profile, "group", "create", "Bees", "nobody-like-that")
    assert code == 3 and "no peer or contact" in err
    code, _, err = await cli(capsys, profile, "group", "create", "bob", "bob")
    assert code == 0, err
    # "bob" is now a contact and a group: an ambiguous CHAT lists both.
    code, _, err = await cli(capsys, profile, "send", "bob", "hi")
    assert code == 2 and "matches several chats" in err and "group" in err and "contact" in err
    code, _, err = await cli(capsys, profile, "group", "rename", "nosuch", "x")
    assert code == 3 and "no group called" in err
    conv = alice.core.groups.resolve("bob").id
    await until(lambda: bob.core.groups.get(conv) is not None, alice, bob)
    bob_profile = str(alice.profile.parent / "bob")
    server = ControlServer(bob)
    await server.start()
    try:
        code, _, err = await cli(capsys, bob_profile, "group", "add", conv.hex()[:10], "alice")
        assert code == 1 and "in bob already" in err
        code, _, err = await cli(capsys, bob_profile, "group", "admin", conv.hex(), "alice")
        assert code == 4 and "only the owner" in err
        code, _, err = await cli(capsys, bob_profile, "group", "leave", conv.hex())
        assert code == 0, err
        code, _, err = await cli(capsys, bob_profile, "send", conv.hex(), "still here?")
        assert code == 4 and "you left" in err
    finally:
        await server.stop()


async def test_listen_prints_group_messages_and_system_lines(board):
    alice, bob, carol, _ = board
    conv = (await alice.create_group("Board games", ["bob", "carol"])).id
    await until(lambda: bob.core.groups.get(conv) is not None, alice, bob)
    seen: list[dict] = []
    task = asyncio.create_task(commands.listen(bob, seen.append))
    try:
        await alice.send_to("Board games", "hello")
        await alice.core.groups.rename("Board games", "Game night")
        await until(lambda: any(e.get("kind") == "renamed" for e in seen)
                    and any(e.get("text") == "hello" for e in seen), alice, bob)
    finally:
        task.cancel()
    msg = next(e for e in seen if e.get("text") == "hello")
    assert msg["conv"] == conv.hex() and msg["from_user"] == alice.user_id.hex()
    line = next(e for e in seen if e.get("kind") == "renamed")
    assert line["text"] == "alice renamed the group to 'Game night'"
