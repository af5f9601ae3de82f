"""Ephemeral signals: typing, handoff and display-name changes. Not events: nothing of
them is stored, and a peer that goes away takes its signals with it.

    typ  [conv, active]   typing in a conversation (lasts TYPING_TTL unless renewed); in a
                          group, sent to the members' connected devices and accepted
                          only from a current member
    hand [conv, draft]    my own devices only: the chat open there and its draft
                          (conv empty: none); resent to a device of mine that connects
    prof [name]           the sender's user changed their display name
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from kith.p2p import wire
from kith.p2p.api import HandoffOffer, PeersChanged, TypingChanged
from kith.p2p.identity import valid_name
from kith.p2p.membership import is_group_id
from kith.p2p.messages import MAX_TEXT

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.network import Peer

TYPING_TTL = 6.0  # seconds a typing signal lasts unless renewed


class Signals:
    """Typing, handoff and profile signals."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.handoffs: dict[bytes, HandoffOffer] = {}  # my other devices' open chats
        self._open_chat: wire.Handoff | None = None  # the chat open here, for handoff
        net = core.net
        net.handlers[wire.Typing] = self._on_typing
        net.handlers[wire.Handoff] = self._on_handoff
        net.handlers[wire.Profile] = self._on_profile
        net.connected.append(self._on_connected)
        net.disconnected.append(self._on_disconnected)

    def _on_connected(self, peer: Peer) -> None:
        if peer.user_id == self.core.user_id and self._open_chat is not None:
            assert peer.conn is not None
            peer.conn.send(self._open_chat)  # it can offer to continue what is open here

    def _on_disconnected(self, peer: Peer) -> None:
        if self.handoffs.pop(peer.device_id, None) is not None:  # offline: nothing to continue
            self.core.emit(HandoffOffer(peer.device_id, peer.name, None, ""))
        for conv in list(peer.typing):
            self.core.emit(TypingChanged(conv, peer.user_id or b"", False))
        peer.typing.clear()

    # -- typing ------------------------------------------------------------------------

    def _on_typing(self, peer: Peer, m: wire.Typing) -> None:
        user = peer.user_id
        if user is None or user == self.core.user_id:
            return
        if is_group_id(m.conv):
            if not self.core.groups.is_member(user, m.conv):
                return  # (a former member, or someone not in it: not "typing" here)
        elif not self.core.convs.may_receive(user, m.conv):
            return
        if m.active:
            peer.typing[m.conv] = time.monotonic()
        else:
            peer.typing.pop(m.conv, None)
        self.core.emit(TypingChanged(m.conv, user, m.active))

    def set_typing(self, user: bytes, active: bool) -> None:
        """Tell ``user`` (a contact, or a group's id: its members) that I type or stopped."""
        if not self.core.db.get_setting("typing_indicators", True):
            return
        if is_group_id(user):
            self._set_typing_in_group(user, active)
            return
        self.core.net.send_to_user(user, wire.Typing(self.core.convs.direct(user), active))

    def _set_typing_in_group(self, conv: bytes, active: bool) -> None:
        groups = self.core.groups
        me = self.core.user_id
        if not groups.is_member(me, conv):
            return  # (removed or left: nobody hears me type)
        msg = wire.Typing(conv, active)
        for u in groups.members_of(conv):
            if u != me:
                self.core.net.send_to_user(u, msg)

    def typing(self, conv: bytes) -> list[bytes]:
        """Users typing in ``conv`` right now (a typing signal lasts TYPING_TTL seconds
        unless renewed, so a peer that vanishes mid-sentence stops "typing"), each once
        (a person typing on two devices); in a group, its current members only."""
        now = time.monotonic()
        users = sorted({
            p.user_id for p in self.core.net.peers.values()
            if p.user_id is not None and now - p.typing.get(conv, -TYPING_TTL) < TYPING_TTL
        })
        if is_group_id(conv):
            users = [u for u in users if self.core.groups.is_member(u, conv)]
        return users

    # -- handoff -----------------------------------------------------------------------

    def set_open_chat(self, user: bytes | None, draft: str = "") -> None:
        """Tell my other online devices which chat is open here and its draft, so they
        can offer to continue it (handoff)."""
        core = self.core
        conv = core.convs.direct(user) if user is not None else b""
        msg = wire.Handoff(conv, draft[:MAX_TEXT])
        self._open_chat = msg if conv else None  # a device of mine that comes online later
        for p in core.net.live_of(core.user_id):
            if not core.devices.is_revoked(p.device_id):
                assert p.conn is not None
                p.conn.send(msg)

    def _on_handoff(self, peer: Peer, m: wire.Handoff) -> None:
        core = self.core
        if peer.user_id != core.user_id or core.devices.is_revoked(peer.device_id):
            return  # only my own devices may hand off to me
        user = None
        if m.conv:
            user = core.convs.peer_of(m.conv)
            if user is None or core.contacts.row(user) is None:
                return
        device = core.db.device(peer.device_id, core.user_id)
        name = device.name if device else peer.name
        offer = HandoffOffer(peer.device_id, name, user, m.draft[:MAX_TEXT])
        if user is None:
            self.handoffs.pop(peer.device_id, None)
        else:
            self.handoffs[peer.device_id] = offer
        core.emit(offer)

    # -- profile -----------------------------------------------------------------------

    def _on_profile(self, peer: Peer, m: wire.Profile) -> None:
        if valid_name(m.name) and peer.user_id is not None:
            peer.name = m.name
            self.core.contacts.renamed(peer, m.name)
            self.core.emit(PeersChanged())
