"""The ``tmdb`` metadata provider against a faithful local TMDB v3 API (tests/fake_tmdb.py).

No network here, so TMDB itself cannot be reached; the stand-in speaks TMDB's documented JSON
shapes and error bodies and checks the API key the way TMDB does.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from omnimedia.core.bootstrap import prepare
from omnimedia.core.errors import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from omnimedia.core.plugins.kinds import MetadataProvider
from omnimedia.plugins.tmdb import CONFIG_SCHEMA, TmdbProvider

from .conftest import ROOT, minimal_config, write_config
from .fake_tmdb import VALID_ACCESS_TOKEN, VALID_API_KEY, FakeTmdb


@pytest.fixture
def fake() -> FakeTmdb:
    return FakeTmdb()


@pytest.fixture
async def base_url(fake: FakeTmdb, aiohttp_server: Any) -> str:
    server = await aiohttp_server(fake.app())
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def make(base_url: str):
    made: list[TmdbProvider] = []

    def factory(**entry: Any) -> TmdbProvider:
        entry = {"platform": "tmdb", "base_url": base_url, **entry}
        if "access_token" not in entry:
            entry.setdefault("api_key", VALID_API_KEY)
        base = {k: entry.pop(k) for k in ("platform", "name") if k in entry}  # added by the hub's schema
        provider = TmdbProvider(None, {**base, **CONFIG_SCHEMA(entry)})
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        await provider.close()


# -- search ---------------------------------------------------------------------------------------


async def test_search_series(make, fake: FakeTmdb) -> None:
    results = await make().search("better call saul", media_type="series")
    assert results == [
        {
            "id": "60059",
            "title": "Better Call Saul",
            "original_title": "Better Call Saul",
            "year": 2015,
            "media_type": "series",
            "overview": fake.shows[60059]["details"]["overview"],
            "ids": {"tmdbid": "60059"},
        }
    ]
    sent = fake.requests[-1]
    assert sent["path"] == "/3/search/tv"
    assert sent["query"]["query"] == "better call saul"
    assert sent["query"]["language"] == "en-US"
    assert sent["query"]["api_key"] == VALID_API_KEY
    assert "first_air_date_year" not in sent["query"]


async def test_search_series_year_filters_on_first_air_date(make, fake: FakeTmdb) -> None:
    provider = make()
    assert await provider.search("Saul", media_type="series", year=2016) == []
    assert fake.requests[-1]["query"]["first_air_date_year"] == "2016"
    assert [r["id"] for r in await provider.search("Saul", media_type="series", year=2015)] == ["60059"]


async def test_search_movie_keeps_tmdb_order_and_filters_by_year(make, fake: FakeTmdb) -> None:
    provider = make()
    both = await provider.search("Dune", media_type="movie")
    # TMDB's order (the fake ranks by popularity like TMDB does): the 2021 film first.
    assert [(r["id"], r["year"]) for r in both] == [("438631", 2021), ("841", 1984)]
    assert all(r["media_type"] == "movie" and r["title"] == "Dune" for r in both)
    older = await provider.search("Dune", media_type="movie", year=1984)
    assert [r["id"] for r in older] == ["841"]
    assert fake.requests[-1]["path"] == "/3/search/movie"
    assert fake.requests[-1]["query"]["year"] == "1984"


async def test_search_with_nothing_found_or_blank_title(make, fake: FakeTmdb) -> None:
    provider = make()
    assert await provider.search("No Such Title Anywhere", media_type="movie") == []
    count = len(fake.requests)
    assert await provider.search("   ", media_type="series") == []
    assert len(fake.requests) == count  # a blank title is not sent


async def test_search_rejects_unknown_media_type(make) -> None:
    with pytest.raises(ValueError, match="media_type"):
        await make().search("Dune", media_type="album")


# -- details --------------------------------------------------------------------------------------


async def test_series_details_with_episodes_air_dates_and_external_ids(make, fake: FakeTmdb) -> None:
    show = await make().details("60059", media_type="series")
    assert show["id"] == "60059"
    assert show["title"] == "Better Call Saul"
    assert show["year"] == 2015
    assert show["media_type"] == "series"
    assert show["status"] == "Ended"
    assert show["air_date"] == "2015-02-08"
    assert show["ids"] == {"tmdbid": "60059", "tvdbid": "273181", "imdbid": "tt3032476"}
    # The series has no episode_run_time on TMDB: the median of its episodes' runtimes.
    assert show["runtime"] == 47
    assert [s["season"] for s in show["seasons"]] == [1, 2, 3, 4, 5, 6]
    episodes = show["episodes"]
    assert len(episodes) == 63
    assert episodes[0] == {
        "season": 1, "episode": 1, "title": "Uno", "air_date": "2015-02-08", "absolute_episode": 1,
        "runtime": 47, "overview": "",
    }
    assert (episodes[1]["title"], episodes[1]["air_date"]) == ("Mijo", "2015-02-09")
    s02e01 = next(e for e in episodes if (e["season"], e["episode"]) == (2, 1))
    assert (s02e01["title"], s02e01["air_date"], s02e01["absolute_episode"]) == ("Switch", "2016-02-15", 11)
    assert episodes[-1] == {
        "season": 6, "episode": 13, "title": "Saul Gone", "air_date": "2022-08-15", "absolute_episode": 63,
        "runtime": 47, "overview": "",
    }
    paths = [r["path"] for r in fake.requests]
    assert paths[0] == "/3/tv/60059"
    assert fake.requests[0]["query"]["append_to_response"] == "external_ids"
    assert sorted(paths[1:]) == [f"/3/tv/60059/season/{n}" for n in range(1, 7)]


async def test_absolute_numbers_skip_specials_and_null_air_dates_are_none(make) -> None:
    show = await make().details("999999901", media_type="series")
    assert show["ids"] == {"tmdbid": "999999901"}  # TMDB knows no tvdb/imdb id for it
    assert show["original_title"] == "オムニ・テスト・アニメ"
    assert show["runtime"] == 24  # from episode_run_time
    assert show["status"] == "Returning Series"
    numbered = [(e["season"], e["episode"], e["absolute_episode"]) for e in show["episodes"]]
    assert numbered == [(0, 1, None), (0, 2, None), (1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 4), (2, 2, 5)]
    last = show["episodes"][-1]
    assert (last["title"], last["air_date"], last["runtime"]) == ("Untitled", None, None)
    assert show["seasons"][0] == {"season": 0, "title": "Specials", "episode_count": 2, "air_date": "2021-12-24"}


async def test_movie_details(make, fake: FakeTmdb) -> None:
    movie = await make().details("550", media_type="movie")
    assert movie == {
        "id": "550",
        "title": "Fight Club",
        "original_title": "Fight Club",
        "year": 1999,
        "media_type": "movie",
        "overview": fake.movies[550]["details"]["overview"],
        "ids": {"tmdbid": "550", "imdbid": "tt0137523"},
        "runtime": 139,
        "status": "Released",
        "air_date": "1999-10-15",
    }
    assert fake.requests[-1]["path"] == "/3/movie/550"
    assert fake.requests[-1]["query"]["append_to_response"] == "external_ids"


async def test_language_is_sent(make, fake: FakeTmdb) -> None:
    await make(language="de-DE").details("11", media_type="movie")
    assert fake.requests[-1]["query"]["language"] == "de-DE"


async def test_v4_access_token_goes_in_the_authorization_header(make, fake: FakeTmdb) -> None:
    provider = make(access_token=VALID_ACCESS_TOKEN)
    assert [r["id"] for r in await provider.search("Star Wars", media_type="movie")] == ["11"]
    sent = fake.requests[-1]
    assert sent["authorization"] == f"Bearer {VALID_ACCESS_TOKEN}"
    assert "api_key" not in sent["query"]


# -- errors ---------------------------------------------------------------------------------------


async def test_wrong_api_key_is_an_auth_error(make) -> None:
    wrong = "ffffffffffffffffffffffffffffffff"
    with pytest.raises(ProviderAuthError) as caught:
        await make(api_key=wrong).search("Dune", media_type="movie")
    message = str(caught.value)
    assert message.startswith("TMDB refused the api_key")
    assert "Invalid API key" in message
    assert caught.value.code == 7
    assert wrong not in message


async def test_wrong_access_token_is_an_auth_error_naming_the_entry(make) -> None:
    with pytest.raises(ProviderAuthError, match=r"^TMDB 'tmdb-de' refused the access_token \(TMDB 7"):
        await make(access_token="not-a-token", name="tmdb-de").details("550", media_type="movie")


@pytest.mark.parametrize(
    ("provider_id", "media_type"), [("99999999", "series"), ("12345678", "movie"), ("550", "series")]
)
async def test_unknown_id_is_a_response_error(make, provider_id: str, media_type: str) -> None:
    with pytest.raises(ProviderResponseError, match=rf"^TMDB: unknown id {provider_id} .*TMDB 34") as caught:
        await make().details(provider_id, media_type=media_type)
    assert caught.value.code == 34


async def test_non_numeric_id_is_refused_without_a_request(make, fake: FakeTmdb) -> None:
    with pytest.raises(ProviderResponseError, match="unknown id 'tt0137523'"):
        await make().details("tt0137523", media_type="movie")
    assert fake.requests == []


async def test_rate_limit_carries_retry_after(make, fake: FakeTmdb) -> None:
    fake.rate_limited, fake.retry_after = 1, "7"
    provider = make()
    with pytest.raises(ProviderRateLimited) as caught:
        await provider.search("Dune", media_type="movie")
    assert caught.value.retry_after == 7
    assert caught.value.code == 25
    assert str(caught.value).startswith("TMDB: rate limited; retry after 7 s")
    # the limit lifted, the same provider works again
    assert len(await provider.search("Dune", media_type="movie")) == 2


async def test_rate_limit_during_a_season_fails_the_whole_details(make, fake: FakeTmdb) -> None:
    fake.rate_limited, fake.rate_limit_match = 1, "/season/3"
    provider = make()
    with pytest.raises(ProviderRateLimited):
        await provider.details("60059", media_type="series")
    # no partial episode list with shifted absolute numbers: the next call gets everything
    assert len((await provider.details("60059", media_type="series"))["episodes"]) == 63


async def test_service_offline_is_unavailable(make, fake: FakeTmdb) -> None:
    fake.offline = True
    with pytest.raises(ProviderUnavailable, match=r"^TMDB: server error HTTP 503 \(TMDB 9: Service offline"):
        await make().search("Dune", media_type="movie")


async def test_server_down_is_unavailable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = TmdbProvider(None, CONFIG_SCHEMA({"api_key": VALID_API_KEY, "base_url": f"http://127.0.0.1:{port}"}))
    try:
        with pytest.raises(ProviderUnavailable, match=rf"^TMDB: cannot reach http://127.0.0.1:{port}") as caught:
            await provider.details("60059", media_type="series")
        assert VALID_API_KEY not in str(caught.value)
    finally:
        await provider.close()


async def test_html_error_page_is_unavailable(aiohttp_server: Any) -> None:
    from aiohttp import web

    async def captive(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>502 Bad Gateway</body></html>", status=502, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", captive)
    server = await aiohttp_server(app)
    provider = TmdbProvider(None, CONFIG_SCHEMA({"api_key": VALID_API_KEY, "base_url": str(server.make_url(""))}))
    try:
        with pytest.raises(ProviderUnavailable, match="HTTP 502 with text/html, not JSON"):
            await provider.search("Dune", media_type="movie")
    finally:
        await provider.close()


async def test_no_answer_in_time_is_unavailable(aiohttp_server: Any) -> None:
    import asyncio

    from aiohttp import web

    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/{tail:.*}", hang)
    server = await aiohttp_server(app)
    entry = CONFIG_SCHEMA({"api_key": VALID_API_KEY, "base_url": str(server.make_url("")), "timeout": 1})
    provider = TmdbProvider(None, entry)
    try:
        with pytest.raises(ProviderUnavailable, match=r"no answer from http://127.0.0.1:\d+ within 1 s"):
            await provider.details("550", media_type="movie")
    finally:
        release.set()
        await provider.close()


def test_retry_after_as_seconds_or_http_date() -> None:
    import email.utils
    import time

    from omnimedia.plugins.tmdb import _retry_after

    assert _retry_after("7") == 7
    assert _retry_after(None) is None and _retry_after("soon") is None
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 50 < _retry_after(in_a_minute) <= 60
    assert _retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0


# -- configuration and registration -------------------------------------------------------------


def test_schema_needs_a_key_or_a_token() -> None:
    assert CONFIG_SCHEMA({"api_key": "k"}) == {
        "api_key": "k", "language": "en-US", "base_url": "https://api.themoviedb.org", "timeout": 20.0,
    }
    assert CONFIG_SCHEMA({"access_token": "t"})["access_token"] == "t"


def test_config_with_secret_and_errors(tmp_path: Path) -> None:
    write_config(tmp_path, f"tmdb_api_key: {VALID_API_KEY}\n", name="secrets.yaml")
    write_config(
        tmp_path,
        minimal_config(extra="plugins:\n  - platform: tmdb\n    api_key: !secret tmdb_api_key\n    language: fr-FR\n"),
    )
    config, plugins, errors = prepare(tmp_path)
    assert [str(e) for e in errors] == []
    (entry,) = [p for p in config.plugins if p["platform"] == "tmdb"]
    assert entry["api_key"] == VALID_API_KEY and entry["language"] == "fr-FR"
    assert plugins.plugins["tmdb"].manifest.kinds == ("metadata_provider",)
    assert plugins.plugins["tmdb"].providers["metadata_provider"] == [TmdbProvider]

    write_config(tmp_path, minimal_config(extra="plugins:\n  - platform: tmdb\n    base_url: ftp://x\n"))
    _config, _plugins, errors = prepare(tmp_path)
    text = "\n".join(map(str, errors))
    assert "api_key or access_token" in text and "is missing" in text
    assert "base_url" in text and "http:// or https://" in text


async def test_hub_loads_the_plugin_and_the_provider_works(hub_factory, base_url: str, tmp_path: Path) -> None:
    config_dir = tmp_path / "hubconfig"
    write_config(config_dir, f"tmdb_api_key: {VALID_API_KEY}\n", name="secrets.yaml")
    write_config(
        config_dir,
        minimal_config(extra=f"plugins:\n  - platform: tmdb\n    api_key: !secret tmdb_api_key\n    base_url: {base_url}\n"),
    )
    hub = await hub_factory(config_dir=config_dir, serve_http=False)
    assert hub.plugins.plugins["tmdb"].state == "running"
    cls = hub.plugins.providers("metadata_provider")["tmdb"]
    assert issubclass(cls, MetadataProvider)
    (entry,) = [p for p in hub.config.plugins if p["platform"] == "tmdb"]
    provider = cls(hub, entry)
    try:
        movie = await provider.details("438631", media_type="movie")
    finally:
        await provider.close()
    assert (movie["title"], movie["year"], movie["ids"]["imdbid"]) == ("Dune", 2021, "tt1160419")


def test_commented_example_in_config_is_valid(tmp_path: Path) -> None:
    """config/configuration.yaml ships the tmdb entry commented out; uncommented, it is valid."""
    text = (ROOT / "config" / "configuration.yaml").read_text(encoding="utf-8")
    block = text[text.index("  # - platform: tmdb"):]
    lines = block.splitlines()[:3]
    assert lines[0] == "  # - platform: tmdb"
    uncommented = "\n".join(line.replace("  # ", "  ", 1) for line in lines) + "\n"
    shutil.copy(ROOT / "config" / "secrets.yaml", tmp_path / "secrets.yaml")
    write_config(tmp_path, minimal_config(extra="plugins:\n" + uncommented))
    config, _plugins, errors = prepare(tmp_path)
    assert [str(e) for e in errors] == []
    (entry,) = config.plugins
    assert entry["platform"] == "tmdb" and entry["api_key"] == "your-tmdb-v3-api-key"
