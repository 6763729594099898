"""The torznab indexer plugin against real captured Torznab feeds served over HTTP, checked with
the values of ``../shared/fixtures/EXPECTED.json``; error documents and HTTP faults mapped to
provider errors; queries built from caps; paging; the plugins loaded by a real hub."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import voluptuous as vol

from omnimedia.core.acquisition.types import Release, SearchQuery
from omnimedia.core.errors import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from omnimedia.plugins.newznab import NewznabIndexer
from omnimedia.plugins.torznab import TorznabIndexer
from tests.conftest import SHARED_FIXTURES
from tests.indexer_server import Fault, IndexerServer, indexer_server  # noqa: F401

EXPECTED_PATH = SHARED_FIXTURES / "EXPECTED.json"
EXPECTED = json.loads(EXPECTED_PATH.read_text()) if EXPECTED_PATH.is_file() else {}
TORZNAB_FILES = sorted(k for k in EXPECTED if k.startswith("indexers/torznab/"))

API_KEY = "s3cr3t-key-123"

#: caps of a modern Torznab server (our own document): ids supported, limits 100/50
MODERN_CAPS = b"""<?xml version="1.0" encoding="UTF-8"?>
<caps>
  <server version="1.3" title="test"/>
  <limits max="100" default="50"/>
  <searching>
    <search available="yes" supportedParams="q"/>
    <tv-search available="yes" supportedParams="q,season,ep,tvdbid,imdbid,tvmazeid"/>
    <movie-search available="yes" supportedParams="q,imdbid,tmdbid"/>
    <music-search available="no" supportedParams="q,artist,album"/>
    <book-search available="yes" supportedParams="q,author,title"/>
  </searching>
  <categories><category id="5000" name="TV"><subcat id="5040" name="TV/HD"/></category></categories>
</caps>"""

#: an item with volume factors and a tag (our own document; the captured feeds have none)
FREELEECH_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed">
<channel><title>t</title>
<item>
  <title>Show.S01E01.1080p.WEB-DL.x264-GRP</title>
  <guid>https://tracker.test/t/1</guid>
  <pubDate>Mon, 02 Jan 2023 10:00:00 +0000</pubDate>
  <enclosure url="https://tracker.test/dl/1.torrent" length="0" type="application/x-bittorrent"/>
  <torznab:attr name="size" value="1500000000"/>
  <torznab:attr name="seeders" value="10"/>
  <torznab:attr name="leechers" value="4"/>
  <torznab:attr name="downloadvolumefactor" value="0"/>
  <torznab:attr name="uploadvolumefactor" value="2"/>
  <torznab:attr name="tag" value="internal"/>
  <torznab:attr name="infohash" value="ABCDEF0123456789ABCDEF0123456789ABCDEF01"/>
</item>
<item>
  <title>Show.S01E02.720p.HDTV.x264-GRP</title>
  <guid>https://tracker.test/t/2</guid>
  <enclosure url="magnet:?xt=urn:btih:VU2QYN66WU7FTPXSG3TFDRXW6KTEBPBF&amp;dn=x" length="0" type="application/x-bittorrent;x-scheme-handler/magnet"/>
  <torznab:attr name="downloadvolumefactor" value="0.5"/>
  <torznab:attr name="uploadvolumefactor" value="1"/>
</item>
</channel></rss>"""


