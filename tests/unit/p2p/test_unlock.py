"""p2p.unlock: what a profile needs before it opens, the protection to suggest, an orphan
key replaced, and the migration of a first-release profile (database and key file)."""

from __future__ import annotations

from pathlib import Path

import keyring.backends.fail
import pytest
from chatkit import write_long_chat

from kith.p2p import unlock
from kith.p2p.identity import KEY_FILE, PLAIN_OLD, is_sealed, load_identity
from kith.p2p.keystore import KEY_FILES, KdfParams, KeyStore, keyring_status
from kith.p2p.profile import DB_FILE, create_identity
from kith.storage import Store
from kith.storage.cipher import is_encrypted

FAST = KdfParams(opslimit=1, memlimit=8192)


def test_states_of_a_profile(tmp_path: Path) -> None:
    new = unlock.inspect(tmp_path / "new")
    assert not new.has_identity and not new.needs_choice and not new.needs_passphrase
    plain = tmp_path / "plain"
    create_identity(plain, "ada", "desk")
    assert unlock.inspect(plain).needs_choice
    locked = tmp_path / "locked"
    key = KeyStore(locked).create("passphrase", passphrase="pw", kdf=FAST).key
    create_identity(locked, "ada", "desk", key=key)
    state = unlock.inspect(locked)
    assert state.has_key and not state.needs_choice and state.needs_passphrase


def test_the_keyring_is_suggested_where_it_works_else_a_passphrase() -> None:
    assert unlock.suggested(keyring_status(keyring.backends.fail.Keyring())) == "passphrase"
    assert unlock.suggested(keyring_status()) == "keyring"  # (the tests' own keyring)


def test_an_orphan_key_of_an_interrupted_init_is_replaced(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    KeyStore(profile).create("none", kdf=FAST)  # then init died before the identity
    first = (profile / KEY_FILES[0]).read_bytes()
    created = unlock.create(profile, "none", kdf=FAST)
    assert (profile / KEY_FILES[0]).read_bytes() != first
    assert unlock.unlock(profile) == created.key
    create_identity(profile, "ada", "desk", key=created.key)
    with pytest.raises(Exception, match="already has a data key"):
        unlock.create(profile, "none", kdf=FAST)  # never once an identity uses it


def test_migrate_encrypts_the_database_and_seals_the_key_file(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    write_long_chat(profile, 300, lambda i: f"old {i}")
    me = load_identity(profile)
    key = unlock.create(profile, "none", kdf=FAST).key
    assert unlock.needs_migration(profile)
    stages: list[str] = []
    assert unlock.migrate(profile, key, lambda s, d, t: stages.append(s))
    assert {"copy", "check", "swap"} <= set(stages)
    assert is_encrypted(profile / DB_FILE) and is_sealed(profile)
    assert not (profile / PLAIN_OLD).exists()
    assert not unlock.needs_migration(profile)
    assert load_identity(profile, key) == me
    store = Store(profile / DB_FILE, key=key)
    try:
        ((conv, _),) = store.conversations()
        assert [m.text for m in store.messages(conv, limit=1000)] == [
            f"old {i}" for i in range(300)]
    finally:
        store.close()
    assert not unlock.migrate(profile, key)  # done: nothing more
    assert (profile / KEY_FILE).exists()
