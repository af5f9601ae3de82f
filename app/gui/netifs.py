"""The machine's network interfaces, for Settings → Network and for starting the node.

The app remembers the *names* of the interfaces the user chose (``wlan0``), not their
addresses: a laptop's address changes with every network it joins, and a remembered
address that is gone would keep the node from starting. At each start the names are
resolved to the addresses they have now. (Addresses, as the command line's
``--interface`` takes them, are accepted too.)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication
from PySide6.QtNetwork import QAbstractSocket, QNetworkInterface

LOOPBACK_FALLBACK = ["127.0.0.1"]


@dataclass(frozen=True)
class Interface:
    name: str
    label: str  # what Settings shows: "wlan0 (192.168.1.23)"
    addresses: tuple[str, ...]
    loopback: bool


def _usable(address: str) -> bool:
    """IPv4, or IPv6 that is not link-local (those need a scope a LAN peer cannot use)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return ip.version == 4 or not ip.is_link_local


def interfaces() -> list[Interface]:
    """Interfaces that are up and have an address Kith can listen on; loopback last."""
    out = []
    for i in QNetworkInterface.allInterfaces():
        flags = i.flags()
        if not (flags & QNetworkInterface.InterfaceFlag.IsUp
                and flags & QNetworkInterface.InterfaceFlag.IsRunning):
            continue
        addrs = []
        for entry in i.addressEntries():
            ip = entry.ip()
            if ip.protocol() not in (QAbstractSocket.NetworkLayerProtocol.IPv4Protocol,
                                     QAbstractSocket.NetworkLayerProtocol.IPv6Protocol):
                continue
            text = ip.toString()
            if _usable(text):
                addrs.append(text)
        if not addrs:
            continue
        loopback = bool(flags & QNetworkInterface.InterfaceFlag.IsLoopBack)
        name = i.name()
        human = i.humanReadableName()
        shown = name if human in ("", name) else f"{human} [{name}]"
        label = f"{shown} ({', '.join(addrs)})" + (
            QCoreApplication.translate("netifs", " (this computer only)") if loopback else "")
        out.append(Interface(name, label, tuple(addrs), loopback))
    out.sort(key=lambda x: (x.loopback, x.name))
    return out


def resolve(chosen: list[str], available: list[Interface] | None = None
            ) -> tuple[list[str], list[str]]:
    """Addresses for the chosen interface names (or addresses), and the chosen entries
    that are not there now. An empty choice means every interface: ``([], [])``."""
    if not chosen:
        return [], []
    available = interfaces() if available is None else available
    by_name = {i.name: i for i in available}
    present = {a for i in available for a in i.addresses}
    addresses: list[str] = []
    missing: list[str] = []
    for entry in chosen:
        if entry in by_name:
            addresses.extend(a for a in by_name[entry].addresses if a not in addresses)
        elif entry in present:
            if entry not in addresses:
                addresses.append(entry)
        else:
            missing.append(entry)
    return addresses, missing


def startup_interfaces(chosen: list[str]) -> tuple[list[str] | None, str]:
    """What the node listens on at start for the saved choice, and a warning for the
    user if the choice cannot be honoured as it is (empty when all is well).

    Nothing chosen: every interface (``None``). Some chosen interfaces missing: the
    others. None of them there: this computer only, so a choice to stay off a network
    is never widened to every network behind the user's back."""
    if not chosen:
        return None, ""
    addresses, missing = resolve(chosen)
    if not missing:
        return addresses, ""
    gone = ", ".join(missing)
    if addresses:
        return addresses, QCoreApplication.translate(
            "netifs", "The network interface chosen in Settings is not connected: {names}. "
            "Kith uses the others you chose.").format(names=gone)
    return list(LOOPBACK_FALLBACK), QCoreApplication.translate(
        "netifs", "None of the network interfaces chosen in Settings is connected ({names}), "
        "so nobody on a network can reach you. Choose another one under Settings → Network "
        "interfaces, or allow all networks.").format(names=gone)


def listening_addresses(chosen: list[str] | None, port: int,
                        available: list[Interface] | None = None) -> list[str]:
    """Where other devices reach this one: HOST:PORT for each address Kith listens on
    (``chosen``: the addresses it was told to use; None: every LAN interface, loopback
    only if there is nothing else)."""
    if chosen:
        hosts = list(chosen)
    else:
        found = available if available is not None else interfaces()
        lan = [a for i in found if not i.loopback for a in i.addresses]
        hosts = lan or [a for i in found for a in i.addresses] or LOOPBACK_FALLBACK
    return [f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts]
