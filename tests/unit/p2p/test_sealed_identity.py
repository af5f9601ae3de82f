"""The identity key file sealed with the profile's data key: written sealed, read back
only with the key, a first-release plain file sealed in place with nothing plain left,
and a crash at each step of that leaves a whole key file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kith.p2p import identity as ident
from kith.p2p.identity import (
    KEY_FILE,
    PLAIN_OLD,
    SEALED_MAGIC,
    Identity,
    ProfileLocked,
    identity_exists,
    is_sealed,
    load_identity,
    save_identity,
    seal_key_file,
)
from kith.p2p.profile import create_identity

KEY = bytes(range(32))


def test_a_new_identity_with_a_key_is_sealed_and_reads_back(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    me = create_identity(profile, "alice", "laptop", key=KEY)
    data = (profile / KEY_FILE).read_bytes()
    assert data.startswith(SEALED_MAGIC) and is_sealed(profile)
    assert me.user_secret[:32] not in data and me.device_secret[:32] not in data
    assert load_identity(profile, KEY) == me
    assert identity_exists(profile)
    with pytest.raises(ProfileLocked, match="unlock"):
        load_identity(profile)
    with pytest.raises(ProfileLocked, match="does not open"):
        load_identity(profile, bytes(32))


def test_a_changed_sealed_file_is_refused(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    create_identity(profile, "alice", "laptop", key=KEY)
    path = profile / KEY_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ProfileLocked, match="changed or damaged"):
        load_identity(profile, KEY)


def test_a_plain_key_file_opens_with_a_key_and_is_sealed_with_nothing_left(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "p"
    me = create_identity(profile, "alice", "laptop")
    assert not is_sealed(profile)
    assert load_identity(profile, KEY) == me  # the first release's file, key or not
    assert seal_key_file(profile, KEY)
    assert is_sealed(profile) and load_identity(profile, KEY) == me
    assert not (profile / PLAIN_OLD).exists()
    assert not seal_key_file(profile, KEY)  # once
    assert oct((profile / KEY_FILE).stat().st_mode & 0o777) == "0o600"


def test_renaming_keeps_the_file_sealed(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    me = create_identity(profile, "alice", "laptop", key=KEY)
    save_identity(profile, me.with_name("alicia"), replace=True, key=KEY)
    assert is_sealed(profile)
    got = load_identity(profile, KEY)
    assert got is not None and got.name == "alicia"


@pytest.mark.parametrize("crash", ["save", "wipe"])
def test_a_crash_while_sealing_leaves_a_whole_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    profile = tmp_path / "p"
    me = create_identity(profile, "alice", "laptop")
    import kith.storage.cipher

    class Crash(Exception):
        pass

    def boom(*args: object, **kw: object) -> None:
        raise Crash

    if crash == "save":
        monkeypatch.setattr(ident, "save_identity", boom)
    else:
        monkeypatch.setattr(kith.storage.cipher, "wipe_file", boom)
    with pytest.raises(Crash):
        seal_key_file(profile, KEY)
    monkeypatch.undo()
    assert load_identity(profile, KEY) == me  # whole: plain (save) or sealed (wipe)
    assert (profile / PLAIN_OLD).exists()
    seal_key_file(profile, KEY)  # the next start finishes it
    assert is_sealed(profile) and load_identity(profile, KEY) == me
    assert not (profile / PLAIN_OLD).exists()
    leftovers = b"".join(p.read_bytes() for p in profile.iterdir() if p.is_file())
    assert me.user_secret[:32] not in leftovers


def test_the_plain_copy_is_overwritten_before_it_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "p"
    me = create_identity(profile, "alice", "laptop")
    import kith.storage.cipher

    seen: list[bytes] = []
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name == PLAIN_OLD:
            seen.append(self.read_bytes())
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    assert kith.storage.cipher.wipe_file is not None
    seal_key_file(profile, KEY)
    assert seen and all(set(data) <= {0} for data in seen)
    assert me.user_secret[:32] not in b"".join(seen)
    assert Identity.decode(me.encode()) == me and os.path.exists(profile / KEY_FILE)
