"""Encrypted profiles end to end: two nodes started with their profiles' data keys (the
database through SQLCipher, the identity key file sealed), a real conversation, then the
raw files grepped for what must not show. The same run with plain profiles finds it all,
so the grep can fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nodekit import befriend, until

from kith.p2p.errors import EnvironmentProblem
from kith.p2p.identity import KEY_FILE, PLAIN_OLD, SEALED_MAGIC, ProfileLocked, load_identity
from kith.p2p.keystore import KdfParams, KeyStore, WrongPassphrase
from kith.p2p.node import Node
from kith.storage import STATUS_DELIVERED
from kith.storage.files import FILE_COMPLETE

FAST = KdfParams(opslimit=1, memlimit=8192)
ALICE = "alice-marchbanks"
BOB = "bartholomew-quince"  # long enough never to show up by chance in ciphertext
TEXT = "the spare key is taped under the second drawer"
SENT = b"the vault code is 4-8-15-16 " * 20_000  # ~560 kB: several blocks and records
BACK = b"and the boat leaves at dawn " * 3_000  # ~84 kB: two records, one short


def read(path: str) -> bytes:
    return Path(path).read_bytes()


def raw(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_nothing_readable_in_the_profile_folder(
    nodes, tmp_path: Path, encrypted: bool
) -> None:
    keys: dict[str, bytes | None] = {"alice": None, "bob": None}
    for name in keys:
        if encrypted:
            created = KeyStore(tmp_path / name).create("passphrase", passphrase="pw", kdf=FAST)
            keys[name] = created.key
    alice = await nodes(ALICE, profile="alice", data_key=keys["alice"])
    bob = await nodes(BOB, profile="bob", data_key=keys["bob"])
    await befriend(alice, bob)
    row = await alice.send_message(BOB, TEXT)
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    assert [m.text for m in bob.history(ALICE)] == [TEXT]
    for src, dst, name, data in ((alice, bob, "sent.txt", SENT), (bob, alice, "back.txt", BACK)):
        (tmp_path / name).write_bytes(data)
        conv = (await src.files.send(dst.user_id, "", [tmp_path / name])).event.conv
        def arrived(d: Node = dst, c: bytes = conv, n: str = name) -> dict[str, Any] | None:
            got = [f for f in d.files.list_files(c) if f["name"] == n]
            # (complete, and its plain copy made: on a thread, a FileChanged once there)
            return got[0] if got and got[0]["state"] == FILE_COMPLETE and got[0]["path"] \
                else None

        await until(arrived, alice, bob)
        got = arrived()
        assert got is not None
        assert read(got["path"]) == data  # (a plain copy, outside the profile)
        assert Path(got["path"]).is_relative_to(tmp_path) != encrypted
    identities = {"alice": alice.identity, "bob": bob.identity}
    await nodes.stop(alice)
    await nodes.stop(bob)

    for name, other in (("alice", BOB), ("bob", ALICE)):
        folder = tmp_path / name
        ident = identities[name]
        assert load_identity(folder, keys[name]) == ident  # read back
        if encrypted:
            assert (folder / KEY_FILE).read_bytes().startswith(SEALED_MAGIC)
            with pytest.raises(ProfileLocked):
                load_identity(folder)
        data = raw(folder)
        needles = {
            "message text": TEXT.encode(),
            "contact's name": other.encode(),
            "identity private key": ident.user_secret[:32],
            "device private key": ident.device_secret[:32],
            "a sent file's content": (SENT if name == "alice" else BACK)[:64],
            "a received file's content": (BACK if name == "alice" else SENT)[:64],
        }
        found = {what for what, needle in needles.items() if needle in data}
        assert found == (set() if encrypted else set(needles)), found


async def test_plain_profile_migrated_on_first_start_keeps_its_history(
    nodes, tmp_path: Path
) -> None:
    alice = await nodes("alice")
    bob = await nodes("bob")
    await befriend(alice, bob)
    rows = [await alice.send_message("bob", f"{TEXT} {i}") for i in range(20)]
    assert await alice.wait_status(rows[-1], STATUS_DELIVERED, 10)
    (tmp_path / "sent.txt").write_bytes(SENT)
    conv = (await alice.files.send(bob.user_id, "", [tmp_path / "sent.txt"])).event.conv
    await alice.flush()
    await until(lambda: alice.history("bob", limit=100)[-1].status_name == "delivered",
                alice, bob)
    before = [(m.text, m.status_name) for m in alice.history("bob", limit=100)]
    ident = alice.identity
    await nodes.stop(alice)
    profile = tmp_path / "alice"
    assert ident.user_secret[:32] in raw(profile) and SENT[:64] in raw(profile)

    # The upgrade's first start: a data key, then the node migrates the database and
    # seals the first release's plain key file.
    key = KeyStore(profile).create("none", kdf=FAST).key
    alice = await nodes("alice", data_key=key)
    assert alice.identity == ident
    assert [(m.text, m.status_name) for m in alice.history("bob", limit=100)] == before
    row = await alice.send_message("bob", "after the upgrade")
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    assert bob.history("alice", limit=100)[-1].text == "after the upgrade"
    await alice.files.prepare_views(r.file for r in alice.db.attachments(conv))
    [f] = alice.files.list_files(conv)  # (sealed in place at the start, still opens)
    assert f["state"] == FILE_COMPLETE and read(f["path"]) == SENT
    await nodes.stop(alice)
    data = raw(profile)
    assert TEXT.encode() not in data and SENT[:64] not in data
    assert ident.user_secret[:32] not in data and ident.device_secret[:32] not in data
    assert not (profile / PLAIN_OLD).exists()
    assert load_identity(profile, key) == ident


async def test_wrong_key_is_a_clear_start_error(nodes, tmp_path: Path) -> None:
    profile = tmp_path / "alice"
    store = KeyStore(profile)
    key = store.create("passphrase", passphrase="right", kdf=FAST).key
    alice = await nodes("alice", data_key=key)
    await nodes.stop(alice)

    with pytest.raises(WrongPassphrase):
        store.unlock(passphrase="wrong")
    with pytest.raises(EnvironmentProblem, match="does not open"):
        await nodes("alice", data_key=bytes(32))  # as if a wrong key got through
    await nodes("alice", data_key=store.unlock(passphrase="right"))
