"""The secure channel as a sans-IO state machine (bytes in, events and bytes out).

Wire framing: every Noise message is preceded by its length as 2 bytes big-endian,
and the Noise prologue is ``kith/1``, so any standard Noise implementation can finish
the handshake with a Kith node.

::

    initiator                                   responder
      AWAIT_HANDSHAKE  -- e --------------------->  AWAIT_HANDSHAKE
                       <-- e, ee, s, es, Hello ---
                       -- s, se, Hello ---------->
      OPEN  <====== transport messages =======>  OPEN
      CLOSED on any error, or after close()

The responder proves its device key in message 2 and the initiator in message 3;
each Hello carries a device certificate that must be signed by the user's identity
key and name the very key that was used in the handshake.

Transport plaintext starts with one flag byte: 1 = more chunks follow, 0 = last
chunk. Messages bigger than one Noise frame are split, and reassembled up to
:data:`MAX_ASSEMBLED` bytes (``max_assembled``: the owner lowers it for a peer that gets
a smaller memory budget, a stranger).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import msgspec

from kith.p2p import channel_cipher, wire
from kith.p2p.channel_cipher import AegisState
from kith.p2p.errors import LocalProtocolError, RemoteProtocolError
from kith.p2p.identity import DeviceCertificate, Identity, ed25519_to_x25519_public, name_problem
from kith.p2p.noise import MAX_MESSAGE, CipherState, HandshakeState, NoiseError

TAG = 32  # the larger of the transport ciphers' tags (ChaCha20-Poly1305 16, AEGIS-256 32)
MAX_CHUNK = MAX_MESSAGE - TAG - 1
MAX_ASSEMBLED = 4 * 1024 * 1024
_MORE, _LAST = b"\x01", b"\x00"


class State(enum.Enum):
    AWAIT_HANDSHAKE = "handshake"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class PeerHello:
    """The peer's verified identity, known once the handshake completes."""

    cert: DeviceCertificate
    name: str
    version: int
    handshake_hash: bytes

    @property
    def user_id(self) -> bytes:
        return self.cert.user

    @property
    def device_id(self) -> bytes:
        return self.cert.device


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    peer: PeerHello


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: wire.Message


SessionEvent = HandshakeComplete | MessageReceived


