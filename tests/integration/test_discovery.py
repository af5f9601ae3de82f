"""Discovery over loopback: several Discovery instances in one process, zeroconf on 127.0.0.1.

Run only inside a private network namespace (``.ci/run`` uses ``unshare -n``); the
``isolated_network`` fixture skips otherwise, so no mDNS packet reaches a real LAN.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import ifaddr
import pytest
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from kith.p2p import wire
from kith.p2p.discovery import SERVICE_TYPE, Discovery, PeerAdvert

LOOPBACK = "127.0.0.1"
TIMEOUT = 10.0  # seconds; generous, the waits normally end within milliseconds
_IFF_UP = 0x1
_SIOCGIFFLAGS = 0x8913  # Linux


def _lan_interface_up() -> bool:
    """True if an interface other than loopback has an address and is up."""
    for adapter in ifaddr.get_adapters():
        if adapter.name == "lo" or not adapter.ips:
            continue
        if _interface_flags(adapter.name) & _IFF_UP:
            return True
    return False


def _interface_flags(name: str) -> int:
    """The interface's flags in this network namespace (/sys may show the host's)."""
    request = struct.pack("16sH", name.encode()[:15], 0)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            reply = fcntl.ioctl(s, _SIOCGIFFLAGS, request)
    except OSError:
        return _IFF_UP  # cannot tell: assume it is up
    return int(struct.unpack_from("16sH", reply)[1])


@pytest.fixture(autouse=True)
def isolated_network() -> None:
    if _lan_interface_up():
        pytest.skip("discovery tests must run in an isolated network namespace (see .ci/run)")


@pytest.fixture(autouse=True)
async def hygiene(isolated_network: None, caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """No thread or task outlives the test, and nothing logs a warning."""
    threads = set(threading.enumerate())
    yield
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    assert not tasks, f"tasks left running: {tasks}"
    assert set(threading.enumerate()) <= threads, "a thread outlived the test"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not warnings, f"unexpected log warnings: {[r.getMessage() for r in warnings]}"


class Recorder:
    """Collects the callbacks of one Discovery; tests wait on what it has seen."""

    def __init__(self) -> None:
        self.found: list[PeerAdvert] = []
        self.lost: list[str] = []
        self._changed = asyncio.Event()

    def on_found(self, advert: PeerAdvert) -> None:
        self.found.append(advert)
        self._changed.set()

    def on_lost(self, instance: str) -> None:
        self.lost.append(instance)
        self._changed.set()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), TIMEOUT)

    async def latest_advert_of(self, device_id_hex: str, **expected: object) -> PeerAdvert:
        """Wait until the newest advert for that device has the expected fields."""

        def latest() -> PeerAdvert | None:
            adverts = [a for a in self.found if a.device_hint == device_id_hex]
            return adverts[-1] if adverts else None

        def matches() -> bool:
            advert = latest()
            return advert is not None and all(getattr(advert, k) == v for k, v in expected.items())

        await self.wait_until(matches)
        advert = latest()
        assert advert is not None
        return advert


@dataclass
class Node:
    discovery: Discovery
    device_id_hex: str
    port: int
    seen: Recorder = field(default_factory=Recorder)

    @property
    def instance(self) -> str:
        instance = self.discovery.instance
        assert instance is not None
        return instance


StartNode = Callable[..., Awaitable[Node]]


@pytest.fixture
async def start_node() -> AsyncIterator[StartNode]:
    nodes: list[Node] = []

    async def make(name: str | None, port: int = 40000) -> Node:
        seen = Recorder()
        device_id_hex = os.urandom(32).hex()
        discovery = Discovery(
            device_id_hex=device_id_hex,
            port=port,
            name=name,
            interfaces=[LOOPBACK],
            on_found=seen.on_found,
            on_lost=seen.on_lost,
            probe=False,  # names are unique here; skip the 1.2 s probe
            multicast_queries=True,  # every node shares 127.0.0.1:5353
        )
        node = Node(discovery, device_id_hex, port, seen)
        nodes.append(node)
        await discovery.start()
        return node

    yield make
    await asyncio.gather(*(node.discovery.stop() for node in nodes))


async def test_two_nodes_find_each_other(start_node: StartNode) -> None:
    alice = await start_node("Alice", port=40001)
    bob = await start_node("Bob", port=40002)

    bob_seen = await alice.seen.latest_advert_of(bob.device_id_hex)
    alice_seen = await bob.seen.latest_advert_of(alice.device_id_hex)

    assert bob_seen.name == "Bob"
    assert bob_seen.port == 40002
    assert bob_seen.instance == bob.instance
    assert bob_seen.version == wire.PROTOCOL_VERSION
    assert LOOPBACK in bob_seen.addresses
    assert alice_seen.name == "Alice"
    assert alice_seen.port == 40001
    assert LOOPBACK in alice_seen.addresses
    assert alice.discovery.peers == {bob.instance: bob_seen}


async def test_late_joiner_finds_a_settled_node(start_node: StartNode) -> None:
    alice = await start_node("Alice")
    await alice.discovery.wait_announced()
    # Alice has gone quiet: Bob can only learn of her by asking.
    bob = await start_node("Bob")

    advert = await bob.seen.latest_advert_of(alice.device_id_hex, name="Alice")
    assert advert.instance == alice.instance
    await alice.seen.latest_advert_of(bob.device_id_hex, name="Bob")


async def test_a_lost_answer_is_asked_again(
    start_node: StartNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The browser reports a service once: if the answer to the lookup that follows gets
    # lost, the peer must still be found (not only at its next change).
    from kith.p2p import discovery as module

    real = module.AsyncServiceInfo.async_request
    failed: set[str] = set()

    async def first_one_lost(self, zc, timeout, question_type=None):  # noqa: ANN001, ANN202
        if self.name not in failed:
            failed.add(self.name)
            return False
        return await real(self, zc, timeout, question_type)

    monkeypatch.setattr(module.AsyncServiceInfo, "async_request", first_one_lost)
    alice = await start_node("Alice", port=40001)
    bob = await start_node("Bob", port=40002)
    assert (await alice.seen.latest_advert_of(bob.device_id_hex)).name == "Bob"
    assert (await bob.seen.latest_advert_of(alice.device_id_hex)).name == "Alice"
    assert {bob.instance, alice.instance} <= failed


async def test_own_instance_is_not_listed(start_node: StartNode) -> None:
    alice = await start_node("Alice")
    # Alice's own announcement went out before Bob existed, so by the time she has seen
    # Bob she has also processed (and must have skipped) her own service.
    bob = await start_node("Bob")
    await alice.seen.latest_advert_of(bob.device_id_hex)

    assert alice.instance not in alice.discovery.peers
    assert all(a.device_hint != alice.device_id_hex for a in alice.seen.found)
    assert list(alice.discovery.peers) == [bob.instance]


async def test_name_change_propagates(start_node: StartNode) -> None:
    alice = await start_node("Alice")
    bob = await start_node("Bob")
    await alice.seen.latest_advert_of(bob.device_id_hex, name="Bob")

    await bob.discovery.set_name("Robert")

    advert = await alice.seen.latest_advert_of(bob.device_id_hex, name="Robert")
    assert advert.instance == bob.instance
    assert alice.discovery.peers[bob.instance].name == "Robert"


async def test_set_name_none_hides_the_name(start_node: StartNode) -> None:
    alice = await start_node("Alice")
    bob = await start_node("Bob")
    await alice.seen.latest_advert_of(bob.device_id_hex, name="Bob")

    await bob.discovery.set_name(None)

    advert = await alice.seen.latest_advert_of(bob.device_id_hex, name=None)
    assert advert.port == bob.port
    assert alice.discovery.peers[bob.instance].name is None


async def test_quick_name_changes_end_on_the_last(start_node: StartNode) -> None:
    alice = await start_node("Alice")
    bob = await start_node("Bob")
    await alice.seen.latest_advert_of(bob.device_id_hex, name="Bob")

    await bob.discovery.set_name("B1")
    await bob.discovery.set_name("B2")
    await bob.discovery.set_name("B3")
    await bob.discovery.wait_announced()
    # Everything Bob sent reaches Alice before anything Carol sends after it.
    carol = await start_node("Carol")
    await alice.seen.latest_advert_of(carol.device_id_hex)

    names = [a.name for a in alice.seen.found if a.device_hint == bob.device_id_hex]
    assert names[-1] == "B3"
    assert names[names.index("B3") :] == ["B3"], f"an old name came back: {names}"
    assert alice.discovery.peers[bob.instance].name == "B3"


async def test_stopping_a_node_reports_it_lost(start_node: StartNode) -> None:
    alice = await start_node("Alice")
    bob = await start_node("Bob")
    await alice.seen.latest_advert_of(bob.device_id_hex)
    bob_instance = bob.instance

    await bob.discovery.stop()

    await alice.seen.wait_until(lambda: bob_instance in alice.seen.lost)
    assert bob_instance not in alice.discovery.peers


async def test_refresh_keeps_browsing(start_node: StartNode) -> None:
    alice = await start_node("Alice")
    bob = await start_node("Bob")
    await alice.seen.latest_advert_of(bob.device_id_hex)

    await alice.discovery.refresh()
    await bob.discovery.set_name("Robert")

    await alice.seen.latest_advert_of(bob.device_id_hex, name="Robert")
    assert list(alice.discovery.peers) == [bob.instance]


class _IgnoredServices(logging.Handler):
    """Sets an event once the discovery log says it ignored each expected instance."""

    def __init__(self, instances: set[str]) -> None:
        super().__init__(logging.DEBUG)
        self.pending = set(instances)
        self.all_ignored = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for instance in list(self.pending):
            if message.startswith(f"discovery: ignoring {instance}:"):
                self.pending.discard(instance)
        if not self.pending:
            self.all_ignored.set()


async def test_malformed_txt_is_ignored(
    start_node: StartNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kith.p2p.discovery")
    good_id = os.urandom(32).hex()
    bad_txts: dict[str, dict[str, str | bytes | None]] = {
        "id-not-hex": {"v": "1", "id": "zz" * 32, "n": "Mallory"},
        "id-too-short": {"v": "1", "id": "abcd", "n": "Mallory"},
        "v-missing": {"id": good_id, "n": "Mallory"},
        "v-not-a-number": {"v": "one", "id": good_id},
        "name-too-long": {"v": "1", "id": good_id, "n": "M" * 65},
        "name-not-utf8": {"v": "1", "id": good_id, "n": b"\xff\xfe"},
        "id-without-value": {"v": "1", "id": None},
    }
    instances = {f"{label}.{SERVICE_TYPE}" for label in bad_txts}
    ignored = _IgnoredServices(instances)
    logging.getLogger("kith.p2p.discovery").addHandler(ignored)
    alice = await start_node("Alice")
    mallory = AsyncZeroconf(interfaces=[LOOPBACK])
    try:
        for label, txt in bad_txts.items():
            info = ServiceInfo(
                SERVICE_TYPE,
                f"{label}.{SERVICE_TYPE}",
                port=40666,
                properties=txt,
                server="mallory.local.",
                parsed_addresses=[LOOPBACK],
            )
            await mallory.async_register_service(info, cooperating_responders=True)

        await asyncio.wait_for(ignored.all_ignored.wait(), TIMEOUT)
        # Still working: a proper peer that arrives afterwards is found.
        bob = await start_node("Bob")
        await alice.seen.latest_advert_of(bob.device_id_hex)
    finally:
        logging.getLogger("kith.p2p.discovery").removeHandler(ignored)
        await mallory.async_close()

    assert list(alice.discovery.peers) == [bob.instance]
    assert not set(alice.seen.lost) & instances


async def test_stop_leaves_no_thread_or_task(start_node: StartNode) -> None:
    threads_before = threading.enumerate()
    alice = await start_node("Alice")
    bob = await start_node("Bob")
    await alice.seen.latest_advert_of(bob.device_id_hex)
    await bob.seen.latest_advert_of(alice.device_id_hex)

    await alice.discovery.stop()
    await bob.discovery.stop()
    await bob.discovery.stop()  # idempotent

    assert threading.enumerate() == threads_before
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert alice.discovery.peers == {}
    assert alice.discovery.instance is None
