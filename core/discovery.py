"""Discovery over mDNS / DNS-SD (RFC 6762, RFC 6763) with python-zeroconf.

One shared :class:`~zeroconf.asyncio.AsyncZeroconf` per hub (``hub.discovery.zeroconf``; plugins
that talk to devices, e.g. a Cast client, reuse it rather than opening their own sockets). It

- advertises the hub as ``_omnimedia._tcp.local.`` with its HTTP port and TXT properties
  ``version``, ``name`` and ``base_path`` (``/api``);
- browses every service type that plugins declare in their manifests (``zeroconf=(...)``); a
  service found becomes a device of each plugin that asked for its type (status ``discovered``,
  ``connection`` = host, port, addresses, properties, service type, server) and is offered to those
  plugins (hook ``omnimedia_discovered``); a service that sends its goodbye (TTL 0) or expires is
  marked ``unavailable`` together with its entities; a changed address, port or TXT record updates
  the device and is offered again.

Every change fires ``discovery`` (:data:`~omnimedia.core.const.EVENT_DISCOVERY`) with ``action``
(``added`` / ``updated`` / ``removed``), ``plugins`` and the fields of :class:`DiscoveryInfo`.

Resolution (SRV/TXT/A queries) is asynchronous on the hub's loop. When mDNS cannot start (no
interface with multicast, a bad ``interfaces`` entry) the hub logs a warning and runs without it.

SSDP (UPnP) devices that plugins ask for (manifest ``ssdp=``) go through the same registry and
plugin flow; :mod:`.ssdp` finds them (``hub.discovery.ssdp``), switched by ``discovery.ssdp``
and using the same ``interfaces``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from . import __version__
from .const import EVENT_DISCOVERY, ZEROCONF_SERVICE_TYPE

if TYPE_CHECKING:
    from .hub import Hub
    from .registry import DeviceEntry, EntityEntry
    from .ssdp import SsdpDiscovery

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "ZEROCONF_SERVICE_TYPE",
    "Discovery",
    "DiscoveryInfo",
    "discover_once",
    "discovery_service_types",
    "register_media_player",
]

#: How long one SRV/TXT/A resolution may take (milliseconds, python-zeroconf's unit).
RESOLVE_TIMEOUT_MS = 3000
#: A record received with the cache-flush bit makes older records of the same name expire one
#: second later (RFC 6762 §10.2). Resolving again after this delay (seconds) drops the old address.
SETTLE_DELAY = 1.5
#: TXT keys that carry a device's stable id, in order of preference (Cast: ``id``; AirPlay:
#: ``deviceid``; many others: ``uuid``). Without one, the service instance name is the id.
ID_PROPERTIES = ("id", "uuid", "deviceid")
#: TXT keys that carry a human name (Cast: ``fn``). Without one, the instance name is used.
NAME_PROPERTIES = ("fn", "name")
#: API path advertised in the hub's TXT record.
API_BASE_PATH = "/api"


def _decode(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class DiscoveryInfo:
    """One resolved service.

    - ``service_type``: ``"_googlecast._tcp.local."``
    - ``name``: the full service name, ``"Chromecast-1234._googlecast._tcp.local."``
    - ``host``: the address to connect to (first IPv4, else first IPv6), or ``None``
    - ``addresses``: every advertised address as a string
    - ``port``: TCP/UDP port from the SRV record, or ``None``
    - ``properties``: the TXT record decoded as UTF-8 ``str → str`` (a key without value → ``""``)
    - ``server``: the SRV target host name, ``"chromecast-1234.local."``
    - ``source``: where it came from, ``"zeroconf"`` or ``"ssdp"``
    - SSDP only (UDA 2.0 §1): ``ssdp_location`` (the device description URL), ``ssdp_st`` (the
      matched device type), ``ssdp_usn`` (``uuid:…::urn:…``) and ``ssdp_headers`` (the stable
      headers, lower-case names). For SSDP, ``service_type`` is the device type, ``name`` the USN
      and ``properties`` the description's fields plus ``uuid`` (the UDN) and ``name``.
    """

    service_type: str
    name: str
    host: str | None
    addresses: tuple[str, ...] = ()
    port: int | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    server: str | None = None
    source: str = "zeroconf"
    ssdp_location: str | None = None
    ssdp_st: str | None = None
    ssdp_usn: str | None = None
    ssdp_headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_service_info(cls, info: AsyncServiceInfo) -> DiscoveryInfo:
        """Build from a resolved python-zeroconf service info."""
        v4 = info.parsed_addresses(IPVersion.V4Only)
        v6 = info.parsed_scoped_addresses(IPVersion.V6Only)
        props = {_decode(k): _decode(v) for k, v in (info.properties or {}).items()}
        return cls(
            service_type=info.type,
            name=info.name,
            host=(v4 or v6 or [None])[0],
            addresses=tuple(v4 + v6),
            port=info.port,
            properties=props,
            server=info.server,
        )

    @property
    def instance_name(self) -> str:
        """The name without its type: ``"Living Room TV"`` for
        ``"Living Room TV._googlecast._tcp.local."``."""
        suffix = "." + self.service_type
        return self.name[: -len(suffix)] if self.name.endswith(suffix) else self.name

    @property
    def unique_id(self) -> str:
        """The stable device id: the first non-empty of :data:`ID_PROPERTIES`, else the instance name."""
        return self._first_property(ID_PROPERTIES)

    @property
    def friendly_name(self) -> str:
        """The first non-empty of :data:`NAME_PROPERTIES`, else the instance name."""
        return self._first_property(NAME_PROPERTIES)

    def _first_property(self, keys: Iterable[str]) -> str:
        """The first non-empty TXT value among ``keys``, else the instance name."""
        for key in keys:
            value = self.properties.get(key, "").strip()
            if value:
                return value
        return self.instance_name

    def connection(self) -> dict[str, Any]:
        """What the device registry keeps as ``connection``."""
        return {
            "host": self.host,
            "port": self.port,
            "addresses": list(self.addresses),
            "properties": dict(self.properties),
            "service_type": self.service_type,
            "server": self.server,
            **({"ssdp_location": self.ssdp_location, "ssdp_usn": self.ssdp_usn} if self.source == "ssdp" else {}),
        }

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["addresses"] = list(self.addresses)
        data["properties"] = dict(self.properties)
        data["ssdp_headers"] = dict(self.ssdp_headers)
        return data


def discovery_service_types(plugins: Any) -> list[str]:
    """The hub's own type plus every type the loaded plugins declare (for ``omnimedia discover``)."""
    return [ZEROCONF_SERVICE_TYPE, *sorted(t for t in plugins.zeroconf_types() if t != ZEROCONF_SERVICE_TYPE)]


