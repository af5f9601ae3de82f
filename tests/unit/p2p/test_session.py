"""p2p.session, sans-IO: two Session objects joined by a fake link, plus hostile peers.

``Link`` pumps bytes between an initiator and a responder the way h11's ConnectionPair
does; ``RawInitiator`` is a plain Noise initiator built from p2p.noise that can send any
handshake payload or transport plaintext, to play a broken or malicious peer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from functools import cache
from unittest import mock

import msgspec
import nacl.utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.p2p import wire
from kith.p2p.errors import LocalProtocolError, RemoteProtocolError
from kith.p2p.identity import (
    DeviceCertificate,
    Identity,
    certify_device,
    ed25519_to_x25519_public,
    sign,
)
from kith.p2p.noise import MAX_MESSAGE, CipherState, HandshakeState
from kith.p2p.session import (
    MAX_ASSEMBLED,
    MAX_CHUNK,
    HandshakeComplete,
    MessageReceived,
    Session,
    SessionEvent,
    State,
)

ALICE = Identity.generate("Alice", "Alice's laptop")
BOB = Identity.generate("Bob", "Bob's desktop")
MALLORY = Identity.generate("Mallory")


def _frame(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


def _frames(data: bytes) -> list[bytes]:
    """Split a byte stream into the Noise messages of its length-prefixed frames."""
    out = []
    while data:
        size = int.from_bytes(data[:2], "big")
        assert len(data) >= 2 + size, "incomplete frame"
        out.append(data[2 : 2 + size])
        data = data[2 + size :]
    return out


class Link:
    """An initiator and a responder joined by a fake wire."""

    def __init__(self, client: Session | None = None, server: Session | None = None) -> None:
        self.client = client or Session(ALICE, initiator=True)
        self.server = server or Session(BOB, initiator=False)
        self.events: dict[int, list[SessionEvent]] = {id(self.client): [], id(self.server): []}

    def other(self, s: Session) -> Session:
        return self.server if s is self.client else self.client

    def deliver(self, sender: Session, data: bytes, *, bytewise: bool = False) -> None:
        receiver = self.other(sender)
        pieces = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
        for piece in pieces:
            self.events[id(receiver)] += receiver.receive_data(piece)
            out = receiver.pending_output()
            if out:
                self.deliver(receiver, out, bytewise=bytewise)

    def handshake(self, *, bytewise: bool = False) -> Link:
        self.deliver(self.client, self.client.initiate(), bytewise=bytewise)
        return self

    def send(self, sender: Session, message: wire.Message, *, bytewise: bool = False) -> list:
        receiver = self.other(sender)
        before = len(self.events[id(receiver)])
        self.deliver(sender, sender.send(message), bytewise=bytewise)
        new = self.events[id(receiver)][before:]
        assert all(isinstance(e, MessageReceived) for e in new)
        return [e.message for e in new if isinstance(e, MessageReceived)]


class RawInitiator:
    """A standard Noise_XX initiator (prologue kith/1, 2-byte big-endian frames)."""

    def __init__(self, who: Identity = MALLORY) -> None:
        self.hs = HandshakeState("XX", True, b"kith/1", s=who.noise_static)
        self.send_cs: CipherState | None = None
        self.recv_cs: CipherState | None = None
        self.server_hello = b""

    def start(self, server: Session) -> None:
        """Messages 1 and 2: afterwards only our message 3 is missing."""
        assert server.receive_data(_frame(self.hs.write_message(b""))) == []
        [message2] = _frames(server.pending_output())
        self.server_hello = self.hs.read_message(message2)

    def finish(self, server: Session, payload: bytes) -> list[SessionEvent]:
        message3 = self.hs.write_message(payload)
        self.send_cs, self.recv_cs = self.hs.split()
        return server.receive_data(_frame(message3))

    def handshake(self, server: Session, payload: bytes) -> list[SessionEvent]:
        self.start(server)
        return self.finish(server, payload)

    def transport(self, plaintext: bytes) -> bytes:
        assert self.send_cs is not None
        return _frame(self.send_cs.encrypt_with_ad(b"", plaintext))


def _hello(
    cert: DeviceCertificate = MALLORY.cert, name: str = "Mallory",
    version: int = wire.PROTOCOL_VERSION,
) -> bytes:
    return wire.encode(wire.Hello(version, cert, name))


def _completed(events: list[SessionEvent]) -> list[HandshakeComplete]:
    return [e for e in events if isinstance(e, HandshakeComplete)]


# -- handshake -------------------------------------------------------------------------------


def test_handshake_completes_and_each_side_knows_the_other() -> None:
    link = Link().handshake()
    c, s = link.client, link.server
    assert c.state is s.state is State.OPEN
    [done_c] = _completed(link.events[id(c)])
    [done_s] = _completed(link.events[id(s)])
    assert done_c.peer == c.peer and done_s.peer == s.peer
    assert c.peer is not None and s.peer is not None
    assert (c.peer.cert, c.peer.name, c.peer.version) == (BOB.cert, "Bob", wire.PROTOCOL_VERSION)
    assert (s.peer.cert, s.peer.name) == (ALICE.cert, "Alice")
    assert (c.peer.user_id, c.peer.device_id) == (BOB.user_id, BOB.device_id)
    assert (s.peer.user_id, s.peer.device_id) == (ALICE.user_id, ALICE.device_id)
    assert c.peer.handshake_hash == s.peer.handshake_hash
    assert len(c.peer.handshake_hash) == 64
    assert c.pending_output() == s.pending_output() == b""


def test_two_handshakes_have_different_hashes() -> None:
    one, two = Link().handshake(), Link().handshake()
    assert one.client.peer is not None and two.client.peer is not None
    assert one.client.peer.handshake_hash != two.client.peer.handshake_hash


def test_display_name_can_differ_from_identity_name() -> None:
    link = Link(client=Session(ALICE, initiator=True, name="Ally")).handshake()
    assert link.server.peer is not None and link.server.peer.name == "Ally"


def test_handshake_one_byte_at_a_time() -> None:
    link = Link().handshake(bytewise=True)
    assert link.client.state is link.server.state is State.OPEN
    assert len(_completed(link.events[id(link.client)])) == 1
    assert len(_completed(link.events[id(link.server)])) == 1
    assert link.send(link.client, wire.Ping(5), bytewise=True) == [wire.Ping(5)]
    assert link.send(link.server, wire.Pong(5), bytewise=True) == [wire.Pong(5)]


def test_messages_right_behind_the_handshake_are_delivered() -> None:
    client, server = Session(ALICE, initiator=True), Session(BOB, initiator=False)
    server.receive_data(client.initiate())
    [done] = client.receive_data(server.pending_output())
    assert isinstance(done, HandshakeComplete)
    burst = client.pending_output() + client.send(wire.Ping(1)) + client.send(wire.Ping(2))
    events = server.receive_data(burst)
    assert [type(e) for e in events] == [HandshakeComplete, MessageReceived, MessageReceived]
    assert [e.message for e in events[1:]] == [wire.Ping(1), wire.Ping(2)]  # type: ignore[union-attr]


# -- transport -------------------------------------------------------------------------------

EVERY_MESSAGE = [
    wire.Ping(0),
    wire.Ping(2**63),
    wire.Pong(42),
    wire.Digest([(b"\x01" * 32, b"\x02" * 16), (b"\x03" * 32, b"\x04" * 16)]),
    wire.Digest([]),
    wire.Want(b"\x01" * 32, {b"\x0a" * 32: 3, b"\x0b" * 32: 1}),
    wire.Events([(b"raw event one", None), (b"", b"body"), (b"\xff" * 300, b"")]),
    wire.Certs([ALICE.cert, BOB.cert]),
    wire.Typing(b"\x01" * 32, True),
    wire.Typing(b"\x01" * 32, False),
    wire.Profile("Zoë ✓"),
    wire.Close("going away"),
]


@pytest.mark.parametrize("message", EVERY_MESSAGE, ids=lambda m: type(m).__name__)
def test_every_message_type_roundtrips_both_ways(message: wire.Message) -> None:
    link = Link().handshake()
    assert link.send(link.client, message) == [message]
    assert link.send(link.server, message) == [message]


def test_many_messages_in_one_read_arrive_in_order() -> None:
    link = Link().handshake()
    data = b"".join(link.client.send(m) for m in EVERY_MESSAGE)
    events = link.server.receive_data(data)
    assert [e.message for e in events] == EVERY_MESSAGE  # type: ignore[union-attr]


def test_big_message_is_chunked_and_reassembled() -> None:
    link = Link().handshake()
    message = wire.Events([(os.urandom(30_000), None) for _ in range(7)])  # ~210 KB
    data = link.client.send(message)
    frames = _frames(data)
    assert len(frames) >= 4
    assert all(len(f) <= MAX_MESSAGE for f in frames)
    events = link.server.receive_data(data)
    assert events == [MessageReceived(message)]


def test_big_message_one_byte_at_a_time() -> None:
    link = Link().handshake()
    message = wire.Events([(os.urandom(20_000), os.urandom(20_000)) for _ in range(3)])
    assert link.send(link.server, message, bytewise=True) == [message]
    assert link.send(link.server, wire.Ping(1)) == [wire.Ping(1)]  # reassembly state reset


def _events_of_encoded_size(size: int) -> wire.Events:
    for n in range(size, size - 20, -1):
        message = wire.Events([(b"x" * n, None)])
        if len(wire.encode(message)) == size:
            return message
    raise AssertionError(size)


@pytest.mark.parametrize(
    ("size", "frames"),
    [(MAX_CHUNK, 1), (MAX_CHUNK + 1, 2), (2 * MAX_CHUNK, 2), (2 * MAX_CHUNK + 1, 3)],
)
def test_chunk_boundaries(size: int, frames: int) -> None:
    link = Link().handshake()
    message = _events_of_encoded_size(size)
    data = link.client.send(message)
    assert len(_frames(data)) == frames
    assert link.server.receive_data(data) == [MessageReceived(message)]


def test_message_far_bigger_than_the_reassembly_limit_is_refused() -> None:
    link = Link().handshake()
    data = link.client.send(wire.Events([(b"x" * (MAX_ASSEMBLED + 2 * MAX_CHUNK), None)]))
    with pytest.raises(RemoteProtocolError, match="too large"):
        link.server.receive_data(data)
    assert link.server.state is State.CLOSED


def test_message_of_exactly_the_reassembly_limit_is_accepted() -> None:
    link = Link().handshake()
    message = _events_of_encoded_size(MAX_ASSEMBLED)
    assert link.send(link.client, message) == [message]


def test_message_just_over_the_reassembly_limit_is_refused() -> None:
    link = Link().handshake()
    message = _events_of_encoded_size(MAX_ASSEMBLED + 1000)
    data = link.client.send(message)
    with pytest.raises(RemoteProtocolError, match="too large"):
        link.server.receive_data(data)


def test_partial_frame_waits_for_the_rest() -> None:
    link = Link().handshake()
    data = link.client.send(wire.Ping(9))
    assert link.server.receive_data(data[:1]) == []
    assert link.server.receive_data(data[1:-1]) == []
    assert link.server.receive_data(data[-1:]) == [MessageReceived(wire.Ping(9))]


# -- local misuse ----------------------------------------------------------------------------


def test_local_misuse_raises_local_protocol_error() -> None:
    client, server = Session(ALICE, initiator=True), Session(BOB, initiator=False)
    with pytest.raises(LocalProtocolError):
        server.initiate()
    with pytest.raises(LocalProtocolError):
        client.send(wire.Ping(1))
    client.initiate()
    with pytest.raises(LocalProtocolError):
        client.initiate()
    link = Link(client, server)
    link.client.close()
    assert link.client.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        link.client.receive_data(b"\x00\x01x")
    with pytest.raises(LocalProtocolError):
        link.client.send(wire.Ping(1))


# -- hostile input ---------------------------------------------------------------------------


def _assert_refused(session: Session, data: bytes, match: str | None = None) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        session.receive_data(data)
    assert session.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        session.receive_data(b"")


@pytest.mark.parametrize("size", [1, 15, 16, 17, 100, 65535])
def test_garbage_after_the_handshake(size: int) -> None:
    link = Link().handshake()
    _assert_refused(link.server, _frame(os.urandom(size)))


def test_replayed_frame_is_refused() -> None:
    link = Link().handshake()
    frame = link.client.send(wire.Ping(1))
    assert link.server.receive_data(frame) == [MessageReceived(wire.Ping(1))]
    _assert_refused(link.server, frame)


def test_reordered_frames_are_refused() -> None:
    link = Link().handshake()
    first, second = link.client.send(wire.Ping(1)), link.client.send(wire.Ping(2))
    _assert_refused(link.server, second + first)


def test_frame_from_another_session_is_refused() -> None:
    one, two = Link().handshake(), Link().handshake()
    _assert_refused(one.server, two.client.send(wire.Ping(1)))


@pytest.mark.parametrize("where", ["first", "middle", "tag"])
def test_flipped_bit_is_refused(where: str) -> None:
    link = Link().handshake()
    data = bytearray(link.client.send(wire.Profile("a name long enough to flip")))
    index = {"first": 2, "middle": len(data) // 2, "tag": len(data) - 1}[where]
    data[index] ^= 0x10
    _assert_refused(link.server, bytes(data))


def test_zero_length_frame_is_refused() -> None:
    _assert_refused(Link().handshake().server, b"\x00\x00", "empty frame")
    _assert_refused(Session(BOB, initiator=False), b"\x00\x00", "empty frame")
    client = Session(ALICE, initiator=True)
    client.initiate()
    _assert_refused(client, b"\x00\x00", "empty frame")


def test_data_before_initiate_is_refused() -> None:
    _assert_refused(Session(ALICE, initiator=True), _frame(os.urandom(96)))


def test_payload_in_handshake_message_1_is_refused() -> None:
    hs = HandshakeState("XX", True, b"kith/1", s=MALLORY.noise_static)
    _assert_refused(Session(BOB, initiator=False), _frame(hs.write_message(b"early hello")))


def test_short_handshake_message_is_refused() -> None:
    _assert_refused(Session(BOB, initiator=False), _frame(b"\x01" * 31))


def test_low_order_ephemeral_key_is_refused() -> None:
    _assert_refused(Session(BOB, initiator=False), _frame(bytes(32)))


def test_wrong_prologue_is_refused() -> None:
    hs = HandshakeState("XX", True, b"kith/2", s=MALLORY.noise_static)
    server = Session(BOB, initiator=False)
    server.receive_data(_frame(hs.write_message(b"")))
    [message2] = _frames(server.pending_output())
    with pytest.raises(Exception, match="authentication"):
        hs.read_message(message2)  # the initiator notices at once


def _cert_for_another_device(who: Identity) -> Identity:
    other_device = Identity.generate("someone").device_id
    return dataclasses.replace(who, cert=certify_device(who.user_secret, other_device, "stolen"))


def test_responder_refuses_a_certificate_for_another_device_key() -> None:
    link = Link(client=Session(_cert_for_another_device(ALICE), initiator=True))
    with pytest.raises(RemoteProtocolError, match="another device key"):
        link.handshake()
    assert link.server.state is State.CLOSED
    assert link.server.peer is None


def test_initiator_refuses_a_certificate_for_another_device_key() -> None:
    link = Link(server=Session(_cert_for_another_device(BOB), initiator=False))
    with pytest.raises(RemoteProtocolError, match="another device key"):
        link.handshake()
    assert link.client.state is State.CLOSED
    assert link.client.peer is None


def test_someone_elses_valid_certificate_is_refused() -> None:
    impostor = dataclasses.replace(MALLORY, cert=ALICE.cert)  # Alice's cert, Mallory's key
    link = Link(client=Session(impostor, initiator=True))
    with pytest.raises(RemoteProtocolError, match="another device key"):
        link.handshake()


def test_certificate_signed_by_another_user_key_is_refused() -> None:
    c = ALICE.cert
    forged_sig = sign(MALLORY.user_secret, c.signed_bytes())
    forged = dataclasses.replace(ALICE, cert=msgspec.structs.replace(c, sig=forged_sig))
    link = Link(client=Session(forged, initiator=True))
    with pytest.raises(RemoteProtocolError, match="signature"):
        link.handshake()
    assert link.server.state is State.CLOSED

    link = Link(server=Session(forged, initiator=False))
    with pytest.raises(RemoteProtocolError, match="signature"):
        link.handshake()
    assert link.client.state is State.CLOSED


@pytest.mark.parametrize("version", [0, 1, 3, 2**32])
def test_another_protocol_version_completes_the_handshake_and_says_which(version: int) -> None:
    """The session does not refuse another version: its owner does, with a bye both
    users can read (p2p.network); so the handshake completes and names the version."""
    raw = RawInitiator()
    server = Session(BOB, initiator=False)
    raw.handshake(server, _hello(version=version))
    assert server.state is State.OPEN
    assert server.peer is not None and server.peer.version == version


def test_a_hello_of_a_later_layout_names_its_version() -> None:
    server = Session(BOB, initiator=False)
    future = msgspec.msgpack.encode([7, {"cert": "another layout"}, "bob", "more"])
    with pytest.raises(RemoteProtocolError, match="protocol 7"):
        RawInitiator().handshake(server, future)
    assert server.state is State.CLOSED


def test_a_responder_of_another_version_completes_the_handshake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as m:
        m.setattr(wire, "PROTOCOL_VERSION", 3)
        future = Session(BOB, initiator=False)
    link = Link(server=future)
    link.handshake()
    assert link.client.peer is not None and link.client.peer.version == 3


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_invalid_display_name_in_hello_is_refused(name: str) -> None:
    server = Session(BOB, initiator=False)
    with pytest.raises(RemoteProtocolError, match="name"):
        RawInitiator().handshake(server, _hello(name=name))


@pytest.mark.parametrize(
    "payload",
    [b"", b"not a certificate", msgspec.msgpack.encode([1, "no cert", "x"]),
     msgspec.msgpack.encode([1, [b"u", b"d", "n", 1, b"s"], "name"])],
    ids=["empty", "text", "missing cert", "short keys"],
)
def test_standard_noise_initiator_interoperates_and_is_refused_for_its_payload(
    payload: bytes,
) -> None:
    raw = RawInitiator()
    server = Session(BOB, initiator=False)
    raw.start(server)
    hello = wire.decode_hello(raw.server_hello)  # we can read the Kith responder's Hello
    assert (hello.version, hello.cert, hello.name) == (wire.PROTOCOL_VERSION, BOB.cert, "Bob")
    assert raw.hs.remote_static == ed25519_to_x25519_public(BOB.device_id)
    with pytest.raises(RemoteProtocolError):
        raw.finish(server, payload)
    assert raw.hs.complete  # the Noise handshake itself went through
    assert server.state is State.CLOSED
    assert server.peer is None


def test_standard_noise_initiator_with_a_valid_hello_gets_a_working_channel() -> None:
    raw = RawInitiator(MALLORY)
    server = Session(BOB, initiator=False)
    [done] = raw.handshake(server, _hello())
    assert isinstance(done, HandshakeComplete)
    assert done.peer.cert == MALLORY.cert
    assert done.peer.handshake_hash == raw.hs.handshake_hash
    assert server.receive_data(raw.transport(b"\x00" + wire.encode(wire.Ping(7)))) == [
        MessageReceived(wire.Ping(7))
    ]
    [reply] = _frames(server.send(wire.Pong(7)))
    assert raw.recv_cs is not None
    assert raw.recv_cs.decrypt_with_ad(b"", reply) == b"\x00" + wire.encode(wire.Pong(7))


@pytest.mark.parametrize(
    ("plaintext", "match"),
    [
        (b"", "empty transport message"),
        (b"\x02" + wire.encode(wire.Ping(1)), "bad chunk flag"),
        (b"\x00", "malformed message"),
        (b"\x00" + b"\xc1", "malformed message"),
        (b"\x00" + msgspec.msgpack.encode(["nope", 1]), "malformed message"),
        (b"\x00" + msgspec.msgpack.encode(["ping", "not an int"]), "malformed message"),
        (b"\x00" + wire.encode(wire.Ping(1)) + b"\x00", "malformed message"),
    ],
    ids=["empty", "bad flag", "no body", "garbage", "unknown tag", "wrong type", "trailing"],
)
def test_bad_transport_plaintext_is_refused(plaintext: bytes, match: str) -> None:
    raw = RawInitiator(MALLORY)
    server = Session(BOB, initiator=False)
    raw.handshake(server, _hello())
    _assert_refused(server, raw.transport(plaintext), match)


# msgspec raises UnicodeDecodeError, not DecodeError, for invalid UTF-8 in a str field.


def test_invalid_utf8_in_a_transport_message_is_refused() -> None:
    raw = RawInitiator(MALLORY)
    server = Session(BOB, initiator=False)
    raw.handshake(server, _hello())
    bad = wire.encode(wire.Close("é")).replace("é".encode(), b"\x80\x80")
    _assert_refused(server, raw.transport(b"\x00" + bad))


def test_invalid_utf8_in_hello_is_refused() -> None:
    server = Session(BOB, initiator=False)
    bad = _hello(name="Mallorÿ").replace("ÿ".encode(), b"\xff\xff")
    with pytest.raises(RemoteProtocolError):
        RawInitiator().handshake(server, bad)
    assert server.state is State.CLOSED


# -- fuzz ------------------------------------------------------------------------------------

FIXED_EPHEMERAL = bytes(range(7, 39))


@contextlib.contextmanager
def _fixed_ephemeral() -> Iterator[None]:
    """Make handshakes deterministic, so a recorded transcript replays on fresh sessions."""
    with mock.patch.object(nacl.utils, "random", lambda size=32: FIXED_EPHEMERAL[:size]):
        yield


@cache
def _transcript() -> tuple[bytes, bytes]:
    """(bytes the initiator sends, bytes the responder sends) of one deterministic session."""
    with _fixed_ephemeral():
        link = Link()
        client, server = link.client, link.server
        m1 = client.initiate()
        server.receive_data(m1)
        m2 = server.pending_output()
        client.receive_data(m2)
        m3 = client.pending_output()
        server.receive_data(m3)
    assert client.state is server.state is State.OPEN
    to_server = m1 + m3 + b"".join(
        client.send(m)
        for m in (
            wire.Ping(1), wire.Events([(b"e" * 70_000, None)]), wire.Want(b"c" * 32, {b"a" * 32: 2})
        )
    )
    to_client = m2 + b"".join(
        server.send(m) for m in (wire.Pong(1), wire.Digest([(b"c" * 32, b"d" * 16)]))
    )
    return to_server, to_client


def _fresh(initiator: bool) -> Session:
    with _fixed_ephemeral():
        if initiator:
            s = Session(ALICE, initiator=True)
            s.initiate()
            return s
        return Session(BOB, initiator=False)


def _feed(session: Session, data: bytes, cuts: list[int]) -> list[SessionEvent]:
    """Feed ``data`` in pieces; only RemoteProtocolError may come out, and it closes."""
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    events: list[SessionEvent] = []
    try:
        with _fixed_ephemeral():
            for lo, hi in zip(bounds, bounds[1:], strict=False):
                events += session.receive_data(data[lo:hi])
                session.pending_output()
    except RemoteProtocolError:
        assert session.state is State.CLOSED
    else:
        assert session.state is not State.CLOSED
    return events


@pytest.mark.parametrize("initiator", [False, True], ids=["responder", "initiator"])
def test_recorded_transcript_replays_on_fresh_sessions(initiator: bool) -> None:
    to_server, to_client = _transcript()
    session = _fresh(initiator)
    events = _feed(session, to_client if initiator else to_server, [5, 40, 1000, 70_000])
    assert session.state is State.OPEN
    assert len(_completed(events)) == 1
    messages = [e.message for e in events if isinstance(e, MessageReceived)]
    assert len(messages) == (2 if initiator else 3)


cuts = st.lists(st.integers(min_value=0, max_value=200_000), max_size=6)
framed = st.lists(st.binary(max_size=200), max_size=6).map(
    lambda frames: b"".join(_frame(f) for f in frames)
)
arbitrary = st.one_of(st.binary(max_size=2000), framed)


@settings(database=None, max_examples=200, deadline=None)
@given(data=arbitrary, cuts=cuts)
def test_fuzz_fresh_responder(data: bytes, cuts: list[int]) -> None:
    _feed(Session(BOB, initiator=False), data, cuts)


@settings(database=None, max_examples=200, deadline=None)
@given(data=arbitrary, cuts=cuts)
def test_fuzz_initiator_after_initiate(data: bytes, cuts: list[int]) -> None:
    client = Session(ALICE, initiator=True)
    client.initiate()
    _feed(client, data, cuts)


@settings(database=None, max_examples=200, deadline=None)
@given(data=arbitrary, cuts=cuts, to_server=st.booleans())
def test_fuzz_open_session(data: bytes, cuts: list[int], to_server: bool) -> None:
    link = Link().handshake()
    events = _feed(link.server if to_server else link.client, data, cuts)
    assert not _completed(events)


mutation = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete", "truncate", "duplicate"]),
    st.integers(min_value=0, max_value=200_000),
    st.integers(min_value=0, max_value=255),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for op, where, value in mutations:
        i = where % (len(out) + 1)
        if op == "flip" and i < len(out):
            out[i] ^= 1 << (value % 8)
        elif op == "set" and i < len(out):
            out[i] = value
        elif op == "insert":
            out[i:i] = bytes([value])
        elif op == "delete":
            del out[i : i + 1 + value % 4]
        elif op == "truncate":
            del out[i:]
        elif op == "duplicate":
            out[i:i] = out[i : i + 1 + value]
    return bytes(out)


@settings(database=None, max_examples=200, deadline=None)
@given(
    initiator=st.booleans(),
    mutations=st.lists(mutation, min_size=1, max_size=3),
    cuts=cuts,
)
def test_fuzz_mutated_transcript(
    initiator: bool, mutations: list[tuple[str, int, int]], cuts: list[int]
) -> None:
    to_server, to_client = _transcript()
    data = _mutate(to_client if initiator else to_server, mutations)
    _feed(_fresh(initiator), data, cuts)


@settings(database=None, max_examples=200, deadline=None)
@given(
    frame_index=st.integers(min_value=0, max_value=10),
    position=st.integers(min_value=0, max_value=70_000),
    bit=st.integers(min_value=0, max_value=7),
    initiator=st.booleans(),
)
def test_fuzz_single_bit_flips_are_always_refused(
    frame_index: int, position: int, bit: int, initiator: bool
) -> None:
    """Every bit of every frame is authenticated (message 1's ephemeral key by the
    later MACs), so a flip anywhere must end the session, never deliver something else."""
    to_server, to_client = _transcript()
    stream = to_client if initiator else to_server
    frames = _frames(stream)
    k = frame_index % len(frames)
    frame = bytearray(frames[k])
    frame[position % len(frame)] ^= 1 << bit
    frames[k] = bytes(frame)
    session = _fresh(initiator)

    def feed_all() -> None:
        with _fixed_ephemeral():
            for f in frames:
                session.receive_data(_frame(f))
                session.pending_output()

    with pytest.raises(RemoteProtocolError):
        feed_all()
    assert session.state is State.CLOSED
