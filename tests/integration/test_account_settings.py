"""The person's settings follow them to every device: the display name and being
discoverable are the person's, not one device's (issue 13 #9: a renamed account kept its
old name on the laptop, and with Discoverable off strangers still found it there)."""

from __future__ import annotations

from nodekit import add_device, befriend, until


async def test_name_and_discoverable_follow_me_to_every_device(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    await laptop.connect("127.0.0.1", bob.port)
    await until(lambda: laptop.online(bob.user_id), laptop, bob)

    await desktop.set_discoverable(False)
    await desktop.set_name("Alice Martin")
    await until(lambda: laptop.name == "Alice Martin" and not laptop.discoverable,
                laptop, desktop)
    # the laptop tells the people it talks to, as if it had been renamed itself
    await until(lambda: [c.name for c in bob.contacts()] == ["Alice Martin"], bob, laptop)
    # and what the laptop changes reaches the desktop the same way
    await laptop.set_discoverable(True)
    await until(lambda: desktop.discoverable, desktop, laptop)

    # A device linked later takes the person's current settings from the history.
    await desktop.set_discoverable(False)
    phone = await nodes("alice", profile=add_device(tmp_path, "alice", "phone"))
    assert phone.discoverable  # (a new database: the default)
    await phone.connect("127.0.0.1", desktop.port)
    await until(lambda: phone.name == "Alice Martin" and not phone.discoverable,
                phone, desktop)
