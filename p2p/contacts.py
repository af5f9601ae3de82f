"""Contacts and trust: requests, acceptance, names, verification, key changes.

Kinds:

    contact [action, name]   direct conversation: a request, its acceptance or refusal
    roster  [user, name, state, verified, replaces?]
                             self conversation, my devices only: my view of one contact,
                             last writer wins per contact (p2p.lww)

In a direct conversation only contacts in good standing get our events (``pending_out``
or ``accepted``, and no unconfirmed key change), and anyone not declined may send us a
request: that is this feature's gate on direct conversations.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from kith.p2p import events as ev
from kith.p2p import lww
from kith.p2p.api import ACCEPTED, DECLINED, PENDING_IN, PENDING_OUT, ContactChanged, ContactInfo
from kith.p2p.errors import UserError
from kith.p2p.fingerprint import normalize_safety_number, safety_number, sas_emoji
from kith.p2p.identity import name_problem
from kith.p2p.kinds import DIRECT, SELF, Applying, Author, Batch, Kind, Part
from kith.storage import ContactRow, Store

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.network import Peer

CONTACT_STATES = (PENDING_IN, PENDING_OUT, ACCEPTED, DECLINED)
CONTACT_ACTIONS = ("request", "accept", "decline")
MAX_NAME = 64
MAX_PENDING_REQUESTS = 500  # requests from new people that may wait for an answer


class ContactBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A contact request ("request"), its acceptance ("accept") or refusal ("decline")."""

    action: str
    name: str


