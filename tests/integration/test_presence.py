"""Reachable through my other device: a person my laptop cannot see is still reachable
when my desktop talks to them, and the laptop says through which device."""

from __future__ import annotations

from nodekit import until
from test_handoff import _alice_with_a_laptop_and_bob

from kith.p2p import wire


async def test_a_contact_my_other_device_talks_to_is_reachable(nodes, tmp_path):
    desktop, bob, laptop = await _alice_with_a_laptop_and_bob(nodes, tmp_path)
    assert not laptop.online(bob.user_id)  # the laptop has no session with bob
    await until(lambda: laptop.reachable(bob.user_id), laptop, desktop, bob)
    assert laptop.reachable_via(bob.user_id) == [desktop.device_id]
    assert desktop.reachable(bob.user_id) and desktop.reachable_via(bob.user_id) == []

    await nodes.stop(bob)  # bob goes away: the desktop says so
    await until(lambda: not laptop.reachable(bob.user_id), laptop, desktop)
    assert laptop.reachable_via(bob.user_id) == []


async def test_what_my_device_said_goes_with_it(nodes, tmp_path):
    desktop, bob, laptop = await _alice_with_a_laptop_and_bob(nodes, tmp_path)
    await until(lambda: laptop.reachable(bob.user_id), laptop, desktop, bob)
    await nodes.stop(desktop)
    await until(lambda: not laptop.reachable(bob.user_id), laptop)


async def test_only_my_own_devices_may_say_whom_they_reach(nodes, tmp_path):
    desktop, bob, laptop = await _alice_with_a_laptop_and_bob(nodes, tmp_path)
    await until(lambda: laptop.reachable(bob.user_id), laptop, desktop, bob)
    carol = await nodes("carol")
    # bob claims to talk to carol on alice's desktop; only alice's devices may say that
    (peer,) = bob.net.live_of(desktop.user_id)
    peer.conn.send(wire.Presence([carol.user_id, bob.user_id]))
    # then a typing signal: messages are handled in order, so once the desktop shows bob
    # typing, it has read the presence claim before it
    peer.conn.send(wire.Typing(desktop.conv_with(bob.user_id), True))
    await until(lambda: bob.user_id in desktop.typing(desktop.conv_with(bob.user_id)), desktop)
    assert not desktop.reachable(carol.user_id)
    assert desktop.reachable_via(bob.user_id) == []
