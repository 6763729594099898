"""Torznab indexers: torrent trackers behind the Newznab-style Torznab API (Jackett, Prowlarr,
trackers with a native Torznab endpoint).

Source: the Torznab spec (torznab.github.io, v1.0 and the 1.3 draft). Each config entry is one
indexer::

    plugins:
      - platform: torznab
        name: My tracker
        url: http://127.0.0.1:9117/api/v2.0/indexers/mytracker/results/torznab
        api_key: !secret jackett_key
        categories: [5000, 2000]   # optional; per-type defaults otherwise
        timeout: 30                # seconds per request
        priority: 25               # 1 (preferred) … 50
        api_path: /api             # appended to url unless it already ends with it

Searching, paging, caps and error handling: :mod:`omnimedia.core.acquisition.newznab`;
reading items (enclosure choice, magnets, seeders/peers, volume factors): :mod:`omnimedia.core.acquisition.feeds`.
"""

from __future__ import annotations

from omnimedia.core.acquisition.feeds import TORZNAB_NS
from omnimedia.core.acquisition.newznab import CONFIG_SCHEMA, NewznabFamilyIndexer
from omnimedia.core.plugins import PluginManifest, hookimpl

PLATFORM = "torznab"


class TorznabIndexer(NewznabFamilyIndexer):
    """One Torznab indexer. Releases are ``torrent``: the ``application/x-bittorrent`` enclosure
    (a .torrent URL or a magnet URI), with info-hash, seeders, peers and volume factors when
    the feed gives them. ``torznab:attr`` wins over ``newznab:attr`` when an item has both."""

    platform = PLATFORM
    protocol = "torrent"
    attr_namespace = TORZNAB_NS


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Torrent indexers speaking the Torznab API (Jackett, Prowlarr, trackers)",
        kinds=("indexer",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://torznab.github.io/spec-1.3-draft/",
    )


@hookimpl
def omnimedia_indexers() -> list[type[TorznabIndexer]]:
    return [TorznabIndexer]
