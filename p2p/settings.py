"""Settings: the display name, being discoverable, and the per-user settings that follow
me to my other devices.

Kind ``setting [key, json value]`` (self conversation, my devices only): last writer
wins per key (p2p.lww). Only :data:`SYNCED_SETTINGS` travel; others (theme, networks)
belong to the device.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import msgspec

from kith.p2p import events as ev
from kith.p2p import lww, wire
from kith.p2p.api import PeersChanged, SettingChanged
from kith.p2p.connection import Connection
from kith.p2p.errors import UserError
from kith.p2p.identity import name_problem, save_identity
from kith.p2p.kinds import SELF, Applying, Author, Kind, Part
from kith.p2p.session import PeerHello
from kith.storage import Store

if TYPE_CHECKING:
    from kith.p2p.core import Core

log = logging.getLogger(__name__)

# Settings that belong to the user, not the device: they sync between own devices (also
# to one linked later: the self conversation's history replays them, last writer wins).
# The theme and the networks stay per device.
SYNCED_SETTINGS = frozenset({
    "read_receipts", "typing_indicators", "discoverable", "notify_preview", "notify_sound",
    "display_name",
    "auto_download",  # p2p.files: bytes up to which files from contacts come by themselves
})
# Per-conversation choices that follow me too: the key is the prefix and a 64-hex id
# (muted:<user>, unread:<conversation>: "mark as unread").
SYNCED_PREFIXES = ("muted:", "unread:", "introduced:")  # (introduced: p2p.actions.cards)
# Synced settings whose change does more than store a value: (value) -> effect.
_EFFECTS = ("discoverable", "display_name")


class SettingBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Own devices only: a per-user setting (``value`` is JSON). Last writer wins per key."""

    key: str
    value: str


def is_synced(key: str) -> bool:
    """Does the setting ``key`` belong to the user (and so follow to my devices)?"""
    if key in SYNCED_SETTINGS:
        return True
    prefix, _, rest = key.partition(":")
    return (
        f"{prefix}:" in SYNCED_PREFIXES and len(rest) == 64
        and all(ch in "0123456789abcdef" for ch in rest)
    )


def _check_setting(b: SettingBody) -> str | None:
    return None if 0 < len(b.key) <= 80 and len(b.value) <= 4096 else "bad key or value"


SETTING: Kind[SettingBody] = Kind(
    "setting", SettingBody, where=frozenset({SELF}), who=Author.OWN,
    check=_check_setting, apply=lambda ctx, e, body: ctx.core.settings.apply(ctx, e, body),
)


class _Applied(Part):
    def __init__(self, core: Core) -> None:
        self.core = core
        self.values: dict[str, Any] = {}

    def write(self, store: Store) -> None:
        for key, value in self.values.items():
            if key not in _EFFECTS:
                store.set_setting(key, value)

    def committed(self) -> None:
        settings = self.core.settings
        for key, value in self.values.items():
            if key == "discoverable":
                self.core.spawn(settings.apply_discoverable(bool(value)), "kith-discoverable")
            elif key == "display_name":
                self.core.spawn(settings.apply_name(str(value)), "kith-rename")
            else:
                self.core.emit(SettingChanged(key))


class Settings:
    """The settings feature."""

    def __init__(self, core: Core) -> None:
        self.core = core
        core.kinds.declare(SETTING)
        core.net.admit.append(self._admit)

    def apply(self, ctx: Applying, e: ev.SignedEvent, body: SettingBody) -> None:
        if not is_synced(body.key):
            return
        try:
            value = json.loads(body.value)
        except ValueError:
            return
        if body.key == "display_name" and (not isinstance(value, str) or name_problem(value)):
            return  # (what a value breaks, it does not win: the last good one stays)
        key = f"setting:{body.key}"
        if not lww.newer(ctx.batch, self.core.db, key, e.event.lamport, e.author) or ctx.local:
            return
        ctx.batch.part(self, lambda: _Applied(self.core)).values[body.key] = value

    def set(self, key: str, value: Any) -> None:
        """Change a setting; per-user ones (:func:`is_synced`) reach my other devices."""
        core = self.core
        core.db.set_setting(key, value)
        self._publish(key, value)
        core.emit(SettingChanged(key))

    def _publish(self, key: str, value: Any) -> None:
        core = self.core
        if is_synced(key) and not core.devices.removed:
            core.log.append(core.convs.self_conv, SettingBody(key, json.dumps(value)))

    # -- being discoverable ------------------------------------------------------------

    @property
    def discoverable(self) -> bool:
        return bool(self.core.db.get_setting("discoverable", True))

    def _admit(self, conn: Connection, hello: PeerHello) -> bool:
        """Not discoverable: strangers who dial in are refused right after the handshake."""
        if conn.initiator or self.discoverable or self.core.contacts.known_user(hello.user_id):
            return True
        log.info("refusing %s: not discoverable to strangers", hello.device_id.hex()[:12])
        conn.send(wire.Close("not discoverable"))
        return False

    async def set_discoverable(self, value: bool) -> None:
        """Discoverable: anyone on the LAN sees this device (name in the advert). Not
        discoverable: the advert carries no name, Kith nodes dial it only if its user is
        their contact (or them), it dials no strangers and refuses their connections,
        and the strangers connected now are let go. Contacts and my devices notice no
        difference; adding someone new still works from this side."""
        self._publish("discoverable", value)  # (it is the person's: all my devices follow)
        await self.apply_discoverable(value)

    async def apply_discoverable(self, value: bool) -> None:
        """Be discoverable or not here (set here or on another of my devices)."""
        core, net = self.core, self.core.net
        core.db.set_setting("discoverable", value)
        core.emit(SettingChanged("discoverable"))
        await net.set_advertised_name(core.name if value else None)
        if not value:
            for p in list(net.peers.values()):
                if (
                    p.conn is not None and not p.manual
                    and not core.contacts.known_user(p.user_id)
                ):
                    p.conn.close("no longer discoverable")
        else:  # the strangers around can be met again
            for p in list(net.peers.values()):
                if p.conn is None and p.instance and not p.dialing and net.may_dial(p):
                    net.dial_soon(p, 0.0)
        core.emit(PeersChanged())

    # -- the display name --------------------------------------------------------------

    async def set_name(self, name: str) -> None:
        """Change the display name: saved in the key file, sent to connected peers and
        announced over mDNS (if discoverable)."""
        name = name.strip()
        problem = name_problem(name)
        if problem is not None:
            raise UserError(problem)
        if name == self.core.identity.name:
            return
        self._publish("display_name", name)  # (the person's name: all my devices take it)
        await self.apply_name(name)

    async def apply_name(self, name: str) -> None:
        """Go by ``name`` here (set here or on another of my devices)."""
        core = self.core
        if name == core.identity.name:
            return
        core.identity = core.identity.with_name(name)
        save_identity(core.profile, core.identity, replace=True, key=core.options.data_key)
        for p in core.net.live():
            assert p.conn is not None
            p.conn.send(wire.Profile(name))
        if self.discoverable:
            await core.net.set_advertised_name(name)
        core.emit(SettingChanged("display_name"))
        core.emit(PeersChanged())
