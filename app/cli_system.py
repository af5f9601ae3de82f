"""``kith`` and the system around it: can the desktop app start here, the systemd user
unit (``kith daemon-install``), the man page and shell completion from the parser."""

from __future__ import annotations

import argparse
import ctypes.util
import datetime
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from kith.p2p.errors import EnvironmentProblem

# -- can the desktop app start? ---------------------------------------------------------

# Platforms that need no display server.
HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}
# Qt's xcb platform plugin needs these besides libxcb itself (Qt 6.5+: also xcb-cursor).
XCB_LIBRARIES = (
    "xcb-cursor", "xcb-icccm", "xcb-keysyms", "xcb-image", "xcb-render-util",
    "xcb-randr", "xcb-shape", "xcb-xkb", "xkbcommon-x11", "xkbcommon", "EGL", "fontconfig",
)
SYSTEM_PACKAGES = {
    "Debian/Ubuntu": "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 "
    "libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 "
    "libxkbcommon-x11-0 libegl1 libfontconfig1 libdbus-1-3",
    "Fedora": "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image "
    "xcb-util-renderutil libxkbcommon-x11 mesa-libEGL fontconfig dbus-libs",
    "Arch": "sudo pacman -S xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image "
    "xcb-util-renderutil libxkbcommon-x11 libglvnd fontconfig",
}
HEADLESS_HELP = (
    "Kith works without a window too: `kith daemon` runs the node, and `kith peers`, "
    "`kith send PEER TEXT`, `kith listen`, `kith contacts` talk to it (see `kith --help`)."
)
PROBE = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication\n"
    "app = QApplication(['kith'])\n"
    "sys.exit(0)\n"
)


def gui_problem(env: dict[str, str] | None = None, probe: bool = True) -> str | None:
    """Why the desktop app cannot start here (no display, missing Qt system libraries),
    or None. Checked before Qt is imported in this process: Qt aborts the process (a core
    dump) when its platform plugin cannot load, so the last check is a probe in a child
    process."""
    env = dict(os.environ if env is None else env)
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform in HEADLESS_PLATFORMS:
        return None
    if sys.platform.startswith("linux"):
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            return "there is no display (no DISPLAY or WAYLAND_DISPLAY: an SSH session or a " \
                   "headless computer?)"
        if platform in ("", "xcb") and not env.get("WAYLAND_DISPLAY"):
            missing = [lib for lib in XCB_LIBRARIES if ctypes.util.find_library(lib) is None]
            if missing:
                return "Qt's system libraries are missing: " + ", ".join(
                    f"lib{lib}" for lib in missing)
    if not probe:
        return None
    try:
        done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"Qt could not be started ({e})"
    if done.returncode == 0:
        return None
    said = [line for line in done.stderr.decode(errors="replace").splitlines()
            if line.strip() and not line.startswith(" ")]
    reason = said[-1] if said else f"exit status {done.returncode}"
    for line in said:
        if "xcb-cursor" in line or "library" in line.lower() or "plugin" in line.lower():
            reason = line
            break
    return f"Qt cannot start its window system ({reason.strip()})"


def gui_message(problem: str) -> str:
    lines = [f"the desktop app cannot start: {problem}.",
             "To open the window, install Qt's system libraries:"]
    lines += [f"  {distro}: {command}" for distro, command in SYSTEM_PACKAGES.items()]
    lines.append(HEADLESS_HELP)
    return "\n".join(lines)


# -- systemd user unit ------------------------------------------------------------------


def unit_name(profile: Path | None) -> str:
    """``kith.service`` for the default profile, ``kith-HASH.service`` for another one."""
    if profile is None:
        return "kith.service"
    digest = hashlib.blake2b(os.path.realpath(profile).encode(), digest_size=4).hexdigest()
    return f"kith-{digest}.service"


def unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def kith_command() -> list[str]:
    """How to run this installation's ``kith``."""
    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if here is not None and here.name == "kith" and os.access(here, os.X_OK):
        return [str(here)]
    found = shutil.which("kith")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "kith"]


