"""The receive path: what one socket read delivered, from bytes to one transaction.

    decode      every (head, body) pair, structurally (p2p.events.decode)
    runs        group by log: (conversation, author device)
    entitle     the author's user is a member of the conversation, and so is the relay
    chain       drop what we hold, refuse forks and gaps, one signature check per run
    authorize   the kind table: declared kind, allowed in this conversation type, by this
                author (a refusal drops the rest of that run, with a logged reason)
    apply       each kind's apply puts its rows into the batch
    commit      EventLog.write: answers, our queued events, one transaction
    forward     replication pushes what is new to every other entitled peer

Nothing is stored unless all of it is; nothing is acknowledged before it is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kith.p2p import events as ev
from kith.p2p import sync, wire
from kith.p2p.conversations import HeadOnly
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.kinds import CONV_TYPES, Applying, Author, Batch, Kind
from kith.p2p.membership import is_group_id

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.network import Peer
    from kith.storage import DeviceRow

log = logging.getLogger(__name__)

LOG_EVERY = 60.0  # seconds: the same refusal from the same peer is logged once per minute


class Receiver:
    """Runs the pipeline for every batch of events a peer sends."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._logged: dict[tuple[bytes, str], float] = {}
        core.net.receive_events = self.receive

    def authorize(
        self, kind: Kind[Any] | None, name: str, conv_type: str, author_user: bytes,
        via_own_device: bool, conv: bytes = b"",
    ) -> str | None:
        """Why an event may not be applied here, or None. The table decides alone."""
        if kind is None:
            return f"undeclared event kind {name[:32]!r}"
        if conv_type not in kind.where:
            return f"{kind.name} events do not belong in a {conv_type} conversation"
        mine = author_user == self.core.user_id
        who = kind.who_in.get(conv_type, kind.who)
        if who is Author.OWN and not mine:
            return f"{kind.name} events come only from my own devices"
        if who is Author.CONTACT and not (
            mine or via_own_device or self.core.contacts.accepted(author_user)
        ):
            # (my own device checked the contact already: it relays only what it
            # accepted, possibly before our roster caught up)
            return f"{kind.name} event from someone who is not a contact"
        if kind.allow is not None:
            return kind.allow(self.core, author_user, conv)
        return None

    def author_claim(self, author: bytes, conv: bytes) -> DeviceRow | None:
        """Whose device wrote in ``conv``: of the users whose certificates claim the
        device, the one who may write there (a member, or me); the claim the device
        proved itself in a handshake when several may. A claim by someone else — anyone
        can sign one for any device id — never decides for a conversation they are not
        in."""
        claims = self.core.db.device_claims(author)
        if len(claims) <= 1:
            return claims[0] if claims else None
        convs, me = self.core.convs, self.core.user_id
        fit = [c for c in claims if c.user_id == me or convs.is_member(conv, c.user_id)]
        return (fit or claims)[0]  # (proven first, then oldest: device_claims' order)

    def _restored(self, peer: Peer, conv: bytes, ours: int, theirs: int) -> None:
        key = (peer.device_id, f"restored {conv.hex()}")
        if key not in self._logged:
            self._logged[key] = time.monotonic()
            log.warning(
                "%s holds this device's own events up to %d in a conversation where this "
                "device had only %d (restored from a backup?): taking them back",
                peer.name, theirs, ours,
            )

    def refuse(self, peer: Peer, reason: str) -> None:
        """Log a refusal once per peer, reason and minute (a flood logs one line)."""
        key = (peer.device_id, reason)
        now = time.monotonic()
        if now - self._logged.get(key, -LOG_EVERY) >= LOG_EVERY:
            self._logged[key] = now
            if len(self._logged) > 10_000:
                self._logged.clear()
            log.warning("refusing events from %s: %s", peer.name, reason)

    def receive(self, peer: Peer, items: Sequence[tuple[bytes, bytes | None]]) -> None:
        batch = Batch()
        try:
            self._receive(batch, peer, items)
        except BaseException:
            for part in batch.parts:  # what was decided in memory goes with the batch
                part.failed()
            raise

    def _receive(
        self, batch: Batch, peer: Peer, items: Sequence[tuple[bytes, bytes | None]]
    ) -> None:
        assert peer.user_id is not None and peer.conn is not None
        core = self.core
        decoded = [ev.decode(head, body) for head, body in items]
        held = peer.sync.held
        waiting = bool(held)
        if waiting:  # what waited for its signature goes first
            decoded[:0] = [e for run in held.values() for e in run]
            held.clear()
        store, elog, convs = core.db, core.log, core.convs
        accepted: list[ev.SignedEvent] = []
        tips: list[tuple[bytes, bytes, ev.SignedEvent]] = []
        resync: set[bytes] = set()
        via_own = peer.user_id == core.user_id
        for (conv, author), run in sync.runs(decoded).items():
            if waiting or run[-1].event.seq - run[0].event.seq + 1 != len(run):
                # (held events first; or a push and a re-asked stream that crossed)
                run = sync.unique(run)
            if author == core.device_id:
                own_head = elog.head(conv, author)
                if own_head is not None and run[-1].event.seq <= own_head.seq:
                    continue  # our own events coming back: we hold them already
                # Beyond our own head: this device lost the end of its own log (its
                # profile was restored from a backup) and a peer still holds it. It is
                # ours (our key signed it): take it back, and write on after it.
                self._restored(peer, conv, own_head.seq if own_head else 0,
                               run[-1].event.seq)
            device = self.author_claim(author, conv)
            if device is None:
                raise RemoteProtocolError("event from an unknown device")
            if device.revoked or core.devices.is_revoked(author, device.user_id):
                log.info("dropping events of removed device %s", author.hex()[:12])
                continue
            author_user = device.user_id
            if is_group_id(conv):
                # A group's own rules (p2p.groups): the relay must be in it; what cannot
                # be judged yet is refused without hanging up and asked for again later.
                reason = core.groups.admit_run(conv, author_user, peer.user_id)
                if reason is not None:
                    self.refuse(peer, reason)
                    continue
            elif via_own:
                # My own device accepted it when it came (it may be from someone I have
                # declined since): it only has to be from a member.
                if author_user != core.user_id and not convs.is_member(conv, author_user):
                    raise RemoteProtocolError("event for a conversation the sender is not in")
            else:
                if not convs.is_member(conv, author_user):
                    raise RemoteProtocolError("event for a conversation the sender is not in")
                if not convs.is_member(conv, peer.user_id):
                    raise RemoteProtocolError(
                        "relayed event for a conversation the relay is not in"
                    )
                if not (convs.may_receive(author_user, conv)
                        and convs.may_receive(peer.user_id, conv)):
                    # A member the conversation's rule shuts out (someone I declined):
                    # not a broken protocol, and no reason to hang up on the relay.
                    self.refuse(peer, "events from someone I declined")
                    continue
            conv_type = convs.type_for_event(conv, author_user, via_own)
            if conv_type not in CONV_TYPES:
                raise RemoteProtocolError("event for a conversation of no known type")
            head = elog.head(conv, author)
            known: set[bytes] = set()
            if head is not None and run[0].event.seq <= head.seq:
                known = set(store.event_ids(conv, author, run[0].event.seq, head.seq).values())
            part = sync.split_run(head, run, known)
            if part.forks:
                self.refuse(peer, f"device {author.hex()[:12]} equivocated in a conversation")
            for e in run[: len(run) - len(part.fresh)]:
                peer.sync.has(conv, author, e.event.seq)
            if not part.fresh:
                continue
            if part.gap:
                resync.add(conv)
                continue
            fresh = part.fresh
            vouched = ev.vouched(fresh)
            if vouched < len(fresh):  # the rest waits for the signature behind it
                tail = fresh[vouched:]
                if len(tail) > ev.MAX_UNSIGNED:
                    raise RemoteProtocolError(f"{len(tail)} unsigned events in a row")
                held[(conv, author)] = tail
                fresh = fresh[:vouched]
                if not fresh:
                    continue
            ev.verify_chain(head, fresh)
            good = self._apply_run(batch, peer, fresh, conv_type, author_user, via_own)
            if not good:
                continue
            if author_user != core.user_id:
                convs.note(batch, conv, author_user)
            tips.append((conv, author, good[-1]))
            accepted.extend(good)
        if accepted:
            elog.write(batch, accepted, source=peer)
            for conv, author, tip in tips:
                elog.heads[(conv, author)] = (tip.event.seq, tip.id)
                peer.sync.has(conv, author, tip.event.seq)
        for conv in resync:
            peer.conn.send(wire.Want(conv, elog.vector(conv)))

    def _apply_run(
        self, batch: Batch, peer: Peer, fresh: Sequence[ev.SignedEvent], conv_type: str,
        author_user: bytes, via_own: bool,
    ) -> Sequence[ev.SignedEvent]:
        """Authorize a verified run, then apply what may be applied, in order. A refusal
        stops the run there; stored logs always end with a signed event (what we relay
        must be vouched for), so the unsigned events before a refusal go too. (The hot
        path of a history sync: one verdict per kind, one context for the run.)"""
        core = self.core
        kinds = core.kinds
        verdicts: dict[str, Kind[Any] | str] = {}
        applied: list[Kind[Any]] = []
        stripped: set[int] = set()
        check = core.convs.run_checker(conv_type, fresh[0].event.conv, author_user)
        for e in fresh:
            name = e.event.kind
            verdict = verdicts.get(name)
            if verdict is None:
                kind = kinds.get(name)
                reason = self.authorize(
                    kind, name, conv_type, author_user, via_own, e.event.conv)
                verdict = verdicts[name] = kind if reason is None and kind else (reason or "")
            if isinstance(verdict, str):
                self.refuse(peer, verdict)
                applied = applied[: ev.vouched(fresh[: len(applied)])]
                break
            if check is not None and (reason := check(e, verdict)) is not None:
                self.refuse(peer, reason)
                if not (isinstance(reason, HeadOnly) and e.erasable):
                    applied = applied[: ev.vouched(fresh[: len(applied)])]
                    break
                stripped.add(len(applied))  # its content goes, its head stays
            applied.append(verdict)
        good = fresh[: len(applied)]
        if not good:
            return good
        if stripped:
            good = [ev.without_body(e) if i in stripped else e for i, e in enumerate(good)]
        ctx = Applying(core, batch, conv_type, author_user, author_user == core.user_id,
                       via_own, peer.name)
        for e, kind in zip(good, applied, strict=True):
            if e.body is not None:  # a head whose body was erased applies nothing
                kind.apply(ctx, e, kind.decode(e.body))
        core.log.see_lamport(good[-1].event.conv, good[-1].event.lamport)
        return good
