"""The auto-download limit follows my devices: set on my laptop, it decides here what
downloads by itself (and never for someone who is not a contact)."""

from __future__ import annotations

import json

from corekit import Me, apply, me_fixture, other_device, person

from kith.p2p.api import ACCEPTED
from kith.p2p.files import manifest as mf
from kith.p2p.files.descriptor import Attachment
from kith.p2p.messages import MessageBody
from kith.p2p.settings import SettingBody
from kith.storage.files import FILE_DOWNLOADING, FILE_REMOTE

__all__ = ["me_fixture"]


def _att(size: int, seed: int) -> Attachment:
    return Attachment(bytes([seed]) * 32, f"f{seed}.bin", size, mf.block_size_for(size),
                      "application/octet-stream")


async def test_the_limit_set_on_my_laptop_applies_here(me: Me) -> None:
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    apply(me, [laptop.event(me.core.convs.self_conv,
                            SettingBody("auto_download", json.dumps(1000)))], via=laptop)
    assert me.node.files.auto_limit == 1000
    bob, stranger = person("bob"), person("eve")
    me.knows(bob, stranger)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    small, large, unknown = _att(900, 1), _att(1100, 2), _att(10, 3)
    apply(me, [bob.event(me.core.convs.direct(bob.user), MessageBody("", files=(small, large)))])
    apply(me, [stranger.event(me.core.convs.direct(stranger.user),
                              MessageBody("", files=(unknown,)))])
    assert me.db.file(small.id).state == FILE_DOWNLOADING
    assert me.db.file(large.id).state == FILE_REMOTE  # past the limit my laptop set
    assert me.db.file(unknown.id).state == FILE_REMOTE  # not a contact: never by itself
    apply(me, [laptop.event(me.core.convs.self_conv,
                            SettingBody("auto_download", json.dumps(0)))], via=laptop)
    again = _att(10, 4)
    apply(me, [bob.event(me.core.convs.direct(bob.user), MessageBody("", files=(again,)))])
    assert me.db.file(again.id).state == FILE_REMOTE  # off: nothing by itself
