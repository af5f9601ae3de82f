"""Pausing a send, sans-IO: the sender's device refuses the file's blocks and says it
holds none of it until resumed; the choice survives a restart; downloads still pause as
before."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from corekit import Me, apply, me_fixture, peer, person, start_me

from kith.p2p.api import ACCEPTED
from kith.p2p.errors import UserError
from kith.p2p.files.protocol import BlockRefused, BlockRequest, FileHave, FileQuery
from kith.p2p.files.serving import HELD_BACK
from kith.p2p.messages import MessageBody
from kith.storage.files import FILE_COMPLETE, FILE_PAUSED

__all__ = ["me_fixture"]


async def _sent(me: Me, tmp_path: Path):
    bob = person("bob")
    me.knows(bob)
    me.core.contacts.save(bob.user, name="bob", state=ACCEPTED)
    apply(me, [bob.event(me.core.convs.direct(bob.user), MessageBody("send me the talk"))])
    src = tmp_path / "talk.bin"
    src.write_bytes(bytes(range(256)) * 4000)
    e = await me.node.files.send(bob.user, "", [src])
    await me.node.flush()
    [att] = me.db.message_attachments(e.event.conv, e.event.author, e.event.seq)
    return bob, att.file, e.event.conv


async def test_a_paused_send_refuses_blocks_until_resumed(me: Me, tmp_path: Path) -> None:
    bob, fid, conv = await _sent(me, tmp_path)
    files = me.node.files
    p = peer(bob)
    files.on_query(p, FileQuery(fid))
    assert p.conn.sent[-1] == FileHave(fid, files._manifest(fid).encode(), b"", True)  # type: ignore[union-attr]

    files.pause(fid)  # a file I sent: its sending pauses (the file stays complete)
    assert me.db.file(fid).state == FILE_COMPLETE
    assert fid in files.held_back
    files.on_request(p, BlockRequest(fid, 0))
    assert p.conn.sent[-1] == BlockRefused(fid, 0, HELD_BACK)  # type: ignore[union-attr]
    files.on_query(p, FileQuery(fid))
    have = p.conn.sent[-1]  # type: ignore[union-attr]
    assert isinstance(have, FileHave) and not have.complete and have.bitmap == b""
    [f] = files.list_files(conv)
    assert f["state"] == FILE_COMPLETE and f["sending"] == FILE_PAUSED
    [t] = [t for t in files.transfer_list() if t["id"] == fid.hex()]
    assert (t["direction"], t["state"], t["name"]) == ("out", FILE_PAUSED, "talk.bin")

    files.resume(fid)
    assert fid not in files.held_back and "sending" not in files.list_files(conv)[0]
    assert files._block_problem(fid, 0) == ""
    files.on_query(p, FileQuery(fid))
    assert p.conn.sent[-1].complete  # type: ignore[union-attr]
    with pytest.raises(UserError, match="complete"):
        files.resume(fid)


async def test_requests_queued_when_the_send_pauses_are_refused(me: Me, tmp_path: Path) -> None:
    bob, fid, _ = await _sent(me, tmp_path)
    files = me.node.files
    p = peer(bob)
    me.core.net.peers[bob.device] = p  # (connected, as the network keeps it)
    files.queues[bob.device] = collections.deque([(fid, 0), (fid, 1), (b"x", 0)])
    files.pause(fid)
    assert list(files.queues[bob.device]) == [(b"x", 0)]
    assert p.conn.sent == [BlockRefused(fid, 0, HELD_BACK), BlockRefused(fid, 1, HELD_BACK)]  # type: ignore[union-attr]
    del me.core.net.peers[bob.device]


async def test_a_paused_send_stays_paused_after_a_restart(tmp_path: Path) -> None:
    me = await start_me(tmp_path / "a")
    try:
        _, fid, _ = await _sent(me, tmp_path)
        me.node.files.pause(fid)
        profile = me.node.profile
    finally:
        await me.node.stop()
    again = await start_me(tmp_path / "a", profile=profile)
    try:
        assert again.node.files.held_back == {fid}
        assert again.node.files._block_problem(fid, 0) == HELD_BACK
    finally:
        await again.node.stop()