def _quote(arg: str) -> str:
    """One ExecStart word, as systemd reads it (systemd.service(5), "Command lines")."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    escaped = escaped.replace("$", "$$")
    return f'"{escaped}"' if any(c in arg for c in " \t'\"\\;") or not arg else escaped


def unit_text(profile: Path | None, interfaces: list[str] | None) -> str:
    words = kith_command()
    if profile is not None:
        words += ["--profile", os.path.realpath(profile)]
    for address in interfaces or ():
        words += ["--interface", address]
    words.append("daemon")
    where = f" for {os.path.realpath(profile)}" if profile is not None else ""
    where = where.replace("%", "%%").replace("\n", " ")  # systemd specifiers
    return (
        "# Written by `kith daemon-install`; remove with `kith daemon-install --uninstall`.\n"
        "[Unit]\n"
        f"Description=Kith messenger node{where} (peer-to-peer, local network)\n"
        "Documentation=man:kith(1)\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={' '.join(_quote(w) for w in words)}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        # exit 2 (usage), 3 (no identity), 4 (untrusted profile), 6 (already running):
        # restarting cannot help.
        "RestartPreventExitStatus=2 3 4 6\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def daemon_install(profile: Path | None, interfaces: list[str] | None, uninstall: bool) -> str:
    """Write (or remove) the unit; what to run next, for the user."""
    name = unit_name(profile)
    path = unit_dir() / name
    if uninstall:
        if not path.exists():
            return f"no {name} in {path.parent}; nothing to remove"
        path.unlink()
        return (f"removed {path}\nStop it with: systemctl --user disable --now {name} "
                "&& systemctl --user daemon-reload")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(unit_text(profile, interfaces))
        os.replace(tmp, path)
    except OSError as e:
        raise EnvironmentProblem(f"cannot write {path}: {e.strerror}") from e
    return (f"wrote {path}\nStart it now and at every login with:\n"
            f"  systemctl --user daemon-reload && systemctl --user enable --now {name}\n"
            f"(to keep it running while you are logged out: loginctl enable-linger)")


# -- man page ---------------------------------------------------------------------------


def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line
                     for line in text.splitlines())


def _usage(parser: argparse.ArgumentParser) -> str:
    return " ".join(parser.format_usage().split()[1:])


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in parser._actions:  # argparse has no public way to walk its arguments
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        metavar = str(action.metavar or "")
        names = ", ".join(action.option_strings) or metavar or action.dest
        if action.option_strings and action.nargs != 0:
            names += f" {metavar or action.dest.upper()}"
        lines += [".TP", f"\\fB{_roff(str(names))}\\fR", _roff(action.help or "")]
    return lines


def man_page(parser: argparse.ArgumentParser, version: str) -> str:
    """kith(1) in roff, generated from the parser (``kith man > kith.1``)."""
    date = datetime.date.today().isoformat()
    page = [
        f'.TH KITH 1 "{date}" "kith {version}" "User Commands"',
        ".SH NAME",
        "kith \\- peer\\-to\\-peer messenger for the local network",
        ".SH SYNOPSIS",
        _roff(_usage(parser)),
        ".SH DESCRIPTION",
        _roff(parser.description or ""),
        ".PP",
        "Without a command, \\fBkith\\fR opens the desktop app. While a node runs for the "
        "profile (\\fBkith daemon\\fR or the app) the commands talk to it through its "
        "control socket; otherwise each command starts a node for as long as it runs.",
        ".SH OPTIONS",
        *_options(parser),
        ".SH COMMANDS",
    ]
    for name, sub in _subcommands(parser):
        page += [".SS " + _roff(f"kith {name}"), _roff(_usage(sub))]
        if sub.description:
            page += [".PP", _roff(sub.description)]
        page += _options(sub)
        for inner, deeper in _subcommands(sub):
            page += [".PP", f"\\fBkith {_roff(name)} {_roff(inner)}\\fR "
                     f"{_roff(_usage(deeper))}", ".PP", _roff(deeper.description or "")]
    page += [".SH EXIT STATUS", *[f".TP\n{code}\n{_roff(text)}" for code, text in EXIT_TEXT]]
    page += [
        ".SH ENVIRONMENT",
        ".TP\nNO_COLOR\nWhen set, no colour (colour is used only on a terminal anyway).",
        ".TP\nXDG_RUNTIME_DIR\nThe control socket of a running node is in "
        "\\fI$XDG_RUNTIME_DIR/kith/\\fR (else in a private kith\\-UID folder in the "
        "temporary directory).",
        ".SH SEE ALSO",
        "systemctl(1); \\fBkith daemon\\-install\\fR writes a systemd user unit.",
    ]
    return "\n".join(page) + "\n"


EXIT_TEXT = (
    (0, "Success."),
    (1, "The command failed as asked (refused by the node, not reachable, wrong number)."),
    (2, "Usage: bad arguments; or the desktop app cannot start here (no display, missing "
        "Qt libraries)."),
    (3, "Not found: no such peer, contact, device or setting; or no identity yet."),
    (4, "Not allowed: a changed key not confirmed, not a contact yet, a removed device, a "
        "profile folder of someone else or writable by others."),
    (5, "Timed out: e.g. `send --wait` not delivered in time (the message stays queued)."),
    (6, "Busy: a daemon or the app already runs for this profile."),
    (130, "Interrupted (Ctrl+C)."),
    (141, "The output was closed (e.g. `kith listen | head -1`)."),
)


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if sub.description is None and helps.get(name):
                    sub.description = helps[name]
                found.append((name, sub))
    return found


def completion(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh, fish), made by shtab."""
    try:
        import shtab
    except ImportError as e:
        raise EnvironmentProblem("shell completion needs the shtab package: pip install shtab"
                                 ) from e
    for action in parser.get_default("completes_dirs") or ():  # (--profile: a folder)
        action.complete = shtab.DIRECTORY
    return str(shtab.complete(parser, shell=shell))
