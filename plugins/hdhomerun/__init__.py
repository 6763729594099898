"""HDHomeRun network tuners (Silicondust): found on the LAN, handed to the DVR engine.

Each device found becomes one :class:`~.tuner.HDHomeRunTuner` registered with
``hub.dvr.add_tuner`` (once per DeviceID; a new address updates the same tuner). Devices are found

- by **UDP discovery** (libhdhomerun's protocol, :mod:`.protocol`): a discover request broadcast
  on port 65001 to 255.255.255.255 and to every attached IPv4 network's broadcast address, and
  sent by unicast to each configured host; at set-up and then every ``discovery_interval``
  seconds (:mod:`.discovery`);
- at **configured hosts** (``hosts:``), over HTTP (``discover.json``) even when UDP does not get
  through;
- by **SSDP**: HDHomeRuns announce themselves as UPnP ``MediaServer:1`` devices whose
  description names the manufacturer Silicondust; the hub's SSDP discovery hands them to
  :func:`omnimedia_discovered`, which reads ``discover.json`` from the announced host.

A device that stops answering (neither UDP nor ``discover.json``) for :data:`MISSED_ROUNDS`
discovery rounds in a row, or that says ``ssdp:byebye`` and then does not answer, is removed
with ``await hub.dvr.remove_tuner(device_id, reason)``; the DVR keeps it as unavailable and it is
added back as soon as it answers again.

Configuration (every key optional)::

    plugins:
      - platform: hdhomerun
        hosts: [192.168.1.50, "http://hdhr.local"]   # asked directly (UDP unicast and HTTP)
        discover: true             # UDP broadcast discovery
        discovery_interval: 300    # seconds between discovery rounds
        discovery_port: 65001      # the devices' UDP port (tests use another)
        timeout: 10                # seconds per HTTP request and per stream read
        transcode: mobile          # EXTEND models (HDTC-2US) only: their transcode profile

Without an entry the plugin still broadcasts (with the defaults above) unless the hub's network
discovery is off (``discovery: zeroconf: false`` and ``ssdp: false``), and takes what SSDP finds.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any
from urllib.parse import urlsplit

import voluptuous as vol

from omnimedia.core.const import EVENT_DISCOVERY, EVENT_HUB_STOP
from omnimedia.core.dvr.types import TunerError
from omnimedia.core.plugins import PluginManifest, hookimpl

from .client import TRANSCODE_PROFILES, DeviceInfo, normalise_base_url
from .discovery import DiscoveryResult, Prober
from .protocol import DISCOVER_PORT, DiscoveredDevice
from .tuner import HDHomeRunTuner

__all__ = ["CONFIG_SCHEMA", "MISSED_ROUNDS", "PLATFORM", "discover_now", "summary", "tuners"]

_LOGGER = logging.getLogger(__name__)

PLATFORM = "hdhomerun"
MEDIA_SERVER = "urn:schemas-upnp-org:device:MediaServer:1"
#: SSDP matcher: a MediaServer whose description says Silicondust (any capitalisation of the
#: "D" and "S" seen in the field).
SSDP_MATCHER = {"st": MEDIA_SERVER, "manufacturer": "[Ss]ilicon[Dd]ust*"}
#: Discovery rounds a known device may miss before it is removed.
MISSED_ROUNDS = 2
#: Seconds between rounds while a configured host has not answered yet (at most; the
#: ``discovery_interval`` when shorter).
RETRY_MISSING = 30.0


def _host(value: Any) -> str:
    text = str(value).strip()
    try:
        normalise_base_url(text)
    except ValueError as err:
        raise vol.Invalid(str(err)) from None
    return text


CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("hosts", default=[]): [_host],
        vol.Optional("discover", default=True): bool,
        vol.Optional("discovery_interval", default=300.0): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        vol.Optional("discovery_port", default=DISCOVER_PORT): vol.All(vol.Coerce(int), vol.Range(min=1, max=65535)),
        vol.Optional("timeout", default=10.0): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        vol.Optional("transcode"): vol.In(TRANSCODE_PROFILES),
    }
)

_RUNTIMES: weakref.WeakKeyDictionary[Any, _Runtime] = weakref.WeakKeyDictionary()


class _Runtime:
    """The plugin on one hub: its entries' discovery loops and every device found."""

    def __init__(self, hub: Any, entries: list[dict[str, Any]]) -> None:
        self.hub = hub
        if not entries:
            conf = getattr(getattr(hub, "config", None), "discovery", None) or {}
            network = bool(conf.get("zeroconf", True) or conf.get("ssdp", True))
            entries = [{**CONFIG_SCHEMA({}), "platform": PLATFORM, "discover": network, "implicit": True}]
        self.entries = entries
        self.tuners: dict[str, HDHomeRunTuner] = {}
        self.owner: dict[str, int] = {}
        self.missed: dict[str, int] = {}
        self.removed: dict[str, str] = {}
        self.udns: dict[str, str] = {}  # SSDP UDN → device id
        self.results: dict[int, DiscoveryResult] = {}
        self.rounds: dict[int, int] = dict.fromkeys(range(len(entries)), 0)
        self._locks = [asyncio.Lock() for _ in entries]
        self._tasks: list[asyncio.Task[Any]] = []
        self._warned_no_dvr = False
        self._unsubscribe = [
            hub.bus.listen(EVENT_DISCOVERY, self._on_ssdp_removed, self._is_our_removal),
            hub.bus.listen(EVENT_HUB_STOP, lambda _event: self.stop_loops()),
        ]

    @property
    def interfaces(self) -> list[str] | None:
        conf = getattr(getattr(self.hub, "config", None), "discovery", None) or {}
        return conf.get("interfaces") or None

    def active(self, index: int) -> bool:
        entry = self.entries[index]
        return bool(entry["discover"] or entry["hosts"])

    # -- loops -----------------------------------------------------------------------------------
    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for index in range(len(self.entries)):
            if self.active(index):
                self._tasks.append(loop.create_task(self._loop(index), name=f"hdhomerun discovery {index}"))

    def stop_loops(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    async def close(self) -> None:
        tasks = list(self._tasks)
        self.stop_loops()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        dvr = getattr(self.hub, "dvr", None)
        for device_id, tuner in list(self.tuners.items()):
            # The DVR closes the tuners it holds when it stops; close those it never got.
            if dvr is None or getattr(dvr, "tuners", {}).get(device_id) is not tuner:
                await tuner.close()

    async def _loop(self, index: int) -> None:
        entry = self.entries[index]
        while True:
            try:
                await self.discover_round(index)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop must go on
                _LOGGER.exception("HDHomeRun discovery round failed")
            delay = entry["discovery_interval"]
            if self._missing_hosts(index):
                delay = min(delay, RETRY_MISSING)
            await asyncio.sleep(delay)

    def _missing_hosts(self, index: int) -> list[str]:
        result = self.results.get(index)
        return [h for h in self.entries[index]["hosts"] if result is None or h in result.errors]

    async def discover_round(self, index: int) -> DiscoveryResult:
        """One discovery round of entry ``index``: find, add or update, and count the misses of
        the devices this entry found before."""
        entry = self.entries[index]
        async with self._locks[index]:
            prober = Prober(hosts=entry["hosts"], broadcast=entry["discover"], port=entry["discovery_port"],
                            timeout=entry["timeout"], interfaces=self.interfaces)
            result = await prober.run()
            for info, udp in result.devices.values():
                self._seen(index, info, udp)
            for label, error in result.errors.items():
                configured = label in entry["hosts"]
                (_LOGGER.warning if configured else _LOGGER.info)("HDHomeRun %s: %s", label, error)
            await self._count_misses(index, set(result.devices))
            self.results[index] = result
            self.rounds[index] = self.rounds.get(index, 0) + 1
            return result

    # -- devices ---------------------------------------------------------------------------------
    def _seen(self, index: int, info: DeviceInfo, udp: DiscoveredDevice | None) -> HDHomeRunTuner:
        tuner = self.tuners.get(info.device_id)
        if tuner is None:
            tuner = HDHomeRunTuner.from_info(self.hub, self.entries[index], info)
            self.tuners[info.device_id] = tuner
            self.owner[info.device_id] = index
            register = True
            _LOGGER.info("found %s (%s, %d tuners%s)", info.label, info.model or "model unknown", tuner.tuner_count,
                         ", legacy" if info.legacy else "")
        else:
            moved = tuner.apply(info)
            register = moved or info.device_id in self.removed
            if info.device_id in self.removed:
                _LOGGER.info("%s answers again", info.label)
        if udp is not None:
            tuner.udp = udp
        self.missed[info.device_id] = 0
        if register:
            self.removed.pop(info.device_id, None)
            self._register(tuner)
        return tuner

    def _register(self, tuner: HDHomeRunTuner) -> None:
        dvr = getattr(self.hub, "dvr", None)
        if dvr is None:
            if not self._warned_no_dvr:
                self._warned_no_dvr = True
                _LOGGER.warning("the hub has no DVR engine (hub.dvr): HDHomeRun tuners are found but not used")
            return
        dvr.add_tuner(tuner)

    async def _remove(self, device_id: str, reason: str) -> None:
        if device_id in self.removed:
            return
        self.removed[device_id] = reason
        _LOGGER.warning("HDHomeRun %s removed: %s", device_id, reason)
        dvr = getattr(self.hub, "dvr", None)
        if dvr is not None:
            await dvr.remove_tuner(device_id, reason)

    async def _count_misses(self, index: int, seen: set[str]) -> None:
        for device_id, tuner in list(self.tuners.items()):
            if self.owner.get(device_id) != index or device_id in seen or device_id in self.removed:
                continue
            try:
                await tuner.refresh()  # UDP may be filtered while HTTP works
            except TunerError as err:
                self.missed[device_id] = self.missed.get(device_id, 0) + 1
                if self.missed[device_id] >= MISSED_ROUNDS:
                    await self._remove(device_id, f"{tuner.name} did not answer {self.missed[device_id]} discovery "
                                                  f"rounds in a row ({err})")
                continue
            self.missed[device_id] = 0

    # -- SSDP --------------------------------------------------------------------------------------
    async def ssdp_found(self, discovery: Any) -> HDHomeRunTuner | None:
        """An SSDP MediaServer from Silicondust: read ``discover.json`` from the announced host
        (the description's origin, then port 80)."""
        candidates: list[str] = []
        location = discovery.ssdp_location or ""
        parts = urlsplit(location)
        if parts.scheme in ("http", "https") and parts.hostname:
            candidates.append(normalise_base_url(location))
        if discovery.host:
            plain = normalise_base_url(discovery.host if ":" not in discovery.host else f"[{discovery.host}]")
            if plain not in candidates:
                candidates.append(plain)
        entry = self.entries[0]
        prober = Prober(broadcast=False, port=entry["discovery_port"], timeout=entry["timeout"])
        errors = []
        for base in candidates:
            try:
                info = await prober.probe(base)
            except TunerError as err:
                errors.append(str(err))
                continue
            self.udns[discovery.unique_id] = info.device_id
            tuner = self._seen(self.owner.get(info.device_id, 0), info, None)
            # The core recorded the SSDP service as a device keyed by its UPnP UDN; the DVR has
            # just registered the same box under its DeviceID. Keep one.
            stale = self.hub.devices.get_by_key(PLATFORM, discovery.unique_id)
            if stale is not None and discovery.unique_id != info.device_id:
                self.hub.devices.remove(stale.id)
            return tuner
        _LOGGER.info("SSDP: %s at %s looks like an HDHomeRun, but its discover.json cannot be read: %s",
                     discovery.friendly_name, location or discovery.host, "; ".join(errors) or "no address")
        return None

    @staticmethod
    def _is_our_removal(event: Any) -> bool:
        return event.data.get("action") == "removed" and PLATFORM in (event.data.get("plugins") or ())

    async def _on_ssdp_removed(self, event: Any) -> None:
        udn = (event.data.get("properties") or {}).get("uuid")
        device_id = self.udns.get(udn or "")
        tuner = self.tuners.get(device_id or "")
        if tuner is None or device_id is None:
            return
        try:
            await tuner.refresh()
        except TunerError as err:
            await self._remove(device_id, f"{tuner.name} left the network (ssdp:byebye) and does not answer ({err})")


def tuners(hub: Any) -> dict[str, HDHomeRunTuner]:
    """DeviceID → the tuners this plugin found on ``hub`` (including removed ones)."""
    runtime = _RUNTIMES.get(hub)
    return dict(runtime.tuners) if runtime else {}


async def discover_now(hub: Any) -> list[DiscoveryResult]:
    """Run a discovery round for every configured entry now (outside the schedule)."""
    runtime = _RUNTIMES.get(hub)
    if runtime is None:
        return []
    return [await runtime.discover_round(i) for i in range(len(runtime.entries)) if runtime.active(i)]


def summary(results: list[DiscoveryResult]) -> dict[str, Any]:
    """Discovery results as JSON: ``{"devices": {id: {"name", "model", "base_url",
    "tuner_count", "legacy"}}, "errors": {host or URL: message}}``."""
    devices: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for result in results:
        for device_id, (info, _udp) in result.devices.items():
            devices[device_id] = {"name": info.name, "model": info.model, "base_url": info.base_url,
                                  "tuner_count": info.tuner_count, "legacy": info.legacy}
        errors.update(result.errors)
    return {"devices": devices, "errors": errors}


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="HDHomeRun network TV tuners (Silicondust), found by UDP discovery, SSDP or address",
        kinds=("tuner",),
        config_schema=CONFIG_SCHEMA,
        ssdp=(SSDP_MATCHER,),
        documentation="https://info.hdhomerun.com/info/http_api",
    )


@hookimpl
def omnimedia_tuners() -> list[type]:
    return [HDHomeRunTuner]


@hookimpl
def omnimedia_setup(hub: Any, entries: list[dict[str, Any]]) -> None:
    old = _RUNTIMES.get(hub)
    if old is not None:  # a retried set-up: start over
        old.stop_loops()
    runtime = _RUNTIMES[hub] = _Runtime(hub, [dict(e) for e in entries])
    runtime.start()

    async def discover(call: Any) -> dict[str, Any]:
        return summary(await discover_now(hub))

    hub.services.register(PLATFORM, "discover", discover, vol.Schema({}),
                          description="Look for HDHomeRun devices now (UDP, configured hosts)")


@hookimpl
async def omnimedia_teardown(hub: Any) -> None:
    runtime = _RUNTIMES.pop(hub, None)
    if runtime is not None:
        await runtime.close()


@hookimpl
async def omnimedia_discovered(hub: Any, discovery: Any) -> None:
    if getattr(discovery, "source", None) != "ssdp":
        return
    runtime = _RUNTIMES.get(hub)
    if runtime is None:
        return
    await runtime.ssdp_found(discovery)
