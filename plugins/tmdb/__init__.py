"""TMDB (The Movie Database) metadata provider: titles, years, episode lists and air dates.

Speaks TMDB's v3 JSON API (source: developer.themoviedb.org, API reference v3):

- ``GET /3/search/tv?query=&first_air_date_year=`` and ``GET /3/search/movie?query=&year=`` for
  :meth:`TmdbProvider.search` (first page, 20 results, in TMDB's own relevance order);
- ``GET /3/tv/{id}?append_to_response=external_ids`` for a series, then
  ``GET /3/tv/{id}/season/{n}`` for each season it lists, for the episodes;
- ``GET /3/movie/{id}?append_to_response=external_ids`` for a movie.

Authentication (source: developer.themoviedb.org "Authentication"): a v3 API key is sent as the
``api_key`` query parameter; a v4 "API Read Access Token" as ``Authorization: Bearer <token>``.
Configure one of them (``api_key`` or ``access_token``), preferably through ``!secret``; when
both are set the access token is used.

Errors (source: developer.themoviedb.org "Errors"; every error body is
``{"status_code": int, "status_message": str, "success": false}``):

- HTTP 401 (TMDB codes 3 "Authentication failed", 7 "Invalid API key", 10 "Suspended API key")
  and 403 → :class:`~omnimedia.core.errors.ProviderAuthError`;
- HTTP 404 (code 34 "The resource you requested could not be found") →
  :class:`~omnimedia.core.errors.ProviderResponseError` ("unknown id");
- HTTP 429 (code 25 "Your request count (#) is over the allowed limit") →
  :class:`~omnimedia.core.errors.ProviderRateLimited` with ``retry_after`` from ``Retry-After``;
- connection refused, DNS failure, timeout, HTTP 5xx (codes 9, 11, 24, 43, 46) or an HTML page
  instead of JSON → :class:`~omnimedia.core.errors.ProviderUnavailable`;
- any other 4xx, or JSON that is malformed / lacks required fields →
  :class:`~omnimedia.core.errors.ProviderResponseError`.

Every message starts with ``TMDB`` (and the entry's ``name`` when it has one). The API key never
appears in a message or in the log.

**Absolute episode numbers.** TMDB has no absolute numbering of its own (TheTVDB has). For anime,
whose releases are often numbered absolutely, this provider numbers the episodes of the regular
seasons (season 1 and up; season 0, "Specials", is left out and gets ``None``) consecutively in
season order, then episode order: S01E01 is 1, the first episode of season 2 follows the last of
season 1, and so on. This matches a release's absolute number whenever TMDB's seasons follow the
broadcast order without gaps, which is TMDB's editing rule for seasons
(themoviedb.org/bible/tv: "reproduce the seasons exactly as they first aired").

**Air dates** are TMDB's ``air_date`` strings ("YYYY-MM-DD"): the date of the first broadcast in
the country of origin, as TMDB records it (no time, no time zone). Empty or null dates become
``None``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import voluptuous as vol

from omnimedia.core import __version__
from omnimedia.core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import MetadataProvider

_LOGGER = logging.getLogger(__name__)

PLATFORM = "tmdb"
DEFAULT_BASE_URL = "https://api.themoviedb.org"
DEFAULT_LANGUAGE = "en-US"
#: seconds for one HTTP request (connect + read)
DEFAULT_TIMEOUT = 20.0
#: season requests in flight at once while reading a series' episodes (TMDB allows about 40-50
#: requests per second per key; source: developer.themoviedb.org "Rate Limiting")
SEASON_CONCURRENCY = 4
MEDIA_TYPES = ("series", "movie")


def _base_url(value: Any) -> str:
    value = str(value).strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise vol.Invalid("expected an http:// or https:// URL")
    return value


class _OneOf(vol.Any):
    """A required key that may be spelt one of several ways; shown as ``a or b`` in errors."""

    def __repr__(self) -> str:
        return " or ".join(map(str, self.validators))


_SECRET = vol.All(str, vol.Length(min=1))

#: One entry of ``plugins: - platform: tmdb``. One of ``api_key`` (v3) or ``access_token`` (v4
#: read access token) is required.
CONFIG_SCHEMA = vol.Schema(
    {
        # the message makes the hub's config errors read "required key '… api_key or access_token' is missing"
        vol.Required(_OneOf("api_key", "access_token"), msg="required key not provided"): _SECRET,
        vol.Optional("language", default=DEFAULT_LANGUAGE): vol.All(str, vol.Length(min=2)),
        vol.Optional("base_url", default=DEFAULT_BASE_URL): _base_url,
        vol.Optional("timeout", default=DEFAULT_TIMEOUT): vol.All(vol.Coerce(float), vol.Range(min=1, max=300)),
    }
)


def _date(value: Any) -> str | None:
    """TMDB dates are "YYYY-MM-DD"; unknown ones come as "" or null."""
    return value if isinstance(value, str) and len(value) >= 10 else None


def _year(value: Any) -> int | None:
    date = _date(value)
    return int(date[:4]) if date and date[:4].isdigit() else None


def _retry_after(value: str | None) -> float | None:
    """``Retry-After``: delta-seconds or an HTTP date (RFC 9110 §10.2.3) → seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class TmdbProvider(MetadataProvider):
    """One configured TMDB account. See the module docstring for the endpoints and errors.

    Returned ids are strings: ``id`` is the TMDB id; ``ids`` holds ``tmdbid`` and, in
    :meth:`details`, ``tvdbid`` and ``imdbid`` (``tt…``) when TMDB knows them.
    """

    platform = PLATFORM

    def __init__(self, hub: Any, entry: Mapping[str, Any]) -> None:
        super().__init__(hub, entry)
        self.base_url = _base_url(self.entry.get("base_url") or DEFAULT_BASE_URL)
        self.language: str = self.entry.get("language") or DEFAULT_LANGUAGE
        self.timeout = float(self.entry.get("timeout") or DEFAULT_TIMEOUT)
        self._api_key: str | None = self.entry.get("api_key") or None
        self._access_token: str | None = self.entry.get("access_token") or None
        self._label = "TMDB" if self.name == PLATFORM else f"TMDB '{self.name}'"
        self._session: aiohttp.ClientSession | None = None

    # -- public API -----------------------------------------------------------------------------
    async def search(self, title: str, *, media_type: str, year: int | None = None) -> list[dict[str, Any]]:
        """Candidates for ``title``, best first (TMDB's order), from the first page of results.

        ``media_type`` is ``series`` (``/3/search/tv``; ``year`` filters on the first air date)
        or ``movie`` (``/3/search/movie``; ``year`` filters on the release year). Each candidate:
        ``{"id", "title", "original_title", "year", "media_type", "overview", "ids": {"tmdbid"}}``
        (search results carry no external ids; :meth:`details` has them).
        """
        self._check_media_type(media_type)
        if not title or not title.strip():
            return []
        params: dict[str, Any] = {"query": title.strip(), "include_adult": "false", "page": 1}
        if media_type == "series":
            if year:
                params["first_air_date_year"] = int(year)
            data = await self._get("/3/search/tv", params)
        else:
            if year:
                params["year"] = int(year)
            data = await self._get("/3/search/movie", params)
        results = data.get("results")
        if not isinstance(results, list):
            raise ProviderResponseError(f"{self._label}: search answer has no 'results' list")
        return [self._summary(r, media_type) for r in results if isinstance(r, dict) and "id" in r]

    async def details(self, provider_id: str, *, media_type: str) -> dict[str, Any]:
        """One title in full: the :meth:`search` fields with external ids, plus ``runtime``
        (minutes or ``None``), ``status`` (TMDB's: "Returning Series", "Ended", "Released" …),
        ``air_date`` (first air / release date) and, for series, ``seasons``
        (``[{"season", "title", "episode_count", "air_date"}]``) and ``episodes``
        (``[{"season", "episode", "title", "air_date", "absolute_episode", "runtime",
        "overview"}]`` in season, then episode order; see the module docstring for the
        absolute numbers). A series' ``runtime`` is TMDB's ``episode_run_time`` or, when that is
        empty, the median of its episodes' runtimes.

        Raises ``ProviderResponseError`` for an unknown id (TMDB 404) or a non-numeric one.
        """
        self._check_media_type(media_type)
        tmdb_id = str(provider_id).strip()
        if not tmdb_id.isdigit():
            raise ProviderResponseError(f"{self._label}: unknown id {provider_id!r} (TMDB ids are numbers)")
        if media_type == "movie":
            return self._movie(await self._get(f"/3/movie/{tmdb_id}", {"append_to_response": "external_ids"}))
        show = await self._get(f"/3/tv/{tmdb_id}", {"append_to_response": "external_ids"})
        return await self._series(tmdb_id, show)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- mapping --------------------------------------------------------------------------------
    def _summary(self, item: Mapping[str, Any], media_type: str) -> dict[str, Any]:
        if media_type == "series":
            title, original, date = item.get("name"), item.get("original_name"), item.get("first_air_date")
        else:
            title, original, date = item.get("title"), item.get("original_title"), item.get("release_date")
        if not isinstance(title, str) or item.get("id") is None:
            raise ProviderResponseError(f"{self._label}: a {media_type} in the answer has no id or title")
        return {
            "id": str(item["id"]),
            "title": title,
            "original_title": original if isinstance(original, str) else title,
            "year": _year(date),
            "media_type": media_type,
            "overview": item.get("overview") or "",
            "ids": {"tmdbid": str(item["id"])},
        }

    def _ids(self, data: Mapping[str, Any]) -> dict[str, str]:
        ids = {"tmdbid": str(data["id"])}
        external = data.get("external_ids") if isinstance(data.get("external_ids"), dict) else {}
        tvdb = external.get("tvdb_id")
        if tvdb:
            ids["tvdbid"] = str(tvdb)
        imdb = external.get("imdb_id") or data.get("imdb_id")
        if isinstance(imdb, str) and imdb:
            ids["imdbid"] = imdb
        return ids

    def _movie(self, data: Mapping[str, Any]) -> dict[str, Any]:
        out = self._summary(data, "movie")
        runtime = data.get("runtime")
        out.update(
            ids=self._ids(data),
            runtime=runtime if isinstance(runtime, int | float) and runtime > 0 else None,
            status=data.get("status"),
            air_date=_date(data.get("release_date")),
        )
        return out

    async def _series(self, tmdb_id: str, show: Mapping[str, Any]) -> dict[str, Any]:
        out = self._summary(show, "series")
        raw_seasons = show.get("seasons")
        if not isinstance(raw_seasons, list):
            raise ProviderResponseError(f"{self._label}: series {tmdb_id} has no 'seasons' list")
        seasons = sorted(
            (s for s in raw_seasons if isinstance(s, dict) and isinstance(s.get("season_number"), int)),
            key=lambda s: s["season_number"],
        )
        limit = asyncio.Semaphore(SEASON_CONCURRENCY)

        async def one(number: int) -> Mapping[str, Any]:
            async with limit:
                return await self._get(f"/3/tv/{tmdb_id}/season/{number}", {}, what=f"season {number}")

        answers = await asyncio.gather(*(one(s["season_number"]) for s in seasons), return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        episodes: list[dict[str, Any]] = []
        absolute = 0
        for season, answer in zip(seasons, answers, strict=True):
            raw = answer.get("episodes")
            if not isinstance(raw, list):
                raise ProviderResponseError(
                    f"{self._label}: season {season['season_number']} of series {tmdb_id} has no 'episodes' list"
                )
            for ep in sorted(
                (e for e in raw if isinstance(e, dict) and isinstance(e.get("episode_number"), int)),
                key=lambda e: e["episode_number"],
            ):
                number = ep.get("season_number")
                number = number if isinstance(number, int) else season["season_number"]
                if number >= 1:
                    absolute += 1
                runtime = ep.get("runtime")
                episodes.append(
                    {
                        "season": number,
                        "episode": ep["episode_number"],
                        "title": ep.get("name") or None,
                        "air_date": _date(ep.get("air_date")),
                        "absolute_episode": absolute if number >= 1 else None,
                        "runtime": runtime if isinstance(runtime, int | float) and runtime > 0 else None,
                        "overview": ep.get("overview") or "",
                    }
                )
        out.update(
            ids=self._ids(show),
            runtime=self._series_runtime(show, episodes),
            status=show.get("status"),
            air_date=_date(show.get("first_air_date")),
            seasons=[
                {
                    "season": s["season_number"],
                    "title": s.get("name"),
                    "episode_count": s.get("episode_count"),
                    "air_date": _date(s.get("air_date")),
                }
                for s in seasons
            ],
            episodes=episodes,
        )
        return out

    @staticmethod
    def _series_runtime(show: Mapping[str, Any], episodes: list[dict[str, Any]]) -> float | None:
        listed = [r for r in show.get("episode_run_time") or [] if isinstance(r, int | float) and r > 0]
        if listed:
            return listed[0]
        known = sorted(e["runtime"] for e in episodes if e["runtime"])
        return known[len(known) // 2] if known else None

    # -- HTTP -----------------------------------------------------------------------------------
    def _check_media_type(self, media_type: str) -> None:
        if media_type not in MEDIA_TYPES:
            raise ValueError(f"{self._label}: media_type must be 'series' or 'movie', got {media_type!r}")

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json", "User-Agent": f"Omni-Media/{__version__}"}
            if self._access_token:
                headers["Authorization"] = f"Bearer {self._access_token}"
            self._session = aiohttp.ClientSession(
                headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        return self._session

    def _redact(self, text: str) -> str:
        for secret in (self._api_key, self._access_token):
            if secret:
                text = text.replace(secret, "***")
        return text

    async def _get(self, path: str, params: Mapping[str, Any], *, what: str | None = None) -> dict[str, Any]:
        """GET ``base_url + path`` with the language and credentials; the decoded JSON object.

        ``what`` names the resource in a 404 message (default: "id" from the path)."""
        query = {"language": self.language, **params}
        if self._api_key and not self._access_token:
            query["api_key"] = self._api_key
        url = self.base_url + path
        try:
            async with self._client().get(url, params=query) as resp:
                body = await resp.read()
                status, headers, content_type = resp.status, resp.headers, resp.content_type
        except TimeoutError as err:
            raise ProviderUnavailable(f"{self._label}: no answer from {self.base_url} within {self.timeout:g} s") from err
        except aiohttp.ClientError as err:
            detail = self._redact(str(err)) or type(err).__name__
            raise ProviderUnavailable(f"{self._label}: cannot reach {self.base_url}: {detail}") from err
        data = self._decode(body, content_type, status)
        if status == 200:
            if not isinstance(data, dict):
                raise ProviderResponseError(f"{self._label}: expected a JSON object from {path}, got {body[:80]!r}")
            return data
        raise self._error(status, headers, data, path, what)

    def _decode(self, body: bytes, content_type: str, status: int) -> Any:
        try:
            return json.loads(body)
        except ValueError as err:
            if status >= 500 or content_type == "text/html" or body.lstrip()[:1] == b"<":
                # a proxy's or CDN's error page instead of the API
                raise ProviderUnavailable(
                    f"{self._label}: {self.base_url} answered HTTP {status} with "
                    f"{content_type or 'no content type'}, not JSON"
                ) from err
            if status != 200:
                return None
            raise ProviderResponseError(f"{self._label}: malformed JSON ({err})") from err

    def _error(
        self, status: int, headers: Mapping[str, str], data: Any, path: str, what: str | None
    ) -> ProviderError:
        code = data.get("status_code") if isinstance(data, dict) else None
        message = data.get("status_message") if isinstance(data, dict) else None
        said = f" (TMDB {code}: {message})" if code is not None and message else ""
        code = code if isinstance(code, int) else status
        if status in (401, 403):
            hint = "access_token" if self._access_token else "api_key"
            return ProviderAuthError(f"{self._label} refused the {hint}{said}; check it in secrets.yaml", code=code)
        if status == 404:
            what = what or f"id {path.rstrip('/').rsplit('/', 1)[-1]}"
            return ProviderResponseError(f"{self._label}: unknown {what} ({path}){said}", code=code)
        if status == 429:
            retry = _retry_after(headers.get("Retry-After"))
            wait = f"; retry after {retry:g} s" if retry is not None else ""
            return ProviderRateLimited(f"{self._label}: rate limited{wait}{said}", code=code, retry_after=retry)
        if status >= 500:
            return ProviderUnavailable(f"{self._label}: server error HTTP {status}{said}", code=code)
        return ProviderResponseError(f"{self._label}: request {path} refused with HTTP {status}{said}", code=code)


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Titles, years, episode lists and air dates from The Movie Database (TMDB API v3)",
        kinds=("metadata_provider",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://developer.themoviedb.org/docs",
    )


@hookimpl
def omnimedia_metadata_providers() -> list[type[MetadataProvider]]:
    return [TmdbProvider]
