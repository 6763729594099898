"""Finding HDHomeRun devices: UDP discovery (broadcast and unicast, port 65001), configured
hosts, and the rounds that keep the hub's list of devices current.

:func:`discover_udp` sends libhdhomerun's discover request (:mod:`.protocol`) to every target
from one socket, sends it again halfway through the window (UDP may be lost; libhdhomerun also
sends twice), and collects the replies for ``timeout`` seconds. Broadcast targets are
255.255.255.255 (which Linux sends out of the default route's interface only) plus the directed
broadcast address of every IPv4 network this machine is on, so a device on any attached LAN
answers — as libhdhomerun does by sending from each local address.

:class:`Prober` turns what was heard into :class:`~.client.DeviceInfo`: it reads each device's
``discover.json`` at its base URL (a 404 there means a legacy model: the UDP reply stands in) and
tries configured hosts over HTTP even when they did not answer UDP (a router that drops UDP,
an emulator that has no UDP side).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .client import DeviceInfo, HDHomeRunClient, LegacyDevice, normalise_base_url
from .protocol import (
    DEVICE_ID_WILDCARD,
    DEVICE_TYPE_TUNER,
    DISCOVER_PORT,
    DiscoveredDevice,
    ProtocolError,
    decode_discover_reply,
    encode_discover_request,
)

__all__ = ["DiscoveryResult", "Prober", "asks_udp", "broadcast_addresses", "discover_udp", "host_base_url", "host_name"]

_LOGGER = logging.getLogger(__name__)

#: Seconds UDP discovery listens for replies (libhdhomerun: two rounds of 200 ms; a device
#: answers within milliseconds, a busy Wi-Fi may take longer).
UDP_WINDOW = 1.0


def broadcast_addresses(interfaces: Iterable[str] | None = None) -> list[str]:
    """``255.255.255.255`` and the directed broadcast address of each IPv4 network of this
    machine (loopback, /31 and /32 networks have none). ``interfaces``: restrict to these
    interface names or addresses (the hub's ``discovery: interfaces:``)."""
    import ifaddr  # a dependency of python-zeroconf

    wanted = set(interfaces or ())
    out = ["255.255.255.255"]
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):
                continue  # IPv6
            if wanted and adapter.nice_name not in wanted and adapter.name not in wanted and ip.ip not in wanted:
                continue
            try:
                network = ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False)
            except ValueError:
                continue
            if network.is_loopback or network.prefixlen >= 31:
                continue
            address = str(network.broadcast_address)
            if address not in out:
                out.append(address)
    return out


