"""A profile folder made by someone else is not trusted (issue 15 #8): p2p.safefs and
p2p.profile refuse a folder or file of another user or writable by others, never follow
a symlink planted there, and create every file 0600 whatever the folder and umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kith.p2p.errors import EnvironmentProblem
from kith.p2p.identity import KEY_FILE, Identity, load_identity, save_identity
from kith.p2p.profile import (
    DB_FILE,
    LOCK_FILE,
    ProfileLock,
    claim,
    control_socket_path,
    create_identity,
    prepare,
    read_holder,
    runtime_dir,
)
from kith.p2p.safefs import UntrustedProfile

ROOT = os.geteuid() == 0
NOBODY = 65534
as_root = pytest.mark.skipif(not ROOT, reason="changing a file's owner needs root")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the profile that a planted symlink points at."""
    target = tmp_path / "victim"
    target.write_bytes(b"precious")
    return target


def test_the_lock_file_never_truncates_through_a_symlink(tmp_path: Path, victim: Path) -> None:
    profile = tmp_path / "p"
    profile.mkdir(mode=0o700)
    (profile / LOCK_FILE).symlink_to(victim)
    with pytest.raises(UntrustedProfile, match="symbolic link"):
        ProfileLock(profile).acquire()
    assert victim.read_bytes() == b"precious"


def test_the_identity_is_never_written_through_a_planted_temporary_file(
    tmp_path: Path, victim: Path
) -> None:
    profile = tmp_path / "p"
    profile.mkdir(mode=0o700)
    (profile / (KEY_FILE + ".tmp")).symlink_to(victim)
    created = create_identity(profile, "alice", "desk")
    assert victim.read_bytes() == b"precious"
    assert load_identity(profile) == created
    assert not os.path.lexists(profile / (KEY_FILE + ".tmp"))
    assert _mode(profile / KEY_FILE) == 0o600


def test_a_symlinked_key_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    save_identity(real, Identity.generate("alice"))
    profile = tmp_path / "p"
    profile.mkdir(mode=0o700)
    (profile / KEY_FILE).symlink_to(real / KEY_FILE)
    with pytest.raises(UntrustedProfile, match="symbolic link"):
        load_identity(profile)


@pytest.mark.parametrize("name", [DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm"])
def test_a_symlinked_database_file_is_refused(tmp_path: Path, victim: Path, name: str) -> None:
    profile = tmp_path / "p"
    create_identity(profile, "alice")
    (profile / name).symlink_to(victim)
    with pytest.raises(UntrustedProfile, match="symbolic link"):
        ProfileLock(profile).acquire()
    assert victim.read_bytes() == b"precious"


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_every_file_is_0600_whatever_the_folder_and_umask(tmp_path: Path, umask: int) -> None:
    profile = tmp_path / "p"
    old = os.umask(umask)
    try:
        profile.mkdir(mode=0o755)
        os.chmod(profile, 0o755)  # a folder made by hand, readable by everyone
        create_identity(profile, "alice")
        lock = ProfileLock(profile)
        lock.acquire()
        lock.release()
    finally:
        os.umask(old)
    assert _mode(profile) == 0o700  # closed by Kith (it was only readable by others)
    for name in (KEY_FILE, DB_FILE, LOCK_FILE):
        assert _mode(profile / name) == 0o600, name


def test_a_profile_file_readable_by_others_is_closed(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    create_identity(profile, "alice")
    os.chmod(profile / KEY_FILE, 0o644)
    assert load_identity(profile) is not None
    assert _mode(profile / KEY_FILE) == 0o600


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_a_folder_others_can_write_to_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    profile = tmp_path / "p"
    profile.mkdir()
    os.chmod(profile, mode)
    with pytest.raises(UntrustedProfile) as info:
        create_identity(profile, "alice")
    assert f"chmod 700 {profile}" in str(info.value)
    assert not (profile / KEY_FILE).exists()
    with pytest.raises(UntrustedProfile):
        ProfileLock(profile).acquire()
    assert not (profile / DB_FILE).exists()


def test_a_key_file_others_can_write_is_refused(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    create_identity(profile, "alice")
    os.chmod(profile / KEY_FILE, 0o666)
    with pytest.raises(UntrustedProfile, match=f"chmod 600 {profile / KEY_FILE}"):
        load_identity(profile)


@as_root
def test_a_folder_of_another_user_is_refused_with_the_fix(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    profile.mkdir(mode=0o700)
    os.chown(profile, NOBODY, NOBODY)
    with pytest.raises(UntrustedProfile, match="not to you") as info:
        create_identity(profile, "alice")
    assert "chown" in str(info.value)
    with pytest.raises(UntrustedProfile):
        ProfileLock(profile).acquire()


@as_root
def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    create_identity(profile, "alice")
    os.chown(profile / KEY_FILE, NOBODY, NOBODY)
    with pytest.raises(UntrustedProfile, match="not to you"):
        load_identity(profile)


def test_prepare_creates_the_database_file_0600_before_sqlite(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    prepare(profile)
    assert (profile / DB_FILE).stat().st_size == 0
    assert _mode(profile / DB_FILE) == 0o600


def test_the_lock_file_says_who_holds_the_profile(tmp_path: Path) -> None:
    lock = claim(tmp_path, "daemon", wait_for=lambda h: False)
    try:
        holder = read_holder(tmp_path)
        assert holder is not None and (holder.pid, holder.role) == (os.getpid(), "daemon")
        assert "daemon" in holder.describe()
        # A node started by this process nests in the claim; another claim is refused.
        nested = ProfileLock(tmp_path)
        nested.acquire()
        nested.release()
        assert ProfileLock.held(tmp_path)
        with pytest.raises(EnvironmentProblem, match="already runs"):
            claim(tmp_path, "app", wait_for=lambda h: False)
    finally:
        lock.release()
    assert not ProfileLock.held(tmp_path)


def test_the_control_socket_is_in_the_runtime_dir_for_any_profile_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    deep = tmp_path / ("x" * 120) / ("y" * 120)
    path = control_socket_path(deep)
    assert path.parent == run / "kith" and _mode(run / "kith") == 0o700
    assert len(str(path).encode()) < 108
    assert control_socket_path(deep) == path != control_socket_path(tmp_path / "other")


def test_without_xdg_runtime_dir_the_fallback_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    path = runtime_dir()
    assert path == tmp_path / f"kith-{os.geteuid()}" and _mode(path) == 0o700


def test_a_runtime_dir_others_can_write_to_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    (run / "kith").mkdir(parents=True)
    os.chmod(run / "kith", 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    with pytest.raises(UntrustedProfile, match="control sockets"):
        runtime_dir()


def test_a_symlinked_runtime_dir_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (run / "kith").symlink_to(elsewhere)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    with pytest.raises(UntrustedProfile, match="symbolic link"):
        runtime_dir()
