"""IPTV tuners: M3U/M3U8 channel playlists as tuner devices for the DVR and live TV.

Each ``platform: iptv`` entry becomes one :class:`~.tuner.IptvTuner` (device id
``iptv-<name slug>``) registered with ``hub.dvr.add_tuner``. Configuration::

    plugins:
      - platform: iptv
        name: My provider            # device name; default: the playlist's host or file name
        playlist: http://provider.example/get.php?username=u&password=p&type=m3u_plus
                                     # or a file, relative to the config folder
        max_streams: 2               # streams the provider allows at once (default 1)
        channel_start: 1             # first number for entries without tvg-chno
        refresh: 24                  # hours between playlist reloads (0: load once)
        timeout: 15                  # seconds: connect, each read, first bytes of a stream
        user_agent: VLC/3.0.18 LibVLC/3.0.18   # for the playlist and every stream
        headers: {Referer: http://provider.example/}
        include_groups: [News, Sports]         # keep only these group-titles
        exclude_groups: [Adult]                # drop these

A playlist that cannot be loaded does not stop the plugin: the device is still registered and
its ``lineup()`` raises ``TunerUnavailable`` naming the cause (shown by the DVR), and the next
lineup request tries again. See docs/iptv.md.
"""

from __future__ import annotations

import logging
from typing import Any

import voluptuous as vol

from omnimedia.core.plugins import PluginManifest, hookimpl

from .tuner import (
    DEFAULT_MAX_STREAMS,
    DEFAULT_REFRESH,
    DEFAULT_TIMEOUT,
    PLATFORM,
    IptvTuner,
    default_name,
    slugify,
)

__all__ = ["CONFIG_SCHEMA", "IptvTuner", "build_tuners"]

_LOGGER = logging.getLogger(__name__)


def _playlist(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise vol.Invalid("give a playlist file (relative to the config folder) or an http(s) URL")
    return text


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise vol.Invalid("expected a mapping of header name to value, e.g. {Referer: http://example.com/}")
    out: dict[str, str] = {}
    for key, item in value.items():
        name = str(key).strip()
        if not name or any(c in name for c in ":\r\n ") or any(c in str(item) for c in "\r\n"):
            raise vol.Invalid(f"bad HTTP header {key!r}: names have no spaces or ':', values no line breaks")
        out[name] = str(item)
    return out


CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): str,
        vol.Required("playlist"): _playlist,
        vol.Optional("max_streams", default=DEFAULT_MAX_STREAMS): vol.All(vol.Coerce(int), vol.Range(min=1, max=100)),
        vol.Optional("channel_start", default=1): vol.All(vol.Coerce(int), vol.Range(min=1)),
        vol.Optional("refresh", default=DEFAULT_REFRESH): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional("timeout", default=DEFAULT_TIMEOUT): vol.All(vol.Coerce(float), vol.Range(min=1, max=300)),
        vol.Optional("user_agent"): vol.Any(None, str),
        vol.Optional("headers", default={}): _headers,
        vol.Optional("include_groups", default=[]): [vol.Coerce(str)],
        vol.Optional("exclude_groups", default=[]): [vol.Coerce(str)],
    }
)

#: id(hub) → the tuners this plugin built for it (closed at teardown)
_BUILT: dict[int, list[IptvTuner]] = {}


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="1.0.0",
        description="IPTV tuners from M3U/M3U8 playlists (HTTP MPEG-TS and HLS streams)",
        kinds=("tuner",),
        config_schema=CONFIG_SCHEMA,
    )


def build_tuners(hub: Any, entries: list[dict[str, Any]]) -> list[IptvTuner]:
    """One :class:`IptvTuner` per entry. Names (default: the playlist's host or file name) and
    device ids are made unique among the entries (" 2", "-2" …)."""
    tuners: list[IptvTuner] = []
    names: set[str] = set()
    ids: set[str] = set()
    for entry in entries:
        entry = dict(entry)
        base = entry.get("name") or default_name(str(entry["playlist"]))
        name, n = base, 2
        while name in names:
            name, n = f"{base} {n}", n + 1
        names.add(name)
        device_id, n = f"iptv-{slugify(name)}", 2
        while device_id in ids:
            device_id, n = f"iptv-{slugify(name)}-{n}", n + 1
        ids.add(device_id)
        entry.update(name=name, device_id=device_id)
        tuners.append(IptvTuner(hub, entry))
    return tuners


@hookimpl
def omnimedia_setup(hub: Any, entries: list[dict[str, Any]]) -> None:
    """Register one tuner device per entry with ``hub.dvr``. Playlists are loaded later, on
    the first ``lineup()``, so an unreachable provider never fails the set-up."""
    if not entries:
        return
    dvr = getattr(hub, "dvr", None)
    if dvr is None:
        raise RuntimeError("the hub has no DVR engine (hub.dvr) to register IPTV tuners with")
    tuners = build_tuners(hub, entries)
    for tuner in tuners:
        dvr.add_tuner(tuner)
        _LOGGER.info("iptv: %s (%s) with %d stream(s) from %s", tuner.name, tuner.device_id,
                     tuner.tuner_count, tuner.source_label)
    _BUILT.setdefault(id(hub), []).extend(tuners)


@hookimpl
async def omnimedia_teardown(hub: Any) -> None:
    """Close the tuners' open streams and HTTP clients (idempotent with the DVR's own close)."""
    for tuner in _BUILT.pop(id(hub), []):
        try:
            await tuner.close()
        except Exception:  # noqa: BLE001 - one tuner must not keep the others open
            _LOGGER.exception("iptv: closing %s failed", tuner.device_id)


@hookimpl
def omnimedia_tuners() -> list[type[IptvTuner]]:
    return [IptvTuner]
