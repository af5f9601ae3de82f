"""The channel's transport cipher (p2p.channel_cipher): AEGIS-256 when both Hellos name
it, ChaChaPoly as before with a peer that names none (an earlier build of protocol 2, a
standard Noise implementation), and refusals for whatever does not fit."""

from __future__ import annotations

import msgspec
import pytest
from test_session import ALICE, BOB, Link, RawInitiator, _frame
from versionkit import EarlierHello, earlier_build

from kith.p2p import channel_cipher, wire
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.files.protocol import PIECE, BlockPiece
from kith.p2p.identity import Identity
from kith.p2p.noise import MAX_MESSAGE, CipherState, DecryptError, NoiseError
from kith.p2p.session import MessageReceived, Session, State

CAROL = Identity.generate("Carol")


def test_two_sessions_of_this_build_use_aegis256_both_ways() -> None:
    link = Link().handshake()
    assert link.client.cipher == link.server.cipher == "aegis256"
    assert link.send(link.client, wire.Ping(1)) == [wire.Ping(1)]
    assert link.send(link.server, wire.Pong(1)) == [wire.Pong(1)]
    big = wire.Events([(b"h" * 200_000, b"b")])  # (chunked: several frames)
    assert link.send(link.client, big) == [big]


@pytest.mark.parametrize("earlier_is_initiator", [True, False])
def test_an_earlier_build_keeps_talking_with_chachapoly(earlier_is_initiator: bool) -> None:
    if earlier_is_initiator:
        link = Link(client=earlier_build(ALICE, initiator=True))
    else:
        link = Link(server=earlier_build(BOB, initiator=False))
    link.handshake()
    assert link.client.cipher == link.server.cipher == "ChaChaPoly"
    assert link.client.state is link.server.state is State.OPEN
    piece = BlockPiece(b"f" * 32, 3, 0, b"d" * PIECE)
    assert link.send(link.client, piece) == [piece]
    assert link.send(link.server, piece) == [piece]


def test_an_earlier_build_reads_this_builds_hello() -> None:
    """The field is last and optional: msgspec's array decoding of the earlier layout
    reads past it, and this build reads the earlier layout with no ciphers."""
    ours = wire.encode(wire.Hello(wire.PROTOCOL_VERSION, ALICE.cert, "Alice", ("aegis256",)))
    earlier = msgspec.msgpack.decode(ours, type=EarlierHello)
    assert (earlier.version, earlier.name) == (wire.PROTOCOL_VERSION, "Alice")
    theirs = msgspec.msgpack.encode(EarlierHello(2, BOB.cert, "Bob"))
    assert wire.decode_hello(theirs).ciphers == ()


def test_a_standard_noise_peer_gets_chachapoly() -> None:
    raw = RawInitiator(CAROL)
    server = Session(BOB, initiator=False)
    raw.handshake(server, wire.encode(wire.Hello(wire.PROTOCOL_VERSION, CAROL.cert, "Carol")))
    assert server.cipher == "ChaChaPoly"
    [event] = server.receive_data(raw.transport(b"\x00" + wire.encode(wire.Ping(5))))
    assert isinstance(event, MessageReceived) and event.message == wire.Ping(5)


def test_an_unknown_cipher_named_by_the_peer_is_ignored() -> None:
    raw = RawInitiator(CAROL)
    server = Session(BOB, initiator=False)
    raw.handshake(server, wire.encode(
        wire.Hello(wire.PROTOCOL_VERSION, CAROL.cert, "Carol", ("rot13", "aegis512"))))
    assert server.cipher == "ChaChaPoly"


@pytest.mark.parametrize("ciphers", [("x" * 33,), ("aegis256",) * 17], ids=["long", "many"])
def test_a_hello_with_too_much_in_ciphers_is_refused(ciphers: tuple[str, ...]) -> None:
    server = Session(BOB, initiator=False)
    with pytest.raises(RemoteProtocolError, match="malformed hello"):
        RawInitiator(CAROL).handshake(server, wire.encode(
            wire.Hello(wire.PROTOCOL_VERSION, CAROL.cert, "Carol", ciphers)))
    assert server.state is State.CLOSED


def test_a_chachapoly_frame_on_an_aegis_channel_is_refused() -> None:
    """A peer that names aegis256 and then sends ChaChaPoly (or the other way round)
    gets nothing through: the first frame fails and the session closes."""
    raw = RawInitiator(CAROL)
    server = Session(BOB, initiator=False)
    raw.handshake(server, wire.encode(
        wire.Hello(wire.PROTOCOL_VERSION, CAROL.cert, "Carol", ("aegis256",))))
    assert server.cipher == "aegis256"
    with pytest.raises(RemoteProtocolError, match="authentication"):
        server.receive_data(raw.transport(b"\x00" + wire.encode(wire.Ping(5)) + b"." * 40))
    assert server.state is State.CLOSED


def test_aegis_frames_follow_the_counter_and_fail_when_altered() -> None:
    raw = RawInitiator(CAROL)
    server = Session(BOB, initiator=False)
    raw.handshake(server, wire.encode(
        wire.Hello(wire.PROTOCOL_VERSION, CAROL.cert, "Carol", ("aegis256",))))
    assert raw.send_cs is not None
    send = channel_cipher.upgrade(raw.send_cs, "aegis256")
    one = _frame(send.encrypt_with_ad(b"", b"\x00" + wire.encode(wire.Ping(1))))
    two = _frame(send.encrypt_with_ad(b"", b"\x00" + wire.encode(wire.Ping(2))))
    assert [e.message for e in server.receive_data(one)] == [wire.Ping(1)]  # type: ignore[union-attr]
    altered = two[:-1] + bytes([two[-1] ^ 1])
    with pytest.raises(RemoteProtocolError):
        server.receive_data(altered)


def test_the_aegis_state_refuses_what_does_not_fit() -> None:
    cs = CipherState(bytes(32))
    a = channel_cipher.upgrade(cs, "aegis256")
    b = channel_cipher.upgrade(CipherState(bytes(32)), "aegis256")
    sealed = a.encrypt_with_ad(b"", b"x" * 100)
    assert len(sealed) == 100 + channel_cipher.TAG
    assert b.decrypt_with_ad(b"", sealed) == b"x" * 100
    with pytest.raises(DecryptError):
        b.decrypt_with_ad(b"", sealed)  # (replayed: the counter moved on)
    with pytest.raises(DecryptError):
        b.decrypt_with_ad(b"", b"short")
    with pytest.raises(NoiseError):
        a.encrypt_with_ad(b"", b"x" * (MAX_MESSAGE - channel_cipher.TAG + 1))
    with pytest.raises(NoiseError):
        channel_cipher.upgrade(cs, "rot13")
    with pytest.raises(NoiseError):
        CipherState().derive_key(b"kith-aegis256")
    # the derived key is not the Noise key, and each direction's differs
    assert cs.derive_key(b"kith-aegis256") != bytes(32)
    assert cs.derive_key(b"kith-aegis256") != CipherState(bytes([1]) * 32).derive_key(
        b"kith-aegis256")


def test_offering_nothing_is_chachapoly_even_with_a_peer_that_offers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as m:
        m.setattr(channel_cipher, "OFFERED", ())
        plain = Session(ALICE, initiator=True)
    link = Link(client=plain).handshake()
    assert link.client.cipher == link.server.cipher == "ChaChaPoly"
    assert link.send(link.server, wire.Ping(9)) == [wire.Ping(9)]
