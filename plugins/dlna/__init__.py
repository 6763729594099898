"""DLNA / UPnP media renderers (filled in by the casting work): found over SSDP, driven through
AVTransport with async-upnp-client."""

from __future__ import annotations

from omnimedia.core.plugins import PluginManifest, hookimpl

PLATFORM = "dlna"
MEDIA_RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Plays media on DLNA / UPnP renderers (TVs, speakers, gmediarender)",
        kinds=("discovery",),
        ssdp=({"st": MEDIA_RENDERER},),
    )
