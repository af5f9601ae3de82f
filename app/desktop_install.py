"""``kith desktop-install``: put Kith in the desktop's application menu, for this user.

pip, venvs and pipx leave a package's desktop files inside the environment, where no
desktop looks. This command writes them into the user's XDG data dir
(``$XDG_DATA_HOME``, by default ``~/.local/share``), as the freedesktop.org specs ask:

- ``applications/DESKTOP_ID.desktop``, the menu entry, whose ``Exec`` is the ``kith`` of
  *this* installation (so the menu opens the same Kith as the shell);
- ``icons/hicolor/scalable/apps/DESKTOP_ID.svg``, PNG renderings of it in the usual sizes
  (``icons/hicolor/NxN/apps``) and the one-colour
  ``icons/hicolor/symbolic/apps/DESKTOP_ID-symbolic.svg``;
- ``metainfo/DESKTOP_ID.metainfo.xml``, the AppStream description software centres show.

``--uninstall`` removes exactly those files. Nothing else is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kith.app.gui.resources import DESKTOP_ID, data_files

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Characters that make an Exec argument need quotes (Desktop Entry spec, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


@dataclass(frozen=True)
class InstalledFile:
    """One file desktop-install writes: where it goes, relative to the data dir."""

    relative: Path
    content: Callable[[], bytes | None]  # None: cannot be made here (skipped)


def add_parser(sub: Any) -> None:
    """Add ``desktop-install`` to the ``kith`` subcommands (``sub`` from add_subparsers)."""
    s = sub.add_parser(
        "desktop-install",
        help="add Kith to the desktop menu (or remove it: --uninstall)",
        description="Write Kith's menu entry, icons and AppStream metainfo into your XDG "
        "data dir ($XDG_DATA_HOME, default ~/.local/share), pointing at this "
        "installation's kith. Needed after pip, pipx or a venv install, which keep "
        "those files where desktops do not look.",
    )
    s.add_argument("--uninstall", action="store_true", help="remove the files it wrote")
    s.add_argument(
        "--data-dir", metavar="DIR", type=Path, default=None,
        help="install under DIR instead of the XDG data dir (for packagers and tests)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``kith desktop-install`` as parsed by :func:`add_parser`."""
    data_dir = args.data_dir if args.data_dir is not None else user_data_dir()
    try:
        if args.uninstall:
            removed = uninstall(data_dir)
            for path in removed:
                print(f"removed {path}")
            if not removed:
                print(f"nothing to remove: Kith's desktop files are not in {data_dir}")
            return 0
        command = kith_command()
        for path in install(data_dir, command):
            print(f"wrote {path}")
    except (OSError, ValueError) as e:
        print(f"kith: desktop-install failed: {e}", file=sys.stderr)
        return 1
    print(f"Kith is in the application menu ({DESKTOP_ID}); it runs {' '.join(command)}")
    return 0


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME`` if set to an absolute path, else ``~/.local/share`` (XDG spec)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def kith_command() -> list[str]:
    """The command line that starts this installation's Kith (absolute paths)."""
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if running is not None and running.name == "kith" and running.is_file():
        return [str(running.absolute())]  # not resolved: pipx's symlink survives upgrades
    beside_python = Path(sys.executable).with_name("kith")
    if beside_python.is_file():
        return [str(beside_python)]
    package = __name__.rsplit(".", 1)[0]  # the package whose __main__ runs the CLI
    return [sys.executable, "-m", package]


def files_to_install(command: list[str]) -> list[InstalledFile]:
    """Every file desktop-install writes, with a way to make its content."""
    data = data_files()
    svg = (data / "kith.svg").read_bytes
    apps = Path("icons", "hicolor")
    entry = Path("applications", f"{DESKTOP_ID}.desktop")
    wanted = [
        InstalledFile(entry, lambda: desktop_entry(command)),
        InstalledFile(apps / "scalable" / "apps" / f"{DESKTOP_ID}.svg", svg),
        InstalledFile(
            apps / "symbolic" / "apps" / f"{DESKTOP_ID}-symbolic.svg",
            (data / "kith-symbolic.svg").read_bytes,
        ),
        InstalledFile(
            Path("metainfo", f"{DESKTOP_ID}.metainfo.xml"),
            (data / "kith.metainfo.xml").read_bytes,
        ),
    ]
    for size in PNG_SIZES:
        png = apps / f"{size}x{size}" / "apps" / f"{DESKTOP_ID}.png"
        wanted.append(InstalledFile(png, _png_of(svg, size)))
    return wanted


def _png_of(svg: Callable[[], bytes], size: int) -> Callable[[], bytes | None]:
    return lambda: render_png(svg(), size)


def install(data_dir: Path, command: list[str]) -> list[Path]:
    """Write the desktop files under ``data_dir``; returns the paths written."""
    written = []
    for item in files_to_install(command):
        content = item.content()
        if content is None:
            continue
        target = data_dir / item.relative
        _write_atomically(target, content)
        written.append(target)
    return written


def uninstall(data_dir: Path) -> list[Path]:
    """Remove what :func:`install` writes under ``data_dir``; returns the paths removed."""
    removed = []
    for item in files_to_install([]):
        target = data_dir / item.relative
        if target.is_file() or target.is_symlink():
            target.unlink()
            removed.append(target)
    return removed


def desktop_entry(command: list[str]) -> bytes:
    """The shipped .desktop entry with ``Exec``/``TryExec`` set to ``command``."""
    lines = []
    for line in (data_files() / "kith.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = "Exec=" + _escape_value(" ".join(_exec_argument(a) for a in command))
        elif line.startswith("TryExec="):
            line = "TryExec=" + _escape_value(command[0])
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_png(svg: bytes, size: int) -> bytes | None:
    """``svg`` as a ``size``-pixel square PNG, or None when Qt cannot be loaded here."""
    try:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
        from PySide6.QtGui import QImage, QPainter
        from PySide6.QtSvg import QSvgRenderer
    except (ImportError, OSError) as e:  # a missing Qt system library shows as either
        print(f"kith: no PNG icons ({e}); the SVG icon is installed", file=sys.stderr)
        return None
    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise ValueError("the shipped app icon is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; Qt takes str
    return bytes(buffer.data().data())


def _exec_argument(argument: str) -> str:
    if "\n" in argument or "\r" in argument:
        raise ValueError(f"cannot put a path with a line break in a desktop entry: {argument!r}")
    argument = argument.replace("%", "%%")
    if not _RESERVED.intersection(argument):
        return argument
    for char in ("\\", '"', "`", "$"):
        argument = argument.replace(char, "\\" + char)
    return f'"{argument}"'


def _escape_value(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"cannot put a line break in a desktop entry: {value!r}")
    return value.replace("\\", "\\\\")


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
