"""My own devices: certificates, linking, removal (revocation) and what removal does.

Wire messages: ``rev [[user, device, created, sig]]`` (revocations, signed by the user's
identity key). A revocation counts only when it is signed by the user whose device it
removes, and only for a user this device knows (me or a contact): a stranger's
revocations are not stored, and nothing is relayed for strangers. After a handshake a
peer is sent only what it is entitled to, bounded: revocations of my own devices (and,
to my own devices, of my contacts' too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kith.p2p import wire
from kith.p2p.api import DeviceInfo, DevicesChanged, PeersChanged
from kith.p2p.connection import Connection
from kith.p2p.errors import UserError
from kith.p2p.identity import DeviceRevocation, revoke_device
from kith.p2p.session import PeerHello

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.network import Peer

log = logging.getLogger(__name__)

MAX_REVOCATIONS = 256  # stored per user (devices a person can have removed), and sent at once
MAX_PER_FRAME = 1000
MAX_STRANGER_DEVICES = 1000  # devices of strangers remembered (the most recently seen)


class Devices:
    """The own-devices feature."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.revoked: dict[bytes, bytes] = {}  # removed device -> its user
        self.removed = False  # this device was removed by another of my devices
        self._offline: asyncio.Task[None] | None = None  # a removed device leaving the LAN
        net = core.net
        net.admit.insert(0, self._admit)
        net.connected.append(self._on_connected)
        net.disconnected.append(self.on_disconnected)
        net.handlers[wire.Revoke] = self._on_revoke_message

    def load(self) -> None:
        db = self.core.db
        c = self.core.identity.cert
        db.upsert_device(c.device, c.user, c.name, c.created, wire.encode_cert(c))
        self.revoked = {d: u for d, u, _ in db.revocations()}
        self.removed = self.is_revoked(self.core.device_id, self.core.user_id)

    def is_revoked(self, device: bytes, user: bytes | None = None) -> bool:
        owner = self.revoked.get(device)
        return owner is not None and (user is None or owner == user)

    def _revocations(self, users: set[bytes] | None = None) -> list[DeviceRevocation]:
        """The newest revocations (of ``users``' devices), at most MAX_REVOCATIONS."""
        rows = [raw for _, u, raw in self.core.db.revocations() if users is None or u in users]
        return [wire.decode_revocation(raw) for raw in rows[-MAX_REVOCATIONS:]]

    # -- connections -------------------------------------------------------------------

    def _admit(self, conn: Connection, hello: PeerHello) -> bool:
        if self.removed:
            return False  # a removed device takes part in nothing any more
        device = self.core.db.device(hello.device_id, hello.user_id)
        if self.is_revoked(hello.device_id, hello.user_id) or (
            device is not None and device.revoked
        ):
            log.warning("refusing removed device %s", hello.device_id.hex()[:12])
            # Tell it why, with the proof: it then stops trying.
            own = [r for r in self._revocations({hello.user_id}) if r.device == hello.device_id]
            if own:
                conn.send(wire.Revoke(own))
            conn.send(wire.Close("this device was removed by its owner"))
            return False
        return True

    def _on_connected(self, peer: Peer) -> None:
        assert peer.conn is not None and peer.conn.peer is not None
        db = self.core.db
        c = peer.conn.peer.cert
        # (the handshake proved the device holds its key: this claim is the device's own)
        db.upsert_device(c.device, c.user, c.name, c.created, wire.encode_cert(c), proven=True)
        db.touch_device(c.device, user_id=c.user)
        if self.core.net.stranger(c.user):  # strangers' rows are bounded: oldest go
            db.prune_strangers(self.core.user_id, MAX_STRANGER_DEVICES)
        if peer.user_id == self.core.user_id:
            self.core.emit(DevicesChanged())
        users = {self.core.user_id}
        if peer.user_id == self.core.user_id:  # my devices also refuse my contacts' removed
            users |= {c.user_id for c in self.core.contacts.rows()}
        revocations = self._revocations(users)
        if revocations:
            peer.conn.send(wire.Revoke(revocations))

    def on_disconnected(self, peer: Peer) -> None:
        with contextlib.suppress(Exception):
            self.core.db.touch_device(peer.device_id)

    # -- revocations -------------------------------------------------------------------

    def _on_revoke_message(self, peer: Peer, m: wire.Revoke) -> None:
        self.on_revoke(m.revocations)

    def on_revoke(self, revocations: Sequence[DeviceRevocation]) -> None:
        core, db = self.core, self.core.db
        contacts = core.contacts
        fresh: list[DeviceRevocation] = []
        for r in revocations[:MAX_PER_FRAME]:
            r.verify()
            if self.is_revoked(r.device, r.user):
                continue
            if not contacts.known_user(r.user):
                continue  # a stranger's: nothing of theirs is kept or passed on
            claims = db.device_claims(r.device)
            if claims and not any(c.user_id == r.user for c in claims):
                continue  # a device known as someone else's only: not theirs to remove
            if sum(1 for u in self.revoked.values() if u == r.user) >= MAX_REVOCATIONS:
                log.warning("ignoring a revocation: %s already removed %d devices",
                            r.user.hex()[:12], MAX_REVOCATIONS)
                continue
            db.revoke_device(r.device, r.user, r.created, wire.encode_revocation(r))
            self.revoked[r.device] = r.user
            fresh.append(r)
        if not fresh:
            return
        for r in fresh:
            if r.device == core.device_id and r.user == core.user_id:
                self._on_removed()
                return
        net = core.net
        for r in fresh:
            peer = net.peers.get(r.device)
            if peer is not None and peer.conn is not None:
                peer.conn.send(wire.Revoke([r]))
                peer.conn.send(wire.Close("this device was removed by its owner"))
                peer.conn.close("device removed")
        for p in net.live():  # pass it on to those who should refuse the device too
            assert p.conn is not None
            if contacts.known_user(p.user_id):
                p.conn.send(wire.Revoke(fresh))
        core.emit(DevicesChanged())
        core.emit(PeersChanged())

    def removed_notice(self) -> str:
        """What to tell the user of a removed device."""
        return (
            f"this device was removed from {self.core.name}'s devices by another of them: it "
            "can no longer send or receive, and it left the network (no advert, no "
            "connections); its history stays readable here. To use Kith here again, link "
            "it anew: `kith link` with a fresh profile, then `kith devices add CODE` on one "
            "of your devices"
        )

    def refuse_if_removed(self) -> None:
        """A removed device writes nothing others would take: say so instead of queueing."""
        if self.removed:
            raise UserError(self.removed_notice())

    def _on_removed(self) -> None:
        log.warning("this device was removed by another of %s's devices", self.core.name)
        self.removed = True
        for conn in list(self.core.net.conns):
            conn.close("this device was removed")
        if self._offline is None:
            self._offline = asyncio.get_running_loop().create_task(
                self.core.net.leave(), name="kith-removed"
            )
        self.core.emit(DevicesChanged())

    async def stop(self) -> None:
        if self._offline is not None:  # let a removed device finish leaving the network
            with contextlib.suppress(Exception):
                await asyncio.shield(self._offline)

    # -- the API -----------------------------------------------------------------------

    def list(self) -> list[DeviceInfo]:
        """My devices, this one first."""
        core = self.core
        out = []
        for d in core.db.devices(core.user_id):
            this = d.device_id == core.device_id
            out.append(
                DeviceInfo(
                    d.device_id, d.name, this,
                    int(time.time()) if this and not self.removed else d.last_seen,
                    d.revoked or self.is_revoked(d.device_id, core.user_id),
                    core.net.online_device(d.device_id),
                )
            )
        out.sort(key=lambda d: (not d.this_device, d.removed, d.name.casefold()))
        return out

    async def link(
        self, code: str, *, address: tuple[str, int] | None = None, wait: float = 10.0
    ) -> DeviceInfo:
        """Link the new device that shows ``code`` (found over mDNS by the code's hint,
        or at ``address``): hand it the identity and certify its key."""
        from kith.p2p import link_driver, linking

        core = self.core
        try:
            hint = linking.code_hint(code)
        except ValueError as e:
            raise UserError(str(e)) from e
        if self.removed:
            raise UserError("this device was removed; it cannot link others")
        if address is None:
            found = await self._find_link_advert(hint, wait)
            address = (found.addresses[0], found.port)
        await core.log.commit()

        def certified(device: bytes, name: str, created: int, cert: bytes) -> None:
            core.db.upsert_device(device, core.user_id, name, created, cert)

        device_id, _ = await link_driver.link_device(
            core.identity, code, address[0], address[1], my_port=core.net.port,
            events=core.db.count_events(), timing=core.options.timing, on_certified=certified,
        )
        core.emit(DevicesChanged())
        [info] = [d for d in self.list() if d.device_id == device_id]
        return info

    async def _find_link_advert(self, hint: str, wait: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        net = self.core.net
        while True:
            hits = [a for a in net.link_adverts.values() if a.link == hint and a.addresses]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise UserError("several devices wait with that code; start `kith link` again")
            if not await self.core.wait_event(
                lambda e: isinstance(e, PeersChanged), deadline - loop.time()
            ):
                raise UserError(
                    "no device waiting with that code was found on the network; check the "
                    "code and that `kith link` still runs on the new device"
                )

    async def remove(self, query: str) -> DeviceInfo:
        """Revoke one of my other devices (DEVICE: a name or a device id prefix)."""
        q = query.strip().casefold()
        mine = [d for d in self.list() if not d.removed]
        hits = [d for d in mine if d.name.casefold() == q or d.device_id.hex() == q]
        if not hits and q:
            hits = [d for d in mine if d.device_id.hex().startswith(q)]
        if not hits:
            raise UserError(f"no device of yours called {query!r}; see `kith devices`")
        if len(hits) > 1:
            listing = ", ".join(f"{d.name} ({d.device_id.hex()[:12]})" for d in hits)
            raise UserError(f"{query!r} matches several devices: {listing}; use a device id")
        [target] = hits
        if target.this_device:
            raise UserError("this is the device you are using; remove it from another one")
        self.on_revoke([revoke_device(self.core.identity.user_secret, target.device_id)])
        [info] = [d for d in self.list() if d.device_id == target.device_id]
        return info
