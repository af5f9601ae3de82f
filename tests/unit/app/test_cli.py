"""The command line in-process, for commands that need no network."""

from __future__ import annotations

import json
import os

import pytest

from kith.app.cli import main
from kith.p2p.profile import DB_FILE


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_then_whoami_json(tmp_path, capsys):
    profile = str(tmp_path / "p")
    code, out, _ = run(capsys, "--profile", profile, "init", "--name", "alice")
    assert code == 0
    assert "alice" in out
    code, out, _ = run(capsys, "--profile", profile, "whoami", "--json")
    info = json.loads(out)
    assert code == 0
    assert set(info) >= {"name", "user_id", "device_id", "fingerprint"}
    assert info["name"] == "alice"
    assert len(bytes.fromhex(info["user_id"])) == 32
    assert len(info["fingerprint"].replace(" ", "")) == 30
    key = tmp_path / "p" / "identity.kith"
    assert key.stat().st_mode & 0o777 == 0o600


def test_init_refuses_an_existing_identity(tmp_path, capsys):
    profile = str(tmp_path / "p")
    assert run(capsys, "--profile", profile, "init", "--name", "alice")[0] == 0
    before = (tmp_path / "p" / "identity.kith").read_bytes()
    code, _, err = run(capsys, "--profile", profile, "init", "--name", "mallory")
    assert code == 1
    assert "already has an identity" in err
    assert (tmp_path / "p" / "identity.kith").read_bytes() == before


@pytest.mark.parametrize("name", ["", " padded", "x" * 65, "new\nline"])
def test_init_rejects_bad_names(tmp_path, capsys, name):
    code, _, err = run(capsys, "--profile", str(tmp_path / "p"), "init", "--name", name)
    assert code == 1
    assert "name" in err


def test_commands_without_identity_say_what_to_do(tmp_path, capsys):
    code, _, err = run(capsys, "--profile", str(tmp_path / "empty"), "contacts")
    assert code == 3  # not found: no identity yet
    assert "init --name" in err


def test_corrupt_database_is_reported_and_left_untouched(tmp_path, capsys):
    profile = tmp_path / "p"
    assert run(capsys, "--profile", str(profile), "init", "--name", "alice")[0] == 0
    db = profile / DB_FILE
    db.write_bytes(os.urandom(4096))
    before = db.read_bytes()
    code, out, err = run(capsys, "--profile", str(profile), "contacts", "--json")
    assert code == 1
    assert out == ""
    # (the profile is encrypted: random bytes are a file the key does not open)
    assert "the key does not open" in err and "damaged" in err
    assert db.read_bytes() == before


def test_empty_listings_and_unknown_peer(tmp_path, capsys):
    profile = str(tmp_path / "p")
    run(capsys, "--profile", profile, "init", "--name", "alice")
    code, out, _ = run(capsys, "--profile", profile, "contacts", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(capsys, "--profile", profile, "contacts")
    assert "No contacts yet" in out
    code, _, err = run(capsys, "--profile", profile, "history", "bob")
    assert code == 3  # not found
    assert "no peer or contact called 'bob'" in err


def test_peers_text_shows_one_line_per_person_and_their_device_count(capsys):
    from kith.app.cli_output import output

    rows = [
        {"name": "alice", "user_id": "a1" * 32, "device_id": "d1" * 32,
         "devices": ["d1" * 32, "d2" * 32], "addresses": ["10.0.0.2:4000", "10.0.0.3:4000"],
         "contact": "accepted", "key_changed": False, "connected": True},
        {"name": "carol", "user_id": "c1" * 32, "device_id": "e1" * 32, "devices": ["e1" * 32],
         "addresses": ["10.0.0.4:4000"], "contact": None, "key_changed": False,
         "connected": False},
    ]
    assert output("peers", rows, as_json=False) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("alice") and "(accepted) [2 devices]" in lines[0]
    assert "10.0.0.2:4000, 10.0.0.3:4000" in lines[0]
    assert lines[1].startswith("carol") and "devices" not in lines[1]


def test_open_needs_a_running_node(tmp_path, capsys):
    profile = str(tmp_path / "p")
    assert run(capsys, "--profile", profile, "init", "--name", "alice")[0] == 0
    code, out, err = run(capsys, "--profile", profile, "open", "bob", "--draft", "hi")
    assert code == 1 and out == ""
    assert "start `kith daemon`" in err


def test_contacts_text_marks_an_old_key_and_the_new_one(capsys):
    from kith.app.cli_output import output

    old = {"name": "bob", "user_id": "b1" * 32, "state": "accepted", "verified": False,
           "key_changed": False, "online": False, "replaced_by": "b2" * 32}
    new = {**old, "user_id": "b2" * 32, "replaced_by": None, "online": True}
    assert output("contacts", [old, new], as_json=False) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("bob") and "old key (now b2b2b2b2b2b2)" in first
    assert "old key" not in second


def test_the_command_line_starts_without_the_node_the_database_or_shtab():
    """`kith --help`, and a command that a running Kith answers, import neither the node
    nor the database (nor the network, nor shtab, nor the package metadata): each `kith`
    process paid for all of them up front (the suite starts hundreds)."""
    import subprocess
    import sys

    heavy = ("kith.p2p.node", "kith.p2p.commands", "kith.storage", "sqlite_utils",
             "sqlcipher3", "zeroconf", "kith.p2p.files.base", "kith.p2p.unlock", "shtab",
             "importlib.metadata", "PySide6")
    code = ("import sys; import kith.app.cli as cli; cli.build_parser(); "
            "from kith.app import cli_run; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout
