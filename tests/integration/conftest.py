"""Fixtures for integration tests: started nodes that are always stopped."""

from __future__ import annotations

import fcntl
import socket
import struct

import ifaddr
import pytest
from nodekit import make_node

from kith.p2p.node import Node

_IFF_UP = 0x1
_SIOCGIFFLAGS = 0x8913  # Linux


@pytest.fixture
async def nodes(tmp_path):
    """Factory for started nodes; all are stopped at the end of the test."""
    started: list[Node] = []

    async def start(name: str, **kw) -> Node:
        node = make_node(tmp_path, name, **kw)
        await node.start()
        started.append(node)
        return node

    async def stop(node: Node) -> None:
        await node.stop()
        started.remove(node)

    start.stop = stop  # type: ignore[attr-defined]
    yield start
    for n in started:
        await n.stop()


def lan_interface_up() -> bool:
    """True if an interface other than loopback has an address and is up (in this
    network namespace: /sys may show the host's)."""
    for adapter in ifaddr.get_adapters():
        if adapter.name == "lo" or not adapter.ips:
            continue
        request = struct.pack("16sH", adapter.name.encode()[:15], 0)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                flags = struct.unpack_from("16sH", fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
        except OSError:
            return True  # cannot tell: assume it is up
        if flags & _IFF_UP:
            return True
    return False


@pytest.fixture
def mdns_isolated() -> None:
    """For tests that use mDNS (zeroconf on 127.0.0.1): only in a private network
    namespace (``.ci/run`` uses ``unshare -n``), so no packet reaches a real LAN."""
    if lan_interface_up():
        pytest.skip("mDNS tests must run in an isolated network namespace (see .ci/run)")
