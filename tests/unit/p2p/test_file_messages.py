"""Messages with files, sans-IO: descriptors in through the kind table, attachments and
file rows out; what downloads by itself; malformed descriptors refused."""

from __future__ import annotations

import msgspec
import pytest
from corekit import Me, apply, me_fixture, other_device, peer, person, receive

from kith.p2p.api import ACCEPTED, FileChanged
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.files import manifest as mf
from kith.p2p.files.descriptor import Attachment
from kith.p2p.messages import MessageBody
from kith.storage.files import FILE_DOWNLOADING, FILE_REMOTE

__all__ = ["me_fixture"]
_enc = msgspec.msgpack.encode


def _att(size: int, name: str = "a.bin", seed: int = 1) -> Attachment:
    return Attachment(bytes([seed]) * 32, name, size, mf.block_size_for(size),
                      "application/octet-stream")


def _contact(me: Me, name: str = "bob"):
    who = person(name)
    me.knows(who)
    me.core.contacts.save(who.user, name=name, state=ACCEPTED)
    return who, me.core.convs.direct(who.user)


async def test_attachments_are_stored_with_their_message_and_small_ones_start(me: Me) -> None:
    bob, conv = _contact(me)
    small, large = _att(1000, "small.txt", 1), _att(30 * 10**6, "large.bin", 2)
    apply(me, [bob.event(conv, MessageBody("", files=(small, large)))])
    [m] = me.db.messages(conv)
    assert m.text == "" and not m.outgoing
    rows = me.db.message_attachments(conv, bob.device, 1)
    assert [(r.idx, r.file, r.sender) for r in rows] == [(0, small.id, bob.user),
                                                          (1, large.id, bob.user)]
    assert me.db.file(small.id).state == FILE_DOWNLOADING  # up to 25 MB from a contact
    assert me.db.file(large.id).state == FILE_REMOTE  # larger ones wait
    assert {e.file for e in me.emitted(FileChanged)} >= {small.id, large.id}
    listed = me.node.files.list_files(conv)
    assert [(f["name"], f["state"], f["have"]) for f in listed] == [
        ("small.txt", FILE_DOWNLOADING, 0), ("large.bin", FILE_REMOTE, 0)]


async def test_the_limit_is_a_setting_and_zero_means_nothing_by_itself(me: Me) -> None:
    bob, conv = _contact(me)
    me.node.set_setting("auto_download", 0)
    a = _att(1000)
    apply(me, [bob.event(conv, MessageBody("x", files=(a,)))])
    assert me.db.file(a.id).state == FILE_REMOTE


async def test_my_other_devices_files_come_by_themselves(me: Me) -> None:
    bob, conv = _contact(me)
    laptop = other_device(me.node.identity, "laptop")
    me.knows(laptop)
    a = _att(5000)
    apply(me, [laptop.event(conv, MessageBody("from my laptop", files=(a,)))], via=laptop)
    [m] = me.db.messages(conv)
    assert m.outgoing
    assert me.db.file(a.id).state == FILE_DOWNLOADING


async def test_the_same_file_in_two_messages_is_one_file(me: Me) -> None:
    bob, conv = _contact(me)
    me.node.set_setting("auto_download", 0)
    a = _att(1000)
    apply(me, [bob.event(conv, MessageBody("one", files=(a,))),
               bob.event(conv, MessageBody("two", files=(a,)))])
    assert len(me.db.attachments_of(a.id)) == 2
    assert len(me.node.files.list_files(conv)) == 2
    assert me.node.files.delete_chat(conv) == [a.id]
    assert me.db.file(a.id) is None


@pytest.mark.parametrize(("change", "reason"), [
    ({"name": "../../etc/passwd"}, "path separator"),
    ({"name": "a\0b"}, "NUL"),
    ({"name": ".."}, ". or .."),
    ({"size": mf.MAX_FILE + 1}, "impossible size"),
    ({"size": -1}, "impossible size"),
    ({"block_size": 1}, "block size"),
    ({"id": b"short"}, "content id"),
])
async def test_a_malformed_descriptor_is_refused_and_nothing_is_stored(
    me: Me, change: dict, reason: str
) -> None:
    bob, conv = _contact(me)
    fields = msgspec.structs.asdict(_att(1000))
    fields.update(change)
    body = _enc(["look", b"", 0, [list(fields.values())]])
    with pytest.raises(RemoteProtocolError, match=reason):
        receive(me, peer(bob), [bob.raw(conv, "message", body)])
    assert me.db.messages(conv) == []
    assert me.db.attachments(conv) == []


async def test_a_message_needs_text_or_files(me: Me) -> None:
    bob, conv = _contact(me)
    with pytest.raises(RemoteProtocolError, match="text is empty"):
        receive(me, peer(bob), [bob.raw(conv, "message", _enc(["", b"", 0, []]))])
    carol, conv = _contact(me, "carol")  # (bob's log stopped at its bad event)
    too_many = [list(msgspec.structs.asdict(_att(10, seed=i)).values()) for i in range(11)]
    with pytest.raises(RemoteProtocolError, match="too many files"):
        receive(me, peer(carol), [carol.raw(conv, "message", _enc(["", b"", 0, too_many]))])


async def test_files_from_someone_who_is_not_a_contact_never_come_by_themselves(me: Me) -> None:
    """(In a direct chat a stranger's message is refused before it applies; in a group a
    member need not be my contact: the apply step alone decides, as here.)"""
    stranger = person("mallory")
    me.knows(stranger)
    conv = me.core.convs.direct(stranger.user)
    a = _att(1000)
    apply(me, [stranger.event(conv, MessageBody("free stuff", files=(a,)))])
    assert me.db.file(a.id).state == FILE_REMOTE
    assert a.id not in me.node.files.transfers
