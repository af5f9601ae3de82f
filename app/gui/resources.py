"""Where the app's files are: the repository's ``resources/`` when run from a checkout
(or an editable install), else ``<prefix>/share`` where a plain ``pip install`` puts the
icon and the .desktop file (see ``[tool.setuptools.data-files]`` in pyproject.toml)."""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2] / "resources"
INSTALLED_ICON = Path(sys.prefix) / "share" / "icons" / "hicolor" / "scalable" / "apps"
INSTALLED_UI_ICONS = Path(sys.prefix) / "share" / "kith" / "icons"


def icon_path() -> Path | None:
    """The app icon (SVG), or None if neither place has it."""
    for candidate in (CHECKOUT / "kith.svg", INSTALLED_ICON / "kith.svg"):
        if candidate.is_file():
            return candidate
    return None


def ui_icon_path(name: str) -> Path | None:
    """A toolbar icon (``resources/icons/NAME.svg``, drawn in ``currentColor``), or None."""
    for folder in (CHECKOUT / "icons", INSTALLED_UI_ICONS):
        candidate = folder / f"{name}.svg"
        if candidate.is_file():
            return candidate
    return None
