"""Handoff: the chat open on one of my devices, with its draft, is offered on the others
(and never to anyone else)."""

from __future__ import annotations

from nodekit import add_device, befriend, until

from kith.p2p.node import HandoffOffer


async def test_open_chat_and_draft_are_offered_on_my_other_device(nodes, tmp_path):
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    await until(lambda: laptop.online(laptop.user_id), laptop, desktop)  # my own device
    await until(lambda: any(c.user_id == bob.user_id for c in laptop.contacts()), laptop)
    await laptop.connect("127.0.0.1", bob.port)

    seen_by_bob: list[object] = []
    bob.subscribe(lambda e: seen_by_bob.append(e) if isinstance(e, HandoffOffer) else None)

    laptop.set_open_chat(bob.user_id, "see you at sev")
    await until(lambda: laptop.device_id in desktop.handoffs, laptop, desktop)
    offer = desktop.handoffs[laptop.device_id]
    assert offer.user == bob.user_id
    assert offer.draft == "see you at sev"
    assert offer.device_name == "laptop"

    laptop.set_open_chat(None)  # chat closed on the laptop: the offer goes away
    await until(lambda: laptop.device_id not in desktop.handoffs, laptop, desktop)
    assert seen_by_bob == []
    assert bob.handoffs == {}


async def _alice_with_a_laptop_and_bob(nodes, tmp_path):
    """alice's desktop befriends bob; her laptop is linked and knows bob too."""
    desktop, bob = await nodes("alice"), await nodes("bob")
    await befriend(desktop, bob)
    laptop = await nodes("alice", profile=add_device(tmp_path, "alice", "laptop"))
    await laptop.connect("127.0.0.1", desktop.port)
    await until(lambda: any(c.user_id == bob.user_id for c in laptop.contacts()), laptop)
    return desktop, bob, laptop


async def test_offer_disappears_when_the_device_goes_offline(nodes, tmp_path):
    desktop, bob, laptop = await _alice_with_a_laptop_and_bob(nodes, tmp_path)
    laptop.set_open_chat(bob.user_id, "half a thought")
    await until(lambda: laptop.device_id in desktop.handoffs, laptop, desktop)
    await nodes.stop(laptop)
    await until(lambda: laptop.device_id not in desktop.handoffs, desktop)


async def test_a_device_that_comes_online_later_gets_the_open_chat(nodes, tmp_path):
    desktop, bob, laptop = await _alice_with_a_laptop_and_bob(nodes, tmp_path)
    port = desktop.port
    await nodes.stop(desktop)
    laptop.set_open_chat(bob.user_id, "written while the desktop slept")
    desktop = await nodes("alice", port=port)  # back on its address: the laptop redials
    await until(lambda: laptop.device_id in desktop.handoffs, laptop, desktop)
    assert desktop.handoffs[laptop.device_id].draft == "written while the desktop slept"
