"""Google Cast devices (Chromecast, Cast-enabled TVs and speakers), found over mDNS.

Cast devices advertise ``_googlecast._tcp.local.`` with TXT keys ``id`` (the device's UUID, hex),
``fn`` (the name the user gave it), ``md`` (model) and ``ve``/``ca``/``st``/``rs``. Source: Google
Cast device behaviour as read by pychromecast's discovery. Playback control comes later; this
plugin registers the device and its ``media_player`` entity.
"""

from __future__ import annotations

from typing import Any

from omnimedia.core.discovery import DiscoveryInfo, register_media_player
from omnimedia.core.plugins import PluginManifest, hookimpl

PLATFORM = "googlecast"
SERVICE_TYPE = "_googlecast._tcp.local."


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Finds Google Cast devices on the network",
        kinds=("discovery",),
        zeroconf=(SERVICE_TYPE,),
    )


@hookimpl
def omnimedia_discovered(hub: Any, discovery: DiscoveryInfo) -> None:
    props = discovery.properties
    register_media_player(
        hub,
        PLATFORM,
        discovery,
        name=props.get("fn"),
        manufacturer="Google",
        model=props.get("md"),
        attributes={"cast_id": props.get("id")},
    )
