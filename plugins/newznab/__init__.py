"""Newznab indexers: usenet indexers speaking the Newznab API (NZBGeek, nzb.su, DrunkenSlug,
nZEDb/newznab sites, Prowlarr's Newznab endpoints).

Source: the Newznab API specification (v0.4, as published with nZEDb). Each config entry is one
indexer::

    plugins:
      - platform: newznab
        name: nzb.su
        url: https://api.nzb.su
        api_key: !secret nzbsu_key
        categories: [5030, 5040, 2040]   # optional; per-type defaults otherwise
        timeout: 30                      # seconds per request
        priority: 25                     # 1 (preferred) … 50
        api_path: /api                   # appended to url unless it already ends with it

Searching, paging, caps and error handling: :mod:`omnimedia.core.acquisition.newznab`;
reading items: :mod:`omnimedia.core.acquisition.feeds`.
"""

from __future__ import annotations

from omnimedia.core.acquisition.feeds import NEWZNAB_NS
from omnimedia.core.acquisition.newznab import CONFIG_SCHEMA, NewznabFamilyIndexer
from omnimedia.core.plugins import PluginManifest, hookimpl

PLATFORM = "newznab"


class NewznabIndexer(NewznabFamilyIndexer):
    """One Newznab indexer. Releases are ``usenet``: the ``application/x-nzb`` enclosure, with
    size, categories, grabs, languages and flags (``prematch``/``haspretime`` → ``scene``,
    ``nuked``) from ``newznab:attr``."""

    platform = PLATFORM
    protocol = "usenet"
    attr_namespace = NEWZNAB_NS


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Usenet indexers speaking the Newznab API",
        kinds=("indexer",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://github.com/nZEDb/nZEDb/blob/dev/docs/newznab_api_specification.txt",
    )


@hookimpl
def omnimedia_indexers() -> list[type[NewznabIndexer]]:
    return [NewznabIndexer]
