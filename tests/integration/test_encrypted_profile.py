"""Encrypted profiles end to end: two nodes whose stores are opened with their profiles'
data keys (as the node's start-up will once it is wired: see ``encrypted_stores``), a real
conversation, then the raw files grepped for what must not show. The same run with plain
profiles finds it all, so the grep can fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from nodekit import befriend

import p2p.node
from p2p.errors import EnvironmentProblem
from p2p.identity import KEY_FILE, Identity, load_identity
from p2p.keystore import KdfParams, KeyStore, WrongPassphrase, open_sealed, seal
from storage import STATUS_DELIVERED, Store, cipher

FAST = KdfParams(opslimit=1, memlimit=8192)
ALICE = "alice-marchbanks"
BOB = "bartholomew-quince"  # long enough never to show up by chance in ciphertext
TEXT = "the spare key is taped under the second drawer"


@pytest.fixture
def encrypted_stores(monkeypatch: pytest.MonkeyPatch) -> dict[Path, bytes]:
    """Profile folder -> data key; the node opens the store of a listed profile with its
    key (what ``Node.start`` will do with ``KeyStore(profile).unlock()``)."""
    keys: dict[Path, bytes] = {}

    def store(path: Path | str, key: bytes | None = None) -> Store:
        return Store(path, key=keys.get(Path(path).parent, key))

    monkeypatch.setattr(p2p.node, "Store", store)
    return keys


def seal_identity(profile: Path, key: bytes) -> Identity:
    """What the lead's identity loading will do: the key file sealed with the data key."""
    path = profile / KEY_FILE
    plain = path.read_bytes()
    path.write_bytes(seal(key, plain))
    return Identity.decode(open_sealed(key, path.read_bytes()))


def raw(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_nothing_readable_in_the_profile_folder(
    nodes, tmp_path: Path, encrypted_stores: dict[Path, bytes], encrypted: bool
) -> None:
    keys = {}
    for name in ("alice", "bob"):
        if encrypted:
            created = KeyStore(tmp_path / name).create("passphrase", passphrase="pw", kdf=FAST)
            keys[name] = created.key
            encrypted_stores[tmp_path / name] = created.key
    alice = await nodes(ALICE, profile="alice")
    bob = await nodes(BOB, profile="bob")
    await befriend(alice, bob)
    row = await alice.send_message(BOB, TEXT)
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    assert [m.text for m in bob.history(ALICE)] == [TEXT]
    secrets = {
        "alice": load_identity(tmp_path / "alice"),
        "bob": load_identity(tmp_path / "bob"),
    }
    await nodes.stop(alice)
    await nodes.stop(bob)

    for name, other in (("alice", BOB), ("bob", ALICE)):
        folder = tmp_path / name
        ident = secrets[name]
        assert ident is not None
        if encrypted:
            assert seal_identity(folder, keys[name]) == ident
        data = raw(folder)
        needles = {
            "message text": TEXT.encode(),
            "contact's name": other.encode(),
            "identity private key": ident.user_secret[:32],
            "device private key": ident.device_secret[:32],
        }
        found = {what for what, needle in needles.items() if needle in data}
        assert found == (set() if encrypted else set(needles)), found


async def test_plain_profile_migrated_on_first_start_keeps_its_history(
    nodes, tmp_path: Path, encrypted_stores: dict[Path, bytes]
) -> None:
    alice = await nodes("alice")
    bob = await nodes("bob")
    await befriend(alice, bob)
    rows = [await alice.send_message("bob", f"{TEXT} {i}") for i in range(20)]
    assert await alice.wait_status(rows[-1], STATUS_DELIVERED, 10)
    before = [(m.text, m.status_name) for m in alice.history("bob", limit=100)]
    await nodes.stop(alice)

    # The upgrade's first start: a data key, the migration, then the encrypted store.
    profile = tmp_path / "alice"
    key = KeyStore(profile).create("none", kdf=FAST).key
    steps: list[str] = []
    assert cipher.ensure_encrypted(profile / "kith.db", key, lambda s, d, t: steps.append(s))
    assert {"copy", "check", "swap"} <= set(steps)
    encrypted_stores[profile] = key

    alice = await nodes("alice")
    assert [(m.text, m.status_name) for m in alice.history("bob", limit=100)] == before
    row = await alice.send_message("bob", "after the upgrade")
    assert await alice.wait_status(row, STATUS_DELIVERED, 10)
    assert bob.history("alice", limit=100)[-1].text == "after the upgrade"
    assert TEXT.encode() not in raw(profile)


async def test_wrong_key_is_a_clear_start_error(
    nodes, tmp_path: Path, encrypted_stores: dict[Path, bytes]
) -> None:
    profile = tmp_path / "alice"
    store = KeyStore(profile)
    key = store.create("passphrase", passphrase="right", kdf=FAST).key
    encrypted_stores[profile] = key
    alice = await nodes("alice")
    await nodes.stop(alice)

    with pytest.raises(WrongPassphrase):
        store.unlock(passphrase="wrong")
    encrypted_stores[profile] = bytes(32)  # as if a wrong key got through
    with pytest.raises(EnvironmentProblem, match="key does not open"):
        await nodes("alice")
    encrypted_stores[profile] = store.unlock(passphrase="right")
    await nodes("alice")
