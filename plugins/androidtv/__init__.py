"""Android TV / Google TV devices, found over mDNS by their remote-control service.

They advertise ``_androidtvremote2._tcp.local.`` (the Android TV Remote protocol v2, port 6466);
the instance name is the TV's name and the TXT record has only ``bt`` (its Bluetooth address), so
the instance name is the device's id. Source: device behaviour as read by the androidtvremote2
project.
"""

from __future__ import annotations

from typing import Any

from omnimedia.core.discovery import DiscoveryInfo, register_media_player
from omnimedia.core.plugins import PluginManifest, hookimpl

PLATFORM = "androidtv"
SERVICE_TYPE = "_androidtvremote2._tcp.local."


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Finds Android TV and Google TV devices on the network",
        kinds=("discovery",),
        zeroconf=(SERVICE_TYPE,),
    )


@hookimpl
def omnimedia_discovered(hub: Any, discovery: DiscoveryInfo) -> None:
    register_media_player(hub, PLATFORM, discovery, name=discovery.instance_name)
