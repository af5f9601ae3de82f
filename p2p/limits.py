"""How much a peer may make this node hold (sans-IO): connections and memory.

A stranger — a device that is neither mine, nor a contact's, nor a member's of a
conversation I am in — can complete a handshake (that is how requests arrive), so what a
stranger holds is bounded, per connection and in total:

- at most :data:`MAX_CONNECTIONS` connections in all, and :data:`MAX_PER_ADDRESS` from one
  remote address (loopback excepted: only this machine's own processes use it);
- at most :data:`MAX_STRANGER_CONNECTIONS` strangers connected at once: past it, the
  stranger idle the longest (no message but keepalives for :data:`STRANGER_IDLE`
  seconds) is let go to make room, else the new one is told "busy" right after the
  handshake — holding connections open cannot keep newcomers out for good;
- a stranger's half-received message may grow to :data:`STRANGER_ASSEMBLED` bytes (the
  people I know get :data:`p2p.session.MAX_ASSEMBLED`), so all strangers together hold
  at most ``MAX_STRANGER_CONNECTIONS * STRANGER_ASSEMBLED`` (16 MiB) of it;
- what we hold unsent for a stranger (it asks, and does not read the answers) may grow
  to :data:`STRANGER_UNSENT` bytes, then the stranger is let go; for anyone, past
  :data:`p2p.connection.HIGH_WATER` unsent bytes nothing more is read from them until
  they take it; and what waits unread in a connection's StreamReader is bounded by
  asyncio's flow control (:data:`p2p.connection.READER_LIMIT`).

So one stranger holds at most about 256 KiB reassembling + 256 KiB unsent + 384 KiB
unread, and 64 of them about 56 MiB at the very worst (measured: tests/bench/
bench_strangers.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

MAX_CONNECTIONS = 512
MAX_PER_ADDRESS = 16
MAX_STRANGER_CONNECTIONS = 64
STRANGER_ASSEMBLED = 256 * 1024
STRANGER_UNSENT = 256 * 1024  # bytes we hold unsent for a stranger before letting it go
STRANGER_IDLE = 60.0  # seconds: a stranger idle that long makes room when strangers are full


def remote_host(address: str) -> str:
    """The host part of ``host:port`` or ``[v6]:port``."""
    host = address.rpartition(":")[0] if ":" in address else address
    return host.strip("[]")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def refuse_inbound(address: str, open_addresses: Iterable[str]) -> str | None:
    """Why a new inbound connection from ``address`` is refused before its handshake
    (``open_addresses``: the remote addresses of the connections open now), or None."""
    addresses = list(open_addresses)
    if len(addresses) >= MAX_CONNECTIONS:
        return f"{len(addresses)} connections open"
    host = remote_host(address)
    if not _loopback(host):
        same = sum(1 for a in addresses if remote_host(a) == host)
        if same >= MAX_PER_ADDRESS:
            return f"{same} connections from {host} already"
    return None


def unsent_budget(stranger: bool) -> int | None:
    """How much we hold unsent for a peer before letting it go (None: no cap; reading
    from it pauses past the high-water mark instead)."""
    return STRANGER_UNSENT if stranger else None


def over_budget(unsent: int, budget: int | None) -> bool:
    return budget is not None and unsent > budget
