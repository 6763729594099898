"""The hooks a plugin can implement (pluggy, project name ``omnimedia``).

Every hook here is documented in ``docs/plugins.md`` with its signature, arguments, return value
and an example; ``tests/test_plugin_docs.py`` fails when one is missing there.

Hooks *declare* things and set them up. Per-event work goes through the event bus, and the runtime
work of each kind is done by the async provider classes in :mod:`omnimedia.core.plugins.kinds`.
Hooks that set up or tear down may return an awaitable; the hub awaits it.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "omnimedia"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def omnimedia_manifest() -> Any:
    """Return this plugin's :class:`~omnimedia.core.plugins.PluginManifest`."""


@hookspec
def omnimedia_setup(hub: Any, entries: list[dict[str, Any]]) -> Any:
    """Set the plugin up. ``entries`` are its validated config entries (possibly empty).
    May return an awaitable. Raise ``PluginNotReady`` to be retried with backoff; any other
    exception marks the plugin ``failed``."""


@hookspec
def omnimedia_teardown(hub: Any) -> Any:
    """Release what setup acquired. May return an awaitable. Called once when the hub stops."""


@hookspec
def omnimedia_discovered(hub: Any, discovery: Any) -> Any:
    """A service matching this plugin's manifest (zeroconf type or SSDP matcher) appeared or
    changed. ``discovery`` is a :class:`~omnimedia.core.discovery.DiscoveryInfo`. May return an
    awaitable."""


@hookspec
def omnimedia_indexers() -> Any:
    """Return a list of :class:`~omnimedia.core.plugins.kinds.Indexer` subclasses."""


@hookspec
def omnimedia_downloaders() -> Any:
    """Return a list of :class:`~omnimedia.core.plugins.kinds.Downloader` subclasses."""


@hookspec
def omnimedia_storage_providers() -> Any:
    """Return a list of :class:`~omnimedia.core.plugins.kinds.StorageProvider` subclasses."""


@hookspec
def omnimedia_tuners() -> Any:
    """Return a list of :class:`~omnimedia.core.plugins.kinds.Tuner` subclasses."""


@hookspec
def omnimedia_transcoders() -> Any:
    """Return a list of :class:`~omnimedia.core.plugins.kinds.Transcoder` subclasses."""


@hookspec
def omnimedia_ai_backends() -> Any:
    """Return a list of :class:`~omnimedia.core.plugins.kinds.AIBackend` subclasses."""


@hookspec
def omnimedia_metadata_providers() -> Any:
    """Return a list of :class:`~omnimedia.core.plugins.kinds.MetadataProvider` subclasses."""


#: provider hook name → kind name
PROVIDER_HOOKS = {
    "omnimedia_indexers": "indexer",
    "omnimedia_downloaders": "downloader",
    "omnimedia_storage_providers": "storage_provider",
    "omnimedia_tuners": "tuner",
    "omnimedia_transcoders": "transcoder",
    "omnimedia_ai_backends": "ai_backend",
    "omnimedia_metadata_providers": "metadata_provider",
}
