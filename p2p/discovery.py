"""mDNS discovery driver: advertise this device and watch for other Kith devices.

What a peer advertises is a hint, never an identity (ARCHITECTURE.md §3): the handshake decides who
a peer is. So TXT data is parsed defensively; a service whose record we cannot use is
ignored with a debug log line, and nothing raises into python-zeroconf's callbacks.

    start()  ──► register (probe, announce) ──► browse _kith._tcp.local.
    browser: Added / Updated ──► resolve task ──► parse_advert ──► on_found(advert)
             Removed ──────────────────────────────────────────► on_lost(instance)
    set_name() ──► update TXT, re-announce        stop() ──► goodbye, close

Everything runs on the caller's event loop: AsyncZeroconf created inside a running loop
attaches to it and starts no thread of its own. Callbacks run on that loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import ifaddr
from zeroconf import (
    DNSQuestionType,
    InterfaceChoice,
    InterfacesType,
    IPVersion,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from kith.p2p.errors import EnvironmentProblem
from kith.p2p.identity import valid_name
from kith.p2p.wire import PROTOCOL_VERSION

SERVICE_TYPE = "_kith._tcp.local."
DEVICE_ID_HEX_LEN = 64  # an Ed25519 public key
_RESOLVE_TIMEOUT_MS = 3000  # python-zeroconf's own default for a service lookup
_RESOLVE_ATTEMPTS = 3
_MAX_VERSION_DIGITS = 5
_MAX_TXT_STRING = 255  # bytes in one TXT key=value string (RFC 6763 §6.1)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PeerAdvert:
    """What another device advertises over mDNS: where to connect and a few hints."""

    instance: str
    device_hint: str  # device id (hex) from TXT; the handshake proves or refutes it
    name: str | None  # None while that user is not discoverable
    addresses: tuple[str, ...]
    port: int
    version: int
    link: str | None = None  # a device waiting to be linked advertises its code's hint


def instance_name(device_id_hex: str) -> str:
    """The mDNS instance name of a device: unique per device, stable across restarts."""
    return f"kith-{device_id_hex[:16]}.{SERVICE_TYPE}"


def txt_properties(
    device_id_hex: str, name: str | None, link: str | None = None
) -> dict[str, str]:
    """The TXT record we publish: version, device id and, while discoverable, the name;
    ``link`` (the public hint of a link code) while waiting to be linked."""
    props = {"v": str(PROTOCOL_VERSION), "id": device_id_hex}
    if link is not None:
        props["link"] = link
    if name is not None:
        props["n"] = _fit_txt_value("n", name)
    return props


def _fit_txt_value(key: str, value: str) -> str:
    """Cut value at a character boundary so that ``key=value`` fits a TXT string (255 bytes).

    A valid name can be 64 four-byte characters; the name is only a hint, so a shortened
    one beats refusing it.
    """
    room = _MAX_TXT_STRING - len(key) - 1
    encoded = value.encode("utf-8")
    if len(encoded) <= room:
        return value
    return encoded[:room].decode("utf-8", errors="ignore").rstrip()


def parse_advert(
    instance: str,
    properties: Mapping[bytes, bytes | None],
    port: int | None,
    addresses: Sequence[str],
) -> PeerAdvert:
    """Build a PeerAdvert from a resolved service; ValueError says what is unusable."""
    fields: dict[str, str] = {}
    for raw_key, raw_value in properties.items():
        try:
            key = raw_key.decode("ascii").lower()
        except UnicodeDecodeError:
            continue  # not one of ours; unknown keys are allowed for later versions
        if key in ("v", "id", "n", "link") and key not in fields:
            if raw_value is None:
                raise ValueError(f"TXT key {key!r} has no value")
            try:
                fields[key] = raw_value.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"TXT key {key!r} is not UTF-8") from None

    version_text = fields.get("v")
    if version_text is None:
        raise ValueError("TXT has no protocol version 'v'")
    if not (version_text.isascii() and version_text.isdigit()) or not (
        0 < len(version_text) <= _MAX_VERSION_DIGITS
    ):
        raise ValueError(f"TXT 'v' is not a version number: {version_text[:20]!r}")
    version = int(version_text)
    if version < 1:
        raise ValueError("TXT 'v' is 0")

    device_hint = fields.get("id")
    if device_hint is None:
        raise ValueError("TXT has no device id 'id'")
    if not _is_device_id_hex(device_hint):
        raise ValueError(f"TXT 'id' is not {DEVICE_ID_HEX_LEN} hex digits: {device_hint[:80]!r}")

    name = fields.get("n")
    if name is not None and not valid_name(name):
        raise ValueError(f"TXT 'n' is not a valid display name: {name[:80]!r}")

    if port is None or not 0 < port < 65536:
        raise ValueError(f"SRV port {port!r} is not usable")
    if not addresses:
        raise ValueError("no address records")

    link = fields.get("link")
    if link is not None and not (len(link) == 3 and link.isascii() and link.isdigit()):
        link = None
    return PeerAdvert(
        link=link,
        instance=instance,
        device_hint=device_hint.lower(),
        name=name,
        addresses=tuple(addresses),
        port=port,
        version=version,
    )


def _is_device_id_hex(text: str) -> bool:
    return len(text) == DEVICE_ID_HEX_LEN and all(c in "0123456789abcdefABCDEF" for c in text)


def lan_addresses() -> list[str]:
    """This host's addresses worth advertising: IPv4 (but loopback), then IPv6 (but loopback
    and link-local, which a peer cannot use without knowing our interface's scope)."""
    v4: list[str] = []
    v6: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, tuple):  # IPv6: (address, flowinfo, scope_id)
                address = ipaddress.ip_address(ip.ip[0].split("%")[0])
            else:
                address = ipaddress.ip_address(ip.ip)
            if address.is_loopback or (address.version == 6 and address.is_link_local):
                continue
            (v4 if address.version == 4 else v6).append(str(address))
    return list(dict.fromkeys(v4 + v6))


class Discovery:
    """Advertises this device over mDNS and reports other Kith devices as they come and go.

    ``interfaces`` None listens on all LAN interfaces and advertises the host's non-loopback
    addresses; otherwise only the given IPv4/IPv6 addresses are used and advertised.

    Two knobs for tests on an isolated network; the defaults are python-zeroconf's normal
    behaviour. ``probe`` False skips the RFC 6762 name probe (about 1.2 s) before
    announcing, for when the instance name is known to be unique. ``multicast_queries``
    True asks QM questions from the start instead of QU ones: several responders sharing
    one address and port (nodes in one process on 127.0.0.1) cannot all receive a unicast
    reply, so a late joiner would otherwise wait for the second query, about 1 s.

    Callbacks, invoked on the event loop: ``on_found(advert)`` when a peer appears or its
    advert changes; ``on_lost(instance)`` when a peer said goodbye or its advert became
    unusable. stop() clears ``peers`` without calling on_lost.
    """

    def __init__(
        self,
        *,
        device_id_hex: str,
        port: int,
        name: str | None,
        interfaces: Sequence[str] | None = None,
        on_found: Callable[[PeerAdvert], None] | None = None,
        on_lost: Callable[[str], None] | None = None,
        probe: bool = True,
        multicast_queries: bool = False,
        link: str | None = None,
    ) -> None:
        if not _is_device_id_hex(device_id_hex):
            raise ValueError(f"device_id_hex must be {DEVICE_ID_HEX_LEN} hex digits")
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is out of range")
        _check_name(name)
        self._interface_addresses: tuple[str, ...] | None = None
        if interfaces is not None:
            if not interfaces:
                raise ValueError("interfaces is empty; pass None for all LAN interfaces")
            self._interface_addresses = tuple(_check_address(a) for a in interfaces)
        self._device_id_hex = device_id_hex.lower()
        self._port = port
        self._name = name
        self._on_found = on_found
        self._on_lost = on_lost
        self._probe = probe
        self._link = link
        self._question_type = DNSQuestionType.QM if multicast_queries else None

        self._lock = asyncio.Lock()
        self._aiozc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._info: ServiceInfo | None = None  # what we advertise, once registered
        self._server = ""  # our mDNS host name, chosen at start
        self._advertised_addresses: list[str] = []
        self._broadcasts: set[asyncio.Future[object]] = set()  # announcements in flight
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._peers: dict[str, PeerAdvert] = {}

    @property
    def peers(self) -> dict[str, PeerAdvert]:
        """Usable adverts of other devices, by instance name (a copy)."""
        return dict(self._peers)

    @property
    def instance(self) -> str | None:
        """Our own instance name while running (zeroconf renames it on a conflict)."""
        return self._info.name if self._info is not None else None

    async def start(self) -> None:
        """Register our service, announce it and start browsing; EnvironmentProblem if the
        network is unusable. Registration probes first (about 1.2 s) unless probe=False."""
        async with self._lock:
            if self._aiozc is not None:
                raise RuntimeError("Discovery is already started")
            choice: InterfacesType
            if self._interface_addresses is None:
                # mDNS over IPv4 only (the library's default): with IPv6 too, zeroconf also
                # joins ::1, which cannot send, and logs a warning per packet. AAAA records
                # still travel over IPv4.
                addresses = lan_addresses()
                choice, version = InterfaceChoice.All, IPVersion.V4Only
                if not addresses:
                    log.debug("discovery: no LAN address; advertising loopback only")
                    addresses = ["127.0.0.1"]
            else:
                addresses = [a.split("%")[0] for a in self._interface_addresses]
                choice, version = list(self._interface_addresses), None
            try:
                aiozc = AsyncZeroconf(interfaces=choice, ip_version=version)
            except (OSError, RuntimeError) as e:
                where = (
                    "all interfaces"
                    if self._interface_addresses is None
                    else ", ".join(self._interface_addresses)
                )
                raise EnvironmentProblem(f"cannot start LAN discovery on {where}: {e}") from e
            self._aiozc = aiozc
            self._advertised_addresses = addresses
            self._server = f"kith-{self._device_id_hex[:16]}-{secrets.token_hex(3)}.local."
            try:
                info = self._service_info(instance_name(self._device_id_hex), self._name)
                self._track_broadcast(
                    await aiozc.async_register_service(
                        info, allow_name_change=True, cooperating_responders=not self._probe
                    )
                )
                if info.name != instance_name(self._device_id_hex):
                    log.info("discovery: instance name taken on the LAN; using %s", info.name)
                self._info = info
                self._browser = self._new_browser(aiozc)
            except BaseException:
                await self._shutdown()
                raise

    async def stop(self) -> None:
        """Say goodbye and close; idempotent. Leaves no task or thread running."""
        async with self._lock:
            await self._shutdown()

    async def set_name(self, name: str | None) -> None:
        """Advertise a new display name; None hides it (not discoverable)."""
        _check_name(name)
        async with self._lock:
            self._name = name
            aiozc, old = self._aiozc, self._info
            if aiozc is None or old is None:
                return
            # An earlier announcement still repeating would re-send the old TXT after the
            # new one; only the receivers' filter of repeated packets (0.8 s) would hide it.
            await self._cancel_broadcasts()
            info = self._service_info(old.name, name)
            self._info = info
            self._track_broadcast(await aiozc.async_update_service(info))

    async def wait_announced(self) -> None:
        """Wait until the announcements in flight (after start or set_name) have all been sent."""
        while self._broadcasts:
            await asyncio.gather(*self._broadcasts, return_exceptions=True)

    async def refresh(self) -> None:
        """Ask the network again: a new browser sends fresh queries and re-reports the
        cached services, so peers whose announcements we missed show up."""
        async with self._lock:
            if self._aiozc is None or self._browser is None:
                return
            await self._browser.async_cancel()
            self._browser = self._new_browser(self._aiozc)

    def _service_info(self, instance: str, name: str | None) -> ServiceInfo:
        return ServiceInfo(
            SERVICE_TYPE,
            instance,
            port=self._port,
            properties=txt_properties(self._device_id_hex, name, self._link),
            server=self._server,
            parsed_addresses=list(self._advertised_addresses),
        )

    def _new_browser(self, aiozc: AsyncZeroconf) -> AsyncServiceBrowser:
        return AsyncServiceBrowser(
            aiozc.zeroconf,
            SERVICE_TYPE,
            handlers=[self._on_service_state_change],
            question_type=self._question_type,
        )

    def _track_broadcast(self, broadcast: Awaitable[object]) -> None:
        future = asyncio.ensure_future(broadcast)
        self._broadcasts.add(future)
        future.add_done_callback(self._broadcasts.discard)

    async def _cancel_broadcasts(self) -> None:
        pending = list(self._broadcasts)
        self._broadcasts.clear()
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _shutdown(self) -> None:
        aiozc = self._aiozc
        if aiozc is None:
            return
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        resolving = list(self._resolving.values())
        self._resolving.clear()
        for task in resolving:
            task.cancel()
        await asyncio.gather(*resolving, return_exceptions=True)
        await self._cancel_broadcasts()
        try:
            if self._info is not None:
                goodbye = await aiozc.async_unregister_service(self._info)
                await goodbye
        finally:
            self._info = None
            self._aiozc = None
            self._peers.clear()
            await aiozc.async_close()

    # Called by python-zeroconf with these keyword arguments; must never raise.
    def _on_service_state_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if self._info is None or name.lower() == self._info.key:
            return
        if state_change is ServiceStateChange.Removed:
            task = self._resolving.pop(name, None)
            if task is not None:
                task.cancel()
            if self._peers.pop(name, None) is not None:
                self._notify_lost(name)
            return
        # Added or Updated: resolve again; the newest request wins.
        previous = self._resolving.pop(name, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._resolve(zeroconf, name))
        self._resolving[name] = task
        task.add_done_callback(lambda t: self._resolve_done(name, t))

    def _resolve_done(self, instance: str, task: asyncio.Task[None]) -> None:
        if self._resolving.get(instance) is task:
            del self._resolving[instance]

    async def _resolve(self, zeroconf: Zeroconf, instance: str) -> None:
        # The browser reports a service once (and again only when its records change),
        # so a lost answer must not lose the peer: ask again a few times.
        for attempt in range(1, _RESOLVE_ATTEMPTS + 1):
            info = AsyncServiceInfo(SERVICE_TYPE, instance)
            try:
                resolved = await info.async_request(
                    zeroconf, _RESOLVE_TIMEOUT_MS, self._question_type
                )
            except Exception:
                log.exception("discovery: resolving %s failed", instance)
                return
            if resolved:
                break
            # A known peer keeps its advert: a missed answer is not a goodbye.
            log.debug(
                "discovery: %s did not resolve in %d ms (attempt %d of %d)",
                instance, _RESOLVE_TIMEOUT_MS, attempt, _RESOLVE_ATTEMPTS,
            )
        else:
            return
        try:
            advert = parse_advert(
                instance, info.properties, info.port, info.parsed_scoped_addresses()
            )
        except ValueError as e:
            log.debug("discovery: ignoring %s: %s", instance, e)
            if self._peers.pop(instance, None) is not None:
                self._notify_lost(instance)
            return
        if self._peers.get(instance) != advert:
            self._peers[instance] = advert
            self._notify_found(advert)

    def _notify_found(self, advert: PeerAdvert) -> None:
        if self._on_found is not None:
            try:
                self._on_found(advert)
            except Exception:
                log.exception("discovery: on_found callback failed for %s", advert.instance)

    def _notify_lost(self, instance: str) -> None:
        if self._on_lost is not None:
            try:
                self._on_lost(instance)
            except Exception:
                log.exception("discovery: on_lost callback failed for %s", instance)


def _check_name(name: str | None) -> None:
    if name is not None and not valid_name(name):
        raise ValueError("a display name is 1 to 64 printable characters")


def _check_address(address: str) -> str:
    try:
        ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        raise ValueError(f"interface {address!r} is not an IP address") from None
    return address
