"""Who is on the network, as the user sees it: one entry per device or per person, with
what we know of them (contact state, a key that differs from a contact's, a problem)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kith.p2p.api import ACCEPTED, PeerInfo
from kith.p2p.network import Peer, format_address

if TYPE_CHECKING:
    from kith.p2p.core import Core


def peer_infos(core: Core) -> list[PeerInfo]:
    """Every device seen on the network or connected, one entry per device."""
    return [
        peer_info(core, p) for p in core.net.peers.values() if p.conn or p.instance or p.problem
    ]

def people(core: Core) -> list[PeerInfo]:
    """The people on the network (what ``kith peers`` lists): one entry per user,
    however many of their devices are around, sorted by name. My own devices are
    not people to add (``devices()`` lists them). A device whose user is not known
    yet (an advert not dialled yet, never seen before) is an entry of its own."""
    contacts = core.contacts
    groups: dict[bytes, list[Peer]] = {}
    for p in core.net.peers.values():
        if not (p.conn or p.instance or p.problem):
            continue
        if p.conn is None and p.hidden and not contacts.known_device(p.device_id):
            continue  # a stranger who hides, met before or not
        user = p.user_id
        if user is None and len(p.device_id) == 32:
            row = core.db.device(p.device_id)  # met before: its certificate says
            user = row.user_id if row is not None else None
        if user == core.user_id:
            continue
        groups.setdefault(user if user is not None else b"?" + p.device_id, []).append(p)
    out = []
    for key, members in groups.items():
        user = None if key.startswith(b"?") else key
        infos = sorted(
            (peer_info(core, p, user) for p in members),
            key=lambda i: (not i.connected, not i.name, i.device_id or b""),
        )
        first = infos[0]
        out.append(PeerInfo(
            name=first.name or next((i.name for i in infos if i.name), ""),
            user_id=user,
            device_id=first.device_id,
            addresses=list(dict.fromkeys(a for i in infos for a in i.addresses)),
            contact=first.contact,
            key_changed=any(i.key_changed for i in infos),
            connected=any(i.connected for i in infos),
            devices=[d for i in infos for d in i.devices],
            problem=next((i.problem for i in infos if i.problem), None),
        ))
    out.sort(key=lambda i: (i.name.casefold(), i.user_id or b"", i.device_id or b""))
    return out

def peer_info(core: Core, p: Peer, user: bytes | None = None) -> PeerInfo:
    contacts = core.contacts
    user = p.user_id or user
    contact = contacts.row(user) if user else None
    clash = contacts.name_clash(user, p.name) if user and p.name else None
    key_changed = (contact.key_changed if contact else False) or (
        clash is not None and (contact is None or contact.state != ACCEPTED)
    )
    device_id = p.device_id if len(p.device_id) == 32 else None
    return PeerInfo(
        name=p.name,
        user_id=user,
        device_id=device_id,
        addresses=[format_address(h, port) for h, port in p.addresses]
        or ([p.conn.address] if p.conn else []),
        contact=contact.state if contact else None,
        key_changed=key_changed,
        connected=p.live,
        devices=[device_id] if device_id else [],
        problem=p.problem,
    )