class Session:
    """One Noise_XX channel with one peer device."""

    def __init__(self, identity: Identity, *, initiator: bool, name: str | None = None) -> None:
        self.initiator = initiator
        self.state = State.AWAIT_HANDSHAKE
        self.peer: PeerHello | None = None
        self._hello = wire.encode(
            wire.Hello(wire.PROTOCOL_VERSION, identity.cert, name or identity.name,
                       channel_cipher.OFFERED)
        )
        self._hs: HandshakeState | None = HandshakeState(
            "XX", initiator, wire.PROLOGUE, s=identity.noise_static, hash_name="BLAKE2b"
        )
        self._buf = bytearray()
        self._chunks: list[bytes] = []
        self._chunks_size = 0
        self.max_assembled = MAX_ASSEMBLED  # bytes of one message being reassembled
        self._send_cs: CipherState | AegisState | None = None
        self._recv_cs: CipherState | AegisState | None = None
        self.cipher = "ChaChaPoly"  # the transport's, once open (p2p.channel_cipher)
        self._step = 0
        self._out = b""

    # -- outgoing ---------------------------------------------------------------------

    def initiate(self) -> bytes:
        """The initiator's first handshake message (with its length prefix)."""
        if not self.initiator or self._step != 0 or self._hs is None:
            raise LocalProtocolError("initiate() is for a fresh initiator only")
        self._step = 1
        return _frame(self._hs.write_message(b""))

    def send(self, message: wire.Message) -> bytes:
        """Encrypt one message; returns the bytes to write to the socket."""
        return self.send_encoded(wire.encode(message))

    def send_encoded(self, payload: bytes) -> bytes:
        if self.state is not State.OPEN or self._send_cs is None:
            raise LocalProtocolError(f"cannot send in state {self.state.value}")
        cs = self._send_cs
        if len(payload) <= MAX_CHUNK:
            return _frame(cs.encrypt_with_ad(b"", _LAST + payload))
        out = bytearray()
        view = memoryview(payload)
        for start in range(0, len(payload), MAX_CHUNK):
            piece = view[start : start + MAX_CHUNK]
            flag = _LAST if start + MAX_CHUNK >= len(payload) else _MORE
            out += _frame(cs.encrypt_with_ad(b"", flag + bytes(piece)))
        return bytes(out)

    def close(self) -> None:
        self.state = State.CLOSED

    # -- incoming ---------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[SessionEvent]:
        """Feed bytes from the socket; returns what they completed.

        Raises RemoteProtocolError if the peer broke the protocol; the session is then
        closed and must not be used again.
        """
        if self.state is State.CLOSED:
            raise LocalProtocolError("session is closed")
        buf: bytes | bytearray
        if self._buf:
            self._buf += data
            buf = self._buf
        else:  # (the usual case: nothing left over from the last read, no copy)
            buf = data
        events: list[SessionEvent] = []
        pos, end = 0, len(buf)
        try:
            with memoryview(buf) as view:
                while end - pos >= 2:
                    size = (buf[pos] << 8) | buf[pos + 1]
                    if size == 0:
                        raise RemoteProtocolError("empty frame")
                    if end - pos < 2 + size:
                        break
                    frame = bytes(view[pos + 2 : pos + 2 + size])
                    pos += 2 + size
                    if self.state is State.OPEN:
                        msg = self._transport(frame)
                        if msg is not None:
                            events.append(MessageReceived(msg))
                    else:
                        done = self._handshake(frame)
                        if done is not None:
                            events.append(done)
        except NoiseError as e:
            self.state = State.CLOSED
            raise RemoteProtocolError(f"noise: {e}") from e
        except RemoteProtocolError:
            self.state = State.CLOSED
            raise
        finally:
            if buf is self._buf:
                del self._buf[:pos]
            elif pos < end:
                self._buf += memoryview(buf)[pos:]
        return events

    def pending_output(self) -> bytes:
        """Handshake bytes produced while receiving (the responder's message 2,
        the initiator's message 3)."""
        out, self._out = self._out, b""
        return out

    def _handshake(self, frame: bytes) -> HandshakeComplete | None:
        hs = self._hs
        if hs is None:
            raise LocalProtocolError("handshake already finished")
        if self.initiator:
            if self._step != 1:
                raise RemoteProtocolError("unexpected handshake message")
            hello = self._check_hello(hs.read_message(frame), hs)
            self._out += _frame(hs.write_message(self._hello))
            self._step = 3
            return self._finish(hs, hello)
        if self._step == 0:
            if hs.read_message(frame):
                raise RemoteProtocolError("unexpected payload in handshake message 1")
            self._out += _frame(hs.write_message(self._hello))
            self._step = 2
            return None
        if self._step == 2:
            hello = self._check_hello(hs.read_message(frame), hs)
            self._step = 3
            return self._finish(hs, hello)
        raise RemoteProtocolError("unexpected handshake message")

    def _check_hello(self, payload: bytes, hs: HandshakeState) -> wire.Hello:
        try:
            hello = wire.decode_hello(payload)
        except (msgspec.DecodeError, UnicodeDecodeError) as e:
            version = _hello_version(payload)
            if version is not None and version != wire.PROTOCOL_VERSION:
                raise RemoteProtocolError(
                    f"the peer speaks Kith protocol {version}, this one {wire.PROTOCOL_VERSION}"
                    ": update Kith"
                ) from e
            raise RemoteProtocolError(f"malformed hello: {e}") from e
        # (another protocol version completes the handshake: the owner then says why it
        # goes no further, in a bye both users can read)
        hello.cert.verify()
        try:
            expected = ed25519_to_x25519_public(hello.cert.device)
        except Exception as e:  # libsodium rejects keys that are not on the curve
            raise RemoteProtocolError("certificate device key is not a valid key") from e
        if hs.remote_static != expected:
            raise RemoteProtocolError("certificate is for another device key than the handshake")
        problem = name_problem(hello.name)
        if problem:
            raise RemoteProtocolError(f"invalid display name in hello: {problem}")
        return hello

    def _finish(self, hs: HandshakeState, hello: wire.Hello) -> HandshakeComplete:
        if not hs.complete:
            raise RemoteProtocolError("handshake did not complete")
        send, recv = hs.split()
        chosen = channel_cipher.choose(self._offered(), hello.ciphers)
        if chosen is None:
            self._send_cs, self._recv_cs = send, recv
        else:
            self._send_cs = channel_cipher.upgrade(send, chosen)
            self._recv_cs = channel_cipher.upgrade(recv, chosen)
            self.cipher = chosen
        self.peer = PeerHello(hello.cert, hello.name, hello.version, hs.handshake_hash)
        self._hs = None
        self.state = State.OPEN
        return HandshakeComplete(self.peer)

    def _offered(self) -> tuple[str, ...]:
        """The transport ciphers this side's hello named (tests replace the hello: one of
        another layout named none)."""
        try:
            return wire.decode_hello(self._hello).ciphers
        except (msgspec.DecodeError, UnicodeDecodeError):
            return ()

    def _transport(self, frame: bytes) -> wire.Message | None:
        assert self._recv_cs is not None
        plain = self._recv_cs.decrypt_with_ad(b"", frame)
        if not plain:
            raise RemoteProtocolError("empty transport message")
        flag = plain[0]
        if flag == 1:  # more chunks follow
            self._chunks.append(plain[1:])
            self._chunks_size += len(plain) - 1
            if self._chunks_size > self.max_assembled:
                raise RemoteProtocolError("chunked message too large")
            return None
        if flag != 0:
            raise RemoteProtocolError("bad chunk flag")
        body: bytes | memoryview
        if self._chunks:
            if self._chunks_size + len(plain) - 1 > self.max_assembled:
                raise RemoteProtocolError("chunked message too large")
            self._chunks.append(plain[1:])
            body = b"".join(self._chunks)
            self._chunks.clear()
            self._chunks_size = 0
        else:  # (one frame: decoded where it is, no copy)
            body = memoryview(plain)[1:]
        try:
            return wire.decode_message(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as e:
            raise RemoteProtocolError(f"malformed message: {e}") from e


def _hello_version(payload: bytes) -> int | None:
    """The version of a hello this version cannot read (its first field, in every
    version), if it has one."""
    try:
        value = msgspec.msgpack.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if isinstance(value, list) and value and type(value[0]) is int:
        return value[0]
    return None


def _frame(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message