def host_name(host: str) -> str:
    """The host part of a configured host (``"http://hdhr.local:80"`` → ``"hdhr.local"``)."""
    text = host.strip()
    if "://" in text:
        return urlsplit(text).hostname or text
    if text.startswith("["):
        return text[1:].split("]")[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def asks_udp(host: str) -> bool:
    """Whether a configured host also gets a UDP discover request: yes for a bare name or
    address and for a URL on port 80 (a device); no for a URL on another port (an emulator or a
    simulator serving the HTTP API elsewhere, whose UDP side — if any — is not at that host's
    65001)."""
    try:
        port = urlsplit(normalise_base_url(host)).port
    except ValueError:
        return False
    return port in (None, 80)


def host_base_url(host: str) -> str:
    """The HTTP base URL of a configured host: a bare name or address → ``http://host``."""
    return normalise_base_url(host)


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: dict[str, DiscoveredDevice] = {}
        self.rejected: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            device = decode_discover_reply(data, ip=addr[0])
        except ProtocolError as err:
            # Our own broadcast request comes back to us on some networks: not worth a warning.
            if data[:2] != b"\x00\x02":
                _LOGGER.info("ignored a datagram from %s:%s: %s", addr[0], addr[1], err)
                self.rejected.append(f"{addr[0]}:{addr[1]}: {err}")
            return
        if not device.is_tuner:
            _LOGGER.debug("%s at %s is not a tuner (device type 0x%08x)", device.device_id, addr[0], device.device_type)
            return
        if not device.id_valid:
            _LOGGER.warning("HDHomeRun at %s answers with device id %s, whose check digit is wrong", addr[0],
                            device.device_id)
        self.replies.setdefault(device.device_id, device)

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("UDP discovery: %s", exc)


async def discover_udp(
    targets: Iterable[tuple[str, int]], *, timeout: float = UDP_WINDOW, device_type: int = DEVICE_TYPE_TUNER,
    device_id: int = DEVICE_ID_WILDCARD, bind: str = "0.0.0.0",
) -> list[DiscoveredDevice]:
    """Send a discover request to each ``(address, port)`` (broadcast or unicast) and return the
    tuners that answer within ``timeout`` seconds, one per device id, in order of arrival.

    Garbage and other packet types are ignored (logged); a target that cannot be sent to (no
    route) is skipped. Never raises for network trouble; returns ``[]`` when no socket can be
    opened."""
    targets = list(dict.fromkeys(targets))
    if not targets:
        return []
    loop = asyncio.get_running_loop()
    try:
        transport, collector = await loop.create_datagram_endpoint(
            _Collector, local_addr=(bind, 0), family=socket.AF_INET, allow_broadcast=True
        )
    except OSError as err:
        _LOGGER.warning("UDP discovery cannot open a socket: %s", err)
        return []
    request = encode_discover_request(device_type, device_id)
    try:
        for attempt in range(2):
            for address, port in targets:
                try:
                    transport.sendto(request, (address, port))
                except OSError as err:
                    if attempt == 0:
                        _LOGGER.debug("UDP discovery to %s:%s: %s", address, port, err)
            await asyncio.sleep(timeout / 2)
    finally:
        transport.close()
    return list(collector.replies.values())


@dataclass(slots=True)
class DiscoveryResult:
    """One round: ``devices`` found (device id → info, with the UDP reply when there was one),
    ``errors`` per host or base URL that could not be read."""

    devices: dict[str, tuple[DeviceInfo, DiscoveredDevice | None]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class Prober:
    """One discovery round for one config entry: UDP (broadcast when ``broadcast``, unicast to
    each of ``hosts``) on ``port``, then ``discover.json`` of each device heard and of each host.

    ``hosts``: as configured (``"192.168.1.50"``, ``"hdhr.local"``, ``"http://10.0.0.5:8080"``).
    ``timeout``: seconds per HTTP request. ``interfaces``: restrict broadcasting to these."""

    def __init__(
        self, *, hosts: Iterable[str] = (), broadcast: bool = True, port: int = DISCOVER_PORT, timeout: float = 5.0,
        interfaces: Iterable[str] | None = None, udp_window: float = UDP_WINDOW,
    ) -> None:
        self.hosts = list(hosts)
        self.broadcast = broadcast
        self.port = port
        self.timeout = timeout
        self.interfaces = list(interfaces) if interfaces else None
        self.udp_window = udp_window
        self._resolved: dict[str, str] = {}

    async def _resolve(self, host: str) -> str | None:
        name = host_name(host)
        try:
            ipaddress.ip_address(name)
            return name
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(name, None, family=socket.AF_INET, type=socket.SOCK_DGRAM)
        except OSError as err:
            _LOGGER.info("HDHomeRun host %s does not resolve: %s", host, err)
            return None
        return infos[0][4][0] if infos else None

    async def udp(self) -> list[DiscoveredDevice]:
        """The UDP part of a round alone."""
        targets: list[tuple[str, int]] = []
        if self.broadcast:
            targets += [(address, self.port) for address in broadcast_addresses(self.interfaces)]
        self._resolved.clear()
        for host in self.hosts:
            if not asks_udp(host):
                continue
            address = await self._resolve(host)
            if address:
                self._resolved[host] = address
                targets.append((address, self.port))
        return await discover_udp(targets, timeout=self.udp_window)

    async def probe(self, base_url: str, udp: DiscoveredDevice | None = None) -> DeviceInfo:
        """``discover.json`` at ``base_url`` (UDP's reply for a legacy model, asked for by unicast
        when not given). Raises the client's TunerErrors."""
        client = HDHomeRunClient(base_url, timeout=self.timeout)
        try:
            try:
                return await client.discover(fallback=udp)
            except LegacyDevice:
                address = await self._resolve(base_url)
                replies = await discover_udp([(address, self.port)], timeout=self.udp_window) if address else []
                if not replies:
                    raise
                return await client.discover(fallback=replies[0])
        finally:
            await client.aclose()

    async def run(self) -> DiscoveryResult:
        """UDP, then HTTP to everything heard and every configured host, concurrently. A device
        found both ways keeps the configured address (a host name survives a new IP)."""
        result = DiscoveryResult()
        replies = await self.udp()
        by_ip = {r.ip: r for r in replies}
        candidates: list[tuple[str, DiscoveredDevice | None, str]] = []
        for host in self.hosts:
            try:
                base = host_base_url(host)
            except ValueError as err:
                result.errors[host] = str(err)
                continue
            reply = by_ip.get(self._resolved.get(host))
            if reply is not None and "://" not in host and host_name(host) == reply.ip and reply.base_url:
                continue  # a bare address that answered UDP: its reply names its base URL
            candidates.append((base, reply, host))
        for reply in replies:
            if not reply.base_url:
                continue
            try:
                candidates.append((normalise_base_url(reply.base_url), reply, reply.base_url))
            except ValueError:
                result.errors[reply.device_id] = f"its discover reply has an unusable base URL {reply.base_url!r}"

        async def one(base: str, udp: DiscoveredDevice | None, label: str) -> DeviceInfo | None:
            try:
                return await self.probe(base, udp)
            except Exception as err:  # noqa: BLE001 - one broken device must not stop the round
                result.errors[label] = str(err)
                return None

        infos = await asyncio.gather(*(one(*c) for c in candidates))
        udp_by_id = {r.device_id: r for r in replies}
        for info in infos:
            if info is not None and info.device_id not in result.devices:
                result.devices[info.device_id] = (info, udp_by_id.get(info.device_id))
        return result
