"""hdhomerun tuner plugin (being written)."""

from __future__ import annotations

from omnimedia.core.plugins import PluginManifest, hookimpl


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(name="hdhomerun", version="0.1.0", description="hdhomerun tuners", kinds=("tuner",))
