"""Start Kith at login, hidden in the tray: an XDG autostart entry
(``$XDG_CONFIG_HOME/autostart/kith.desktop``) that runs this installation for this
profile with ``KITH_START_HIDDEN=1``."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

HIDDEN_ENV = "KITH_START_HIDDEN"
FILE_NAME = "kith.desktop"


def entry_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / FILE_NAME


def command(profile: Path) -> str:
    """The entry's Exec line: this Python, this profile, hidden."""
    args = [sys.executable, "-m", "kith", "--profile", str(Path(profile).resolve())]
    return f"env {HIDDEN_ENV}=1 " + " ".join(shlex.quote(a) for a in args)


def enabled(profile: Path) -> bool:
    path = entry_path()
    try:
        return command(profile) in path.read_text(encoding="utf-8")
    except OSError:
        return False


def set_enabled(profile: Path, on: bool) -> None:
    """Write or remove the entry; OSError if the folder cannot be written."""
    path = entry_path()
    if not on:
        if enabled(profile):
            path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Kith\n"
        "Comment=Stay reachable on the local network (starts in the tray)\n"
        f"Exec={command(profile)}\n"
        "Icon=kith\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n",
        encoding="utf-8",
    )


def start_hidden() -> bool:
    """This start came from the autostart entry: open in the tray, not on screen."""
    return os.environ.get(HIDDEN_ENV) == "1"