def utc(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def torznab(server: IndexerServer, **extra) -> TorznabIndexer:
    entry = {"name": "Test Torznab", "url": server.url, "api_key": API_KEY, "priority": 7, **extra}
    return TorznabIndexer(None, entry)


@pytest.fixture
async def indexer(indexer_server: IndexerServer):  # noqa: F811
    idx = torznab(indexer_server, timeout=5)
    yield idx
    await idx.close()


def check_first(release: Release, first: dict) -> None:
    """Compare a release with an EXPECTED.json ``first`` block, field by field."""
    for key, want in first.items():
        if key == "note":
            continue
        if key == "published_utc":
            assert utc(release.published) == want, key
        elif key in ("tvdbid", "tvrageid"):
            assert release.ids.get(key) == want, key
        elif key == "magnet_url_starts_with":
            assert release.magnet_url and release.magnet_url.startswith(want), key
        elif key == "download_url_is_magnet":
            assert (release.download_url or "").startswith("magnet:") is want, key
            assert release.download_url == release.magnet_url
        else:
            assert getattr(release, key) == want, (key, getattr(release, key), want)


# -- EXPECTED.json ----------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", TORZNAB_FILES or ["(no EXPECTED.json)"])
async def test_real_feed_matches_expected(indexer_server: IndexerServer, indexer: TorznabIndexer, fixture: str):  # noqa: F811
    expected = EXPECTED[fixture]
    indexer_server.feed = fixture.removeprefix("indexers/")
    releases = await indexer.search(SearchQuery(type="search", q="anything"))
    assert len(releases) == expected["count"]
    check_first(releases[0], expected["first"])
    for r in releases:
        assert r.indexer == "Test Torznab" and r.indexer_priority == 7 and r.protocol == "torrent"
        assert r.infohash is None or len(r.infohash) == 40
    # the same via rss()
    assert [r.title for r in await indexer.rss()] == [r.title for r in releases]


async def test_hdaccess_ids_categories_and_peers(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/torznab_hdaccess_net.xml"
    first = (await indexer.rss())[0]
    assert first.ids == {"tvdbid": 273181, "tvrageid": 37780, "imdbid": "tt3032476"}
    assert first.categories == [5000, 5040, 100009, 100036]
    assert (first.seeders, first.peers, first.leechers) == (7, 7, 0)
    assert first.guid == "https://hdaccess.net/details.php?id=11515"
    assert first.magnet_url is None


async def test_tpb_magnet_and_leechers_from_peers(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/torznab_tpb.xml"
    first = (await indexer.rss())[0]
    # Torznab: peers counts seeders and leechers
    assert first.leechers == 36724 - 34128
    assert first.size == 388895872  # <size>/enclosure agree; there is no size attribute


async def test_animetosho_takes_torrent_enclosure_and_attr_infohash(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/torznab_animetosho.xml"
    releases = await indexer.rss()
    second = releases[1]
    # two enclosures (torrent + nzb): the torrent one; the enclosure length is 0, the attribute gives the size
    assert second.download_url == "http://storage.localhost/torrents/123452.torrent"
    assert second.size == 473987489
    assert second.infohash == "bff4afebcd50c21949ed6a06323d2120c649bd82"  # the attribute wins over the magnet
    assert second.magnet_url == "magnet:?xt=urn:btih:5QK77JL7LZVIMEGKJ5VVAMMR5EEQMMSN"
    assert second.categories == [5070, 100001] and second.files == 1


async def test_double_escaped_title_is_unescaped(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/encoded_title.xml"
    (release,) = await indexer.rss()
    assert release.title == "Series.&.Title.S02E19.EAC3.5.1.1080p.WEBRip.x265-iVy"
    assert release.size == 724655000  # enclosure length: no attribute, no <size>
    assert utc(release.published) == "2024-12-20T05:16:34"


async def test_relative_urls_resolved_against_feed_url(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/relative_urls.xml"
    (release,) = await indexer.rss()
    base = indexer_server.url
    assert release.download_url == f"{base}/getnzb/123.nzb&i=123&r=123"
    assert release.info_url == f"{base}/details/123"
    assert release.comments_url == f"{base}/details/123#comments"
    assert release.title == "Real.Time.With.Bill.Maher.2015.08.07.720p.HDTV.x264-BATV"  # trailing space trimmed
    assert utc(release.published) == "2015-08-08T13:27:16"


async def test_volume_factors_become_flags(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = FREELEECH_FEED
    free, half = await indexer.rss()
    assert free.download_volume_factor == 0.0 and free.upload_volume_factor == 2.0
    assert free.flags == ["freeleech", "double_upload", "internal"]
    assert (free.seeders, free.leechers, free.peers) == (10, 4, 14)  # peers = seeders + leechers
    assert free.infohash == "abcdef0123456789abcdef0123456789abcdef01"
    assert half.flags == ["halfleech"]
    # magnet enclosure with a base32 btih
    assert half.download_url.startswith("magnet:") and half.magnet_url == half.download_url
    assert half.infohash == "ad350c37deb53e59bef236e651c6f6f2a640bc25"
    assert half.size is None  # length 0 and nothing else


# -- errors -----------------------------------------------------------------------------------
async def test_wrong_api_key_real_error_document_with_bom(indexer_server: IndexerServer):  # noqa: F811
    indexer_server.api_key = "the-right-key"
    idx = torznab(indexer_server, api_key="a-wrong-key")
    try:
        with pytest.raises(ProviderAuthError) as info:
            await idx.search(SearchQuery(q="x"))
    finally:
        await idx.close()
    assert info.value.code == EXPECTED.get("indexers/newznab/unauthorized.xml", {}).get("error_code", 100)
    assert "Test Torznab" in str(info.value) and "Incorrect user credentials" in str(info.value)
    assert "a-wrong-key" not in str(info.value)


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (100, ProviderAuthError), (101, ProviderAuthError), (102, ProviderAuthError),
        (200, ProviderResponseError), (201, ProviderResponseError), (203, ProviderResponseError),
        (300, ProviderResponseError), (900, ProviderResponseError), (910, ProviderResponseError),
        (429, ProviderRateLimited), (500, ProviderRateLimited), (501, ProviderRateLimited),
    ],
)
async def test_error_documents_map_to_provider_errors(indexer_server: IndexerServer, indexer: TorznabIndexer, code, error_class):  # noqa: F811
    indexer_server.fault = Fault(kind="error", code=code, description=f"Problem {code}")
    with pytest.raises(error_class) as info:
        await indexer.rss()
    assert type(info.value) is error_class
    assert info.value.code == code
    assert str(info.value).startswith("Test Torznab: ") and f"Problem {code}" in str(info.value)


@pytest.mark.parametrize(
    ("fault", "error_class", "code", "retry_after"),
    [
        (Fault(status=401, body=b"Unauthorized"), ProviderAuthError, 401, None),
        (Fault(status=403, body=b"Forbidden"), ProviderAuthError, 403, None),
        (Fault(status=429, headers={"Retry-After": "120"}), ProviderRateLimited, 429, 120.0),
        (Fault(status=429), ProviderRateLimited, 429, None),
        (Fault(status=500, body=b"Internal Server Error"), ProviderUnavailable, 500, None),
        (Fault(status=502, body=b"<html><body>Bad gateway</body></html>"), ProviderUnavailable, 502, None),
        (Fault(status=503, headers={"Retry-After": "30"}), ProviderUnavailable, 503, 30.0),
        # a request-limit error document sent with HTTP 503: rate limiting, not an outage
        (Fault(kind="error", status=503, code=500, description="Request limit reached",
               headers={"Retry-After": "600"}), ProviderRateLimited, 500, 600.0),
        (Fault(status=404, body=b"Not Found"), ProviderResponseError, 404, None),
        (Fault(kind="html"), ProviderUnavailable, None, None),
        (Fault(kind="malformed"), ProviderResponseError, None, None),
    ],
    ids=["401", "403", "429-retry-after", "429", "500", "502-html", "503-retry-after", "503-limit-doc",
         "404", "html-200", "malformed"],
)
async def test_http_faults_map_to_provider_errors(indexer_server: IndexerServer, indexer: TorznabIndexer, fault, error_class, code, retry_after):  # noqa: F811
    indexer_server.feed = "torznab/torznab_hdaccess_net.xml"
    indexer_server.fault = fault
    with pytest.raises(error_class) as info:
        await indexer.rss()
    assert type(info.value) is error_class
    assert info.value.code == code
    assert info.value.retry_after == retry_after
    message = str(info.value)
    assert message.startswith("Test Torznab: ")
    assert API_KEY not in message  # the key is never shown


async def test_retry_after_as_http_date(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.fault = Fault(status=429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    with pytest.raises(ProviderRateLimited) as info:
        await indexer.rss()
    assert info.value.retry_after > 365 * 24 * 3600


async def test_bom_before_a_real_feed_is_accepted(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/torznab_tpb.xml"
    plain = await indexer.rss()
    indexer_server.fault = Fault(kind="bom")
    with_bom = await indexer.rss()
    assert [r.as_dict() for r in with_bom] == [r.as_dict() for r in plain] and len(plain) == 5


async def test_timeout_is_unavailable(indexer_server: IndexerServer):  # noqa: F811
    idx = torznab(indexer_server, timeout=0.2)
    indexer_server.fault = Fault(latency=30)
    try:
        with pytest.raises(ProviderUnavailable) as info:
            await idx.rss()
    finally:
        await idx.close()
    assert "within 0.2 s" in str(info.value) and "Test Torznab" in str(info.value)


async def test_connection_refused_is_unavailable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    idx = TorznabIndexer(None, {"name": "Gone", "url": f"http://127.0.0.1:{port}", "api_key": API_KEY})
    try:
        with pytest.raises(ProviderUnavailable) as info:
            await idx.search(SearchQuery(q="x"))
    finally:
        await idx.close()
    assert str(info.value).startswith("Gone: cannot reach") and API_KEY not in str(info.value)


async def test_caps_error_falls_back_to_defaults_but_auth_does_not(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.fault_queue = [Fault(kind="error", code=203, description="Function not available")]
    caps = await indexer.caps()
    assert caps["defaults_used"] is True
    assert caps["search_types"]["tvsearch"] == ["q", "rid", "season", "ep"]
    other = torznab(indexer_server)
    indexer_server.fault_queue = [Fault(status=401)]
    try:
        with pytest.raises(ProviderAuthError):
            await other.caps()
    finally:
        await other.close()


# -- queries ----------------------------------------------------------------------------------
async def test_id_first_when_caps_support_it(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.caps = MODERN_CAPS
    indexer_server.feed = "torznab/torznab_hdaccess_net.xml"
    query = SearchQuery(type="tvsearch", q="Better Call Saul", ids={"tvdbid": 273181, "tvrageid": 37780},
                        season=1, episode=5)
    releases = await indexer.search(query)
    assert len(releases) == 5
    (sent,) = indexer_server.queries("tvsearch")
    assert sent["tvdbid"] == "273181" and "q" not in sent and "rid" not in sent  # rid not in these caps
    assert (sent["season"], sent["ep"], sent["apikey"], sent["extended"]) == ("1", "5", API_KEY, "1")
    assert sent["cat"] == "5000" and sent["limit"] == "100" and sent["offset"] == "0"


async def test_q_fallback_when_id_search_finds_nothing(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.caps = MODERN_CAPS
    indexer_server.feed = "torznab/torznab_hdaccess_net.xml"
    indexer_server.empty_when = lambda q: "tvdbid" in q
    releases = await indexer.search(SearchQuery(type="tvsearch", q="Better Call Saul", ids={"tvdbid": 1}, season=1, episode=5))
    assert len(releases) == 5
    first, second = indexer_server.queries("tvsearch")
    assert first["tvdbid"] == "1" and "q" not in first
    assert second["q"] == "Better Call Saul" and "tvdbid" not in second and second["season"] == "1"


async def test_q_when_caps_lack_the_id(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    # the real caps without supportedParams: tv-search defaults to q,rid,season,ep
    indexer_server.feed = "torznab/torznab_hdaccess_net.xml"
    await indexer.search(SearchQuery(type="tvsearch", q="Better Call Saul", ids={"tvdbid": 273181}, season=1, episode=5))
    (sent,) = indexer_server.queries("tvsearch")
    assert sent["q"] == "Better Call Saul" and "tvdbid" not in sent
    assert (sent["season"], sent["ep"]) == ("1", "5")
    assert sent["limit"] == str(EXPECTED.get("indexers/newznab/newznab_caps.xml", {}).get("limits", {}).get("max", 60))


async def test_daily_and_anime_queries(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/relative_urls.xml"
    await indexer.search(SearchQuery(type="tvsearch", q="Real Time With Bill Maher", air_date="2015-08-07"))
    (daily,) = indexer_server.queries("tvsearch")
    assert (daily["season"], daily["ep"]) == ("2015", "08/07")
    indexer_server.feed = "torznab/torznab_animetosho.xml"
    await indexer.search(SearchQuery(type="tvsearch", q="Frame Arms Girl", absolute_episode=7))
    (anime,) = indexer_server.queries("search")
    assert anime["q"] == "Frame Arms Girl 07" and anime["cat"] == "5000"


async def test_movie_query_by_imdb_digits(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.caps = MODERN_CAPS
    indexer_server.feed = "torznab/torznab_hdaccess_net.xml"
    await indexer.search(SearchQuery(type="movie", q="Ocean Giants", year=2013, ids={"imdbid": "tt2762334", "tmdbid": 222}))
    (sent,) = indexer_server.queries("movie")
    assert sent["imdbid"] == "2762334" and sent["tmdbid"] == "222" and "q" not in sent and sent["cat"] == "2000"


async def test_music_not_offered_falls_back_to_search(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.caps = MODERN_CAPS  # music-search available="no"
    indexer_server.feed = "torznab/torznab_tpb.xml"
    await indexer.search(SearchQuery(type="music", artist="Artist", album="Album"))
    assert indexer_server.queries("music") == []
    (sent,) = indexer_server.queries("search")
    assert sent["q"] == "Artist Album" and sent["cat"] == "3000"


async def test_caps_are_read_once(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "torznab/torznab_tpb.xml"
    for _ in range(3):
        await indexer.search(SearchQuery(q="x"))
    assert len(indexer_server.queries("caps")) == 1
    caps = await indexer.caps()
    assert caps["limits"] == EXPECTED.get("indexers/newznab/newznab_caps.xml", {}).get("limits", {"max": 60, "default": 25})


# -- paging -----------------------------------------------------------------------------------
async def test_paging_follows_offset_until_total(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "newznab/newznab_nzb_su.xml"
    indexer_server.paginate = True  # 100 items, served 60 (caps max) at a time
    releases = await indexer.search(SearchQuery(q="White Collar"))
    assert len(releases) == 100 and len({r.guid for r in releases}) == 100
    assert [(q["offset"], q["limit"]) for q in indexer_server.queries("search")] == [("0", "60"), ("60", "60")]


async def test_paging_stops_at_query_limit_and_max_pages(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    indexer_server.feed = "newznab/newznab_nzb_su.xml"
    indexer_server.paginate = True
    assert len(await indexer.search(SearchQuery(q="x", limit=70))) == 70
    assert [(q["offset"], q["limit"]) for q in indexer_server.queries("search")] == [("0", "60"), ("60", "10")]
    indexer_server.requests.clear()
    assert len(await indexer.search(SearchQuery(q="x", limit=5, offset=20))) == 5
    assert [(q["offset"], q["limit"]) for q in indexer_server.queries("search")] == [("20", "5")]
    indexer_server.requests.clear()
    indexer.max_pages = 1
    assert len(await indexer.search(SearchQuery(q="x"))) == 60


async def test_paging_stops_when_server_ignores_offset(indexer_server: IndexerServer, indexer: TorznabIndexer):  # noqa: F811
    # the real nzb.su page claims total=10000 but the server sends the same 100 items every time
    indexer_server.feed = "newznab/newznab_nzb_su.xml"
    releases = await indexer.search(SearchQuery(q="x"))
    assert len(releases) == 100
    assert len(indexer_server.queries("search")) == 2  # the second page added nothing new: stop


# -- plugin wiring ----------------------------------------------------------------------------
def test_config_schema_defaults_and_errors():
    from omnimedia.plugins.torznab import omnimedia_manifest

    schema = omnimedia_manifest().config_schema
    entry = schema({"url": "http://127.0.0.1:9117/api/v2.0/indexers/x/results/torznab", "categories": ["5000"]})
    assert entry == {
        "url": "http://127.0.0.1:9117/api/v2.0/indexers/x/results/torznab", "categories": [5000],
        "timeout": 30.0, "priority": 25, "enabled": True, "api_path": "/api",
    }
    idx = TorznabIndexer(None, {**entry, "name": "Jackett"})
    assert idx.api_url == "http://127.0.0.1:9117/api/v2.0/indexers/x/results/torznab/api"
    assert idx.protocol == "torrent" and idx.name == "Jackett" and idx.platform == "torznab"
    with pytest.raises(vol.Invalid):
        schema({"url": "ftp://example.com"})
    with pytest.raises(vol.Invalid):
        schema({"url": "http://example.com", "priority": 51})
    with pytest.raises(vol.Invalid):
        schema({})
    assert NewznabIndexer(None, {"url": "https://api.nzb.su/api"}).api_url == "https://api.nzb.su/api"


async def test_close_closes_the_session(indexer_server: IndexerServer):  # noqa: F811
    idx = torznab(indexer_server)
    indexer_server.feed = "torznab/torznab_tpb.xml"
    await idx.rss()
    session = idx._client._session
    assert session is not None and not session.closed
    await idx.close()
    assert session.closed
    await idx.close()  # twice is fine


async def test_hub_loads_the_three_indexer_plugins(hub_factory, tmp_path: Path, indexer_server: IndexerServer):  # noqa: F811
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "secrets.yaml").write_text(f"torznab_key: {API_KEY}\n")
    extra = (
        "plugins:\n"
        f"  - platform: torznab\n    name: Local Torznab\n    url: {indexer_server.url}\n"
        "    api_key: !secret torznab_key\n    priority: 3\n"
        f"  - platform: newznab\n    url: {indexer_server.url}\n    categories: [5030, 5040]\n"
        f"  - platform: rss\n    url: {indexer_server.url}/rss/ShowRSS.info.xml\n"
    )
    from tests.conftest import minimal_config, write_config

    write_config(tmp_path / "cfg", minimal_config(extra=extra))
    hub = await hub_factory(config_dir=tmp_path / "cfg", serve_http=False)
    for name in ("torznab", "newznab", "rss"):
        assert hub.plugins.plugins[name].state == "running", hub.plugins.plugins[name].reason
    classes = hub.plugins.providers("indexer")
    assert {"torznab", "newznab", "rss"} <= set(classes)
    entries = [e for e in hub.config.plugins if e["platform"] == "torznab"]
    idx = classes["torznab"](hub, entries[0])
    try:
        assert idx.api_key == API_KEY and idx.priority == 3 and idx.name == "Local Torznab"
        indexer_server.feed = "torznab/torznab_tpb.xml"
        releases = await idx.rss()
        assert len(releases) == 5 and releases[0].indexer == "Local Torznab" and releases[0].indexer_priority == 3
    finally:
        await idx.close()


def test_expected_json_present_or_skip(shared_fixtures: Path):
    """The EXPECTED.json-driven tests above are parametrized from the file: make sure it was read."""
    assert TORZNAB_FILES, f"no torznab entries in {shared_fixtures / 'EXPECTED.json'}"

