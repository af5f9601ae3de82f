"""p2p.connection: nothing more is written to a transport the peer reset (asyncio would
log "socket.send() raised exception" for every write after a few), whether one message
or several at once (the pieces of a block go four to a write)."""

from __future__ import annotations

from typing import Any

from test_session import Link

from kith.p2p import wire
from kith.p2p.connection import Connection, Timing


class Transport:
    def __init__(self) -> None:
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


class Writer:
    def __init__(self) -> None:
        self.transport = Transport()
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        pass


class Owner:
    def __init__(self) -> None:
        self.closed: list[str] = []

    def on_handshake(self, conn: Any, peer: Any) -> bool:
        return True

    def on_messages(self, conn: Any, messages: Any) -> None:
        pass

    def on_closed(self, conn: Any, reason: str) -> None:
        self.closed.append(reason)


def test_nothing_is_written_once_the_transport_is_lost() -> None:
    link = Link().handshake()
    owner, writer = Owner(), Writer()
    conn = Connection(owner, link.client, None, writer,  # type: ignore[arg-type]
                      address="127.0.0.1:1", timing=Timing())
    conn.send_many([wire.Ping(1), wire.Ping(2)])
    assert len(writer.written) == 1  # (both in one write)
    writer.transport.closing = True  # (the peer reset the connection)
    conn.send_many([wire.Ping(3), wire.Ping(4)])
    conn.send(wire.Ping(5))
    assert len(writer.written) == 1
    assert conn.closed and owner.closed == ["connection lost"]
