"""The data key and its wrappings: keyring, passphrase, none, recovery code, two copies."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import keyring.backend
import keyring.backends.fail
import msgspec
import nacl.pwhash
import pytest

from kith.p2p import keystore
from kith.p2p.errors import UserError
from kith.p2p.keystore import (
    KEY_FILES,
    KdfParams,
    KeyFileDamaged,
    KeyMissing,
    KeyringEntryChanged,
    KeyringEntryMissing,
    KeyringUnavailable,
    KeyStore,
    KeystoreError,
    PassphraseRequired,
    WrongPassphrase,
    WrongRecoveryCode,
)

FAST = KdfParams(opslimit=1, memlimit=8192)  # Argon2id's minimum: tests need no 0.5 s


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An OS keyring in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[(service, username)]


@pytest.fixture
def ring() -> MemoryKeyring:
    return MemoryKeyring()


def copies(profile: Path) -> list[bytes]:
    return [(profile / name).read_bytes() for name in KEY_FILES]


def test_keyring_wrapping_opens_without_prompt(tmp_path: Path, ring: MemoryKeyring) -> None:
    created = KeyStore(tmp_path, ring).create("keyring", kdf=FAST)

    assert len(created.key) == 32
    assert KeyStore(tmp_path, ring).unlock() == created.key
    assert len(ring.entries) == 1
    a, b = copies(tmp_path)
    assert a == b
    assert created.key not in a and created.key.hex().encode() not in a
    for name in KEY_FILES:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    info = KeyStore(tmp_path, ring).info()
    assert info.protection == "keyring" and info.has_recovery and not info.unprotected


def test_passphrase_right_wrong_and_missing(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.create("passphrase", passphrase="correct horse", kdf=FAST).key

    assert store.unlock(passphrase="correct horse") == key
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        store.unlock(passphrase="correct hose")
    with pytest.raises(PassphraseRequired):
        store.unlock()
    assert store.info().kdf == FAST  # stored with the wrapping: it can change later


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="passphrase"):
        KeyStore(tmp_path).create("passphrase", passphrase="", kdf=FAST)
    assert not KeyStore(tmp_path).exists()


def test_no_protection_is_flagged(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.create("none", kdf=FAST).key

    assert store.info().unprotected
    assert store.unlock() == key


def test_recovery_code_opens_and_is_forgiving_about_typing(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    created = store.create("passphrase", passphrase="pw", kdf=FAST)
    code = created.recovery_code
    assert len(code.replace("-", "")) == 32

    typed = " " + code.lower().replace("-", " ").replace("0", "o") + " "
    assert store.unlock(recovery_code=typed) == created.key
    wrong = ("1" if code[0] != "1" else "2") + code[1:]
    with pytest.raises(WrongRecoveryCode):
        store.unlock(recovery_code=wrong)


def test_keyring_entry_gone_says_so_and_recovery_code_rewraps(
    tmp_path: Path, ring: MemoryKeyring
) -> None:
    created = KeyStore(tmp_path, ring).create("keyring", kdf=FAST)
    ring.entries.clear()  # the keyring was reset

    store = KeyStore(tmp_path, ring)
    with pytest.raises(KeyringEntryMissing, match="recovery code"):
        store.unlock()
    key = store.unlock(recovery_code=created.recovery_code)
    store.change(key, "passphrase", passphrase="new one", kdf=FAST)

    assert KeyStore(tmp_path, ring).unlock(passphrase="new one") == created.key
    assert KeyStore(tmp_path, ring).unlock(recovery_code=created.recovery_code) == created.key


def test_keyring_entry_changed_says_so(tmp_path: Path, ring: MemoryKeyring) -> None:
    KeyStore(tmp_path, ring).create("keyring", kdf=FAST)
    (entry,) = ring.entries
    ring.entries[entry] = os.urandom(32).hex()

    with pytest.raises(KeyringEntryChanged, match="recovery code"):
        KeyStore(tmp_path, ring).unlock()


def test_headless_box_without_keyring_is_detected(tmp_path: Path, ring: MemoryKeyring) -> None:
    headless = keyring.backends.fail.Keyring()
    status = keystore.keyring_status(headless)
    assert not status.usable
    assert "passphrase" in status.reason
    assert keystore.keyring_status(ring).usable

    with pytest.raises(KeyringUnavailable):
        KeyStore(tmp_path, headless).create("keyring", kdf=FAST)
    assert not KeyStore(tmp_path).exists()  # nothing half made

    created = KeyStore(tmp_path, ring).create("keyring", kdf=FAST)  # made on the desktop
    with pytest.raises(KeyringUnavailable, match="recovery code"):
        KeyStore(tmp_path, headless).unlock()  # opened over ssh
    assert KeyStore(tmp_path, headless).unlock(recovery_code=created.recovery_code) == created.key


def test_changing_wrapping_removes_the_old_keyring_entry(
    tmp_path: Path, ring: MemoryKeyring
) -> None:
    store = KeyStore(tmp_path, ring)
    key = store.create("keyring", kdf=FAST).key
    store.change(key, "none")
    assert ring.entries == {}
    assert store.unlock() == key
    store.change(key, "keyring")
    assert len(ring.entries) == 1
    assert store.unlock() == key
    with pytest.raises(UserError, match="not the data key"):
        store.change(os.urandom(32), "none")


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "emptied", "deleted"])
@pytest.mark.parametrize("which", [0, 1])
def test_one_damaged_copy_the_other_opens_and_is_copied_back(
    tmp_path: Path, damage: str, which: int
) -> None:
    store = KeyStore(tmp_path)
    key = store.create("passphrase", passphrase="pw", kdf=FAST).key
    good = copies(tmp_path)[which]
    path = tmp_path / KEY_FILES[which]
    data = path.read_bytes()
    if damage == "flipped byte":
        path.write_bytes(data[:40] + bytes([data[40] ^ 1]) + data[41:])
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "emptied":
        path.write_bytes(b"")
    else:
        path.unlink()

    assert KeyStore(tmp_path).unlock(passphrase="pw") == key
    assert path.read_bytes() == good  # repaired from the other copy
    with pytest.raises(WrongPassphrase):  # damage is never taken for a wrong passphrase
        KeyStore(tmp_path).unlock(passphrase="pW")


def test_both_copies_damaged_or_missing(tmp_path: Path) -> None:
    with pytest.raises(KeyMissing):
        KeyStore(tmp_path).unlock()
    KeyStore(tmp_path).create("none", kdf=FAST)
    for name in KEY_FILES:
        (tmp_path / name).write_bytes(b"{}\n0\n")
    with pytest.raises(KeyFileDamaged, match="both copies"):
        KeyStore(tmp_path).unlock()


def test_crash_between_the_two_copies_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = KeyStore(tmp_path)
    key = store.create("passphrase", passphrase="old", kdf=FAST).key
    real = keystore._write_atomic
    calls: list[Path] = []

    def crash_on_second(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise SystemExit("killed")  # the process dies before the second copy
        real(path, data)

    monkeypatch.setattr(keystore, "_write_atomic", crash_on_second)
    with pytest.raises(SystemExit):
        store.change(key, "passphrase", passphrase="new", kdf=FAST)
    monkeypatch.setattr(keystore, "_write_atomic", real)

    a, b = copies(tmp_path)
    assert a != b  # the change got halfway
    assert KeyStore(tmp_path).unlock(passphrase="new") == key
    assert copies(tmp_path)[0] == copies(tmp_path)[1]  # and is completed by the unlock
    assert KeyStore(tmp_path).unlock(passphrase="new") == key


def test_crash_mid_change_old_passphrase_still_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = KeyStore(tmp_path)
    key = store.create("passphrase", passphrase="old", kdf=FAST).key
    real = keystore._write_atomic

    def crash_on_second(path: Path, data: bytes) -> None:
        if path.name == KEY_FILES[1]:
            raise SystemExit("killed")
        real(path, data)

    monkeypatch.setattr(keystore, "_write_atomic", crash_on_second)
    with pytest.raises(SystemExit):
        store.change(key, "passphrase", passphrase="new", kdf=FAST)
    monkeypatch.setattr(keystore, "_write_atomic", real)

    assert KeyStore(tmp_path).unlock(passphrase="old") == key


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    KeyStore(profile).create("none", kdf=FAST)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (profile / (KEY_FILES[0] + ".tmp")).symlink_to(victim)

    KeyStore(profile).new_recovery_code(KeyStore(profile).unlock(), kdf=FAST)
    assert victim.read_bytes() == b"precious"  # the temp name's symlink was not written

    (profile / KEY_FILES[0]).unlink()
    (profile / KEY_FILES[0]).symlink_to(victim)
    with pytest.raises(KeystoreError, match="symlink"):
        KeyStore(profile).unlock()


def test_new_recovery_code_replaces_the_old(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    created = store.create("none", kdf=FAST)
    code = store.new_recovery_code(created.key, kdf=FAST)

    assert store.unlock(recovery_code=code) == created.key
    with pytest.raises(WrongRecoveryCode):
        store.unlock(recovery_code=created.recovery_code)


def test_create_refuses_over_an_existing_key(tmp_path: Path) -> None:
    KeyStore(tmp_path).create("none", kdf=FAST)
    before = copies(tmp_path)
    with pytest.raises(UserError, match="already"):
        KeyStore(tmp_path).create("none", kdf=FAST)
    assert copies(tmp_path) == before


def test_seal_and_open() -> None:
    key = os.urandom(32)
    sealed = keystore.seal(key, b"identity secret")
    assert b"identity secret" not in sealed
    assert keystore.open(key, sealed) == b"identity secret"
    with pytest.raises(KeystoreError):
        keystore.open(os.urandom(32), sealed)
    with pytest.raises(KeystoreError):
        keystore.open(key, sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_key_file_is_plain_json_with_checksum(tmp_path: Path) -> None:
    KeyStore(tmp_path).create("passphrase", passphrase="pw", kdf=FAST)
    body = copies(tmp_path)[0].split(b"\n")[0]
    decoded = msgspec.json.decode(body)
    assert decoded["protection"] == "passphrase"
    assert {w["method"] for w in decoded["wrappings"]} == {"passphrase", "recovery"}


def test_measured_kdf_is_at_least_argon2id_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KITH_KDF_FAST", raising=False)
    params = keystore.measure_kdf()
    assert params.memlimit >= nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
    assert params.opslimit >= 1
    assert keystore.measure_kdf() is params  # measured once per process


def test_passphrase_from_a_file_or_a_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    path.write_text("two words\n")
    assert keystore.read_passphrase(path) == "two words"
    r, w = os.pipe()
    os.write(w, "pässphrase".encode())
    os.close(w)
    try:
        assert keystore.read_passphrase(r) == "pässphrase"
    finally:
        os.close(r)
    with pytest.raises(KeystoreError, match="does not exist"):
        keystore.read_passphrase(tmp_path / "missing")
    (tmp_path / "link").symlink_to(path)
    with pytest.raises(KeystoreError, match="symlink"):
        keystore.read_passphrase(tmp_path / "link")


def test_wrong_tries_slow_down_after_five() -> None:
    delays = [keystore.retry_delay(n) for n in range(12)]
    assert delays[:5] == [0.0] * 5
    assert delays[5:] == sorted(delays[5:]) and delays[5] > 0 and delays[-1] <= 60
