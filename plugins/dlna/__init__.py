"""DLNA / UPnP media renderers (TVs, speakers, gmediarender): found over SSDP, played on through
AVTransport with async-upnp-client.

The manifest asks the hub's SSDP discovery for ``urn:schemas-upnp-org:device:MediaRenderer:1``
(UPnP MediaRenderer:1 device template). For each renderer found the plugin

1. reads its device description from the SSDP ``LOCATION`` (``UpnpFactory``) and checks it is a
   MediaRenderer with an AVTransport service (``DmrDevice`` profile);
2. fills in the device (manufacturer, model, model number) and gives it a ``media_player``
   entity, whose state then follows what the renderer plays (``playing``, ``paused``,
   ``buffering``, ``idle``, ``unavailable``) with ``media_title``, ``media_position`` and
   ``media_duration`` (seconds) attributes;
3. registers a :class:`~.renderer.DlnaRenderer` (id = the UDN, protocol ``dlna``, device profile
   ``dlna_generic``) with the casting manager (``hub.casting.add_renderer``).

A renderer that says ``ssdp:byebye`` or stops announcing itself is removed from the casting
manager (its device and entity become ``unavailable``); when it comes back it is added again.
The plugin takes no options.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from omnimedia.core.const import EVENT_CAST_STATE, EVENT_DISCOVERY
from omnimedia.core.discovery import DiscoveryInfo, register_media_player
from omnimedia.core.plugins import PluginManifest, hookimpl

_LOGGER = logging.getLogger(__name__)

PLATFORM = "dlna"
MEDIA_RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
#: Seconds one HTTP request to a renderer (description, SOAP action) may take.
REQUEST_TIMEOUT = 10

__all__ = ["MEDIA_RENDERER", "PLATFORM", "renderers"]

_RUNTIMES: weakref.WeakKeyDictionary[Any, _Runtime] = weakref.WeakKeyDictionary()

#: Casting states → ``media_player`` entity states.
_ENTITY_STATES = {"playing": "playing", "paused": "paused", "buffering": "buffering", "unavailable": "unavailable"}


class _Runtime:
    """This plugin's renderers on one hub: UDN → renderer, UDN → entity id."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.renderers: dict[str, Any] = {}
        self.entity_ids: dict[str, str] = {}
        self._unsubscribe = [
            hub.bus.listen(EVENT_DISCOVERY, self._on_removed, self._is_removal),
            hub.bus.listen(EVENT_CAST_STATE, self._on_cast_state, self._is_ours),
        ]

    @staticmethod
    def _is_removal(event: Any) -> bool:
        return event.data.get("action") == "removed" and PLATFORM in (event.data.get("plugins") or ())

    def _is_ours(self, event: Any) -> bool:
        return event.data.get("id") in self.renderers

    async def found(self, info: DiscoveryInfo) -> None:
        from async_upnp_client.aiohttp import AiohttpRequester
        from async_upnp_client.client_factory import UpnpFactory
        from async_upnp_client.profiles.dlna import DmrDevice

        from .renderer import DlnaRenderer

        udn = info.unique_id
        location = info.ssdp_location
        current = self.renderers.get(udn)
        if current is not None and current.location == location and self.hub.casting.get(udn) is current:
            return  # the same renderer answering again; its entity keeps its state
        factory = UpnpFactory(AiohttpRequester(timeout=REQUEST_TIMEOUT), non_strict=True)
        try:
            device = await factory.async_create_device(location)
        except Exception as err:  # noqa: BLE001 - a broken description must not hurt the hub
            _LOGGER.warning("DLNA renderer %s at %s: cannot read its description: %s", info.friendly_name,
                            location, err)
            return
        if not DmrDevice.is_profile_device(device):
            _LOGGER.info("%s at %s is not a usable MediaRenderer", device.friendly_name, location)
            return
        try:
            renderer = DlnaRenderer(device, info.host or "", name=device.friendly_name)
        except Exception as err:  # noqa: BLE001
            _LOGGER.warning("DLNA renderer %s cannot be used: %s", device.friendly_name, err)
            return
        self.renderers[udn] = renderer
        self._register_entity(info, renderer)
        self.hub.casting.add_renderer(renderer)

    def _register_entity(self, info: DiscoveryInfo, renderer: Any) -> None:
        entity = register_media_player(
            self.hub, PLATFORM, info, name=renderer.name, manufacturer=renderer.manufacturer,
            model=renderer.model, sw_version=renderer.device.model_number or None,
            attributes={"location": renderer.location, "udn": renderer.id, "protocol": PLATFORM},
        )
        self.entity_ids[renderer.id] = entity.entity_id

    def _on_removed(self, event: Any) -> None:
        udn = (event.data.get("properties") or {}).get("uuid")
        if udn and self.renderers.pop(udn, None) is not None:
            self.hub.casting.remove_renderer(udn)

    def _on_cast_state(self, event: Any) -> None:
        data = event.data
        entity_id = self.entity_ids.get(data.get("id"))
        if entity_id is None:
            return
        state = self.hub.states.get(entity_id)
        attributes = dict(state.attributes) if state else {}
        attributes.update(
            media_title=data.get("title") or None, media_position=data.get("position"),
            media_duration=data.get("duration"), media_item_id=data.get("item_id"), error=data.get("error"),
        )
        new_state = _ENTITY_STATES.get(data.get("state") or "", "idle")
        if data.get("action") == "removed":
            new_state = "unavailable"
        self.hub.states.set(entity_id, new_state, attributes)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for udn in list(self.renderers):
            self.hub.casting.remove_renderer(udn)
        self.renderers.clear()


def renderers(hub: Any) -> dict[str, Any]:
    """UDN → :class:`~.renderer.DlnaRenderer` this plugin registered on ``hub``."""
    runtime = _RUNTIMES.get(hub)
    return dict(runtime.renderers) if runtime else {}


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Plays media on DLNA / UPnP renderers (TVs, speakers, gmediarender)",
        kinds=("discovery",),
        ssdp=({"st": MEDIA_RENDERER},),
    )


@hookimpl
def omnimedia_setup(hub: Any, entries: list[dict[str, Any]]) -> None:
    if hub not in _RUNTIMES:
        _RUNTIMES[hub] = _Runtime(hub)


@hookimpl
def omnimedia_teardown(hub: Any) -> None:
    runtime = _RUNTIMES.pop(hub, None)
    if runtime is not None:
        runtime.close()


@hookimpl
async def omnimedia_discovered(hub: Any, discovery: DiscoveryInfo) -> None:
    if getattr(discovery, "source", None) != "ssdp" or not discovery.ssdp_location:
        return
    runtime = _RUNTIMES.get(hub)
    if runtime is None:  # discovered before set-up finished: set up now
        runtime = _RUNTIMES[hub] = _Runtime(hub)
    await runtime.found(discovery)
