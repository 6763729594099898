"""The Newznab family of indexer APIs (Newznab for usenet, Torznab for torrents), shared.

:class:`NewznabFamilyIndexer` is the base of the ``newznab`` and ``torznab`` plugins' indexers.
It reads the indexer's caps (``t=caps``), turns a :class:`~.types.SearchQuery` into API requests
(:func:`plan_requests`), follows pagination and reads the answers with :mod:`.feeds`.

How a query becomes requests (sources: the Newznab API spec v0.4, the Torznab 1.3 draft, and
Sonarr's "Implementing a Torznab indexer" page for the id-first behaviour clients use):

- **ids first** — when the caps list an id parameter the query has (``tvdbid``, ``tvmazeid``,
  ``imdbid``, ``tmdbid``, ``rid``; ``imdbid`` is sent as digits, as in the spec's examples),
  the first request uses the ids and no ``q``. When that finds nothing, or the caps support none
  of the ids, the title is sent as ``q``.
- **TV** — ``season``/``ep`` when supported (else folded into ``q`` as ``S01E02``); a daily show
  sends ``season=YYYY&ep=MM/DD``; an anime absolute number is searched the way Sonarr does it:
  ``t=search&q=Title 05`` (then the season/episode request when one is given too).
- **Movies** — ``imdbid``/``tmdbid`` first, then ``q`` (with ``year`` when supported, else the
  year in ``q``). **Music** (``artist``, ``album``) and **books** (``author``, ``title``) use
  their parameters when supported, else ``q``. A search type the caps do not offer falls back to
  ``t=search`` with everything in ``q``.
- **Categories** — the query's own; else the configured ones that belong to the search type
  (5000–5999 TV, 2000–2999 movies, 3000–3999 audio, 7000–8999 books; custom ids ≥ 100000 fit
  all); else the type's standard parent category. ``t=search`` and RSS use the configured
  categories (none: everything).
- **Paging** — the page size is the caps' ``limits max`` (at most the query's ``limit``);
  pages follow ``offset`` until ``newznab:response total`` is reached, a page comes back short
  or adds nothing new, or :attr:`NewznabFamilyIndexer.max_pages` pages were read.

Caps without ``supportedParams`` get :data:`~.feeds.DEFAULT_PARAMS`; a server whose caps cannot be
read (error document, 404, not a ``<caps>``) is searched with :func:`~.feeds.default_caps`.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from yarl import URL

from ..errors import ProviderAuthError, ProviderResponseError
from ..plugins.kinds import Indexer
from .feeds import (
    NEWZNAB_NS,
    Feed,
    FeedClient,
    build_release,
    default_caps,
    parse_caps,
    parse_feed,
    parse_in_background,
)
from .types import SEARCH_TYPES, Release, SearchQuery


def http_url(value: Any) -> str:
    """Voluptuous validator: an ``http://`` or ``https://`` URL with a host."""
    text = str(value).strip()
    parts = urllib.parse.urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise vol.Invalid("expected an http:// or https:// URL")
    return text


#: Config entry keys of the ``newznab`` and ``torznab`` plugins.
CONFIG_SCHEMA = vol.Schema(
    {
        vol.Required("url"): http_url,
        vol.Optional("api_key"): vol.Any(None, vol.Coerce(str)),
        vol.Optional("categories", default=[]): [vol.Coerce(int)],
        vol.Optional("timeout", default=30): vol.All(vol.Coerce(float), vol.Range(min=1, max=600)),
        vol.Optional("priority", default=25): vol.All(vol.Coerce(int), vol.Range(min=1, max=50)),
        vol.Optional("enabled", default=True): bool,
        vol.Optional("api_path", default="/api"): str,
    }
)

#: Newznab category ranges per search type (Newznab spec section 3).
TYPE_CATEGORY_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "tvsearch": ((5000, 5999),),
    "movie": ((2000, 2999),),
    "music": ((3000, 3999),),
    "book": ((7000, 7999), (8000, 8999)),
}
#: The standard parent categories searched when nothing fits (books: 7000 in Torznab, 8000 in Newznab).
TYPE_DEFAULT_CATEGORIES: dict[str, list[int]] = {
    "tvsearch": [5000],
    "movie": [2000],
    "music": [3000],
    "book": [7000, 8000],
}
CUSTOM_CATEGORY_START = 100000

