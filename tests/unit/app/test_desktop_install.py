"""kith desktop-install: the menu entry, icons and metainfo in the user's XDG data dir."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from kith.app import desktop_install
from kith.app.cli import main
from kith.app.gui import resources
from kith.app.gui.resources import DESKTOP_ID

ENTRY = Path("applications", f"{DESKTOP_ID}.desktop")
METAINFO = Path("metainfo", f"{DESKTOP_ID}.metainfo.xml")
HICOLOR = Path("icons", "hicolor")


def _entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


def _installed(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def test_install_writes_entry_icons_and_metainfo_into_xdg_data_home(
    tmp_path, monkeypatch, capsys
):
    data = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    assert main(["desktop-install"]) == 0

    pngs = {HICOLOR / f"{n}x{n}" / "apps" / f"{DESKTOP_ID}.png" for n in desktop_install.PNG_SIZES}
    assert _installed(data) == {
        ENTRY,
        METAINFO,
        HICOLOR / "scalable" / "apps" / f"{DESKTOP_ID}.svg",
        HICOLOR / "symbolic" / "apps" / f"{DESKTOP_ID}-symbolic.svg",
        *pngs,
    }
    for png in pngs:
        size = int(png.parts[2].split("x")[0])
        image = QImage(str(data / png))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 8).alpha() == 255  # the icon, not blank
    assert (data / HICOLOR / "scalable" / "apps" / f"{DESKTOP_ID}.svg").read_bytes() == (
        resources.icon_path().read_bytes()  # type: ignore[union-attr]
    )

    entry = _entry(data / ENTRY)
    command = desktop_install.kith_command()
    assert entry["Exec"] == command[0]  # a path without spaces: no quoting needed
    assert Path(entry["Exec"]).is_absolute()
    assert entry["TryExec"] == command[0]
    assert entry["Icon"] == DESKTOP_ID
    assert entry["Version"] == "1.0"
    assert entry["Type"] == "Application"
    assert (data / ENTRY).stat().st_mode & 0o777 == 0o644

    component = ET.parse(data / METAINFO).getroot()
    assert component.findtext("id") == DESKTOP_ID
    assert component.findtext("launchable") == f"{DESKTOP_ID}.desktop"
    assert component.findtext("project_license") == "MIT"
    assert str(data / ENTRY) in capsys.readouterr().out


def test_the_entry_runs_this_installations_kith():
    command = desktop_install.kith_command()
    assert Path(command[0]).is_file()
    if len(command) == 1:  # the kith script of this environment
        assert Path(command[0]).name == "kith"
        assert Path(command[0]).parent == Path(sys.executable).parent
    else:
        assert command == [sys.executable, "-m", desktop_install.__name__.rsplit(".", 1)[0]]


def test_exec_is_quoted_as_the_desktop_entry_spec_asks():
    entry = desktop_install.desktop_entry(["/opt/my apps/bin/kith", "--profile", "/tmp/a$b%c"])
    exec_line = next(line for line in entry.decode().splitlines() if line.startswith("Exec="))
    assert exec_line == 'Exec="/opt/my apps/bin/kith" --profile "/tmp/a\\\\$b%%c"'
    try_exec = next(line for line in entry.decode().splitlines() if line.startswith("TryExec="))
    assert try_exec == "TryExec=/opt/my apps/bin/kith"
    with pytest.raises(ValueError, match="line break"):
        desktop_install.desktop_entry(["/tmp/bad\nname/kith"])


def test_relative_xdg_data_home_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert desktop_install.user_data_dir() == tmp_path / ".local" / "share"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert desktop_install.user_data_dir() == tmp_path / ".local" / "share"


def test_uninstall_removes_only_what_install_wrote(tmp_path, capsys):
    data = tmp_path / "share"
    foreign = [data / "applications" / "other.desktop", data / HICOLOR / "48x48/apps/other.png"]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("someone else's")
    assert main(["desktop-install", "--data-dir", str(data)]) == 0
    assert len(_installed(data)) == len(foreign) + 4 + len(desktop_install.PNG_SIZES)
    capsys.readouterr()

    assert main(["desktop-install", "--uninstall", "--data-dir", str(data)]) == 0
    assert _installed(data) == {p.relative_to(data) for p in foreign}
    assert "removed" in capsys.readouterr().out
    assert main(["desktop-install", "--uninstall", "--data-dir", str(data)]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_install_failure_is_reported_and_exits_1(tmp_path, capsys):
    blocker = tmp_path / "share"
    blocker.write_text("a file where the data dir should be")
    assert main(["desktop-install", "--data-dir", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kith: desktop-install failed:")
    assert blocker.read_text() == "a file where the data dir should be"


def test_the_app_finds_its_icons_in_the_data_package():
    data = resources.data_files()
    assert resources.DATA_PACKAGE in ("kith.app.resources", "kith.app.resources")
    for path in (
        resources.icon_path(),
        resources.symbolic_icon_path(),
        resources.ui_icon_path("compose"),
        resources.ui_icon_path("info"),
        resources.ui_icon_path("settings"),
    ):
        assert path is not None
        assert path.is_file()
        assert path.read_bytes().lstrip().startswith(b"<svg")
    assert resources.ui_icon_path("no-such-icon") is None
    assert (data / "kith.desktop").is_file()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        package = {"desktop-file-validate": "desktop-file-utils", "appstreamcli": "appstream"}
        pytest.skip(f"{name} is not installed (Debian package {package[name]})")
    return path


@pytest.mark.parametrize(
    "command",
    [None, ["/opt/Kith Apps/bin/kith"], [sys.executable, "-m", "kith"]],
    ids=["this-install", "path-with-space", "python-m"],
)
def test_installed_entry_passes_desktop_file_validate(tmp_path, command):
    validate = _tool("desktop-file-validate")
    command = command or desktop_install.kith_command()
    desktop_install.install(tmp_path, command)
    result = subprocess.run(
        [validate, str(tmp_path / ENTRY)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout  # not even a hint


def test_installed_metainfo_passes_appstreamcli_validate(tmp_path):
    appstreamcli = _tool("appstreamcli")
    desktop_install.install(tmp_path, desktop_install.kith_command())
    result = subprocess.run(
        [appstreamcli, "validate", "--no-net", "--explain", str(tmp_path / METAINFO)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Errors and warnings fail; only pedantic notes (the id has capitals, as is usual) remain.
    issues = re.findall(r"^([EWIP]): ", result.stdout, re.MULTILINE)
    assert set(issues) <= {"P"}, result.stdout
