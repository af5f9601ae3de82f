"""Where the app's own files are: Kith's data package (the repository's ``resources/``,
linked as ``app/resources`` and installed as package data), found through
``importlib.resources`` so that a checkout, an editable install, a venv, pipx or ``pip
install --user`` all find the same files.

The names here are the ones the desktop knows Kith by (``kith desktop-install``).
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

DESKTOP_ID = "io.github.kith_messenger.Kith"
"""Reverse-DNS application id: the .desktop file's name, the icon name, the AppStream id
(and what ``QGuiApplication.setDesktopFileName`` should be given)."""

# app/resources links to resources/: app.resources (kith.app.resources once under kith.*)
DATA_PACKAGE = __name__.rsplit(".", 2)[0] + ".resources"


def data_files() -> Traversable:
    """The root of Kith's data package."""
    return files(DATA_PACKAGE)


def _path(resource: Traversable) -> Path | None:
    # Qt needs a file name; every supported install unpacks package data to files.
    if isinstance(resource, Path) and resource.is_file():
        return resource
    return None


def icon_path() -> Path | None:
    """The app icon (SVG), or None if the installation lacks it."""
    return _path(data_files() / "kith.svg")


def symbolic_icon_path() -> Path | None:
    """The one-colour app icon for the tray and panels (SVG), or None."""
    return _path(data_files() / "kith-symbolic.svg")


def ui_icon_path(name: str) -> Path | None:
    """A toolbar icon (``resources/icons/NAME.svg``, drawn in ``currentColor``), or None."""
    return _path(data_files() / "icons" / f"{name}.svg")
