"""Google Cast devices (Chromecast, Cast-enabled TVs and speakers): found over mDNS, played on
with pychromecast.

Cast devices advertise ``_googlecast._tcp.local.`` with TXT keys ``id`` (the device's UUID, hex),
``fn`` (the name the user gave it), ``md`` (model), ``ca`` (capability bits; 1 = video out),
``st`` (1 while an app runs), ``rs`` (the running app's status text) and ``ve``. Source: Google
Cast device behaviour as read by pychromecast's discovery.

For each device found the plugin fills in the device, gives it a ``media_player`` entity and
registers a :class:`~.renderer.GoogleCastRenderer` (protocol ``googlecast``, device profile
``chromecast``) with the casting manager (``hub.casting.add_renderer``). The renderer connects
when it is first used and stays connected; from then on the entity's state follows what the
device reports (``idle``, ``playing``, ``paused``, ``buffering``, ``stopped``, or ``unavailable``
when it cannot be reached) with ``media_title``, ``media_item_id``, ``media_url``,
``media_position``, ``media_duration`` (seconds), ``volume_level`` (0–1) and ``error``
attributes. A device that sends its mDNS goodbye or expires
is removed from the casting manager and disconnected; a device that cannot be reached fails the
commands sent to it and shows ``unavailable``, without affecting the others.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from omnimedia.core.const import EVENT_DISCOVERY
from omnimedia.core.discovery import DiscoveryInfo, register_media_player
from omnimedia.core.plugins import PluginManifest, hookimpl

from .renderer import SERVICE_TYPE, GoogleCastRenderer

_LOGGER = logging.getLogger(__name__)

PLATFORM = "googlecast"

__all__ = ["PLATFORM", "SERVICE_TYPE", "GoogleCastRenderer", "renderers"]


class _Runtime:
    """This plugin's renderers on one hub, by Cast id."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.renderers: dict[str, GoogleCastRenderer] = {}
        self.entity_ids: dict[str, str] = {}
        self.unsubscribe = hub.bus.listen(EVENT_DISCOVERY, self._on_discovery, self._is_removal)

    @staticmethod
    def _is_removal(event: Any) -> bool:
        return event.data.get("action") == "removed" and PLATFORM in (event.data.get("plugins") or ())

    def _zeroconf(self) -> Any:
        """The hub's shared sync ``Zeroconf`` (``None`` when mDNS is off)."""
        discovery = getattr(self.hub, "discovery", None)
        aiozc = getattr(discovery, "zeroconf", None)
        return getattr(aiozc, "zeroconf", None)

    async def found(self, info: DiscoveryInfo, entity_id: str) -> None:
        cast_id = info.unique_id
        self.entity_ids[cast_id] = entity_id
        props = info.properties
        renderer = self.renderers.get(cast_id)
        if renderer is not None:
            if info.host and info.port:
                renderer.update_address(info.host, info.port, props.get("fn") or None)
            self.publish(renderer)
            return
        if not info.host:
            _LOGGER.warning("Cast device %s has no address; not adding it", info.name)
            return
        renderer = GoogleCastRenderer(
            cast_id,
            info.friendly_name,
            info.host,
            port=info.port or 8009,
            service_name=info.name,
            zeroconf=self._zeroconf(),
            model=props.get("md") or None,
            capabilities=props.get("ca") or None,
            on_change=self.publish,
        )
        self.renderers[cast_id] = renderer
        self.hub.casting.add_renderer(renderer)
        self.publish(renderer)

    def publish(self, renderer: GoogleCastRenderer) -> None:
        """Mirror the renderer's pushed state on its ``media_player`` entity."""
        entity_id = self.entity_ids.get(renderer.id)
        if entity_id is None or self.renderers.get(renderer.id) is not renderer:
            return
        old = self.hub.states.get(entity_id)
        status = renderer.current
        attributes = dict(old.attributes) if old else {}
        attributes.update(
            host=renderer.host,
            port=renderer.port,
            media_title=renderer.media_title,
            media_item_id=renderer.media_item_id,
            media_url=status.url,
            media_position=status.position,
            media_duration=status.duration,
            volume_level=status.volume,
            error=status.error,
        )
        self.hub.states.set(entity_id, status.state, attributes)

    async def remove(self, cast_id: str) -> None:
        renderer = self.renderers.pop(cast_id, None)
        if renderer is None:
            return
        try:
            self.hub.casting.remove_renderer(cast_id)
        except Exception:  # noqa: BLE001 - removal must still disconnect
            _LOGGER.exception("casting manager failed to remove %s", renderer.name)
        await renderer.close()

    async def _on_discovery(self, event: Any) -> None:
        fields = {k: v for k, v in event.data.items() if k not in ("action", "plugins")}
        try:
            info = DiscoveryInfo(**fields)
        except TypeError:
            return
        if info.service_type == SERVICE_TYPE:
            await self.remove(info.unique_id)

    async def close(self) -> None:
        self.unsubscribe()
        for cast_id in list(self.renderers):
            await self.remove(cast_id)


_RUNTIMES: weakref.WeakKeyDictionary[Any, _Runtime] = weakref.WeakKeyDictionary()


def renderers(hub: Any) -> dict[str, GoogleCastRenderer]:
    """This plugin's renderers on ``hub``, by Cast id (empty before set-up)."""
    runtime = _RUNTIMES.get(hub)
    return dict(runtime.renderers) if runtime else {}


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.2.0",
        description="Finds Google Cast devices on the network and plays media on them",
        kinds=("discovery",),
        zeroconf=(SERVICE_TYPE,),
    )


@hookimpl
def omnimedia_setup(hub: Any, entries: list[dict[str, Any]]) -> None:
    _RUNTIMES[hub] = _Runtime(hub)


@hookimpl
async def omnimedia_teardown(hub: Any) -> None:
    runtime = _RUNTIMES.pop(hub, None)
    if runtime is not None:
        await runtime.close()


@hookimpl
async def omnimedia_discovered(hub: Any, discovery: DiscoveryInfo) -> None:
    props = discovery.properties
    runtime = _RUNTIMES.get(hub)
    known = runtime.renderers.get(discovery.unique_id) if runtime is not None else None
    entity = hub.entities.get_by_key(PLATFORM, discovery.unique_id)
    device = hub.devices.get_by_key(PLATFORM, discovery.unique_id)
    if runtime is not None and known is not None and known.connected and entity and device:
        # A connected device changed its record (its TXT follows the running app, st/rs): keep
        # the state it reports rather than resetting the entity to idle in between.
        fields = {"name": props.get("fn") or None, "model": props.get("md") or device.model}
        hub.devices.update(device.id, **fields)
        await runtime.found(discovery, entity.entity_id)
        return
    entity = register_media_player(
        hub,
        PLATFORM,
        discovery,
        name=props.get("fn"),
        manufacturer="Google",
        model=props.get("md"),
        attributes={"cast_id": props.get("id")},
    )
    if runtime is not None:
        await runtime.found(discovery, entity.entity_id)
