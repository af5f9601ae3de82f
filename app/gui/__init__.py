"""The Kith desktop app (PySide6 Widgets over the Node, asyncio through qasync)."""

from __future__ import annotations

from pathlib import Path


def run_app(profile: Path, interfaces: list[str] | None) -> int:
    """Open the app on ``profile`` (``kith`` with no subcommand)."""
    from kith.app.gui.app import run_app as _run

    return _run(profile, interfaces)


__all__ = ["run_app"]
