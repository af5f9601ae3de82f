"""Unlocking a profile on the command line, with real ``kith`` processes (issue 16): init
chooses the protection and prints the recovery code once; every command and the daemon
unlock the same way; a wrong passphrase is a clear message and exit 7, never a traceback;
a keyring that is gone is recovered with the code; a headless box is offered a
passphrase; a first-release plain profile is encrypted at its first start and a kill -9
at several points of that loses nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import keyringkit
import pytest
from clikit import PYTHONPATH, ROOT

from kith.p2p.identity import KEY_FILE, SEALED_MAGIC, load_identity
from kith.p2p.keystore import KeyStore
from kith.p2p.profile import DB_FILE
from kith.storage import Store
from kith.storage.cipher import is_encrypted

EXIT_LOCKED = 7
CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){7}\b")


def kith(profile: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None,
         pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kith", "--profile", str(profile), "--interface", "127.0.0.1",
         *args],
        input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
        env={**os.environ, "PYTHONPATH": PYTHONPATH, **(env or {})}, pass_fds=pass_fds,
    )


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr, r.stderr


def test_init_with_the_keyring_prints_the_code_once_and_seals_everything(tmp_path: Path):
    profile = tmp_path / "p"
    r = kith(profile, "init", "--name", "alice")
    assert r.returncode == 0, r.stderr
    assert len(CODE.findall(r.stderr)) == 1 and not CODE.findall(r.stdout)
    assert (profile / KEY_FILE).read_bytes().startswith(SEALED_MAGIC)
    assert KeyStore(profile).info().protection == "keyring"
    r = kith(profile, "whoami")
    assert r.returncode == 0 and "alice" in r.stdout and not CODE.findall(r.stderr)
    r = kith(profile, "config", "protection")
    assert r.stdout.strip() == "protection: keyring"
    r = kith(profile, "contacts")  # a node: the database is created encrypted
    assert r.returncode == 0, r.stderr
    assert is_encrypted(profile / DB_FILE)


def test_passphrase_from_stdin_fd_and_file_and_a_wrong_one(tmp_path: Path):
    profile = tmp_path / "p"
    r = kith(profile, "init", "--name", "alice", "--protect", "passphrase", stdin="open sesame\n")
    assert r.returncode == 0, r.stderr
    assert kith(profile, "whoami", stdin="open sesame\n").returncode == 0
    r = kith(profile, "whoami", stdin="open barley\n")
    assert r.returncode == EXIT_LOCKED
    assert "wrong passphrase" in r.stderr and "kith recover" in r.stderr
    no_traceback(r)
    r = kith(profile, "whoami")  # nothing on stdin
    assert r.returncode == EXIT_LOCKED and "passphrase is needed" in r.stderr
    no_traceback(r)
    secret = tmp_path / "pw"
    secret.write_text("open sesame\n")
    r = kith(profile, "contacts", env={"KITH_PASSPHRASE_FILE": str(secret)})
    assert r.returncode == 0, r.stderr
    read, write = os.pipe()
    os.write(write, b"open sesame")
    os.close(write)
    try:
        r = kith(profile, "--passphrase-fd", str(read), "whoami", pass_fds=(read,))
    finally:
        os.close(read)
    assert r.returncode == 0, r.stderr
    r = kith(profile, "whoami", env={"KITH_PASSPHRASE_FILE": str(tmp_path / "missing")})
    assert r.returncode != 0 and "does not exist" in r.stderr
    no_traceback(r)


def test_none_is_stated_with_a_warning(tmp_path: Path):
    profile = tmp_path / "p"
    r = kith(profile, "init", "--name", "alice", "--protect", "none")
    assert r.returncode == 0 and "WARNING" in r.stderr and "unprotected" in r.stderr
    assert KeyStore(profile).info().unprotected
    assert "WARNING" in kith(profile, "config", "protection").stderr


def test_a_headless_box_is_offered_a_passphrase(tmp_path: Path):
    headless = {"PYTHON_KEYRING_BACKEND": keyringkit.HEADLESS}
    profile = tmp_path / "p"
    r = kith(profile, "init", "--name", "alice", env=headless)
    assert r.returncode == 1 and "no OS keyring here" in r.stderr
    assert "--protect passphrase" in r.stderr
    no_traceback(r)
    assert not (profile / KEY_FILE).exists()
    r = kith(profile, "init", "--name", "alice", "--protect", "keyring", env=headless)
    assert r.returncode == 1 and "cannot use the OS keyring" in r.stderr
    r = kith(profile, "init", "--name", "alice", "--protect", "passphrase", env=headless,
             stdin="pw\n")
    assert r.returncode == 0, r.stderr
    assert kith(profile, "whoami", env=headless, stdin="pw\n").returncode == 0


def test_keyring_gone_then_recovered_with_the_code(tmp_path: Path):
    profile = tmp_path / "p"
    r = kith(profile, "init", "--name", "alice")
    (code,) = CODE.findall(r.stderr)
    keyringkit.clear()
    r = kith(profile, "whoami")
    assert r.returncode == EXIT_LOCKED
    assert "no entry for this Kith profile" in r.stderr and "kith recover" in r.stderr
    no_traceback(r)
    r = kith(profile, "recover", "--protect", "passphrase", stdin="WRONG-CODE\n")
    assert r.returncode == EXIT_LOCKED and "recovery code does not open" in r.stderr
    r = kith(profile, "recover", "--protect", "passphrase",
             stdin=f"{code.lower()}\nnew words\n")
    assert r.returncode == 0, r.stderr
    assert kith(profile, "whoami", stdin="new words\n").returncode == 0
    # Back to the keyring, with a new recovery code; the old one stops working.
    r = kith(profile, "config", "protection", "keyring", "--new-recovery-code",
             stdin="new words\n")
    assert r.returncode == 0, r.stderr
    (new_code,) = CODE.findall(r.stderr)
    assert new_code != code
    assert kith(profile, "whoami").returncode == 0
    key = KeyStore(profile).unlock(recovery_code=new_code)
    assert load_identity(profile, key) is not None


def plain_profile(profile: Path, n: int) -> list[str]:
    from chatkit import write_long_chat

    write_long_chat(profile, n, lambda i: f"plain message {i} " + "lorem ipsum " * (i % 5))
    return [f"plain message {i} " + "lorem ipsum " * (i % 5) for i in range(n)]


def history(profile: Path, key: bytes | None) -> list[str]:
    store = Store(profile / DB_FILE, key=key)
    try:
        (conv, _), = store.conversations()
        return [m.text for m in store.messages(conv, limit=1_000_000)]
    finally:
        store.close()


def test_a_plain_profile_is_encrypted_at_its_first_start(tmp_path: Path):
    profile = tmp_path / "p"
    texts = plain_profile(profile, 200)
    headless = {"PYTHON_KEYRING_BACKEND": keyringkit.HEADLESS}
    r = kith(profile, "history", "bob", "--limit", "1000", "--json", env=headless)
    assert r.returncode == 0 and "not encrypted yet" in r.stderr
    assert not is_encrypted(profile / DB_FILE)  # no keyring, no terminal: stays plain
    before = r.stdout
    r = kith(profile, "history", "bob", "--limit", "1000", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout == before
    assert len(CODE.findall(r.stderr)) == 1  # the recovery code, once
    assert "encrypting the history" in r.stderr
    key = KeyStore(profile).unlock()
    assert is_encrypted(profile / DB_FILE)
    assert (profile / KEY_FILE).read_bytes().startswith(SEALED_MAGIC)
    assert history(profile, key) == texts
    raw = b"".join(p.read_bytes() for p in profile.iterdir() if p.is_file())
    assert b"plain message 17 " not in raw


@pytest.mark.parametrize("when", ["copying", "checking", "swapping in", "is encrypted"])
def test_kill_9_while_migrating_loses_nothing(tmp_path: Path, when: str):
    profile = tmp_path / "p"
    texts = plain_profile(profile, 30_000)
    seen = []
    with subprocess.Popen(
        [sys.executable, "-m", "kith", "--profile", str(profile), "contacts"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": PYTHONPATH},
    ) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if when in line:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    # Whatever it died in, the next command finishes the job and every message is there.
    r = kith(profile, "contacts")
    assert r.returncode == 0, r.stderr
    key = KeyStore(profile).unlock()
    assert is_encrypted(profile / DB_FILE)
    assert history(profile, key) == texts
    left = {p.name for p in profile.iterdir()}
    assert left <= {"kith.db", "kith.db-wal", "kith.db-shm", "kith.lock", KEY_FILE,
                    "data-key.1", "data-key.2"}, left


def test_the_daemon_unlocks_from_a_passphrase_file(tmp_path: Path):
    profile = tmp_path / "p"
    assert kith(profile, "init", "--name", "alice", "--protect", "passphrase",
                stdin="pw\n").returncode == 0
    secret = tmp_path / "pw"
    secret.write_text("pw\n")
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "KITH_PASSPHRASE_FILE": str(secret)}
    with subprocess.Popen(
        [sys.executable, "-m", "kith", "--profile", str(profile), "--interface", "127.0.0.1",
         "daemon"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert "kith daemon ready" in proc.stdout.readline()
            r = kith(profile, "whoami")  # through the daemon: no passphrase needed
            assert r.returncode == 0 and "alice" in r.stdout, r.stderr
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    env["KITH_PASSPHRASE_FILE"] = str(tmp_path / "nope")
    (tmp_path / "nope").write_text("wrong\n")
    r = subprocess.run(
        [sys.executable, "-m", "kith", "--profile", str(profile), "--interface", "127.0.0.1",
         "daemon"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
        check=False,
    )
    assert r.returncode == EXIT_LOCKED and "wrong passphrase" in r.stderr
    no_traceback(r)


def kith_on_a_terminal(profile: Path, *args: str, answers: list[tuple[str, str]],
                       ) -> tuple[int, str]:
    """``kith`` with a terminal as its stdin and controlling terminal (a pty): each
    ``(prompt, answer)`` is typed once the prompt shows; the exit code and what it wrote."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: exec kith on the pty
        os.chdir(ROOT)
        os.environ["PYTHONPATH"] = PYTHONPATH
        os.execv(sys.executable, [sys.executable, "-m", "kith", "--profile", str(profile),
                                  "--interface", "127.0.0.1", *args])
    seen = b""
    pending = list(answers)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:
                raise AssertionError(f"kith said nothing for 60 s: {seen.decode()!r}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # (EIO: the child closed the terminal)
                break
            if not chunk:
                break
            seen += chunk
            if pending and pending[0][0].encode() in seen.split(b"\n")[-1]:
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
    finally:
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_keyring_gone_on_a_terminal_asks_for_the_code_inline(tmp_path: Path):
    profile = tmp_path / "p"
    r = kith(profile, "init", "--name", "alice")
    (code,) = CODE.findall(r.stderr)
    keyringkit.clear()
    rc, said = kith_on_a_terminal(profile, "whoami", answers=[
        ("Recovery code: ", "WRONG-CODE"), ("Recovery code: ", code.lower()),
    ])
    assert rc == 0, said
    assert "no entry for this Kith profile" in said and "try again (2 left)" in said
    assert "protected by keyring from now on" in said  # (the keyring works again here)
    assert "alice" in said and "Traceback" not in said
    assert kith(profile, "whoami").returncode == 0  # the keyring opens it again
    keyringkit.clear()
    r = kith(profile, "whoami")  # not a terminal (a script, a service): exit 7, as before
    assert r.returncode == EXIT_LOCKED and "kith recover" in r.stderr
    no_traceback(r)