class RosterBody(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Own devices only (the self conversation): the user's view of one contact, as set
    on one of their devices. Last writer (lamport, author) wins per contact."""

    user: bytes
    name: str
    state: str
    verified: bool
    replaces: bytes | None = None  # the contact this key took over from (a reinstall)
    # Whether this key is still "not the person you know" (None: not said, as by a
    # device of the first release): taking a new key, and going back, follow me.
    key_changed: bool | None = None
    # I chose ``name`` myself (None: not said): it follows my devices, and their own
    # renames do not change it.
    named: bool | None = None


def _check_contact(b: ContactBody) -> str | None:
    return None if b.action in CONTACT_ACTIONS else f"unknown action {b.action[:20]!r}"


def _check_roster(b: RosterBody) -> str | None:
    ok = len(b.user) == 32 and b.state in CONTACT_STATES and len(b.name) <= MAX_NAME
    ok = ok and (b.replaces is None or len(b.replaces) == 32)
    return None if ok else "bad user, state or name"


def _allow_contact(core: Core, user: bytes, conv: bytes) -> str | None:
    """Requests from new people wait for the user; how many may wait is bounded (a flood
    of fresh identities must not fill the disk): past MAX_PENDING_REQUESTS, a new
    person's request is refused until the user answers some."""
    if user == core.user_id or core.contacts.row(user) is not None:
        return None
    waiting = sum(1 for c in core.contacts.rows() if c.state == PENDING_IN)
    if waiting >= MAX_PENDING_REQUESTS:
        return f"{waiting} contact requests wait for an answer already"
    return None


CONTACT: Kind[ContactBody] = Kind(
    "contact", ContactBody, where=frozenset({DIRECT}), who=Author.MEMBER, allow=_allow_contact,
    check=_check_contact, apply=lambda ctx, e, body: ctx.core.contacts.apply_contact(ctx, e, body),
)
ROSTER: Kind[RosterBody] = Kind(
    "roster", RosterBody, where=frozenset({SELF}), who=Author.OWN,
    check=_check_roster, apply=lambda ctx, e, body: ctx.core.contacts.apply_roster(ctx, e, body),
)
KINDS = (CONTACT, ROSTER)


class _Changes(Part):
    """Contacts one batch changed: written with it, announced after it."""

    def __init__(self, contacts: Contacts) -> None:
        self.contacts = contacts
        self.rows: dict[bytes, ContactRow] = {}
        self.changed: set[bytes] = set()
        self.roster_due: set[bytes] = set()
        self.ask: set[bytes] = set()

    def write(self, store: Store) -> None:
        cache = self.contacts._cache
        for c in self.rows.values():
            stored = store.upsert_contact(
                c.user_id, name=c.name, state=c.state, verified=c.verified,
                key_changed=c.key_changed, replaces=c.replaces, own_name=c.own_name,
                named=c.named,
            )
            if cache is not None:  # (as stored: its times are the write's, which may
                cache[c.user_id] = stored  # be a second later than the staging's)

    def committed(self) -> None:
        contacts = self.contacts
        for user in self.ask:
            for p in contacts.core.net.live_of(user):
                # Their devices may have offered events we dropped before we knew the
                # contact: ask again.
                contacts.core.repl.ask(p, contacts.core.convs.direct(user))
        for user in self.roster_due:
            contacts.publish_roster(user)
        for user in self.changed:
            contacts.core.emit(ContactChanged(user))

    def failed(self) -> None:
        self.contacts.forget_cache()


class Contacts:
    """The contacts feature."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._cache: dict[bytes, ContactRow] | None = None
        self.sas_hashes: dict[bytes, bytes] = {}  # user -> handshake hash of a live session
        for kind in KINDS:
            core.kinds.declare(kind)
        core.convs.gate(DIRECT, send=self._may_send, receive=self._may_receive)
        core.net.connected.append(self._on_connected)

    # -- the cache of the contacts table ------------------------------------------------

    def rows(self) -> list[ContactRow]:
        """Every contact, by name."""
        return sorted(self._all(), key=lambda c: (c.name.casefold(), c.user_id))

    def _all(self) -> Iterable[ContactRow]:
        if self._cache is None:
            self._cache = {c.user_id: c for c in self.core.db.contacts()}
        return self._cache.values()

    def row(self, user: bytes) -> ContactRow | None:
        if self._cache is None:
            self._all()
        assert self._cache is not None
        return self._cache.get(user)

    def forget_cache(self) -> None:
        self._cache = None

    def save(self, user: bytes, **fields: Any) -> ContactRow:
        """Change a contact now (an API call)."""
        row = self.core.db.upsert_contact(user, **fields)
        if self._cache is not None:
            self._cache[user] = row
        return row

    def _stage(self, batch: Batch, user: bytes, **fields: Any) -> ContactRow:
        """Change a contact with a batch: visible at once, stored with the batch."""
        old = self.row(user)
        now = int(time.time())
        if old is None:
            old = ContactRow(user, "", PENDING_IN, False, False, None, now, now)
        changes = {k: v for k, v in fields.items() if v is not None}
        new = dataclasses.replace(old, updated=now, **changes)
        assert self._cache is not None
        self._cache[user] = new
        part = batch.part(self, lambda: _Changes(self))
        part.rows[user] = new
        part.changed.add(user)
        return new

    # -- queries -----------------------------------------------------------------------

    def accepted(self, user: bytes) -> bool:
        c = self.row(user)
        return c is not None and c.state == ACCEPTED

    def known_user(self, user: bytes | None) -> bool:
        """Me, or someone in my contacts (a request either way counts, a decline not)."""
        if user is None:
            return False
        if user == self.core.user_id:
            return True
        c = self.row(user)
        return c is not None and c.state != DECLINED

    def known_device(self, device_id: bytes) -> bool:
        """A device of mine or of someone I know, by their own signed claim."""
        if len(device_id) != 32:
            return False
        return any(
            not row.revoked and self.known_user(row.user_id)
            for row in self.core.db.device_claims(device_id)
        )

    def _may_send(self, user: bytes, conv: bytes) -> bool:
        c = self.row(user)
        return c is not None and c.state in (ACCEPTED, PENDING_OUT) and not c.key_changed

    def _may_receive(self, user: bytes, conv: bytes) -> bool:
        c = self.row(user)
        return c is None or c.state != DECLINED

    def name_clash(self, user: bytes, name: str) -> bytes | None:
        """The user id of another known contact that goes by ``name``, if any."""
        folded = name.casefold()
        for c in self._all():
            if c.user_id != user and c.name.casefold() == folded and c.state == ACCEPTED:
                return c.user_id
        return None

    def replaced_by(self, user: bytes) -> bytes | None:
        """The contact the user confirmed as this one's new key (a reinstall), if any."""
        for c in self._all():
            if (
                c.replaces == user and c.user_id != user and c.state == ACCEPTED
                and not c.key_changed
            ):
                return c.user_id
        return None

    def info(self, user: bytes) -> ContactInfo:
        c = self.row(user)
        assert c is not None
        return ContactInfo(
            c.name, c.user_id, c.state, c.verified, c.key_changed, self.core.net.online(user),
            self.replaced_by(user), self.core.presence.reachable(user), c.own_name,
        )

    def names(self) -> dict[bytes, str]:
        out = {c.user_id: c.name for c in self.rows()}
        out[self.core.user_id] = self.core.name
        return out

    def resolve(self, query: str) -> tuple[bytes, str]:
        """A PEER argument (name, user id or unique prefix of either) -> (user_id, name)."""
        q = query.strip()
        if not q:
            raise UserError("say which peer: a name, a user id or a prefix of one")
        candidates: dict[bytes, str] = {}
        for c in self.rows():
            candidates[c.user_id] = c.name
        for p in self.core.net.peers.values():
            if p.user_id is not None and p.user_id not in candidates:
                candidates[p.user_id] = p.name
        for user, member in self.core.groups.member_names().items():  # (met in a group)
            candidates.setdefault(user, member)
        candidates.pop(self.core.user_id, None)
        folded = q.casefold()
        # A name that is exactly one accepted contact's means that contact, even when a
        # stranger on the network uses the same name.
        own = [
            (c.user_id, c.name) for c in self.rows()
            if c.state == ACCEPTED and c.name.casefold() == folded
            and self.replaced_by(c.user_id) is None  # a name means the person's current key
        ]
        if len(own) == 1:
            return own[0]
        for test in (
            lambda u, n: n.casefold() == folded or u.hex() == folded,
            lambda u, n: n.casefold().startswith(folded) or u.hex().startswith(folded),
        ):
            hits = [(u, n) for u, n in candidates.items() if test(u, n)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                listing = ", ".join(f"{n} ({u.hex()[:12]})" for u, n in hits)
                raise UserError(f"{query!r} matches several people: {listing}; use a user id")
        raise UserError(
            f"no peer or contact called {query!r}; see `kith peers` and `kith contacts`"
        )

    @staticmethod
    def key_change_warning(name: str, user: bytes, known: bytes | None, verb: str) -> str:
        old = f" ({known.hex()[:12]})" if known else ""
        return (
            f"WARNING: this {name!r} ({user.hex()[:12]}) has a different identity key than the "
            f"{name!r} you know{old}. It may be someone else, or {name} reinstalled Kith. "
            f"Compare safety numbers in person (kith safety-number {user.hex()[:12]}), then run"
            f" `kith {verb} {user.hex()[:12]} --trust-new-key` or `kith verify`. Nothing was sent."
        )

    # -- applying ----------------------------------------------------------------------

    def apply_contact(self, ctx: Applying, e: ev.SignedEvent, body: ContactBody) -> None:
        if ctx.mine or ctx.via_own_device:
            # Between my devices the roster is what counts: my other device applied
            # this when it came and published the outcome (a request I declined since
            # must not come back as new when the history reaches another device).
            return
        user = ctx.author_user
        c = self.row(user)
        before = c.state if c is not None else None
        name = body.name if 0 < len(body.name) <= MAX_NAME else ctx.peer_name
        b = ctx.batch
        if body.action == "request":
            if c is None:
                clash = self.name_clash(user, name)
                c = self._stage(b, user, name=name, state=PENDING_IN,
                                key_changed=clash is not None, replaces=clash)
            elif c.state == PENDING_OUT:
                c = self._stage(b, user, state=ACCEPTED)
            elif c.state == DECLINED:
                c = self._stage(b, user, state=PENDING_IN)
        elif body.action == "accept":
            if c is not None and c.state in (PENDING_OUT, ACCEPTED):
                c = self._stage(b, user, state=ACCEPTED)
            elif c is None:
                c = self._stage(b, user, name=name, state=PENDING_IN)
        else:  # decline
            c = self._stage(b, user, name=name if c is None else None, state=DECLINED)
        part = b.part(self, lambda: _Changes(self))
        part.changed.add(user)
        if c is not None and c.state != before:
            part.roster_due.add(user)

    def apply_roster(self, ctx: Applying, e: ev.SignedEvent, body: RosterBody) -> None:
        """My view of a contact, set on one of my devices: last writer wins."""
        if body.user == self.core.user_id:
            return
        key = f"contact:{body.user.hex()}"
        if not lww.newer(ctx.batch, self.core.db, key, e.event.lamport, e.author) or ctx.local:
            return
        old = self.row(body.user)
        name = body.name or (old.name if old else "")
        self._stage(
            ctx.batch, body.user, name=name, state=body.state, verified=body.verified,
            replaces=body.replaces, key_changed=body.key_changed, named=body.named,
        )
        self.core.convs.ensure_direct(body.user)
        if body.state in (ACCEPTED, PENDING_OUT) and (old is None or old.state != body.state):
            ctx.batch.part(self, lambda: _Changes(self)).ask.add(body.user)

    # -- connections -------------------------------------------------------------------

    def _on_connected(self, peer: Peer) -> None:
        assert peer.conn is not None and peer.conn.peer is not None and peer.user_id
        self.sas_hashes[peer.user_id] = peer.conn.peer.handshake_hash
        self._their_name(peer.user_id, peer.name)

    def renamed(self, peer: Peer, name: str) -> None:
        """A connected peer's user changed their display name."""
        if peer.user_id is not None:
            self._their_name(peer.user_id, name)

    def _their_name(self, user: bytes, name: str) -> None:
        """What a contact calls themselves now. It becomes the name I know them by,
        unless I chose one myself or it is another contact's name: then it is kept apart
        (``own_name``), and shown as what they call themselves — a contact can never
        take another's name here by renaming itself."""
        c = self.row(user)
        if c is None or not name:
            return
        if c.named or (c.name and name != c.name and self.name_clash(user, name)):
            if c.own_name != (name if name != c.name else ""):
                self.save(user, own_name=name if name != c.name else "")
                self.core.emit(ContactChanged(user))
        elif name != c.name or c.own_name:
            self.save(user, name=name, own_name="")
            self.core.emit(ContactChanged(user))

    def set_name(self, user: bytes, name: str | None) -> None:
        """The name I know a contact by, chosen by me (None: theirs again). It follows
        my devices; their renames no longer change it."""
        c = self.row(user)
        if c is None:
            raise UserError("not a contact")
        if name is None:
            theirs = c.own_name or c.name
            self.save(user, name=theirs, own_name="", named=False)
        else:
            name = name.strip()
            problem = name_problem(name)
            if problem is not None:
                raise UserError(problem)
            theirs = c.own_name or c.name
            self.save(user, name=name, own_name="" if theirs == name else theirs, named=True)
        self.publish_roster(user)
        self.core.emit(ContactChanged(user))

    # -- the API -----------------------------------------------------------------------

    def publish_roster(self, user: bytes) -> None:
        """Tell my other devices my view of a contact (state, name, verified)."""
        c = self.row(user)
        if c is None or self.core.devices.removed:
            return
        self.core.log.append(
            self.core.convs.self_conv,
            RosterBody(user, c.name, c.state, c.verified, c.replaces, c.key_changed, c.named),
        )

    async def add(self, query: str, *, trust_new_key: bool = False) -> ContactInfo:
        self.core.devices.refuse_if_removed()
        user, name = self.resolve(query)
        c = self.row(user)
        if c is not None and c.state == ACCEPTED:
            raise UserError(f"{name} is already a contact")
        if c is not None and c.state == PENDING_IN:
            return await self.accept(query, trust_new_key=trust_new_key)
        clash = self.name_clash(user, name)
        if clash is not None and not trust_new_key:
            raise UserError(self.key_change_warning(name, user, clash, "add"))
        self.save(user, name=name, state=PENDING_OUT, key_changed=False, replaces=clash)
        if clash is not None:
            self._superseded(clash)
        conv = self.core.convs.ensure_direct(user)
        self.core.log.append(conv, ContactBody("request", self.core.name))
        return await self._announce(user)

    async def accept(self, query: str, *, trust_new_key: bool = False) -> ContactInfo:
        self.core.devices.refuse_if_removed()
        user, name = self.resolve(query)
        c = self.row(user)
        if c is None or c.state not in (PENDING_IN, DECLINED):
            raise UserError(f"there is no contact request from {name} to accept")
        if c.key_changed and not trust_new_key:
            raise UserError(self.key_change_warning(name, user, c.replaces, "accept"))
        self.save(user, state=ACCEPTED, key_changed=False)
        if c.key_changed and c.replaces is not None:
            self._superseded(c.replaces)
        conv = self.core.convs.ensure_direct(user)
        self.core.log.append(conv, ContactBody("accept", self.core.name))
        return await self._announce(user)

    async def decline(self, query: str) -> ContactInfo:
        user, name = self.resolve(query)
        c = self.row(user)
        if c is None or c.state != PENDING_IN:
            raise UserError(f"there is no contact request from {name} to decline")
        self.save(user, state=DECLINED)
        return await self._announce(user)

    async def _announce(self, user: bytes) -> ContactInfo:
        """Tell my devices, store, tell the listeners; the contact as it is now."""
        self.publish_roster(user)
        await self.core.log.commit()
        self.core.emit(ContactChanged(user))
        return self.info(user)

    def safety_number(self, query: str) -> str:
        user, _ = self.resolve(query)
        return safety_number(self.core.user_id, user)

    def sas(self, query: str) -> list[tuple[str, str]]:
        user, name = self.resolve(query)
        for p in self.core.net.live_of(user):
            assert p.conn is not None and p.conn.peer is not None
            return sas_emoji(p.conn.peer.handshake_hash)
        raise UserError(f"{name} is not connected right now; the emoji need a live connection")

    def verify(self, query: str, number: str) -> bool:
        """Mark verified if ``number`` is our safety number with that contact."""
        user, name = self.resolve(query)
        if normalize_safety_number(number) != safety_number(self.core.user_id, user):
            return False
        if self.row(user) is None:
            raise UserError(f"{name} is not a contact yet; add them first")
        self.set_verified(user, True)
        return True

    def set_verified(self, user: bytes, verified: bool) -> None:
        self.save(user, verified=verified, key_changed=False if verified else None)
        self.publish_roster(user)
        self.core.emit(ContactChanged(user))

    def trust_new_key(self, user: bytes) -> None:
        """The user has confirmed that this key really is that person (e.g. they
        reinstalled Kith): clear the key-change flag without marking them verified."""
        c = self.row(user)
        if c is None:
            raise UserError("not a contact")
        self.save(user, key_changed=False)
        if c.key_changed and c.replaces is not None:
            self._superseded(c.replaces)
        self.publish_roster(user)
        self.core.emit(ContactChanged(user))

    def restore_old_key(self, old: bytes) -> bytes:
        """Undo taking a new key as the person known under ``old``: the new key is again
        "not the person you know" (sending to it paused until compared or trusted again)
        and the conversation with the old key is the one to write in, on all my devices.
        The old key's verified mark, dropped when the new key was taken, stays dropped:
        compare again to restore it. Returns the new key's user id."""
        new = self.replaced_by(old)
        if new is None:
            raise UserError("this key has not been replaced by a new one")
        self.save(new, key_changed=True)
        self.publish_roster(new)
        self.core.emit(ContactChanged(new))
        self.core.emit(ContactChanged(old))
        return new

    def _superseded(self, old: bytes) -> None:
        """The user took a new key as the person they knew under ``old`` (a reinstall):
        what they verified was the old key, so that contact loses its verified mark, and
        neither key carries one until the person is verified again."""
        c = self.row(old)
        if c is None or not c.verified:
            return
        self.save(old, verified=False)
        self.publish_roster(old)
        self.core.emit(ContactChanged(old))