#: ``SearchQuery.ids`` key → request parameter, in the order they are tried, per search type.
TV_IDS = (("tvdbid", "tvdbid"), ("tvmazeid", "tvmazeid"), ("imdbid", "imdbid"), ("tmdbid", "tmdbid"),
          ("tvrageid", "rid"), ("rid", "rid"))
MOVIE_IDS = (("imdbid", "imdbid"), ("tmdbid", "tmdbid"), ("traktid", "traktid"))


def build_api_url(url: str, api_path: str = "/api") -> str:
    """The API endpoint: ``url`` + ``api_path`` (``/api``), unless ``url`` already ends with it.
    A query in ``url`` is kept (some proxies take the key there)."""
    u = URL(url.strip())
    path = u.path.rstrip("/")
    tail = "/" + api_path.strip("/") if api_path and api_path.strip("/") else ""
    if tail and not path.endswith(tail):
        path = path + tail
    return str(u.with_path(path or "/").with_query(u.query))


def _imdb_digits(value: Any) -> str | None:
    digits = str(value).strip().lower().removeprefix("tt")
    if not digits.isdigit() or int(digits) == 0:
        return None
    return digits.zfill(7)


def categories_for(query: SearchQuery, configured: list[int]) -> list[int]:
    """The categories to send for ``query`` (see the module docstring)."""
    if query.categories:
        return list(query.categories)
    ranges = TYPE_CATEGORY_RANGES.get(query.type)
    if ranges is None:
        return list(configured)
    fitting = [c for c in configured if c >= CUSTOM_CATEGORY_START or any(lo <= c <= hi for lo, hi in ranges)]
    return fitting or list(TYPE_DEFAULT_CATEGORIES[query.type])


def _episode_token(query: SearchQuery) -> str:
    if query.air_date:
        return query.air_date.replace("-", " ")
    if query.season is not None and query.episode is not None:
        return f"S{query.season:02d}E{query.episode:02d}"
    if query.season is not None:
        return f"S{query.season:02d}"
    return ""


def _join(*parts: Any) -> str | None:
    text = " ".join(str(p).strip() for p in parts if p is not None and str(p).strip())
    return text or None