def _interfaces(names: Iterable[str] | None) -> Any:
    """``discovery.interfaces`` → python-zeroconf's ``interfaces`` argument.

    Each entry is an IP address (``"192.168.1.5"``) or an interface name (``"eth0"``, all its
    IPv4 addresses). Raises ``ValueError`` for a name that is neither.
    """
    from zeroconf import InterfaceChoice

    if not names:
        return InterfaceChoice.All
    import ifaddr  # a dependency of python-zeroconf

    adapters = {a.nice_name: a for a in ifaddr.get_adapters()}
    out: list[str] = []
    for name in names:
        try:
            ipaddress.ip_address(name)
            out.append(name)
            continue
        except ValueError:
            pass
        adapter = adapters.get(name)
        if adapter is None:
            raise ValueError(
                f"discovery interface {name!r} is neither an IP address nor one of {sorted(adapters)}"
            )
        out.extend(ip.ip for ip in adapter.ips if isinstance(ip.ip, str))
    if not out:
        raise ValueError(f"discovery interfaces {list(names)} have no IPv4 address")
    return out


def _announce_addresses(bind_host: str, interfaces: Any) -> list[bytes]:
    """Packed IPv4 addresses to put in the hub's A records.

    A concrete bind host is announced alone; a wildcard bind announces every non-loopback IPv4
    address of the chosen interfaces (all interfaces when none are configured)."""
    import ifaddr

    if bind_host and bind_host not in ("0.0.0.0", "::", ""):
        try:
            return [socket.inet_aton(bind_host)]
        except OSError:
            pass
    if isinstance(interfaces, list):
        candidates = interfaces
    else:
        candidates = [ip.ip for a in ifaddr.get_adapters() for ip in a.ips if isinstance(ip.ip, str)]
    return [socket.inet_aton(ip) for ip in candidates if not ipaddress.ip_address(ip).is_loopback]


