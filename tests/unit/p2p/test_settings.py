"""p2p.settings, sans-IO: only the synced per-user settings apply from my other devices,
last writer wins per key."""

from __future__ import annotations

import itertools
import json

import pytest
from corekit import Me, apply, me_fixture, other_device
from nodekit import until

from kith.p2p.api import SettingChanged
from kith.p2p.settings import SYNCED_SETTINGS, SettingBody

__all__ = ["me_fixture"]


def test_the_synced_settings_are_the_per_user_ones() -> None:
    assert frozenset({
        "read_receipts", "typing_indicators", "discoverable", "notify_preview", "notify_sound",
        "display_name", "auto_download",
    }) == SYNCED_SETTINGS


async def test_a_synced_setting_from_my_other_device_applies(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    assert me.db.get_setting("read_receipts", True) is True
    apply(me, [laptop.event(me.core.convs.self_conv, SettingBody("read_receipts", "false"))],
          via=laptop)
    assert me.db.get_setting("read_receipts", True) is False
    assert me.emitted(SettingChanged) == [SettingChanged("read_receipts")]


@pytest.mark.parametrize("key", ["theme", "networks", "interfaces", "port"])
async def test_a_device_setting_from_another_device_does_not_apply(me: Me, key: str) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    e = laptop.event(me.core.convs.self_conv, SettingBody(key, json.dumps("dark")))
    apply(me, [e], via=laptop)
    assert me.db.get_setting(key) is None
    assert me.emitted(SettingChanged) == []
    assert me.db.lww_clock(f"setting:{key}") is None
    assert [s for s, _, _ in me.stored(me.core.convs.self_conv, laptop.device)] == [1]


async def test_being_discoverable_and_the_name_follow_from_another_device(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    conv = me.core.convs.self_conv
    apply(me, [laptop.event(conv, SettingBody("discoverable", "false")),
               laptop.event(conv, SettingBody("display_name", '"Alice Martin"'))], via=laptop)
    await until(lambda: not me.node.discoverable and me.node.name == "Alice Martin", me.node)
    await until(lambda: SettingChanged("display_name") in me.emitted(SettingChanged), me.node)
    assert SettingChanged("discoverable") in me.emitted(SettingChanged)


async def test_a_name_that_breaks_the_name_rule_is_ignored(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    before = me.node.name
    apply(me, [laptop.event(me.core.convs.self_conv,
                            SettingBody("display_name", '"evil\u202e"'))], via=laptop)
    assert me.node.name == before and me.db.lww_clock("setting:display_name") is None


async def test_a_value_that_is_not_json_is_ignored(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    apply(me, [laptop.event(me.core.convs.self_conv, SettingBody("read_receipts", "{nope"))],
          via=laptop)
    assert me.db.get_setting("read_receipts") is None
    assert me.emitted(SettingChanged) == []


WRITES = [("laptop", "true", 3), ("desktop", "false", 8), ("tablet", "true", 8)]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("one_batch", [False, True], ids=["batches", "one batch"])
async def test_last_writer_wins_per_key_in_every_arrival_order(
    me: Me, order: tuple[int, ...], one_batch: bool
) -> None:
    devices = [other_device(me.node.identity, name) for name, _, _ in WRITES]
    me.knows(*devices)
    self_conv = me.core.convs.self_conv
    events = [
        devices[i].event(self_conv, SettingBody("typing_indicators", WRITES[i][1]),
                         lamport=WRITES[i][2])
        for i in range(3)
    ]
    if one_batch:
        apply(me, [events[i] for i in order], via=devices[0])
    else:
        for i in order:
            apply(me, [events[i]], via=devices[i])
    best = max(range(3), key=lambda i: (WRITES[i][2], devices[i].device))
    assert me.db.get_setting("typing_indicators") == json.loads(WRITES[best][1])
    assert me.db.lww_clock("setting:typing_indicators") == (WRITES[best][2], devices[best].device)


async def test_keys_are_independent(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    self_conv = me.core.convs.self_conv
    apply(me, [laptop.event(self_conv, SettingBody("read_receipts", "false"), lamport=50),
               laptop.event(self_conv, SettingBody("typing_indicators", "false"), lamport=2)],
          via=laptop)
    assert me.db.get_setting("read_receipts") is False
    assert me.db.get_setting("typing_indicators") is False


async def test_setting_a_synced_key_tells_my_devices_and_a_device_key_does_not(me: Me) -> None:
    me.node.set_setting("read_receipts", False)
    me.node.set_setting("theme", "dark")
    await me.core.log.commit()
    assert [b for _, _, b in me.mine(me.core.convs.self_conv)] == [
        SettingBody("read_receipts", "false")
    ]
    assert me.db.get_setting("theme") == "dark"
    assert me.emitted(SettingChanged) == [SettingChanged("read_receipts"), SettingChanged("theme")]


async def test_my_own_setting_is_not_overwritten_by_an_older_one(me: Me) -> None:
    """What I set here is an event with the conversation's next lamport: a setting my
    laptop wrote before it (a lower lamport) loses when it arrives."""
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    self_conv = me.core.convs.self_conv
    apply(me, [laptop.event(self_conv, SettingBody("read_receipts", "true"), lamport=4)],
          via=laptop)
    me.node.set_setting("read_receipts", False)
    await me.core.log.commit()
    late = other_device(me.node.identity, "old-phone")
    while late.device < laptop.device:  # so that it beats the laptop's write on its own
        late = other_device(me.node.identity, "old-phone")
    me.knows(late)
    apply(me, [late.event(self_conv, SettingBody("read_receipts", "true"), lamport=4)],
          via=late)
    assert me.db.get_setting("read_receipts") is False


def test_per_conversation_choices_follow_me_and_nothing_else_does() -> None:
    from kith.p2p.settings import is_synced

    conv = "ab" * 32
    assert is_synced(f"muted:{conv}") and is_synced(f"unread:{conv}")
    assert is_synced("read_receipts")
    assert not is_synced("theme")  # the device's own
    assert not is_synced(f"theme:{conv}")  # not a per-conversation choice
    assert not is_synced(f"muted:{conv[:-1]}")  # not a conversation id
    assert not is_synced(f"muted:{conv.upper()}")
    assert not is_synced(f"unread:{conv}x")
