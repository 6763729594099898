"""AirPlay receivers (Apple TV, AirPlay speakers and TVs), found over mDNS.

AirPlay receivers advertise ``_airplay._tcp.local.``; the instance name is the receiver's name and
the TXT record carries ``deviceid`` (a MAC address, stable), ``model`` (``AppleTV6,2``…),
``srcvers`` (AirPlay version) and ``features``. Source: AirPlay device behaviour as documented by
the pyatv project.
"""

from __future__ import annotations

from typing import Any

from omnimedia.core.discovery import DiscoveryInfo, register_media_player
from omnimedia.core.plugins import PluginManifest, hookimpl

PLATFORM = "airplay"
SERVICE_TYPE = "_airplay._tcp.local."


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Finds AirPlay receivers on the network",
        kinds=("discovery",),
        zeroconf=(SERVICE_TYPE,),
    )


@hookimpl
def omnimedia_discovered(hub: Any, discovery: DiscoveryInfo) -> None:
    props = discovery.properties
    model = props.get("model")
    register_media_player(
        hub,
        PLATFORM,
        discovery,
        name=discovery.instance_name,
        manufacturer="Apple" if model and model.startswith(("AppleTV", "AudioAccessory")) else None,
        model=model,
        sw_version=props.get("srcvers"),
        attributes={"deviceid": props.get("deviceid")},
    )
