"""Discovery over SSDP (UPnP Device Architecture 2.0 §1) with async-upnp-client.

The hub browses for the devices plugins ask for in their manifests (``ssdp=({"st": …}, …)``),
as :mod:`.discovery` does for mDNS types:

- one :class:`~async_upnp_client.ssdp_listener.SsdpListener` per IPv4 address of the chosen
  interfaces (``discovery.interfaces``, else every non-loopback IPv4 address). Each listens for
  ``NOTIFY`` advertisements on 239.255.255.250:1900 (joined on that interface), sends its
  ``M-SEARCH`` out of that interface (``IP_MULTICAST_IF``) and receives the unicast answers. The
  listeners share one device tracker, so a device heard on two interfaces is one device.
- A device (``ssdp:alive`` or a search answer) is matched against every plugin's matchers. A
  matcher is a dict of ``key → value``: keys are SSDP headers (``st`` also matches a NOTIFY's
  ``nt``; ``usn``, ``server`` …, case-insensitive) or fields of the device description
  (``deviceType``, ``manufacturer``, ``modelName``, ``friendlyName`` …, fetched from ``LOCATION``
  when a matcher needs them); values match exactly, or as shell patterns when they contain
  ``*``/``?``. A matcher without ``st`` only looks at ``upnp:rootdevice`` answers.
- A match becomes a :class:`~.discovery.DiscoveryInfo` (``source="ssdp"``, ``service_type`` the
  matched device type, ``name`` the USN, ``host``/``port`` from ``LOCATION``, ``properties`` the
  description's fields plus ``uuid`` (the UDN) and ``name`` (the friendly name), and the
  ``ssdp_*`` fields) handed to :meth:`.discovery.Discovery.handle_found` — the same devices,
  events and ``omnimedia_discovered`` offers as for mDNS.
- ``ssdp:byebye`` (UDA §1.2.3) or an announcement that outlived its ``CACHE-CONTROL: max-age``
  (UDA §1.2.2) without being renewed marks the devices ``unavailable``
  (:meth:`.discovery.Discovery.handle_removed`).

A new ``M-SEARCH`` is sent at start (twice, UDP may be lost) and every :data:`SEARCH_INTERVAL`
seconds. Nothing here raises into the hub: a socket that cannot be opened is logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from async_upnp_client.aiohttp import AiohttpRequester
from async_upnp_client.const import SsdpSource
from async_upnp_client.description_cache import DescriptionCache
from async_upnp_client.ssdp_listener import SsdpDevice, SsdpDeviceTracker, SsdpListener

if TYPE_CHECKING:
    from .discovery import Discovery, DiscoveryInfo

_LOGGER = logging.getLogger(__name__)

__all__ = ["ROOT_DEVICE", "SsdpDiscovery", "matches", "ssdp_matchers"]

#: Seconds between two M-SEARCH rounds.
SEARCH_INTERVAL = 300.0
#: Seconds between the first M-SEARCH and its repeat.
SEARCH_REPEAT = 2.0
#: Seconds between two checks for announcements whose max-age ran out.
EXPIRY_CHECK_INTERVAL = 5.0
#: MX of our M-SEARCH: devices answer within this many seconds (UDA §1.3.2; 1–5).
SEARCH_MX = 2
#: Seconds a device description download may take.
DESCRIPTION_TIMEOUT = 5
#: The search target every root device answers (UDA §1.3.2).
ROOT_DEVICE = "upnp:rootdevice"
#: Headers kept in ``DiscoveryInfo.ssdp_headers`` (stable ones: DATE and the like would make
#: every announcement look like a change).
KEPT_HEADERS = ("location", "server", "st", "nt", "usn", "bootid.upnp.org", "configid.upnp.org",
                "searchport.upnp.org")
#: Matcher keys that are SSDP headers (never looked up in the description).
HEADER_KEYS = ("st", "nt", "usn", "server", "location", "nts", "cache-control", "ext")
#: Description fields copied to ``DiscoveryInfo.properties`` (UDA §2.3).
DESCRIPTION_FIELDS = ("deviceType", "friendlyName", "manufacturer", "manufacturerURL", "modelDescription",
                      "modelName", "modelNumber", "modelURL", "serialNumber", "UDN", "presentationURL")


def ssdp_matchers(plugins: Any) -> dict[str, list[dict[str, str]]]:
    """Plugin name → its SSDP matchers, for every plugin that did not fail to load."""
    out: dict[str, list[dict[str, str]]] = {}
    for record in plugins.plugins.values():
        manifest = getattr(record, "manifest", None)
        if manifest and record.state != "failed" and manifest.ssdp:
            out[record.name] = [dict(m) for m in manifest.ssdp]
    return out


def _header_value(headers: Mapping[str, Any], key: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items() if isinstance(v, str)}
    key = key.lower()
    if key == "st":
        return lowered.get("st") or lowered.get("nt")
    return lowered.get(key)


def _value_matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(value, pattern)
    return value == pattern


def matches(
    matcher: Mapping[str, str], headers: Mapping[str, Any], description: Mapping[str, Any] | None = None
) -> bool | None:
    """Whether one device (or service) answer fits ``matcher``.

    ``headers``: the SSDP headers (any case); ``description``: the device description's fields
    (``deviceType``, ``manufacturer`` …) or ``None`` when not fetched yet. A key is looked up in
    the headers first, then in the description. Returns ``None`` when the answer depends on a
    description that was not given."""
    undecided = False
    for key, pattern in matcher.items():
        value = _header_value(headers, key)
        if value is None and key.lower() not in HEADER_KEYS:
            if description is None:
                undecided = True
                continue
            found = description.get(key)
            value = found if isinstance(found, str) else None
        if not _value_matches(pattern, value):
            return False
    return None if undecided else True


def _string_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """The stable headers, lower-case; a NOTIFY's ``nt`` is kept as ``st`` so a device seen by
    search and by announcement looks the same."""
    out = {k.lower(): v for k, v in headers.items() if isinstance(v, str) and k.lower() in KEPT_HEADERS}
    if "nt" in out:
        out.setdefault("st", out["nt"])
        del out["nt"]
    return out


class SsdpDiscovery:
    """The hub's SSDP part, owned by :class:`~.discovery.Discovery` (``discovery.ssdp``)."""

    def __init__(self, discovery: Discovery) -> None:
        self.discovery = discovery
        self.hub = discovery.hub
        self.listeners: list[SsdpListener] = []
        self.addresses: list[str] = []
        self.error: str | None = None
        self._tracker = SsdpDeviceTracker()
        self._matchers: dict[str, list[dict[str, str]]] = {}
        self._descriptions = DescriptionCache(AiohttpRequester(timeout=DESCRIPTION_TIMEOUT))
        #: (matched type, USN) → (info handed over, plugins, UDN)
        self._found: dict[tuple[str, str], tuple[DiscoveryInfo, list[str], str]] = {}
        self._loops: list[asyncio.Task[Any]] = []

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, addresses: Iterable[str]) -> None:
        """Listen and search on each IPv4 address in ``addresses`` (when some plugin declared
        SSDP matchers). Never raises; problems are logged and kept in ``error``."""
        self._matchers = ssdp_matchers(self.hub.plugins)
        if not self._matchers:
            _LOGGER.debug("no plugin asked for SSDP devices; not listening")
            return
        errors = []
        for address in addresses:
            listener = SsdpListener(
                async_callback=self._on_device, source=(address, 0), search_timeout=SEARCH_MX,
                device_tracker=self._tracker,
            )
            try:
                await listener.async_start()
            except Exception as err:  # noqa: BLE001 - an interface without multicast, a bad address
                errors.append(f"{address}: {err}")
                with contextlib.suppress(Exception):
                    await listener.async_stop()
                continue
            self.listeners.append(listener)
            self.addresses.append(address)
        if errors:
            self.error = "; ".join(errors)
            _LOGGER.warning("SSDP could not listen on %s", self.error)
        if not self.listeners:
            _LOGGER.warning("SSDP discovery is off: no interface to listen on")
            return
        _LOGGER.info("browsing SSDP on %s for %s", ", ".join(self.addresses),
                     ", ".join(f"{p} {m}" for p, ms in sorted(self._matchers.items()) for m in ms))
        loop = asyncio.get_running_loop()
        self._loops = [
            loop.create_task(self._search_loop(), name="ssdp search"),
            loop.create_task(self._expiry_loop(), name="ssdp expiry"),
        ]

    async def stop(self) -> None:
        """Stop searching and listening; close the sockets."""
        for task in self._loops:
            task.cancel()
        if self._loops:
            await asyncio.wait(self._loops, timeout=5)
        self._loops = []
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                await listener.async_stop()
        self.listeners = []
        self.addresses = []

    async def search(self) -> None:
        """Send an ``M-SEARCH * ssdp:all`` on every interface now."""
        for listener in self.listeners:
            try:
                await listener.async_search()
            except Exception as err:  # noqa: BLE001
                _LOGGER.debug("M-SEARCH from %s failed: %s", listener.source, err)

    async def _search_loop(self) -> None:
        await self.search()
        await asyncio.sleep(SEARCH_REPEAT)
        while True:
            await self.search()
            await asyncio.sleep(SEARCH_INTERVAL)

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_CHECK_INTERVAL)
            try:
                await self.expire()
            except Exception:  # noqa: BLE001
                _LOGGER.exception("SSDP expiry check failed")

    async def expire(self, now: datetime | None = None) -> list[str]:
        """Mark devices whose announcements outlived their max-age ``unavailable``; returns
        their UDNs. ``now`` (local time, as the tracker keeps it) defaults to now."""
        self._tracker.purge_devices(now or datetime.now())
        gone = sorted({udn for _, _, udn in self._found.values() if udn not in self._tracker.devices})
        for udn in gone:
            _LOGGER.info("SSDP device %s stopped announcing itself (max-age ran out)", udn)
            await self._remove_udn(udn)
        return gone

    # -- devices ---------------------------------------------------------------------------------
    async def _on_device(self, device: SsdpDevice, dst: str, source: SsdpSource) -> None:
        """async-upnp-client callback: one device or service type seen, changed or gone."""
        if not self.listeners:  # stopped meanwhile
            return
        try:
            if source == SsdpSource.ADVERTISEMENT_BYEBYE:
                _LOGGER.debug("ssdp:byebye from %s (%s)", device.udn, dst)
                await self._remove_udn(device.udn)
                return
            await self._seen(device, dst)
        except Exception:  # noqa: BLE001 - a malformed device must not hurt the hub
            _LOGGER.exception("handling SSDP device %s (%s) failed", device.udn, dst)

    async def _seen(self, device: SsdpDevice, dst: str) -> None:
        headers = device.combined_headers(dst)
        location = headers.get("location") or device.location
        candidates: list[tuple[str, dict[str, str]]] = []
        for plugin, matchers in self._matchers.items():
            for matcher in matchers:
                if not any(k.lower() in ("st", "nt") for k in matcher) and dst != ROOT_DEVICE:
                    continue
                if matches(matcher, headers) is not False:
                    candidates.append((plugin, matcher))
        if not candidates or not location:
            return
        description = await self._description(location)
        if description is None:
            _LOGGER.info("SSDP device %s at %s: no usable description; will try again on its next answer",
                         device.udn, location)
            return
        plugins = sorted({p for p, m in candidates if matches(m, headers, description) is True})
        if not plugins:
            return
        info = self._info(device, dst, headers, location, description)
        key = (info.service_type, info.name)
        self._found[key] = (info, plugins, device.udn)
        await self.discovery.handle_found(info, plugins=plugins)

    async def _description(self, location: str) -> dict[str, Any] | None:
        try:
            description = await self._descriptions.async_get_description_dict(location)
        except Exception as err:  # noqa: BLE001
            _LOGGER.debug("description at %s failed: %s", location, err)
            description = None
        if not description:
            self._descriptions.uncache_description(location)
            return None
        return dict(description)

    def _info(
        self, device: SsdpDevice, dst: str, headers: Mapping[str, Any], location: str, description: Mapping[str, Any]
    ) -> DiscoveryInfo:
        from .discovery import DiscoveryInfo

        url = urlsplit(location)
        host = url.hostname
        port = url.port or (443 if url.scheme == "https" else 80)
        props = {k: str(description[k]) for k in DESCRIPTION_FIELDS if isinstance(description.get(k), str)}
        props["uuid"] = device.udn
        if props.get("friendlyName"):
            props["name"] = props["friendlyName"]
        kept = _string_headers(headers)
        usn = kept.get("usn") or f"{device.udn}::{dst}"
        return DiscoveryInfo(
            service_type=dst,
            name=usn,
            host=host,
            addresses=(host,) if host else (),
            port=port,
            properties=props,
            server=kept.get("server"),
            source="ssdp",
            ssdp_location=location,
            ssdp_st=dst,
            ssdp_usn=usn,
            ssdp_headers=kept,
        )

    async def _remove_udn(self, udn: str) -> None:
        for key, (info, plugins, found_udn) in list(self._found.items()):
            if found_udn != udn:
                continue
            del self._found[key]
            if info.ssdp_location:
                self._descriptions.uncache_description(info.ssdp_location)
            await self.discovery.handle_removed(info.service_type, info.name, plugins=plugins)

    def found(self) -> list[DiscoveryInfo]:
        """The devices currently handed to plugins (by type and USN)."""
        return [info for _, (info, _, _) in sorted(self._found.items())]
