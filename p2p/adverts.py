"""What an mDNS advert may make this node do (sans-IO).

Anyone on the LAN can send an advert, with any device id, name and address in it; only
the handshake proves who is at an address. So an advert is a hint, and these rules keep a
forged one from doing harm:

- **Known-good addresses stay.** Where a device answered a dial and proved itself (the
  handshake), that address is kept for it, first; an advert adds addresses, it never
  replaces or removes one (:class:`Addresses`). An address that answered with another
  device is refuted for that device for :data:`REFUTED_FOR` seconds (adverts naming it
  are ignored), and the device keeps its other addresses and its redialling.
- **Only the local networks.** An advert's address outside the networks of this host's
  interfaces is never dialled (:func:`on_local_network`); an address added by hand is.
- **Strangers are bounded.** At most :data:`MAX_STRANGER_PEERS` devices that are neither
  mine nor my contacts' are kept from adverts, and dials to strangers are rate-limited
  (:class:`DialBudget`: :data:`DIAL_RATE` per second, bursts of :data:`DIAL_BURST`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Address = tuple[str, int]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUTED_FOR = 600.0  # seconds an address that answered with another device stays off
MAX_STRANGER_PEERS = 256  # devices from adverts that are neither mine nor my contacts'
DIAL_RATE = 4.0  # dials of strangers per second, sustained
DIAL_BURST = 16  # and at once


@dataclass
class Addresses:
    """Where one device may be: addresses added by hand, addresses where it proved
    itself, and what each of its adverts says; minus the refuted ones."""

    manual: list[Address] = field(default_factory=list)
    proven: list[Address] = field(default_factory=list)
    adverts: dict[str, list[Address]] = field(default_factory=dict)  # instance -> addresses
    refuted: dict[Address, float] = field(default_factory=dict)  # address -> until

    def all(self, now: float) -> list[Address]:
        """Every address to dial, best first: by hand, proven, then advertised."""
        out = [*self.manual, *self.proven]
        for addresses in self.adverts.values():
            out.extend(a for a in addresses if not self.is_refuted(a, now))
        return list(dict.fromkeys(out))

    def is_refuted(self, address: Address, now: float) -> bool:
        until = self.refuted.get(address)
        if until is None:
            return False
        if until <= now:
            del self.refuted[address]
            return False
        return True

    def advertised(self, instance: str, addresses: Iterable[Address], now: float) -> None:
        """An advert (``instance``) says the device is at ``addresses``."""
        self.adverts[instance] = [a for a in addresses if not self.is_refuted(a, now)]

    def lost(self, instance: str) -> None:
        self.adverts.pop(instance, None)

    def proved(self, address: Address) -> None:
        """The device answered a dial at ``address``: known-good from now on."""
        self.refuted.pop(address, None)
        if address not in self.proven:
            self.proven.insert(0, address)
            del self.proven[4:]  # (the last few: a device that moves leaves old ones)

    def refute(self, address: Address, now: float) -> None:
        """Another device answered at ``address``: not this one's, for a while."""
        if address in self.manual:
            return  # the user said so: the user's to change
        self.refuted[address] = now + REFUTED_FOR
        if address in self.proven:
            self.proven.remove(address)
        for addresses in self.adverts.values():
            if address in addresses:
                addresses.remove(address)

    def add_manual(self, address: Address) -> None:
        if address not in self.manual:
            self.manual.insert(0, address)
        self.refuted.pop(address, None)

    def merge(self, other: Addresses) -> None:
        """What was known of the same device under another key (its address)."""
        self.manual[:0] = [a for a in other.manual if a not in self.manual]
        self.proven.extend(a for a in other.proven if a not in self.proven)
        for instance, addresses in other.adverts.items():
            self.adverts.setdefault(instance, addresses)


def local_networks(adapters: Iterable[tuple[str, int]]) -> list[Network]:
    """The networks of this host's interfaces, from (address, prefix length) pairs (as
    ``ifaddr`` reports them; an IPv6 address may carry a ``%scope``)."""
    out: list[Network] = []
    for address, prefix in adapters:
        try:
            out.append(ipaddress.ip_network(f"{address.split('%')[0]}/{prefix}", strict=False))
        except ValueError:
            continue
    return out


def on_local_network(address: str, networks: Sequence[Network]) -> bool:
    """May an advertised ``address`` be dialled: is it on one of ``networks`` (or an
    IPv6 link-local address, which is on the link by definition)?"""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.is_link_local:
        return True
    return any(ip.version == n.version and ip in n for n in networks)


class DialBudget:
    """A token bucket for dialling strangers: :meth:`delay` says how long the next dial
    waits (and books it)."""

    def __init__(self, rate: float = DIAL_RATE, burst: int = DIAL_BURST) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._at: float | None = None

    def delay(self, now: float) -> float:
        if self._at is None:
            self._at = now
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate
