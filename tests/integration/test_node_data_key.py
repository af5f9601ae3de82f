"""A node given its profile's data key keeps its database encrypted with it, migrates a
plain one first, and refuses a wrong key with a clear error (issue 16; the CLI and the app
unlock the key and pass it, see p2p/keystore.py)."""

from __future__ import annotations

import os

import pytest
from nodekit import befriend, make_node

from kith.p2p.errors import EnvironmentProblem
from kith.p2p.profile import DB_FILE
from kith.storage import STATUS_DELIVERED
from kith.storage.cipher import is_encrypted

TEXT = "the spare key is taped under the second drawer"


async def test_a_plain_profile_is_migrated_and_reopened_with_its_key(tmp_path):
    alice, bob = make_node(tmp_path, "alice"), make_node(tmp_path, "bob")
    await alice.start()
    await bob.start()
    try:
        await befriend(alice, bob)
        row = await alice.send_message("bob", TEXT)
        assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    finally:
        await alice.stop()
        await bob.stop()
    path = tmp_path / "alice" / DB_FILE
    assert not is_encrypted(path) and TEXT.encode() in path.read_bytes()
    plain_key_file = path.with_name("identity.kith").read_bytes()

    key = os.urandom(32)
    again = make_node(tmp_path, "alice", data_key=key)
    await again.start()  # migrates, then opens encrypted
    try:
        assert [m.text for m in again.history("bob")] == [TEXT]
    finally:
        await again.stop()
    assert is_encrypted(path)
    assert TEXT.encode() not in path.read_bytes()

    with pytest.raises(EnvironmentProblem, match="does not open"):
        make_node(tmp_path, "alice", data_key=os.urandom(32))  # the sealed key file
    path.with_name("identity.kith").write_bytes(plain_key_file)  # as if only the db were
    wrong = make_node(tmp_path, "alice", data_key=os.urandom(32))
    with pytest.raises(EnvironmentProblem, match="key"):
        await wrong.start()
    assert not wrong.core.running
