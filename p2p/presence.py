"""Presence between my own devices: who is reachable through which of them.

A person is *reachable* when any of my devices has a live session with any of theirs:
the laptop may be the only one of my devices on their network, and what they write
still reaches me through it (it relays). Each of my devices tells my other live devices
which users it talks to right now, in one ephemeral signal::

    pres [users]   my own devices only: the users (other than me) this device has a live
                   session with; sent when that set changes and to a device of mine that
                   connects; at most wire.MAX_PRESENCE users

Nothing of it is stored: a device of mine that goes away takes what it said with it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from kith.p2p import wire
from kith.p2p.api import PeersChanged

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.network import Peer


class Presence:
    """What my other devices say about whom they talk to; who is reachable."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._reaches: dict[bytes, frozenset[bytes]] = {}  # my device -> users it talks to
        self._said: frozenset[bytes] | None = None  # what we last told my devices
        self._due = False
        net = core.net
        net.handlers[wire.Presence] = self._on_presence
        net.connected.append(self._on_connected)
        net.disconnected.append(self._on_disconnected)

    # -- the API -----------------------------------------------------------------------

    def reachable(self, user: bytes) -> bool:
        """Does any of my devices (this one included) talk to a device of ``user``?"""
        return self.core.net.online(user) or bool(self.via(user))

    def via(self, user: bytes) -> list[bytes]:
        """My other live devices that have a live session with ``user`` (device ids)."""
        net = self.core.net
        return sorted(
            d for d, users in self._reaches.items()
            if user in users and net.online_device(d)
        )

    # -- telling my devices ------------------------------------------------------------

    def _talking_to(self) -> frozenset[bytes]:
        me = self.core.user_id
        return frozenset(
            p.user_id for p in self.core.net.live() if p.user_id is not None and p.user_id != me
        )

    def _changed(self) -> None:
        """Our set may have changed: tell my devices once, at the end of this loop turn
        (a burst of connections is one signal)."""
        if self._due or not self.core.running:
            return
        self._due = True
        asyncio.get_running_loop().call_soon(self._tell)

    def _tell(self) -> None:
        self._due = False
        users = self._talking_to()
        if users == self._said:
            return
        self._said = users
        msg = self._message(users)
        for p in self.core.net.live_of(self.core.user_id):
            if not self.core.devices.is_revoked(p.device_id):
                assert p.conn is not None
                p.conn.send(msg)

    @staticmethod
    def _message(users: frozenset[bytes]) -> wire.Presence:
        return wire.Presence(sorted(users)[: wire.MAX_PRESENCE])

    def _on_connected(self, peer: Peer) -> None:
        if peer.user_id == self.core.user_id:
            if not self.core.devices.is_revoked(peer.device_id):
                assert peer.conn is not None
                peer.conn.send(self._message(self._talking_to()))
        else:
            self._changed()

    def _on_disconnected(self, peer: Peer) -> None:
        if peer.user_id == self.core.user_id:
            if self._reaches.pop(peer.device_id, None):
                self.core.emit(PeersChanged())
        else:
            self._changed()

    def _on_presence(self, peer: Peer, m: wire.Presence) -> None:
        core = self.core
        if peer.user_id != core.user_id or core.devices.is_revoked(peer.device_id):
            return  # only my own devices say whom they talk to
        users = frozenset(u for u in m.users[: wire.MAX_PRESENCE] if len(u) == 32)
        users -= {core.user_id}
        if self._reaches.get(peer.device_id, frozenset()) != users:
            self._reaches[peer.device_id] = users
            core.emit(PeersChanged())
