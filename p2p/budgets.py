"""The stranger budget at work: the driver of :mod:`p2p.limits`' rules for peers.

Who is a stranger (neither me, nor a contact, nor in a group with me), how large a
message each connection may make us reassemble (it follows contact and group changes),
and who makes room when strangers are full (the idlest, if idle long enough).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from kith.p2p import limits, wire
from kith.p2p.api import ACCEPTED, PENDING_OUT, ContactChanged, GroupChanged
from kith.p2p.session import MAX_ASSEMBLED

if TYPE_CHECKING:
    from kith.p2p.connection import Connection
    from kith.p2p.network import Network
    from kith.p2p.session import PeerHello


class StrangerBudget:
    """What strangers may hold: reassembly per connection, connections at once."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.core = net.core
        self.core.subscribe(self._on_node_event)

    def stranger(self, user: bytes) -> bool:
        """Neither me, nor a contact (accepted, or asked by me), nor in a group with me.
        (Someone whose request waits is still a stranger: requests cost nothing to make.)"""
        core = self.core
        if user == core.user_id:
            return False
        c = core.contacts.row(user)
        if c is not None and c.state in (ACCEPTED, PENDING_OUT):
            return False
        direct = core.convs.direct(user)
        return not any(conv != direct for conv in core.convs.of_user(user))

    def budget(self, conn: Connection, user: bytes) -> None:
        """How large a message ``user``'s connection may make us reassemble, and how
        much we hold unsent for it (a stranger's: small; the people I know: unbounded
        here, reading pauses past the high-water mark)."""
        stranger = self.stranger(user)
        conn.session.max_assembled = limits.STRANGER_ASSEMBLED if stranger else MAX_ASSEMBLED
        conn.max_unsent = limits.unsent_budget(stranger)

    def admit(self, conn: Connection, hello: PeerHello) -> bool:
        """Right after a handshake: a stranger's budget is small, and so is their number.
        False: the stranger is told "busy" (the caller refuses the connection)."""
        if not self.stranger(hello.user_id):
            return True
        self.budget(conn, hello.user_id)
        strangers = [
            p for p in self.net.peers.values()
            if p.live and p.conn is not conn and p.user_id is not None
            and p.device_id != hello.device_id and self.stranger(p.user_id)
        ]
        if len(strangers) >= limits.MAX_STRANGER_CONNECTIONS:
            # Full: the stranger idle the longest makes room (one who only holds a
            # connection open must not keep newcomers out for good), if idle long.
            idlest = min(strangers, key=lambda p: p.active)
            if time.monotonic() - idlest.active < limits.STRANGER_IDLE:
                self.net.note_refusal(f"refusing {hello.device_id.hex()[:12]}: "
                                      f"{len(strangers)} strangers connected already")
                conn.send(wire.Close("busy: try again later"))
                return False
            assert idlest.conn is not None
            idlest.conn.send(wire.Close("idle: making room"))
            idlest.conn.close("idle stranger, making room for another")
        return True

    def _on_node_event(self, e: object) -> None:
        net = self.net
        if isinstance(e, ContactChanged):  # a stranger became a contact (or back)
            for p in net.live_of(e.user_id):
                assert p.conn is not None
                self.budget(p.conn, e.user_id)
        elif isinstance(e, GroupChanged):  # members come and go: budgets follow
            for p in net.live():
                if p.user_id is not None and p.conn is not None:
                    self.budget(p.conn, p.user_id)
