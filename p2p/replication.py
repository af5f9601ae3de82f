"""Replication: what each connected peer holds and what it still needs.

Per peer and conversation (the rules are in :mod:`p2p.sync`, sans-IO)::

    after the handshake   dig {conv: digest(my vector)} for every shared conversation
    differing digest      want {conv, their vector}   ->  stream what they lack
    equal digest / want   the conversation is live: new events are pushed as they commit
    relay                 what came from one peer goes on to every other entitled one

Who is entitled to which conversation is :mod:`p2p.conversations`' answer. Author
certificates travel ahead of the events they sign (``cert``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kith.p2p import events as ev
from kith.p2p import sync, wire
from kith.p2p.identity import DeviceCertificate

if TYPE_CHECKING:
    from kith.p2p.core import Core
    from kith.p2p.network import Peer

log = logging.getLogger(__name__)

BATCH_BYTES = 60 * 1024  # event bytes per Events frame
STREAM_PAGE = 2000  # events read from the database per page while streaming history
MAX_DIGESTS = 10_000  # conversations one dig may name
MAX_VECTOR = 100_000  # authors one want may name
MAX_CERTS = 1000  # certificates one cert frame may carry
MAX_CLAIMS = 4  # users that may claim one device id (each by a signed certificate)


class Replication:
    """Digests, wants, history streams and live pushes for every connected peer."""

    def __init__(self, core: Core) -> None:
        self.core = core
        net = core.net
        net.handlers[wire.Digest] = self.on_digest
        net.handlers[wire.Want] = self.on_want
        net.handlers[wire.Certs] = self.on_certs

    def shared(self, peer: Peer) -> list[bytes]:
        assert peer.user_id is not None
        return self.core.convs.shared_with(peer.user_id, set(self.core.log.durable))

    def offered(self, peer: Peer, conv: bytes) -> dict[bytes, int]:
        """What of ``conv`` we offer ``peer``: our vector, or the part of it the
        conversation's rule lets them have (a former group member: up to their removal)."""
        assert peer.user_id is not None
        return self.core.convs.offer(peer.user_id, conv, self.core.log.vector(conv))

    def send_digest(self, peer: Peer, convs: Sequence[bytes] | None = None) -> None:
        if peer.conn is None or peer.user_id is None:
            return
        convs = self.shared(peer) if convs is None else convs
        if convs:
            def vector(c: bytes) -> dict[bytes, int]:
                return self.offered(peer, c)
            peer.conn.send(wire.Digest([(c, sync.digest(vector(c))) for c in convs]))
            peer.sync.digest_sent.update(convs)

    def ask(self, peer: Peer, conv: bytes) -> None:
        """Ask ``peer`` again for what it holds of ``conv`` (we may have dropped it)."""
        if peer.conn is not None and peer.live:
            peer.conn.send(wire.Want(conv, self.core.log.vector(conv)))
            self.send_digest(peer, [conv])

    def on_digest(self, peer: Peer, m: wire.Digest) -> None:
        assert peer.conn is not None and peer.user_id is not None
        convs = self.core.convs
        for conv, their in m.convs[:MAX_DIGESTS]:
            if not convs.may_receive(peer.user_id, conv):
                continue
            mine = self.core.log.vector(conv)
            if sync.digest(mine) == their:
                # (same vector: it holds our log as far as we do, p2p.restore)
                self.core.log.told(peer.user_id, conv, mine.get(self.core.device_id, 0))
                if convs.may_send(peer.user_id, conv):
                    peer.sync.on_want(conv, mine)  # same vector: nothing to catch up
            else:
                peer.conn.send(wire.Want(conv, mine))
                if conv in self.core.log.gate.unsure and conv not in peer.sync.digest_sent:
                    self.send_digest(peer, [conv])  # (its want tells where our log ends)

    def on_want(self, peer: Peer, m: wire.Want) -> None:
        assert peer.user_id is not None
        if not self.core.convs.may_send(peer.user_id, m.conv):
            return
        vector = {
            a: s for a, s in list(m.vector.items())[:MAX_VECTOR] if len(a) == 32 and s >= 0
        }
        self.core.log.told(peer.user_id, m.conv, vector.get(self.core.device_id, 0))
        peer.sync.on_want(m.conv, vector)
        if m.conv not in peer.streaming and sync.missing(self.offered(peer, m.conv), vector):
            self._start_stream(peer, m.conv)

    def _start_stream(self, peer: Peer, conv: bytes) -> None:
        peer.streaming.add(conv)
        self.core.spawn(self._stream(peer, conv), "kith-stream")

    async def _stream(self, peer: Peer, conv: bytes) -> None:
        """Send a peer every event of ``conv`` it lacks, a page at a time."""
        conn = peer.conn
        try:
            while conn is not None and not conn.closed and peer.conn is conn:
                todo = sync.missing(self.offered(peer, conv), peer.sync.known.get(conv, {}))
                if not todo:
                    return
                progressed = False
                for author, after, up_to in todo:
                    if conn.closed or peer.conn is not conn:
                        return  # (it went away mid-stream: nothing more to send)
                    page = min(STREAM_PAGE, up_to - after)
                    items = self.core.db.events_after(conv, author, after, page)
                    if not items:
                        continue
                    progressed = True
                    self.send_certs(peer, [author])
                    user = peer.user_id or b""
                    self.send_items(peer, self.core.convs.outgoing(user, conv, items))
                    peer.sync.has(conv, author, after + len(items))
                    await conn.drain()
                    await asyncio.sleep(0)
                if not progressed:  # the vector ran ahead of the database: a bug
                    log.error("stream stalled for %s; giving up", peer.name)
                    return
        finally:
            peer.streaming.discard(conv)

    def send_certs(self, peer: Peer, authors: Sequence[bytes]) -> None:
        certs: list[DeviceCertificate] = []
        for a in authors:
            if a in peer.certs_sent or a == peer.device_id:
                continue
            # every claim on the author (the receiver tells them apart by where the
            # device writes), the one the device proved itself first
            claims = self.core.db.device_claims(a)[:MAX_CLAIMS]
            certs.extend(wire.decode_cert(row.cert) for row in claims)
            peer.certs_sent.add(a)
        if certs and peer.conn is not None:
            peer.conn.send(wire.Certs(certs))

    def send_items(self, peer: Peer, items: Sequence[tuple[bytes, bytes | None]]) -> None:
        """Send events as (head, body) pairs, in frames of about BATCH_BYTES."""
        conn = peer.conn
        if conn is None:
            return
        batch: list[tuple[bytes, bytes | None]] = []
        size = 0
        for item in items:
            n = len(item[0]) + (len(item[1]) if item[1] else 0) + 8
            if size + n > BATCH_BYTES and batch:
                conn.send(wire.Events(batch))
                batch, size = [], 0
            batch.append(item)
            size += n
        if batch:
            conn.send(wire.Events(batch))

    def on_certs(self, peer: Peer, m: wire.Certs) -> None:
        self.learn_certs(m.certs)

    def learn_certs(self, certs: Sequence[DeviceCertificate]) -> None:
        db = self.core.db
        for c in certs[:MAX_CERTS]:
            c.verify()
            # A certificate proves one thing: the user it names claims this device. Claims
            # of several users on one device stay apart (never first come, first served);
            # which one an event counts for is decided by where it is written
            # (Receiver.author_claim). A device takes at most MAX_CLAIMS.
            claims = db.device_claims(c.device)
            if len(claims) >= MAX_CLAIMS and all(x.user_id != c.user for x in claims):
                log.info("ignoring a claim on device %s: %d users claim it already",
                         c.device.hex()[:12], len(claims))
                continue
            db.upsert_device(c.device, c.user, c.name, c.created, wire.encode_cert(c))

    def push(self, new: Sequence[ev.SignedEvent], source: Peer | None = None) -> None:
        """Send freshly stored events to every live peer entitled to them."""
        live = [p for p in self.core.net.live() if p is not source]
        if not live:  # (a history sync from my one other device: nobody to pass it to)
            return
        by_conv: dict[bytes, list[ev.SignedEvent]] = {}
        for e in new:
            by_conv.setdefault(e.event.conv, []).append(e)
        convs = self.core.convs
        for peer in live:
            assert peer.user_id is not None
            for conv, evs in by_conv.items():
                if not convs.may_send(peer.user_id, conv):
                    continue
                if conv not in peer.sync.live:
                    if conv not in peer.sync.digest_sent or conv not in peer.streaming:
                        self.send_digest(peer, [conv])
                    continue
                if conv in peer.streaming:
                    continue  # the stream task sends everything up to the head
                out = []
                offered = self.offered(peer, conv)
                for e in evs:
                    if e.event.seq > offered.get(e.event.author, 0):
                        continue
                    if peer.sync.after(conv, e.event.author) == e.event.seq - 1:
                        out.append(e)
                        peer.sync.has(conv, e.event.author, e.event.seq)
                if out:
                    self.send_certs(peer, list({e.event.author for e in out}))
                    self.send_items(
                        peer, self.core.convs.outgoing(peer.user_id, conv, [e.wire() for e in out])
                    )
                if any(peer.sync.lacks(conv, a, s) for a, s in offered.items()):
                    self._start_stream(peer, conv)
