"""Settings → Networks: all networks or only ticked interfaces, remembered by name and
resolved to addresses at each start; a chosen interface that is gone never stops Kith
from starting and never widens the choice to every network."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from kith.app.gui import netifs
from kith.app.gui.netifs import Interface
from kith.p2p.profile import DB_FILE, control_socket_path
from kith.storage import Store

ROOT = Path(__file__).resolve().parents[2]

WLAN = Interface("wlan0", "wlan0 (192.168.1.23)", ("192.168.1.23", "fd00::23"), False)
LO = Interface("lo", "lo (127.0.0.1)", ("127.0.0.1",), True)


def test_resolve_names_and_addresses_and_report_missing():
    assert netifs.resolve([], [WLAN, LO]) == ([], [])
    assert netifs.resolve(["wlan0"], [WLAN, LO]) == (["192.168.1.23", "fd00::23"], [])
    assert netifs.resolve(["127.0.0.1", "lo"], [WLAN, LO]) == (["127.0.0.1"], [])
    assert netifs.resolve(["eth1", "lo"], [WLAN, LO]) == (["127.0.0.1"], ["eth1"])
    assert netifs.resolve(["10.0.0.9"], [WLAN, LO]) == ([], ["10.0.0.9"])


def test_startup_never_widens_a_choice(monkeypatch):
    monkeypatch.setattr(netifs, "interfaces", lambda: [WLAN, LO])
    assert netifs.startup_interfaces([]) == (None, "")
    assert netifs.startup_interfaces(["wlan0"]) == (["192.168.1.23", "fd00::23"], "")
    addresses, warning = netifs.startup_interfaces(["eth1", "wlan0"])
    assert addresses == ["192.168.1.23", "fd00::23"]
    assert "eth1" in warning
    addresses, warning = netifs.startup_interfaces(["eth1"])
    assert addresses == ["127.0.0.1"]  # this computer only, not every network
    assert "eth1" in warning and "Settings" in warning


def test_link_local_ipv6_is_not_offered():
    assert netifs._usable("192.168.1.2")
    assert netifs._usable("fd00::1")
    assert not netifs._usable("fe80::1%wlan0")
    assert not netifs._usable("not an address")


def _save(qtbot, dialog):
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)


def test_pick_only_loopback_then_all_networks(kith_apps, qtbot):
    alice = kith_apps("alice")
    w = alice.window
    dialog = w.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    picker = dialog.networks
    assert picker.all.isChecked() and not picker.list.isEnabled()
    lo = picker.item("lo")  # the test runs in a namespace where lo is up
    assert lo is not None and "127.0.0.1" in lo.text()

    # "Only these" with nothing ticked is refused with a message; the dialog stays
    picker.some.setChecked(True)
    assert picker.list.isEnabled()
    _save(qtbot, dialog)
    assert dialog.isVisible() and picker.error.isVisible()
    assert "Tick at least one" in picker.error.text()

    lo.setCheckState(Qt.CheckState.Checked)
    _save(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert alice.node.db.get_setting("interfaces", None) == ["lo"]

    dialog = w.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.networks.some.isChecked()
    assert dialog.networks.item("lo").checkState() == Qt.CheckState.Checked
    dialog.networks.all.setChecked(True)
    _save(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert alice.node.db.get_setting("interfaces", None) == []


def test_a_chosen_interface_that_is_gone_stays_visible(kith_apps, qtbot):
    alice = kith_apps("alice")
    alice.node.set_setting("interfaces", ["wlan9"])
    dialog = alice.window.open_settings()
    qtbot.waitUntil(dialog.isVisible)
    gone = dialog.networks.item("wlan9")
    assert gone is not None and "not connected" in gone.text()
    assert gone.checkState() == Qt.CheckState.Checked
    assert dialog.networks.chosen() == ["wlan9"]


def _listening(pid: int) -> set[str]:
    """Local addresses the process ``pid`` listens on (TCP), from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    out = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            f = line.split()
            if f[3] != "0A" or f[9] not in inodes:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(f[1].split(":")[0])
            # /proc prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            out.add(socket.inet_ntop(family, raw))
    return out


def test_the_app_starts_when_the_chosen_network_is_gone(tmp_path, qtbot):
    """A laptop saved "wlan9" in Settings and wlan9 is not there today: the app still
    opens, says so, and listens on this computer only (not on every network)."""
    profile = tmp_path / "alice"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.environ["PYTHONPATH"])
    subprocess.run([sys.executable, "-m", "kith.app.cli", "--profile", str(profile), "init",
                    "--name", "alice"], check=True, env=env, cwd=ROOT, capture_output=True)
    store = Store(profile / DB_FILE)
    store.set_setting("interfaces", ["wlan9"])
    store.close()
    proc = subprocess.Popen([sys.executable, "-m", "kith.app.cli", "--profile", str(profile)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sock = control_socket_path(profile)
        qtbot.waitUntil(lambda: sock.exists() or proc.poll() is not None, timeout=30000)
        assert proc.poll() is None, proc.stdout.read().decode()
        qtbot.waitUntil(lambda: bool(_listening(proc.pid)), timeout=10000)
        assert _listening(proc.pid) == {"127.0.0.1"}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out.decode()
        assert "None of the network interfaces chosen in Settings is connected (wlan9)" in \
            out.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
