"""`kith` as a Unix tool (issue 14 #3, #5, #6): --version, exit codes, errors on stderr,
a closed pipe, NO_COLOR and terminals, names that cannot drive the terminal, settings
from the command line, shell completion, the man page, the systemd unit, and a window
that cannot open (no display, missing Qt libraries, a daemon already running)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from kith.app import cli_output, cli_system
from kith.app.cli import build_parser, main
from kith.p2p.profile import claim, create_identity

ROOT = Path(__file__).resolve().parents[3]


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def kith_process(
    *args: str, env: dict[str, str | None] | None = None, **kw
) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"], **(env or {})}
    for key in [k for k, v in full.items() if v is None]:
        del full[key]
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "kith", *args], cwd=ROOT, env=full,
                          stderr=subprocess.PIPE, timeout=120, check=False, **kw)


@pytest.fixture
def profile(tmp_path) -> str:
    create_identity(tmp_path / "p", "alice", "desk")
    return str(tmp_path / "p")


def test_version_comes_from_the_package_metadata(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"kith {metadata.version('kith-messenger')}"


def test_usage_errors_exit_2_and_say_so_on_stderr(capsys, profile):
    code, out, err = run(capsys, "--profile", profile, "history")
    assert (code, out) == (2, "") and "CHAT" in err  # (a contact or a group)
    code, out, err = run(capsys, "--profile", profile, "config", "get", "colour")
    assert (code, out) == (2, "") and "invalid choice" in err


def test_not_found_exits_3(capsys, profile):
    code, out, err = run(capsys, "--profile", profile, "safety-number", "bob", "--json")
    assert (code, out) == (3, "")
    assert err.splitlines()[-1].startswith("kith: no peer or contact called 'bob'")


def test_every_command_that_prints_data_has_json():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    without = {
        name for name, p in sub.choices.items()
        if not any(a.dest == "json" for a in p._actions)
    }
    # These print no data (a status line, a script, a page) or have actions that do.
    assert without == {
        "daemon", "link", "config", "daemon-install", "desktop-install", "completion", "man",
        "group",
        "recover",
    }


# -- what reaches the terminal ---------------------------------------------------------


HOSTILE = "bob\x1b[2J\x1b]0;pwned\x07\r\u202egnp.exe\u200b\nkith: forged line"


def test_clean_escapes_every_control_and_format_character():
    text = cli_output.clean(HOSTILE)
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "\u202e" not in text and "\u200b" not in text
    assert "\\x1b[2J" in text and "\\u202e" in text
    assert "\n    kith: forged line" in text  # a line of its own cannot be forged
    assert cli_output.clean("Zoë 李 🙂") == "Zoë 李 🙂"


def test_listings_never_print_a_raw_control_character(capsys):
    contact = {"name": HOSTILE, "user_id": "b1" * 32, "state": "accepted",
               "verified": False, "key_changed": True}
    peer = {"name": HOSTILE, "user_id": "b1" * 32, "addresses": ["10.0.0.2:1"],
            "contact": HOSTILE, "key_changed": False, "devices": []}
    message = {"from": HOSTILE, "text": HOSTILE, "time": 0, "status": "read",
               "outgoing": False}
    cli_output.output("contacts", [contact], as_json=False)
    cli_output.output("peers", [peer], as_json=False)
    cli_output.output("history", [message], as_json=False)
    cli_output.output("contacts", [contact], as_json=True)
    out = capsys.readouterr().out
    for bad in ("\x1b", "\r", "\x07", "\u202e", "\u200b"):
        assert bad not in out, repr(bad)
    assert "\nkith: forged line" not in out
    assert json.loads(out.splitlines()[-1])[0]["name"] == HOSTILE  # JSON keeps it, escaped


class Tty:
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert cli_output.bold_red("x", Tty()) == "\x1b[1;31mx\x1b[0m"  # type: ignore[arg-type]
    with open(os.devnull, "w") as devnull:
        assert cli_output.bold_red("x", devnull) == "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli_output.bold_red("x", Tty()) == "x"  # type: ignore[arg-type]


def test_a_closed_pipe_ends_quietly():
    read, write = os.pipe()
    os.close(read)  # like `| head -1` once head has gone
    try:
        done = kith_process("man", stdout=write)
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert done.stderr == b""


# -- kith config -----------------------------------------------------------------------


def test_config_list_get_set_through_a_one_shot_node(capsys, profile):
    code, out, _ = run(capsys, "--profile", profile, "config", "list", "--json")
    assert code == 0
    values = {row["key"]: row["value"] for row in json.loads(out)}
    assert values == {"name": "alice", "discoverable": True, "read-receipts": True,
                      "typing-indicators": True, "theme": "system", "networks": [],
                      "auto-download": 25_000_000}
    for key, value, shown in [
        ("theme", "dark", "dark"), ("read-receipts", "off", "off"),
        ("typing-indicators", "no", "off"), ("discoverable", "off", "off"),
        ("networks", "wlan0, eth0", "wlan0,eth0"), ("name", "Alice B", "Alice B"),
    ]:
        code, out, err = run(capsys, "--profile", profile, "config", "set", key, value)
        assert (code, out.strip()) == (0, shown), err
        code, out, _ = run(capsys, "--profile", profile, "config", "get", key)
        assert (code, out.strip()) == (0, shown)
    code, out, _ = run(capsys, "--profile", profile, "config", "get", "networks", "--json")
    assert json.loads(out) == {"key": "networks", "value": ["wlan0", "eth0"]}
    code, out, _ = run(capsys, "--profile", profile, "whoami", "--json")
    assert json.loads(out)["name"] == "Alice B"
    run(capsys, "--profile", profile, "config", "set", "networks", "all")
    code, out, _ = run(capsys, "--profile", profile, "config", "get", "networks")
    assert out.strip() == "all"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [("theme", "purple", "not a theme"), ("read-receipts", "maybe", "not on or off"),
     ("name", "bob\x1b[31m", "control character"), ("name", "a\u202eb", "invisible")],
)
def test_config_set_refuses_bad_values_and_changes_nothing(capsys, profile, key, value, says):
    code, before, _ = run(capsys, "--profile", profile, "config", "list", "--json")
    code, out, err = run(capsys, "--profile", profile, "config", "set", key, value)
    assert (code, out) == (2, "") and says in err
    assert "\x1b" not in err and "\u202e" not in err
    assert run(capsys, "--profile", profile, "config", "list", "--json")[1] == before


# -- completion, man page, systemd unit --------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_knows_the_commands(capsys, shell):
    code, out, _ = run(capsys, "completion", shell)
    assert code == 0
    for word in ("kith", "daemon-install", "safety-number", "--profile"):
        assert word in out, (shell, word)


def test_the_man_page_is_generated_from_the_parser(capsys):
    code, out, _ = run(capsys, "man")
    assert code == 0
    assert out.startswith('.TH KITH 1 "')
    for section in (".SH SYNOPSIS", ".SH COMMANDS", ".SH EXIT STATUS", ".SS kith send"):
        assert section in out
    assert "daemon\\-install" in out and "\\-\\-trust\\-new\\-key" in out


def test_daemon_install_writes_and_removes_a_user_unit(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    prof = tmp_path / "my profile"
    code, out, _ = run(capsys, "--profile", str(prof), "--interface", "127.0.0.1",
                       "daemon-install")
    assert code == 0
    [unit] = (tmp_path / "config" / "systemd" / "user").glob("kith-*.service")
    text = unit.read_text()
    assert f'"--profile" "{prof}"'.replace('"--profile"', "--profile") in text
    assert "--interface 127.0.0.1 daemon\n" in text and "[Install]\nWantedBy=default.target" in text
    assert f"systemctl --user enable --now {unit.name}" in out
    code, out, _ = run(capsys, "--profile", str(prof), "daemon-install", "--uninstall")
    assert code == 0 and not unit.exists() and "removed" in out


def test_unit_words_are_quoted_for_systemd():
    assert cli_system._quote("/a b/kith") == '"/a b/kith"'
    assert cli_system._quote("100%") == "100%%"
    assert cli_system._quote("$HOME") == "$$HOME"


# -- the window ------------------------------------------------------------------------


def test_no_display_is_a_clear_message_and_exit_2(profile):
    done = kith_process("--profile", profile,
                        env={"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})
    assert done.returncode == 2, done
    err = done.stderr.decode()
    assert "no display" in err and "apt install" in err and "dnf install" in err
    assert "pacman -S" in err and "kith daemon" in err


def test_qt_that_cannot_load_its_platform_is_exit_2_not_a_core_dump(profile):
    # An X display that is not there: Qt's xcb plugin aborts the process it loads in.
    done = kith_process("--profile", profile,
                        env={"DISPLAY": ":97", "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": "xcb"})
    assert done.returncode == 2, done
    assert "apt install" in done.stderr.decode()


def test_gui_problem_needs_no_display_for_a_headless_platform():
    assert cli_system.gui_problem({"QT_QPA_PLATFORM": "offscreen"}, probe=False) is None
    assert "no display" in (cli_system.gui_problem({}, probe=False) or "")


def test_the_app_says_what_to_do_when_a_daemon_runs(capsys, profile, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    lock = claim(Path(profile), "daemon", wait_for=lambda h: False)
    try:
        code, out, err = run(capsys, "--profile", profile)
    finally:
        lock.release()
    assert (code, out) == (6, "")
    assert f"the Kith daemon (pid {os.getpid()}) already runs" in err
    assert "systemctl --user stop kith" in err and f"kill {os.getpid()}" in err
    assert "kith send PEER TEXT" in err


# -- who has the profile ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "says"),
    [("command", "to run several commands at once, start `kith daemon`"),
     ("daemon", "did not answer within 0.3 s")],
)
def test_a_command_gives_up_clearly_when_the_profile_stays_busy(
    capsys, profile, monkeypatch, role, says
):
    from kith.app import cli_run

    monkeypatch.setattr(cli_run, "STARTING_SECONDS", 0.3)
    lock = claim(Path(profile), role, "listen", wait_for=lambda h: False)
    try:
        code, out, err = run(capsys, "--profile", profile, "contacts", "--json")
    finally:
        lock.release()
    assert (code, out) == (5, ""), err
    assert says in err
    code, out, _ = run(capsys, "--profile", profile, "contacts", "--json")
    assert (code, json.loads(out)) == (0, [])  # once it is free, the command runs


def test_a_second_daemon_exits_6_naming_the_first(capsys, profile):
    lock = claim(Path(profile), "daemon", wait_for=lambda h: False)
    try:
        code, out, err = run(capsys, "--profile", profile, "daemon")
    finally:
        lock.release()
    assert (code, out) == (6, "")
    assert f"the Kith daemon (pid {os.getpid()}) already runs" in err


@pytest.mark.skipif(not Path("/usr/bin/nroff").exists(), reason="needs nroff (groff)")
def test_the_man_page_renders_without_warnings(capsys):
    code, page, _ = run(capsys, "man")
    done = subprocess.run(["nroff", "-man", "-ww"], input=page.encode(), capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    text = " ".join(re.sub(".\b", "", done.stdout.decode()).split())  # no bold, one space
    assert "SYNOPSIS kith [-h] [--version]" in text and "kith kith" not in text
    assert "EXIT STATUS 0 Success." in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_unit_passes_systemd_analyze_verify(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    prof = tmp_path / "odd 100% $profile"
    assert run(capsys, "--profile", str(prof), "daemon-install")[0] == 0
    [unit] = (tmp_path / "config" / "systemd" / "user").glob("kith-*.service")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert "%%" in unit.read_text() and "$$profile" in unit.read_text()


def test_log_lines_cannot_be_forged_or_drive_the_terminal():
    import io
    import logging

    from kith.app.cli import SafeFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test.safe")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("connected to %s", "bob\x1b[2J\nWARNING forged \u202eline")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("\n") == 1 and "\x1b" not in text and "\u202e" not in text
    assert "bob\\x1b[2J\\nWARNING forged \\u202eline" in text
