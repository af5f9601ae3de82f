"""A contact's own name and mine for them (hardening #7): a contact who renames itself to
another contact's name cannot take it; the name I choose follows my devices and their
renames no longer change it."""

from __future__ import annotations

import json

from nodekit import add_device, befriend, until
from test_cli_commands import kith_in_process

from kith.p2p.control import ControlServer


def _info(node, user):
    return next(c for c in node.contacts() if c.user_id == user)


async def test_a_rename_to_another_contacts_name_is_kept_apart(nodes):
    alice, bob, carol = await nodes("alice"), await nodes("bob"), await nodes("carol")
    await befriend(alice, bob)
    await befriend(alice, carol)
    await bob.set_name("Robert")  # an ordinary rename: it becomes his name here
    await until(lambda: _info(alice, bob.user_id).name == "Robert", alice, bob)
    assert _info(alice, bob.user_id).own_name == ""
    await bob.set_name("carol")  # another contact's name: not taken
    await until(lambda: _info(alice, bob.user_id).own_name == "carol", alice, bob)
    info = _info(alice, bob.user_id)
    assert info.name == "Robert"
    assert alice.resolve("carol")[0] == carol.user_id  # "carol" still means carol
    assert info.to_json()["own_name"] == "carol"
    await bob.set_name("Robert")  # back: nothing to keep apart any more
    await until(lambda: _info(alice, bob.user_id).own_name == "", alice, bob)


async def test_my_name_for_a_contact_follows_my_devices_and_stays(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    await until(lambda: any(c.user_id == bob.user_id for c in laptop.contacts()), laptop)
    info = desktop.set_contact_name("bob", "Bob from climbing")
    assert (info.name, info.own_name) == ("Bob from climbing", "bob")
    await until(lambda: _info(laptop, bob.user_id).name == "Bob from climbing",
                laptop, desktop)
    await bob.set_name("Bobby")  # his rename changes what he calls himself, not my name
    await until(lambda: _info(desktop, bob.user_id).own_name == "Bobby", desktop, bob)
    assert _info(desktop, bob.user_id).name == "Bob from climbing"
    info = desktop.set_contact_name(bob.user_id.hex(), None)  # back to his own
    assert (info.name, info.own_name) == ("Bobby", "")
    await until(lambda: _info(laptop, bob.user_id).name == "Bobby", laptop, desktop)


async def test_rename_contact_on_the_command_line(nodes, capsys):
    alice, bob = await nodes("alice"), await nodes("bob")
    await befriend(alice, bob)
    control = ControlServer(alice)
    await control.start()
    try:
        profile = alice.profile
        code, out, err = await kith_in_process(
            capsys, "--profile", str(profile), "rename-contact", "bob", "Bob O.")
        assert code == 0, err
        assert "is Bob O. here (calls themselves bob)" in out
        code, out, err = await kith_in_process(
            capsys, "--profile", str(profile), "contacts", "--json")
        (c,) = json.loads(out)
        assert (c["name"], c["own_name"]) == ("Bob O.", "bob")
        code, out, err = await kith_in_process(
            capsys, "--profile", str(profile), "rename-contact", "Bob O.", "--theirs")
        assert code == 0, err
        assert _info(alice, bob.user_id).name == "bob"
        code, out, err = await kith_in_process(
            capsys, "--profile", str(profile), "rename-contact", "bob", "bad\nname")
        assert code != 0 and "name" in err
    finally:
        await control.stop()