class Discovery:
    """The hub's mDNS part. ``zeroconf`` is the shared ``AsyncZeroconf`` (``None`` when disabled
    or when mDNS could not start; the reason is in ``error``)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.zeroconf: AsyncZeroconf | None = None
        self.error: str | None = None
        self.advertised: AsyncServiceInfo | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._types: dict[str, list[str]] = {}
        #: (service type, name) → last info handled, to mark the right devices when it goes away
        self._known: dict[tuple[str, str], DiscoveryInfo] = {}
        #: (service type, name) → generation; a resolution only applies if nothing happened since
        self._generation: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._register_task: asyncio.Task[Any] | None = None
        self.ssdp: SsdpDiscovery | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open mDNS, advertise the hub and browse the plugins' types. Never raises: a failure
        is logged as a warning and leaves ``zeroconf`` ``None``."""
        conf = self.hub.config.discovery
        await self._start_ssdp(conf)
        if not conf.get("zeroconf", True):
            _LOGGER.debug("zeroconf discovery is disabled in the configuration")
            return
        try:
            interfaces = _interfaces(conf.get("interfaces"))
            self.zeroconf = AsyncZeroconf(interfaces=interfaces)
        except Exception as err:  # noqa: BLE001 - no multicast interface, bad address, …
            self.error = f"{type(err).__name__}: {err}"
            _LOGGER.warning("mDNS discovery is off: %s; the hub runs without it", self.error)
            self.zeroconf = None
            return
        if conf.get("advertise", True):
            self._register_task = self._spawn(self._advertise(interfaces), "zeroconf advertise")
        self._types = self.hub.plugins.zeroconf_types()
        if self._types:
            self._browser = AsyncServiceBrowser(
                self.zeroconf.zeroconf, sorted(self._types), handlers=[self._on_state_change]
            )
            _LOGGER.info("browsing mDNS for %s", ", ".join(sorted(self._types)))

    async def stop(self) -> None:
        """Stop browsing, send the advertisement's goodbye and close the sockets."""
        if self.ssdp is not None:
            await self.ssdp.stop()
            self.ssdp = None
        if self.zeroconf is None:
            return
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        if self.advertised is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(await self.zeroconf.async_unregister_service(self.advertised), 5)
            self.advertised = None
        await self.zeroconf.async_close()
        self.zeroconf = None

    async def _start_ssdp(self, conf: Mapping[str, Any]) -> None:
        """Start SSDP browsing (see :mod:`.ssdp`); never raises."""
        if not conf.get("ssdp", True):
            return
        from .ssdp import SsdpDiscovery

        try:
            chosen = _interfaces(conf.get("interfaces"))
        except ValueError as err:
            _LOGGER.warning("SSDP discovery is off: %s", err)
            return
        import ifaddr

        if not isinstance(chosen, list):
            chosen = [ip.ip for a in ifaddr.get_adapters() for ip in a.ips if isinstance(ip.ip, str)]
        addresses = [a for a in dict.fromkeys(chosen) if ":" not in a and not ipaddress.ip_address(a).is_loopback]
        self.ssdp = SsdpDiscovery(self)
        await self.ssdp.start(addresses)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- advertising -----------------------------------------------------------------------------
    def _advertisement(self, interfaces: Any) -> AsyncServiceInfo:
        host, port = self.hub.http.bound_address()
        hub_name = self.hub.config.hub.get("name") or "Omni-Media"
        hostname = socket.gethostname().split(".")[0] or "omnimedia"
        return AsyncServiceInfo(
            ZEROCONF_SERVICE_TYPE,
            f"{hub_name}.{ZEROCONF_SERVICE_TYPE}",
            port=port,
            properties={"version": __version__, "name": hub_name, "base_path": API_BASE_PATH},
            server=f"{hostname}.local.",
            addresses=_announce_addresses(host, interfaces),
        )

    async def _advertise(self, interfaces: Any) -> None:
        assert self.zeroconf is not None
        info = self._advertisement(interfaces)
        if not info.port:
            _LOGGER.warning("not advertising over mDNS: the HTTP API is not listening")
            return
        try:
            # Probing (RFC 6762 §8.1) takes ~1 s; allow_name_change picks "Name (2)" on a conflict.
            announce = await self.zeroconf.async_register_service(info, allow_name_change=True)
            self.advertised = info
            await announce
        except Exception as err:  # noqa: BLE001
            _LOGGER.warning("could not advertise the hub over mDNS: %s", err)
            return
        _LOGGER.info("advertising %s on port %s", info.name, info.port)

    # -- browsing --------------------------------------------------------------------------------
    def _on_state_change(
        self, zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        """python-zeroconf handler; runs on the loop and must not block."""
        key = (service_type, name)
        generation = self._generation.get(key, 0) + 1
        self._generation[key] = generation
        if state_change is ServiceStateChange.Removed:
            self._spawn(self.handle_removed(service_type, name), f"mdns removed {name}")
            return
        self._spawn(self._resolve_and_handle(service_type, name, generation), f"mdns resolve {name}")
        if state_change is ServiceStateChange.Updated:
            self._spawn(self._settle(service_type, name, generation), f"mdns settle {name}")

    async def _resolve(self, service_type: str, name: str) -> DiscoveryInfo | None:
        assert self.zeroconf is not None
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(self.zeroconf.zeroconf, RESOLVE_TIMEOUT_MS):
            _LOGGER.debug("could not resolve %s", name)
            return None
        return DiscoveryInfo.from_service_info(info)

    async def _resolve_and_handle(self, service_type: str, name: str, generation: int) -> None:
        try:
            info = await self._resolve(service_type, name)
        except Exception:  # noqa: BLE001 - a malformed record must not hurt the hub
            _LOGGER.exception("resolving %s failed", name)
            return
        if info is not None and self._generation.get((service_type, name)) == generation:
            await self.handle_found(info)

    async def _settle(self, service_type: str, name: str, generation: int) -> None:
        await asyncio.sleep(SETTLE_DELAY)
        await self._resolve_and_handle(service_type, name, generation)

    # -- turning services into devices -----------------------------------------------------------
    def plugins_for(self, service_type: str) -> list[str]:
        """Names of the plugins that declared ``service_type``."""
        return self._types.get(service_type) or self.hub.plugins.zeroconf_types().get(service_type, [])

    async def handle_found(self, info: DiscoveryInfo, plugins: list[str] | None = None) -> list[DeviceEntry]:
        """Record a found or changed service as a device of each interested plugin, fire
        ``discovery`` and offer it to the plugins. Returns the devices (none if no plugin wants
        the type, or nothing changed since the last time). ``plugins``: who wants it, when
        not the plugins that declared ``info.service_type`` (SSDP matches)."""
        key = (info.service_type, info.name)
        previous = self._known.get(key)
        plugins = self.plugins_for(info.service_type) if plugins is None else plugins
        devices = []
        for plugin in plugins:
            existing = self.hub.devices.get_by_key(plugin, info.unique_id)
            unchanged = previous == info and existing is not None and existing.status != "unavailable"
            if unchanged:
                continue
            if existing is None:
                device = self.hub.devices.get_or_create(
                    plugin,
                    info.unique_id,
                    name=info.friendly_name,
                    status="discovered",
                    connection=info.connection(),
                )
            else:
                device = self.hub.devices.update(
                    existing.id, status="discovered", connection=info.connection()
                )
            devices.append(device)
        self._known[key] = info
        if not devices:
            return []
        action = "added" if previous is None else "updated"
        _LOGGER.info("%s %s at %s:%s (%s)", action, info.name, info.host, info.port, ", ".join(plugins))
        self.hub.bus.fire(EVENT_DISCOVERY, {"action": action, "plugins": plugins, **info.as_dict()})
        await self.hub.plugins.offer_discovery([d.platform for d in devices], info)
        return devices

    async def handle_removed(
        self, service_type: str, name: str, plugins: list[str] | None = None
    ) -> list[DeviceEntry]:
        """Mark the devices (and their entities' states) of a vanished service ``unavailable``."""
        info = self._known.get((service_type, name))
        if info is None:
            return []
        plugins = self.plugins_for(service_type) if plugins is None else plugins
        devices = []
        for plugin in plugins:
            device = self.hub.devices.get_by_key(plugin, info.unique_id)
            if device is None:
                continue
            devices.append(self.hub.devices.update(device.id, status="unavailable"))
            for entity in self.hub.entities.for_device(device.id):
                state = self.hub.states.get(entity.entity_id)
                self.hub.states.set(entity.entity_id, "unavailable", state.attributes if state else {})
        _LOGGER.info("%s went away", name)
        self.hub.bus.fire(EVENT_DISCOVERY, {"action": "removed", "plugins": plugins, **info.as_dict()})
        return devices


def register_media_player(
    hub: Hub,
    platform: str,
    info: DiscoveryInfo,
    *,
    name: str | None = None,
    manufacturer: str | None = None,
    model: str | None = None,
    sw_version: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> EntityEntry:
    """What a discovery plugin for a playback device does with a found service: fill in the
    device's details, make sure it has a ``media_player`` entity, and set the entity's state
    (``idle``, or ``unavailable`` when the device is). Returns the entity entry.

    Raises ``KeyError`` when the core has not registered the device (not a discovered service).
    """
    device = hub.devices.get_by_key(platform, info.unique_id)
    if device is None:
        raise KeyError(f"no {platform} device for {info.name!r}")
    fields = {
        k: v for k, v in {"manufacturer": manufacturer, "model": model, "sw_version": sw_version}.items() if v
    }
    device = hub.devices.update(device.id, name=name or None, **fields)
    entity = hub.entities.get_or_create(
        "media_player", platform, info.unique_id, name=device.name, device_id=device.id
    )
    hub.states.set(
        entity.entity_id,
        "unavailable" if device.status == "unavailable" else "idle",
        {
            "friendly_name": device.name,
            "manufacturer": device.manufacturer,
            "model": device.model,
            "host": info.host,
            "port": info.port,
            "service_type": info.service_type,
            **(attributes or {}),
        },
    )
    return entity


async def discover_once(
    service_types: list[str], timeout: float = 5.0, interfaces: list[str] | None = None
) -> list[DiscoveryInfo]:
    """Browse ``service_types`` for ``timeout`` seconds and return every service resolved,
    sorted by type and name (for ``omnimedia discover``).

    ``interfaces``: IP addresses or interface names, as in ``discovery.interfaces``.
    Raises ``ValueError`` for a bad interface and ``RuntimeError``/``OSError`` when mDNS cannot start.
    """
    aiozc = AsyncZeroconf(interfaces=_interfaces(interfaces))
    found: dict[tuple[str, str], DiscoveryInfo] = {}
    pending: set[asyncio.Task[Any]] = set()

    async def resolve(service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if await info.async_request(aiozc.zeroconf, RESOLVE_TIMEOUT_MS):
            found[(service_type, name)] = DiscoveryInfo.from_service_info(info)

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            found.pop((service_type, name), None)
            return
        task = asyncio.get_running_loop().create_task(resolve(service_type, name))
        pending.add(task)
        task.add_done_callback(pending.discard)

    browser = AsyncServiceBrowser(aiozc.zeroconf, list(service_types), handlers=[on_change])
    try:
        await asyncio.sleep(timeout)
        if pending:
            await asyncio.wait(set(pending), timeout=RESOLVE_TIMEOUT_MS / 1000)
    finally:
        for task in pending:
            task.cancel()
        await browser.async_cancel()
        await aiozc.async_close()
    return sorted(found.values(), key=lambda i: (i.service_type, i.name))
