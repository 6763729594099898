"""The newznab indexer plugin against the real captured Newznab responses (nzb.su feed, caps
without supportedParams, languages, indexer flags, the error-100 document with a BOM) served over
HTTP, and the request planning rules of :mod:`omnimedia.core.acquisition.newznab`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from omnimedia.core.acquisition.feeds import default_caps, parse_caps
from omnimedia.core.acquisition.newznab import plan_requests
from omnimedia.core.acquisition.types import SearchQuery
from omnimedia.core.errors import ProviderAuthError, ProviderUnavailable
from omnimedia.plugins.newznab import NewznabIndexer
from tests.conftest import SHARED_FIXTURES
from tests.indexer_server import Fault, IndexerServer, indexer_server  # noqa: F401

EXPECTED_PATH = SHARED_FIXTURES / "EXPECTED.json"
EXPECTED = json.loads(EXPECTED_PATH.read_text()) if EXPECTED_PATH.is_file() else {}
API_KEY = "nzb-key-456"


def utc(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
async def indexer(indexer_server: IndexerServer):  # noqa: F811
    idx = NewznabIndexer(None, {"name": "nzb.su", "url": indexer_server.url, "api_key": API_KEY, "timeout": 5})
    yield idx
    await idx.close()


async def test_nzb_su_feed_matches_expected(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    indexer_server.feed = "newznab/newznab_nzb_su.xml"
    releases = await indexer.rss()
    assert len(releases) == EXPECTED["indexers/newznab/newznab_nzb_su.xml"]["count"]
    first = releases[0]
    # read by hand from the XML
    assert first.title == "White.Collar.S03E05.720p.HDTV.X264-DIMENSION"
    assert first.protocol == "usenet" and first.indexer == "nzb.su" and first.indexer_priority == 25
    assert first.download_url == "http://nzb.su/getnzb/24967ef4c2e26296c65d3bbfa97aa8fe.nzb&i=37292&r=xxx"
    assert first.info_url == "http://nzb.su/details/24967ef4c2e26296c65d3bbfa97aa8fe"
    assert first.comments_url == "http://nzb.su/details/24967ef4c2e26296c65d3bbfa97aa8fe#comments"
    assert first.guid == "http://nzb.su/details/24967ef4c2e26296c65d3bbfa97aa8fe"
    assert first.size == 1183105773
    assert utc(first.published) == "2012-02-27T16:09:39"  # Mon, 27 Feb 2012 11:09:39 -0500
    assert first.categories == [5000, 5040]
    assert (first.infohash, first.magnet_url, first.seeders, first.peers) == (None, None, None, None)
    assert all(r.size and r.published and r.download_url.startswith("http://nzb.su/getnzb/") for r in releases)
    (sent,) = indexer_server.queries("search")
    assert sent["apikey"] == API_KEY and sent["extended"] == "1" and "q" not in sent and "cat" not in sent


async def test_unauthorized_document_with_bom(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    expected = EXPECTED["indexers/newznab/unauthorized.xml"]
    raw = (indexer_server.dir / "newznab/unauthorized.xml").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the real document does start with a BOM
    indexer_server.caps = "newznab/unauthorized.xml"
    with pytest.raises(ProviderAuthError) as info:
        await indexer.caps()
    assert info.value.code == expected["error_code"]
    indexer_server.caps = "newznab/newznab_caps.xml"
    indexer_server.feed = "newznab/unauthorized.xml"
    with pytest.raises(ProviderAuthError) as info:
        await indexer.search(SearchQuery(type="tvsearch", q="White Collar", season=3, episode=5))
    assert info.value.code == expected["error_code"]
    assert str(info.value).startswith("nzb.su: ") and API_KEY not in str(info.value)


async def test_caps_without_supported_params_use_spec_defaults(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    caps = await indexer.caps()
    assert caps["limits"] == EXPECTED["indexers/newznab/newznab_caps.xml"]["limits"]
    assert caps["search_types"] == {
        "search": ["q"],
        "tvsearch": ["q", "rid", "season", "ep"],
        "movie": ["q", "imdbid"],
        "music": ["q", "artist", "album"],  # <audio-search available="yes"/>
    }
    assert [c["id"] for c in caps["categories"]] == [5000, 7000, 8000]
    assert len(caps["categories"][0]["subcats"]) == 8 and caps["categories"][2]["subcats"] == [{"id": 8020, "name": "Comics"}]


async def test_languages(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    indexer_server.feed = "newznab/newznab_language.xml"
    releases = await indexer.rss()
    assert len(releases) == 100
    assert releases[0].languages == ["English", "Japanese"]  # "English, Japanese" in one attribute
    assert releases[1].languages == ["English", "Spanish"]  # two attributes
    assert releases[2].languages == ["French"]
    assert all(r.languages == [] for r in releases[3:])


async def test_indexer_flags(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    indexer_server.feed = "newznab/newznab_indexerflags.xml"  # starts with a BOM too
    flags = {r.guid: r.flags for r in await indexer.rss()}
    assert flags == {
        "no custom attributes": [],
        "prematch=1 attribute": ["scene"],
        "haspretime=1 attribute": ["scene"],
        "prematch=0 attribute": [],
        "haspretime=0 attribute": [],
        "nuked=1 attribute": ["nuked"],
        "nuked=0 attribute": [],
        "prematch=1 and nuked=1 attributes": ["scene", "nuked"],
        "haspretime=0 and nuked=0 attributes": [],
        "subs=eng": [],
        "subs=''": [],
    }


async def test_newznab_reader_takes_the_nzb_enclosure(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/torznab_animetosho.xml"
    second = (await indexer.rss())[1]
    assert second.download_url == "http://storage.localhost/nzb/123452.nzb"
    assert second.protocol == "usenet" and second.infohash is None and second.magnet_url is None
    assert second.size == 473987489  # newznab:attr size


async def test_rid_is_tried_first_with_default_caps_then_q(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    indexer_server.feed = "newznab/newznab_nzb_su.xml"
    indexer_server.empty_when = lambda q: "rid" in q
    releases = await indexer.search(
        SearchQuery(type="tvsearch", q="White Collar", ids={"tvrageid": 20720, "tvdbid": 108611}, season=3, episode=5)
    )
    assert len(releases) == 100
    by_id, by_q, next_page = indexer_server.queries("tvsearch")
    assert next_page["offset"] == "100"  # the q search read its first page, then tried the next one
    assert by_id["rid"] == "20720" and "tvdbid" not in by_id and "q" not in by_id  # caps default: q,rid,season,ep
    assert by_q["q"] == "White Collar" and (by_q["season"], by_q["ep"]) == ("3", "5")
    assert by_id["cat"] == by_q["cat"] == "5000"


async def test_configured_categories_and_api_path(indexer_server: IndexerServer):  # noqa: F811
    idx = NewznabIndexer(None, {"name": "n", "url": f"{indexer_server.url}/newznab/", "api_path": "/api",
                                "categories": [5030, 5040, 2040, 100001]})
    indexer_server.feed = "newznab/newznab_nzb_su.xml"
    try:
        await idx.search(SearchQuery(type="tvsearch", q="White Collar", season=3, episode=5, limit=10))
        await idx.search(SearchQuery(type="movie", q="Some Film", year=2011, limit=10))
        await idx.rss()
    finally:
        await idx.close()
    assert {r["path"] for r in indexer_server.requests} == {"/newznab/api"}
    assert indexer_server.queries("tvsearch")[0]["cat"] == "5030,5040,100001"
    movie = indexer_server.queries("movie")[0]
    assert movie["cat"] == "2040,100001" and movie["q"] == "Some Film 2011"  # no year param in these caps
    assert indexer_server.queries("search")[0]["cat"] == "5030,5040,2040,100001"
    assert "apikey" not in indexer_server.queries("search")[0]  # none configured


async def test_html_instead_of_xml(indexer_server: IndexerServer, indexer: NewznabIndexer):  # noqa: F811
    indexer_server.fault = Fault(kind="html")
    with pytest.raises(ProviderUnavailable) as info:
        await indexer.rss()
    assert "HTML page" in str(info.value) and "Login - Tracker" in str(info.value)


# -- request planning (pure) ------------------------------------------------------------------
def caps_with(**types: list[str]) -> dict:
    caps = default_caps()
    caps["search_types"] = {"search": ["q"], **types}
    return caps


@pytest.mark.parametrize(
    ("query", "types", "configured", "expected"),
    [
        # ids the caps support go first, q second; imdbid as digits
        (SearchQuery(type="tvsearch", q="Show", ids={"tvdbid": 1, "imdbid": "tt0012345", "tvmazeid": 3}, season=2, episode=3),
         {"tvsearch": ["q", "season", "ep", "tvdbid", "tvmazeid", "imdbid"]}, [],
         [{"t": "tvsearch", "tvdbid": "1", "tvmazeid": "3", "imdbid": "0012345", "season": "2", "ep": "3", "cat": "5000"},
          {"t": "tvsearch", "q": "Show", "season": "2", "ep": "3", "cat": "5000"}]),
        # season search
        (SearchQuery(type="tvsearch", q="Show", season=4), {"tvsearch": ["q", "season", "ep"]}, [],
         [{"t": "tvsearch", "q": "Show", "season": "4", "cat": "5000"}]),
        # no ep param: the episode goes into q
        (SearchQuery(type="tvsearch", q="Show", season=1, episode=2), {"tvsearch": ["q"]}, [5040],
         [{"t": "tvsearch", "q": "Show S01E02", "cat": "5040"}]),
        # no tv-search at all: t=search with everything in q
        (SearchQuery(type="tvsearch", q="Show", air_date="2020-01-31"), {}, [],
         [{"t": "search", "q": "Show 2020 01 31", "cat": "5000"}]),
        # daily
        (SearchQuery(type="tvsearch", q="Show", air_date="2020-01-31"), {"tvsearch": ["q", "season", "ep"]}, [],
         [{"t": "tvsearch", "q": "Show", "season": "2020", "ep": "01/31", "cat": "5000"}]),
        # anime absolute, then the scene numbering when given too
        (SearchQuery(type="tvsearch", q="Anime", absolute_episode=112, season=5, episode=4),
         {"tvsearch": ["q", "season", "ep"]}, [5070],
         [{"t": "search", "q": "Anime 112", "cat": "5070"},
          {"t": "tvsearch", "q": "Anime", "season": "5", "ep": "4", "cat": "5070"}]),
        # movie with year param support
        (SearchQuery(type="movie", q="Film", year=1999, ids={"imdbid": "tt0133093"}), {"movie": ["q", "year"]}, [],
         [{"t": "movie", "q": "Film", "year": "1999", "cat": "2000"}]),
        # music and book parameters
        (SearchQuery(type="music", artist="Band", album="Record", year=2001), {"music": ["q", "artist", "album"]}, [],
         [{"t": "music", "artist": "Band", "album": "Record", "cat": "3000"}]),
        (SearchQuery(type="book", author="Writer", q="Novel"), {"book": ["q", "author", "title"]}, [],
         [{"t": "book", "author": "Writer", "title": "Novel", "cat": "7000,8000"}]),
        (SearchQuery(type="book", author="Writer", q="Novel"), {"book": ["q"]}, [7020],
         [{"t": "book", "q": "Writer Novel", "cat": "7020"}]),
        # the query's own categories win
        (SearchQuery(type="movie", q="Film", categories=[2045]), {"movie": ["q"]}, [2040],
         [{"t": "movie", "q": "Film", "cat": "2045"}]),
        # nothing to search for
        (SearchQuery(type="tvsearch", ids={"tvdbid": 5}), {"tvsearch": ["q", "season", "ep"]}, [], []),
    ],
)
def test_plan_requests(query, types, configured, expected):
    assert plan_requests(query, caps_with(**types), configured) == expected


def test_plan_requests_rejects_unknown_type():
    with pytest.raises(ValueError, match="unknown search type"):
        plan_requests(SearchQuery(type="podcast", q="x"), default_caps())


def test_caps_document_variants():
    caps = parse_caps(
        b"<caps><limits max='0' default='40'/><searching>"
        b"<search available='yes' supportedParams=''/>"
        b"<tv-search available='no'/>"
        b"<audio-search available='yes' supportedParams='q'/><music-search available='yes' supportedParams='q,artist'/>"
        b"<book-search available='yes'/></searching></caps>",
        name="x",
    )
    assert caps["limits"] == {"max": 40, "default": 40}
    assert caps["search_types"] == {"search": [], "music": ["q", "artist"], "book": ["q", "author", "title"]}
    # no <searching>: the Newznab originals
    assert parse_caps(b"<caps/>", name="x")["search_types"] == {"search": ["q"], "tvsearch": ["q", "rid", "season", "ep"]}
