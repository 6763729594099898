"""A local stand-in for TMDB's v3 JSON API (no network here), for the ``tmdb`` plugin's tests.

It serves the endpoints the plugin uses with TMDB's documented response shapes, field by field
(source: developer.themoviedb.org API reference v3 — "Search TV", "Search Movie", "TV Series
Details", "TV Season Details", "Movie Details", "External IDs", and the "Errors" page):

- ``GET /3/search/tv`` (``query``, ``first_air_date_year``, ``year``, ``page``) and
  ``GET /3/search/movie`` (``query``, ``year``, ``primary_release_year``, ``page``):
  ``{"page", "results": [...], "total_pages", "total_results"}``, 20 results a page;
- ``GET /3/tv/{id}`` and ``GET /3/movie/{id}``, with ``append_to_response=external_ids``;
- ``GET /3/tv/{id}/season/{n}``;
- errors as TMDB sends them: ``{"status_code", "status_message", "success": false}`` with
  HTTP 401 (code 7, wrong or missing key), 404 (code 34, unknown resource) and 429 (code 25,
  with ``Retry-After``) — and, on demand, 503 (code 9, "Service offline").

Authentication as TMDB checks it: a v3 key in the ``api_key`` query parameter, otherwise a v4 read
access token in ``Authorization: Bearer …``.

The data: Better Call Saul (TMDB 60059, TheTVDB 273181, IMDb tt3032476; first aired
2015-02-08, six seasons, 63 episodes, ended 2022-08-15) and the movies Fight Club (550,
tt0137523), Star Wars (11, tt0076759), Dune (1984: 841, tt0087182; 2021: 438631, tt1160419).
Ids, titles, episode titles, season/episode structure and air dates are the real ones; overviews
are our own one-line summaries; runtimes, popularity, votes and network ids are illustrative.
"Omni Test Anime" (id 999999901) is invented, to exercise specials (season 0), a null air date
and absolute numbering across seasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

VALID_API_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # v3 keys are 32 hex digits
VALID_ACCESS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJvbW5pbWVkaWEtdGVzdCJ9.c2lnbmF0dXJl"  # v4: a JWT

ERR_AUTH = (401, 7, "Invalid API key: You must be granted a valid key.")
ERR_NOT_FOUND = (404, 34, "The resource you requested could not be found.")
ERR_RATE = (429, 25, "Your request count (#) is over the allowed limit of (40).")
ERR_OFFLINE = (503, 9, "Service offline: This service is temporarily offline, try again later.")

PAGE_SIZE = 20

# -- the data -----------------------------------------------------------------------------------

_BCS_SEASONS: dict[int, tuple[str, list[tuple[str, str]]]] = {
    1: ("2015-02-08", [
        ("Uno", "2015-02-08"), ("Mijo", "2015-02-09"), ("Nacho", "2015-02-16"), ("Hero", "2015-02-23"),
        ("Alpine Shepherd Boy", "2015-03-02"), ("Five-O", "2015-03-09"), ("Bingo", "2015-03-16"),
        ("RICO", "2015-03-23"), ("Pimento", "2015-03-30"), ("Marco", "2015-04-06"),
    ]),
    2: ("2016-02-15", [
        ("Switch", "2016-02-15"), ("Cobbler", "2016-02-22"), ("Amarillo", "2016-02-29"),
        ("Gloves Off", "2016-03-07"), ("Rebecca", "2016-03-14"), ("Bali Ha'i", "2016-03-21"),
        ("Inflatable", "2016-03-28"), ("Fifi", "2016-04-04"), ("Nailed", "2016-04-11"), ("Klick", "2016-04-18"),
    ]),
    3: ("2017-04-10", [
        ("Mabel", "2017-04-10"), ("Witness", "2017-04-17"), ("Sunk Costs", "2017-04-24"),
        ("Sabrosito", "2017-05-01"), ("Chicanery", "2017-05-08"), ("Off Brand", "2017-05-15"),
        ("Expenses", "2017-05-22"), ("Slip", "2017-06-05"), ("Fall", "2017-06-12"), ("Lantern", "2017-06-19"),
    ]),
    4: ("2018-08-06", [
        ("Smoke", "2018-08-06"), ("Breathe", "2018-08-13"), ("Something Beautiful", "2018-08-20"),
        ("Talk", "2018-08-27"), ("Quite a Ride", "2018-09-03"), ("Piñata", "2018-09-10"),
        ("Something Stupid", "2018-09-17"), ("Coushatta", "2018-09-24"), ("Wiedersehen", "2018-10-01"),
        ("Winner", "2018-10-08"),
    ]),
    5: ("2020-02-23", [
        ("Magic Man", "2020-02-23"), ("50% Off", "2020-02-24"), ("The Guy for This", "2020-03-02"),
        ("Namaste", "2020-03-09"), ("Dedicado a Max", "2020-03-16"), ("Wexler v. Goodman", "2020-03-23"),
        ("JMM", "2020-03-30"), ("Bagman", "2020-04-06"), ("Bad Choice Road", "2020-04-13"),
        ("Something Unforgivable", "2020-04-20"),
    ]),
    6: ("2022-04-18", [
        ("Wine and Roses", "2022-04-18"), ("Carrot and Stick", "2022-04-18"),
        ("Rock and Hard Place", "2022-04-25"), ("Hit and Run", "2022-05-02"), ("Black and Blue", "2022-05-09"),
        ("Axe and Grind", "2022-05-16"), ("Plan and Execution", "2022-05-23"), ("Point and Shoot", "2022-07-11"),
        ("Fun and Games", "2022-07-18"), ("Nippy", "2022-07-25"), ("Breaking Bad", "2022-08-01"),
        ("Waterworks", "2022-08-08"), ("Saul Gone", "2022-08-15"),
    ]),
}

_ANIME_SEASONS: dict[int, tuple[str | None, list[tuple[str, str | None]]]] = {
    0: ("2021-12-24", [("Recap Special", "2021-12-24"), ("Beach Episode (OVA)", "2022-08-10")]),
    1: ("2021-10-02", [("Arrival", "2021-10-02"), ("The Gate", "2021-10-09"), ("Ashes", "2021-10-16")]),
    2: ("2023-01-07", [("Return", "2023-01-07"), ("Untitled", None)]),
}


def _show(
    tmdb_id: int, name: str, overview: str, first_air: str, last_air: str | None, status: str,
    seasons: dict[int, tuple[str | None, list[tuple[str, str | None]]]], *, run_time: list[int],
    episode_runtime: int | None, external: dict[str, Any], network: dict[str, Any], popularity: float,
    origin: str, language: str, original_name: str | None = None,
) -> dict[str, Any]:
    season_details = {}
    for number, (air, episodes) in seasons.items():
        season_id = tmdb_id * 10 + number
        season_details[number] = {
            "_id": f"{season_id:024x}",
            "air_date": air,
            "episodes": [
                {
                    "air_date": ep_air,
                    "episode_number": i,
                    "episode_type": "finale" if i == len(episodes) and number else "standard",
                    "id": season_id * 100 + i,
                    "name": ep_name,
                    "overview": "",
                    "production_code": "",
                    "runtime": episode_runtime if ep_air else None,
                    "season_number": number,
                    "show_id": tmdb_id,
                    "still_path": None,
                    "vote_average": 0.0,
                    "vote_count": 0,
                    "crew": [],
                    "guest_stars": [],
                }
                for i, (ep_name, ep_air) in enumerate(episodes, start=1)
            ],
            "name": "Specials" if number == 0 else f"Season {number}",
            "networks": [network],
            "overview": "",
            "id": season_id,
            "poster_path": None,
            "season_number": number,
            "vote_average": 0.0,
        }
    regular = [s for n, s in season_details.items() if n]
    aired = [(s["season_number"], e) for s in regular for e in s["episodes"] if e["air_date"]]
    last = aired[-1][1] if aired else None
    upcoming = [e for s in regular for e in s["episodes"] if not e["air_date"]]
    details = {
        "adult": False,
        "backdrop_path": None,
        "created_by": [],
        "episode_run_time": run_time,
        "first_air_date": first_air,
        "genres": [{"id": 18, "name": "Drama"}],
        "homepage": "",
        "id": tmdb_id,
        "in_production": status == "Returning Series",
        "languages": [language],
        "last_air_date": last_air,
        "last_episode_to_air": _episode_summary(last) if last else None,
        "name": name,
        "next_episode_to_air": _episode_summary(upcoming[0]) if upcoming else None,
        "networks": [network],
        "number_of_episodes": sum(len(s["episodes"]) for s in regular),
        "number_of_seasons": len(regular),
        "origin_country": [origin],
        "original_language": language,
        "original_name": original_name or name,
        "overview": overview,
        "popularity": popularity,
        "poster_path": None,
        "production_companies": [],
        "production_countries": [],
        "seasons": [
            {
                "air_date": s["air_date"],
                "episode_count": len(s["episodes"]),
                "id": s["id"],
                "name": s["name"],
                "overview": "",
                "poster_path": None,
                "season_number": s["season_number"],
                "vote_average": 0.0,
            }
            for _, s in sorted(season_details.items())
        ],
        "spoken_languages": [],
        "status": status,
        "tagline": "",
        "type": "Scripted",
        "vote_average": 0.0,
        "vote_count": 0,
    }
    return {"details": details, "seasons": season_details, "external_ids": external}


def _episode_summary(ep: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "overview", "vote_average", "vote_count", "air_date", "episode_number",
            "episode_type", "production_code", "runtime", "season_number", "show_id", "still_path")
    return {k: ep[k] for k in keys}


def _movie(
    tmdb_id: int, title: str, overview: str, release: str, runtime: int, imdb: str, popularity: float
) -> dict[str, Any]:
    return {
        "details": {
            "adult": False,
            "backdrop_path": None,
            "belongs_to_collection": None,
            "budget": 0,
            "genres": [],
            "homepage": "",
            "id": tmdb_id,
            "imdb_id": imdb,
            "origin_country": ["US"],
            "original_language": "en",
            "original_title": title,
            "overview": overview,
            "popularity": popularity,
            "poster_path": None,
            "production_companies": [],
            "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
            "release_date": release,
            "revenue": 0,
            "runtime": runtime,
            "spoken_languages": [{"english_name": "English", "iso_639_1": "en", "name": "English"}],
            "status": "Released",
            "tagline": "",
            "title": title,
            "video": False,
            "vote_average": 0.0,
            "vote_count": 0,
        },
        "external_ids": {
            "imdb_id": imdb, "wikidata_id": None, "facebook_id": None, "instagram_id": None, "twitter_id": None,
        },
    }


def _catalogue() -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    amc = {"id": 174, "logo_path": None, "name": "AMC", "origin_country": "US"}
    shows = {
        60059: _show(
            60059, "Better Call Saul",
            "A small-time lawyer in Albuquerque becomes the criminal lawyer Saul Goodman.",
            "2015-02-08", "2022-08-15", "Ended", _BCS_SEASONS, run_time=[], episode_runtime=47,
            external={
                "imdb_id": "tt3032476", "freebase_mid": None, "freebase_id": None, "tvdb_id": 273181,
                "tvrage_id": None, "wikidata_id": None, "facebook_id": None, "instagram_id": None,
                "twitter_id": None,
            },
            network=amc, popularity=120.5, origin="US", language="en",
        ),
        999999901: _show(
            999999901, "Omni Test Anime", "An invented series for tests.", "2021-10-02", "2023-01-07",
            "Returning Series", _ANIME_SEASONS, run_time=[24], episode_runtime=24,
            external={
                "imdb_id": None, "freebase_mid": None, "freebase_id": None, "tvdb_id": None,
                "tvrage_id": None, "wikidata_id": None, "facebook_id": None, "instagram_id": None,
                "twitter_id": None,
            },
            network={"id": 999, "logo_path": None, "name": "Test Network", "origin_country": "JP"},
            popularity=3.2, origin="JP", language="ja", original_name="オムニ・テスト・アニメ",
        ),
    }
    movies = {
        550: _movie(550, "Fight Club", "An insomniac and a soap salesman start an underground fight club.",
                    "1999-10-15", 139, "tt0137523", 73.4),
        11: _movie(11, "Star Wars", "Luke Skywalker joins the rebellion against the Galactic Empire.",
                   "1977-05-25", 121, "tt0076759", 20.7),
        841: _movie(841, "Dune", "Paul Atreides leads the Fremen of Arrakis (David Lynch's film).",
                    "1984-12-14", 137, "tt0087182", 30.1),
        438631: _movie(438631, "Dune", "Paul Atreides travels to Arrakis, the desert planet (Villeneuve's film).",
                       "2021-09-15", 155, "tt1160419", 95.8),
    }
    return shows, movies


# -- the server ---------------------------------------------------------------------------------

_SEARCH_TV_KEYS = ("adult", "backdrop_path", "id", "origin_country", "original_language", "original_name",
                   "overview", "popularity", "poster_path", "first_air_date", "name", "vote_average",
                   "vote_count")
_SEARCH_MOVIE_KEYS = ("adult", "backdrop_path", "id", "original_language", "original_title", "overview",
                      "popularity", "poster_path", "release_date", "title", "video", "vote_average",
                      "vote_count")


@dataclass
class FakeTmdb:
    """The fake's state. Tests flip ``rate_limited`` (answer the next N requests whose path
    contains ``rate_limit_match`` with 429), ``offline`` (answer 503) and read ``requests``
    (path, query, Authorization)."""

    api_keys: set[str] = field(default_factory=lambda: {VALID_API_KEY})
    access_tokens: set[str] = field(default_factory=lambda: {VALID_ACCESS_TOKEN})
    rate_limited: int = 0
    rate_limit_match: str = "/"
    retry_after: str = "3"
    offline: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.shows, self.movies = _catalogue()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/3/search/tv", self.search_tv)
        app.router.add_get("/3/search/movie", self.search_movie)
        app.router.add_get("/3/tv/{id}", self.tv)
        app.router.add_get("/3/tv/{id}/season/{season}", self.season)
        app.router.add_get("/3/movie/{id}", self.movie)
        return app

    @staticmethod
    def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(
            {"status_code": code, "status_message": message, "success": False}, status=status, headers=headers
        )

    def _authorised(self, request: web.Request) -> bool:
        if "api_key" in request.query:
            return request.query["api_key"] in self.api_keys
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token in self.access_tokens

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append({
            "path": request.path, "query": dict(request.query),
            "authorization": request.headers.get("Authorization"),
        })
        if self.offline:
            return self.error(*ERR_OFFLINE)
        if self.rate_limited > 0 and self.rate_limit_match in request.path:
            self.rate_limited -= 1
            return self.error(*ERR_RATE, headers={"Retry-After": self.retry_after})
        if not self._authorised(request):
            return self.error(*ERR_AUTH)
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return self.error(*ERR_NOT_FOUND)

    # -- handlers ----------------------------------------------------------------------------------
    @staticmethod
    def _page(request: web.Request, results: list[dict[str, Any]]) -> web.Response:
        page = max(1, int(request.query.get("page", "1") or 1))
        total = len(results)
        return web.json_response({
            "page": page,
            "results": results[(page - 1) * PAGE_SIZE: page * PAGE_SIZE],
            "total_pages": max(1, -(-total // PAGE_SIZE)) if total else 1,
            "total_results": total,
        })

    @staticmethod
    def _matches(query: str, *names: str) -> bool:
        q = query.casefold().strip()
        return bool(q) and any(q in (n or "").casefold() for n in names)

    async def search_tv(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        year = request.query.get("first_air_date_year") or request.query.get("year")
        found = [
            s["details"] for s in self.shows.values()
            if self._matches(query, s["details"]["name"], s["details"]["original_name"])
            and (not year or s["details"]["first_air_date"].startswith(year))
        ]
        found.sort(key=lambda d: -d["popularity"])
        results = [
            {**{k: d[k] for k in _SEARCH_TV_KEYS}, "genre_ids": [g["id"] for g in d["genres"]]} for d in found
        ]
        return self._page(request, results)

    async def search_movie(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        year = request.query.get("primary_release_year") or request.query.get("year")
        found = [
            m["details"] for m in self.movies.values()
            if self._matches(query, m["details"]["title"], m["details"]["original_title"])
            and (not year or m["details"]["release_date"].startswith(year))
        ]
        found.sort(key=lambda d: -d["popularity"])
        results = [
            {**{k: d[k] for k in _SEARCH_MOVIE_KEYS}, "genre_ids": [g["id"] for g in d["genres"]]} for d in found
        ]
        return self._page(request, results)

    @staticmethod
    def _lookup(table: dict[int, dict[str, Any]], raw_id: str) -> dict[str, Any]:
        if not raw_id.isdigit() or int(raw_id) not in table:
            raise web.HTTPNotFound()
        return table[int(raw_id)]

    @staticmethod
    def _appended(request: web.Request, entry: dict[str, Any]) -> dict[str, Any]:
        out = dict(entry["details"])
        appends = [a.strip() for a in request.query.get("append_to_response", "").split(",") if a.strip()]
        if "external_ids" in appends:
            out["external_ids"] = dict(entry["external_ids"])
        return out

    async def tv(self, request: web.Request) -> web.Response:
        return web.json_response(self._appended(request, self._lookup(self.shows, request.match_info["id"])))

    async def season(self, request: web.Request) -> web.Response:
        show = self._lookup(self.shows, request.match_info["id"])
        number = request.match_info["season"]
        if not number.isdigit() or int(number) not in show["seasons"]:
            raise web.HTTPNotFound()
        return web.json_response(show["seasons"][int(number)])

    async def movie(self, request: web.Request) -> web.Response:
        return web.json_response(self._appended(request, self._lookup(self.movies, request.match_info["id"])))
