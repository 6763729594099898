"""Plain torrent RSS feeds: a tracker's personal feed, showRSS, ezRSS-style feeds.

There is no search API behind such a feed: :meth:`RssIndexer.rss` reads it, and
:meth:`RssIndexer.search` reads it and keeps the items whose title matches the query. Each config
entry is one feed::

    plugins:
      - platform: rss
        name: My tracker feed
        url: !secret tracker_rss_url   # the URL carries the passkey
        timeout: 30                    # seconds
        priority: 25                   # 1 (preferred) … 50

Trackers put size and swarm numbers in different places; observed in real feeds (Sonarr's
captured fixtures of AlphaRatio, BIT-HDTV, ExtraTorrents, ezRSS, ImmortalSeed, LimeTorrents,
showRSS and speed.cd) and read in this order:

- size: a ``torznab:attr size``; ``<size>`` (bytes, or text "Size: 0.99 GB"); the enclosure
  ``length`` when not 0; ezRSS's ``<torrent><contentLength>``; the description ("Size:
  938.49 MB", else the first number with a unit such as "[ 4.28 GB ]"; binary units);
- seeders / leechers: attributes; ``<seeders>``/``<leechers>`` (a "---" is unknown);
  ``<status>`` ("2 seeders and 0 leechers"); the description ("Seeders: 6 / Leechers: 2",
  "Seeds: 0<br />Leechers: 0");
- info-hash: ``<info_hash>``, ``<showrss:info_hash>``, ``<torrent><infoHash>``, the magnet.

Dates without a zone ("2015-02-06 13:32:26") are taken as UTC.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from omnimedia.core.acquisition.feeds import (
    FeedClient,
    FeedItem,
    build_release,
    parse_feed,
    parse_in_background,
    parse_size,
    parse_swarm_text,
)
from omnimedia.core.acquisition.newznab import http_url
from omnimedia.core.acquisition.types import Release, SearchQuery
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import Indexer

PLATFORM = "rss"

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Required("url"): http_url,
        vol.Optional("timeout", default=30): vol.All(vol.Coerce(float), vol.Range(min=1, max=600)),
        vol.Optional("priority", default=25): vol.All(vol.Coerce(int), vol.Range(min=1, max=50)),
        vol.Optional("enabled", default=True): bool,
    }
)

_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[a-z0-9]+")


def description_text(description: str | None) -> str:
    """An item description as plain text: tags removed (also HTML that was escaped once more
    inside the XML), entities decoded, whitespace kept as single spaces."""
    if not description:
        return ""
    text = description
    for _ in range(2):
        text = _TAG.sub(" ", text)
        if "&" not in text:
            break
        text = html.unescape(text)
    text = _TAG.sub(" ", text)
    return " ".join(text.split())


def enrich_from_description(release: Release, item: FeedItem) -> Release:
    """Fill ``size``, ``seeders``, ``leechers`` and ``peers`` from the description text when the
    feed's elements did not give them."""
    if release.size is not None and release.seeders is not None and release.leechers is not None:
        return release
    text = description_text(item.description)
    if not text:
        return release
    if release.size is None:
        release.size = parse_size(text)
    if release.seeders is None or release.leechers is None:
        seeders, leechers = parse_swarm_text(text)
        if release.seeders is None:
            release.seeders = seeders
        if release.leechers is None:
            release.leechers = leechers
    if release.peers is None and release.seeders is not None and release.leechers is not None:
        release.peers = release.seeders + release.leechers
    return release


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("'", "").replace("&", " and "))


def title_matches(title: str, query: SearchQuery) -> bool:
    """Whether a release title fits ``query``: every word of ``query.q`` (and of ``artist``,
    ``album``, ``author``) appears as a word of the title, in any order; and for TV, the episode:
    ``S01E02`` or ``1x02`` (season alone: ``S01``, ``Season 1`` or ``1x…``), a daily show's date (``2015.08.07``), an
    anime absolute number (``05`` or ``005``)."""
    words = _words(title)
    have = set(words)
    wanted = [w for part in (query.q, query.artist, query.album, query.author) if part for w in _words(part)]
    if any(w not in have for w in wanted):
        return False
    low = title.lower()
    if query.air_date:
        y, _, rest = query.air_date.partition("-")
        m, _, d = rest.partition("-")
        return re.search(rf"{y}[ ._-]?{m}[ ._-]?{d}(?!\d)", low) is not None
    if query.season is not None and query.episode is not None:
        s, e = query.season, query.episode
        return re.search(rf"(?<![a-z0-9])(?:s0*{s}[ ._-]?e0*{e}(?!\d)|0*{s}x0*{e}(?!\d))", low) is not None
    if query.season is not None:
        s = query.season
        return re.search(rf"(?<![a-z0-9])(?:s0*{s}(?!\d)|season[ ._-]?0*{s}(?!\d)|0*{s}x\d)", low) is not None
    if query.absolute_episode is not None:
        n = query.absolute_episode
        return any(w.isdigit() and int(w) == n for w in words)
    return True


class RssIndexer(Indexer):
    """One plain torrent RSS feed (see the module docstring). ``cls(hub, entry)``; ``hub`` may
    be None. Raises :class:`~omnimedia.core.errors.ProviderError` subclasses naming the feed."""

    platform = PLATFORM
    protocol = "torrent"

    def __init__(self, hub: Any, entry: Mapping[str, Any]) -> None:
        super().__init__(hub, entry)
        self.url: str = str(self.entry["url"]).strip()
        self.timeout: float = float(self.entry.get("timeout", 30))
        self.priority: int = int(self.entry.get("priority", 25))
        self.enabled: bool = bool(self.entry.get("enabled", True))
        self._client = FeedClient(self.name, timeout=self.timeout)

    def __repr__(self) -> str:
        return f"<RssIndexer {self.name!r}>"

    async def caps(self) -> dict[str, Any]:
        """A plain feed cannot be searched: no search types, RSS only."""
        return {"search_types": {}, "categories": [], "limits": {"max": 100, "default": 100}, "rss_only": True}

    async def rss(self) -> list[Release]:
        """Every item of the feed, as releases (protocol ``torrent``)."""
        body, final_url = await self._client.get(self.url)
        feed = await parse_in_background(parse_feed, body, name=self.name)
        releases = []
        for item in feed.items:
            release = build_release(
                item, indexer=self.name, protocol=self.protocol, base_url=final_url, priority=self.priority
            )
            if release.download_url:
                releases.append(enrich_from_description(release, item))
        return releases

    async def search(self, query: SearchQuery) -> list[Release]:
        """The feed's items whose title fits ``query`` (:func:`title_matches`), at most
        ``query.limit`` after ``query.offset``."""
        found = [r for r in await self.rss() if title_matches(r.title, query)]
        found = found[query.offset:]
        return found[: query.limit] if query.limit else found

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._client.close()


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Plain torrent RSS feeds (a tracker's feed, showRSS …)",
        kinds=("indexer",),
        config_schema=CONFIG_SCHEMA,
    )


@hookimpl
def omnimedia_indexers() -> list[type[RssIndexer]]:
    return [RssIndexer]
