"""A read-only profile (issue 15 #13): a clear message and a distinct exit status, never
a traceback, and nothing in it changed. The profile is bind-mounted read-only in a
private mount namespace (root, or a user namespace where the kernel allows one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _readonly_kith(profile: Path, *args: str) -> subprocess.CompletedProcess:
    script = (
        'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    )
    prefix = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-r", "--mount"]
    return subprocess.run(
        [*prefix, "sh", "-c", script, str(profile), sys.executable, "-m", "kith",
         "--profile", str(profile), *args],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"]}, capture_output=True,
        timeout=120, check=False,
    )


@pytest.fixture
def readonly_ok(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux)")
    probe = tmp_path / "probe"
    probe.mkdir()
    done = _readonly_kith(probe, "--version")
    if done.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.decode()[:200]}")


def _snapshot(profile: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(profile.iterdir())}


def test_a_read_only_profile_is_a_clear_message(tmp_path, readonly_ok):
    profile = tmp_path / "p"
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"]}
    for args in (["init", "--name", "alice"], ["contacts"]):
        subprocess.run([sys.executable, "-m", "kith", "--profile", str(profile), *args],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    before = _snapshot(profile)
    for command in (["contacts", "--json"], ["config", "set", "theme", "dark"],
                    ["whoami"]):
        done = _readonly_kith(profile, *command)
        err = done.stderr.decode()
        assert "Traceback" not in err, err
        if command == ["whoami"]:  # reading the identity needs no write... but the lock does
            assert done.returncode in (0, 1), err
        else:
            assert done.returncode == 1, (command, done.returncode, err)
            assert "read-only file system" in err, err
    assert _snapshot(profile) == before


def test_init_in_a_read_only_folder_is_a_clear_message(tmp_path, readonly_ok):
    profile = tmp_path / "empty"
    profile.mkdir(mode=0o700)
    done = _readonly_kith(profile, "init", "--name", "alice")
    err = done.stderr.decode()
    assert "Traceback" not in err, err
    assert done.returncode == 1 and "read-only file system" in err, err
    assert list(profile.iterdir()) == []
