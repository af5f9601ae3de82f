"""What the network does with mDNS adverts: the driver of :mod:`p2p.adverts`' rules.

An advert found by discovery makes (or updates) a peer and may start dialling it; a
lost advert takes away what it said. The rules themselves (proven addresses stay, local
networks only, strangers bounded, their dials rate-limited) are :mod:`p2p.adverts`'.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from kith.p2p import adverts
from kith.p2p.api import PeersChanged

if TYPE_CHECKING:
    from kith.p2p.network import Network, Peer

log = logging.getLogger("kith.p2p.network")


class AdvertDriver:
    """Adverts in, peers and dials out."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.core = net.core
        self._networks: list[adverts.Network] | None = None  # this host's (refreshed)
        self._networks_at = 0.0

    def on_advert(self, advert: Any) -> None:
        net, core = self.net, self.core
        if getattr(advert, "link", None):
            # A device waiting to be linked: not a peer; `kith devices add` looks here.
            net.link_adverts[advert.instance] = advert
            core.emit(PeersChanged())
            return
        try:
            device_id = bytes.fromhex(advert.device_hint)
        except ValueError:
            return
        if (
            device_id == core.device_id or len(device_id) != 32
            or core.devices.is_revoked(device_id)
        ):
            return  # (a removed device id never comes back: no point dialling it)
        addresses = [(a, advert.port) for a in advert.addresses if self.on_local_network(a)]
        if not addresses:
            log.debug("ignoring advert %s: no address on this host's networks", advert.instance)
            return
        from kith.p2p.network import Peer

        peer = net.peers.get(device_id)
        if peer is None:
            if not self.room_for_stranger(device_id):
                log.debug("ignoring advert %s: too many strangers around", advert.instance)
                return
            peer = net.peers[device_id] = Peer(device_id)
        before = net.by_instance.get(advert.instance)
        if before is not None and before != device_id:  # the advert names another id now
            old = net.peers.get(before)
            if old is not None:
                old.where.lost(advert.instance)
        net.by_instance[advert.instance] = device_id
        # An advert adds where the device may be; it never replaces a proven address.
        peer.where.advertised(advert.instance, addresses, time.monotonic())
        peer.hidden = not advert.name
        if advert.name and not peer.user_id:
            peer.name = advert.name
        core.emit(PeersChanged())
        if peer.conn is None and not peer.dialing and self.may_dial(peer):
            # The lower device id dials first; the other waits a moment, so two nodes
            # that discover each other at once rarely race into a tie-break.
            delay = 0.0 if core.device_id < device_id else 1.0
            net.dial_soon(peer, delay)

    def on_advert_lost(self, instance: str) -> None:
        net = self.net
        net.link_adverts.pop(instance, None)
        device_id = net.by_instance.pop(instance, None)
        peer = net.peers.get(device_id) if device_id else None
        if peer is not None:
            peer.where.lost(instance)
            if peer.conn is None and not peer.manual and peer.instance is None:
                del net.peers[peer.device_id]
            self.core.emit(PeersChanged())

    def known(self, device_id: bytes) -> bool:
        """A device of mine or of a contact (not a stranger)."""
        return self.core.contacts.known_device(device_id)

    def room_for_stranger(self, device_id: bytes) -> bool:
        if self.known(device_id):
            return True
        strangers = sum(
            1 for k, p in self.net.peers.items()
            if len(k) == 32 and not p.manual and not self.known(k)
        )
        return strangers < adverts.MAX_STRANGER_PEERS

    def on_local_network(self, address: str) -> bool:
        """Is an advertised address on one of this host's networks (else never dialled)?"""
        now = time.monotonic()
        if self._networks is None or now - self._networks_at > 30.0:
            self._networks = adverts.local_networks(interface_addresses())
            self._networks_at = now
        return adverts.on_local_network(address, self._networks)

    def may_dial(self, peer: Peer) -> bool:
        """Dial a discovered device unless that would reveal someone who hides: it hides
        (its advert has no name) or I do, and it is not one of my contacts' or my own."""
        if peer.manual or self.core.contacts.known_device(peer.device_id):
            return True
        return self.core.settings.discoverable and not peer.hidden


def interface_addresses() -> list[tuple[str, int]]:
    """(address, prefix length) of every address of this host's interfaces."""
    import ifaddr

    out: list[tuple[str, int]] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip
            out.append((str(address), int(ip.network_prefix)))
    return out
