"""The README screenshots script runs to the end (exit 0) also on a desktop (DISPLAY
set): it renders offscreen whatever display there is."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_screenshot_script_exits_0_with_a_display_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["DISPLAY"] = ":99"  # a display that may or may not be there: never used
    out = tmp_path / "shots"
    done = subprocess.run(  # noqa: S603 - our own script, with this interpreter
        [sys.executable, "-m", "kith.app.gui.screenshots", str(out)], env=env,
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    names = {p.name for p in out.glob("*.png")}
    for expected in ("conversation-light.png", "conversation-dark.png",
                     "settings-dark.png", "narrow-light.png", "contact-info-dark.png"):
        assert expected in names