def _id_params(query: SearchQuery, supported: list[str], table: tuple[tuple[str, str], ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, param in table:
        if param in out or param not in supported:
            continue
        value = query.ids.get(key)
        if value is None or str(value).strip() in ("", "0"):
            continue
        if param == "imdbid":
            digits = _imdb_digits(value)
            if digits:
                out[param] = digits
        else:
            out[param] = str(value).strip()
    return out


def _fallback_search(cats: list[int], q: str | None) -> list[dict[str, str]]:
    return [_with_cats({"t": "search", "q": q}, cats)] if q else []


def _with_cats(params: dict[str, Any], cats: list[int]) -> dict[str, str]:
    out = {k: str(v) for k, v in params.items() if v is not None and str(v) != ""}
    if cats:
        out["cat"] = ",".join(str(c) for c in cats)
    return out


def plan_requests(query: SearchQuery, caps: Mapping[str, Any], configured_categories: list[int] = ()) -> list[dict[str, str]]:
    """The API requests for ``query`` as query-parameter dicts (without ``apikey``, ``limit``,
    ``offset``), in the order to try: the first that finds anything wins; an empty list means
    there is nothing to search for. See the module docstring for the rules.

    Raises :class:`ValueError` for an unknown ``query.type``.
    """
    if query.type not in SEARCH_TYPES:
        raise ValueError(f"unknown search type {query.type!r}; expected one of {', '.join(SEARCH_TYPES)}")
    types: Mapping[str, list[str]] = caps.get("search_types") or {}
    cats = categories_for(query, list(configured_categories))
    kind = query.type

    if kind == "search":
        return [_with_cats({"t": "search", "q": query.q}, cats)]

    if kind == "tvsearch":
        plans: list[dict[str, str]] = []
        if query.absolute_episode is not None and not query.air_date:
            title = query.q
            if title:
                plans.append(_with_cats({"t": "search", "q": f"{title} {query.absolute_episode:02d}"}, cats))
            if query.season is None or query.episode is None:
                return plans
        supported = types.get("tvsearch")
        if supported is None:
            return plans + _fallback_search(cats, _join(query.q, _episode_token(query)))
        episode: dict[str, str] = {}
        folded = ""
        if query.air_date:
            year, _, month_day = query.air_date.partition("-")
            if "season" in supported and "ep" in supported:
                episode = {"season": year, "ep": month_day.replace("-", "/")}
            else:
                folded = _episode_token(query)
        elif query.season is not None:
            if "season" in supported and (query.episode is None or "ep" in supported):
                episode = {"season": str(query.season)}
                if query.episode is not None:
                    episode["ep"] = str(query.episode)
            else:
                folded = _episode_token(query)
        ids = _id_params(query, supported, TV_IDS)
        if ids:
            plans.append(_with_cats({"t": "tvsearch", **ids, **episode}, cats))
            if folded:  # the episode could not be expressed as parameters: let q carry it too
                plans[-1]["q"] = folded
        if query.q:
            if "q" in supported:
                plans.append(_with_cats({"t": "tvsearch", "q": _join(query.q, folded), **episode}, cats))
            else:
                plans += _fallback_search(cats, _join(query.q, _episode_token(query)))
        return plans

    if kind == "movie":
        supported = types.get("movie")
        if supported is None:
            return _fallback_search(cats, _join(query.q, query.year))
        plans = []
        ids = _id_params(query, supported, MOVIE_IDS)
        if ids:
            plans.append(_with_cats({"t": "movie", **ids}, cats))
        if query.q:
            if "q" in supported:
                if "year" in supported and query.year:
                    plans.append(_with_cats({"t": "movie", "q": query.q, "year": query.year}, cats))
                else:
                    plans.append(_with_cats({"t": "movie", "q": _join(query.q, query.year)}, cats))
            else:
                plans += _fallback_search(cats, _join(query.q, query.year))
        return plans

    if kind == "music":
        supported = types.get("music")
        everything = _join(query.artist, query.album, query.q)
        if supported is None:
            return _fallback_search(cats, everything)
        params: dict[str, Any] = {"t": "music"}
        rest = []
        for field, value in (("artist", query.artist), ("album", query.album)):
            if value and field in supported:
                params[field] = value
            elif value:
                rest.append(value)
        if query.year and "year" in supported:
            params["year"] = query.year
        q = _join(*rest, query.q)
        if q and "q" in supported:
            params["q"] = q
        elif q:
            return _fallback_search(cats, everything)
        return [_with_cats(params, cats)] if len(params) > 1 else []

    # book
    supported = types.get("book")
    everything = _join(query.author, query.q)
    if supported is None:
        return _fallback_search(cats, everything)
    params = {"t": "book"}
    rest = []
    if query.author and "author" in supported:
        params["author"] = query.author
    elif query.author:
        rest.append(query.author)
    if query.q and "title" in supported:
        params["title"] = query.q
    elif query.q:
        rest.append(query.q)
    q = _join(*rest)
    if q and "q" in supported:
        params["q"] = q
    elif q:
        return _fallback_search(cats, everything)
    return [_with_cats(params, cats)] if len(params) > 1 else []


class NewznabFamilyIndexer(Indexer):
    """Base of the Newznab and Torznab indexers. Built as ``cls(hub, entry)`` with an entry of
    :data:`CONFIG_SCHEMA` (``hub`` may be None: nothing here needs it).

    Subclasses set :attr:`protocol` and :attr:`attr_namespace` (whose ``…:attr`` elements win
    when an item has both). Every method raises :class:`~omnimedia.core.errors.ProviderError`
    subclasses naming the indexer (see :class:`~.feeds.FeedClient` and
    :func:`~.feeds.parse_document`).
    """

    protocol = "usenet"
    attr_namespace = NEWZNAB_NS
    #: Pages read at most for one request (each of ``limits max`` items).
    max_pages = 10
    #: Results returned at most when the query sets no ``limit``.
    max_results = 1000
    #: Caps are read again after this many seconds (and after a failure to read them).
    caps_ttl = 24 * 3600.0

    def __init__(self, hub: Any, entry: Mapping[str, Any]) -> None:
        super().__init__(hub, entry)
        self.url: str = str(self.entry["url"]).strip()
        self.api_key: str | None = self.entry.get("api_key") or None
        self.categories: list[int] = [int(c) for c in self.entry.get("categories") or []]
        self.timeout: float = float(self.entry.get("timeout", 30))
        self.priority: int = int(self.entry.get("priority", 25))
        self.enabled: bool = bool(self.entry.get("enabled", True))
        self.api_path: str = self.entry.get("api_path", "/api")
        self.api_url = build_api_url(self.url, self.api_path)
        self._client = FeedClient(self.name, timeout=self.timeout)
        self._caps: dict[str, Any] | None = None
        self._caps_read_at = 0.0
        self._caps_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.api_url}>"

    # -- HTTP -------------------------------------------------------------------------------
    def request_url(self, params: Mapping[str, str]) -> str:
        """The full API URL for ``params`` (with the API key)."""
        query = dict(params)
        if self.api_key:
            query["apikey"] = self.api_key
        return str(URL(self.api_url).update_query(query))

    async def _fetch_feed(self, params: Mapping[str, str]) -> tuple[Feed, str]:
        body, final_url = await self._client.get(self.request_url(params))
        feed = await parse_in_background(parse_feed, body, name=self.name, prefer=self.attr_namespace)
        return feed, final_url

    def _release(self, item: Any, base_url: str) -> Release:
        return build_release(
            item, indexer=self.name, protocol=self.protocol, base_url=base_url, priority=self.priority
        )

    # -- caps -------------------------------------------------------------------------------
    async def caps(self) -> dict[str, Any]:
        """The indexer's caps (see :func:`~.feeds.read_caps`), read once and kept for
        :attr:`caps_ttl` seconds. When the caps document cannot be read (an error document
        other than a credentials error, HTTP 404, not a ``<caps>``) the spec's defaults are
        used, with ``"defaults_used": True``, and tried again after an hour. Raises
        :class:`ProviderAuthError`, ``ProviderRateLimited`` and ``ProviderUnavailable``."""
        async with self._caps_lock:
            now = time.monotonic()
            if self._caps is not None and now - self._caps_read_at < self.caps_ttl:
                return self._caps
            try:
                body, _ = await self._client.get(self.request_url({"t": "caps"}))
                caps = parse_caps(body, name=self.name)
                read_at = now
            except ProviderAuthError:
                raise
            except ProviderResponseError:
                caps = default_caps()
                read_at = now - self.caps_ttl + 3600.0
            self._caps, self._caps_read_at = caps, read_at
            return caps

    def page_size(self, caps: Mapping[str, Any], limit: int | None = None) -> int:
        """Items to ask for per page: the caps' ``limits max``, at most ``limit``."""
        limits = caps.get("limits") or {}
        size = int(limits.get("max") or limits.get("default") or 100)
        if limit:
            size = min(size, int(limit))
        return max(1, size)

    # -- search -----------------------------------------------------------------------------
    async def search(self, query: SearchQuery) -> list[Release]:
        """Run ``query``: the requests of :func:`plan_requests` in order until one finds
        releases, each followed through its pages up to ``query.limit`` results (else
        :attr:`max_results`). Returns ``[]`` when the query has nothing to search for."""
        caps = await self.caps()
        plans = plan_requests(query, caps, self.categories)
        for params in plans:
            releases = await self._paged(params, caps, limit=query.limit, offset=query.offset)
            if releases:
                return releases
        return []

    async def rss(self) -> list[Release]:
        """The newest releases: one page of ``t=search`` with no ``q`` in the configured
        categories (the Newznab RSS-sync request), asking for ``limits max`` items and keeping
        all the server sends."""
        caps = await self.caps()
        params = _with_cats({"t": "search"}, self.categories)
        return await self._paged(params, caps, limit=None, offset=0, pages=1)

    async def _paged(
        self,
        params: Mapping[str, str],
        caps: Mapping[str, Any],
        *,
        limit: int | None,
        offset: int = 0,
        pages: int | None = None,
    ) -> list[Release]:
        target = int(limit) if limit else self.max_results
        size = self.page_size(caps)
        max_pages = pages or self.max_pages
        releases: list[Release] = []
        seen: set[str] = set()
        for _ in range(max_pages):
            want = min(size, target - len(releases))
            if want <= 0:
                break
            page = {**params, "extended": "1", "limit": str(want), "offset": str(offset)}
            feed, final_url = await self._fetch_feed(page)
            fresh = 0
            for item in feed.items:
                release = self._release(item, final_url)
                key = release.guid or release.download_url or release.title
                if key in seen:
                    continue
                seen.add(key)
                releases.append(release)
                fresh += 1
            if not feed.items or fresh == 0 or len(releases) >= target:
                break
            start = feed.offset if feed.offset is not None else offset
            if feed.total is not None:
                if start + len(feed.items) >= feed.total:
                    break
            elif len(feed.items) < want:
                break
            offset = start + len(feed.items)
        return releases[:target]

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._client.close()
