"""The rss indexer plugin against the real feeds of 8 trackers (``../shared/fixtures/indexers/rss``)
served over HTTP. Each puts size and swarm numbers somewhere else; the expected values below were
read by hand from the XML (the text they come from is quoted next to each)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnimedia.core.acquisition.feeds import parse_date, parse_size, parse_swarm_text
from omnimedia.core.acquisition.types import SearchQuery
from omnimedia.core.errors import ProviderResponseError, ProviderUnavailable
from omnimedia.plugins.rss import RssIndexer, description_text, omnimedia_manifest, title_matches
from tests.indexer_server import Fault, IndexerServer, indexer_server  # noqa: F401

GiB, MiB = 1024**3, 1024**2

FEEDS = {
    "AlphaRatio.xml": {
        "count": 2,
        "first": {
            "title": "TvHD 465989 465960 Good.Behavior.S01E03.PROPER.720p.HDTV.x264-KILLERS",
            "size": int(1.02 * GiB),  # description NFO: "Size: 1.02 GiB"
            "seeders": None,
            "download_url": "https://alpharatio.cc/torrents.php?action=download&authkey=private_auth_key"
            "&torrent_pass=private_torrent_pass&id=465960",
            "info_url": "https://alpharatio.cc/torrents.php?id=465989",  # <comments>
            "published": "2016-11-29T10:55:58",
        },
        # second: NFO box "filesize [ 4.28 GB ]" (also "93x50mb" later, which is no size)
        "sizes": [int(1.02 * GiB), int(4.28 * GiB)],
    },
    "BitHdtv.xml": {
        "count": 15,
        "first": {
            "title": "Egypt's Lost Queens.720p.2014.WEB.H.264",
            "size": int(0.99 * GiB),  # <size> Size: 0.99 GB</size>
            "seeders": 2, "leechers": 0, "peers": 2,  # <status> Status: 2 seeders and 0 leechers</status>
            "download_url": "https://www.bit-hdtv.com/rssdownload.php?id=123",
            "published": "2015-06-03T03:19:49",  # "2015-06-03 03:19:49", no zone: UTC
        },
        # items 9-10: "4 seeders and no leecher"; 12: "20 seeders and 6 leechers"; 15: "18 seeders and 2 leechers"
        "swarm": {8: (4, 0), 9: (4, 0), 11: (20, 6), 14: (18, 2)},
        "sizes": {1: int(685.67 * MiB), 11: int(4.79 * GiB)},
    },
    "ExtraTorrents.xml": {
        "count": 5,
        "first": {
            "title": "One.Piece.E334.D ED.720p.HDTV.x264-W4F-={SPARROW}=-",
            "size": 562386947,  # enclosure length="562386947" and <size>562386947</size>
            "seeders": None, "leechers": None,  # <seeders>---</seeders>
            "infohash": "c1b7641c4fd5fd4c248a7aee7c2ad0a4267a371c",  # <info_hash>
            "download_url": "http://ac.me/download/4722030/One.Piece.E334.D+ED.720p.HDTV.x264-W4F-%3D%7BSPARROW%7D%3D-.torrent",
            "info_url": "http://ac.me/torrent/4722030/One.Piece.E334.D+ED.720p.HDTV.x264-W4F-%3D%7BSPARROW%7D%3D-.html",
            "published": "2016-02-21T09:51:54",
        },
    },
    "Ezrss.xml": {
        "count": 3,
        "first": {
            "title": "S4C I Grombil Cyfandir Pell American Interior [PDTV - MVGROUP]",
            "size": 796606175,  # enclosure length and <torrent><contentLength>
            "infohash": "20fc4fbfa88272274ac671f857cc15144e9aa83e",  # <torrent><infoHash> (upper case there)
            "magnet_url": "magnet:?xt=urn:btih:ED6E7P5IQJZCOSWGOH4FPTAVCRHJVKB6"
            "&dn=S4C.I.Grombil.Cyfandir.Pell.American.Interior.PDTV.x264-MVGroup",
            "download_url": "http://re.zoink.it/20a4ed4eFC",
            "info_url": "http://eztv.it/forum/discuss/58439/",
            "published": "2014-09-15T18:39:00",  # Mon, 15 Sep 2014 13:39:00 -0500
        },
    },
    "ImmortalSeed.xml": {
        "count": 50,
        "first": {
            "title": "Conan.2015.02.05.Jeff.Bridges.720p.HDTV.X264-CROOKS",
            # escaped HTML description: "Seeders: 6 / Leechers: 2 / Size: 938.49 MB"
            "size": int(938.49 * MiB), "seeders": 6, "leechers": 2, "peers": 8,
            "download_url": "https://immortalseed.me/download.php?type=rss&secret_key=12345678910&id=374534",
            "published": "2015-02-06T13:32:26",
        },
        "swarm": {1: (4, 1), 2: (4, 0)},  # "Seeders: 4 / Leechers: 1 / Size: 1.44 GB", "… 4 / 0 / 1.38 GB"
        "sizes": {1: int(1.44 * GiB), 2: int(1.38 * GiB)},
    },
    "LimeTorrents.xml": {
        "count": 5,
        "first": {
            "title": "The Expanse 2x04 (720p-HDTV-x264-SVA)[VTV]",
            "size": 880496711,  # <size>880496711</size> wins over the description's rounded "839.71 MB"
            "seeders": 0, "leechers": 0,  # "Seeds: 0<br />Leechers: 0"
            "download_url": "http://itorrents.org/torrent/51C578C9823DD58F6EEA287C368ED935843D63AB.torrent"
            "?title=The-Expanse-2x04-(720p-HDTV-x264-SVA)[VTV]",
            "published": "2017-02-16T02:24:26",  # "16 Feb 2017 05:24:26 +0300": no weekday
        },
    },
    "ShowRSS.info.xml": {
        "count": 5,
        "first": {
            "title": "The Voice 8x25",
            "size": None,  # enclosure length="0", nothing else
            "seeders": None,
            "infohash": "96cd620beda3efd7c4d7746ef94549d03a2eb13b",  # <showrss:info_hash>, the magnet
            "published": "2015-05-15T08:30:01",
        },
    },
    "speed.cd.xml": {
        "count": 20,
        "first": {
            "title": "Nightwatch S01E04 PROPER HDTV x264-W4F",
            "size": int(386.41 * MiB),  # "Category: TV/Episodes Size: 386.41 MB Added: …"
            "seeders": None,
            "download_url": "http://speed.cd/download.php?torrent=599299&key=SECRETKEY",
            "published": "2015-02-16T02:03:47",
        },
        "sizes": {1: int(163.59 * MiB), 2: int(173.40 * MiB)},
    },
}


def utc(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def feed_indexer(server: IndexerServer, name: str, **extra) -> RssIndexer:
    return RssIndexer(None, {"name": f"{name} feed", "url": f"{server.url}/rss/{name}", "priority": 12, **extra})


@pytest.mark.parametrize("name", sorted(FEEDS))
async def test_tracker_feed(indexer_server: IndexerServer, name: str):  # noqa: F811
    want = FEEDS[name]
    idx = feed_indexer(indexer_server, name)
    try:
        releases = await idx.rss()
    finally:
        await idx.close()
    assert len(releases) == want["count"]
    first = releases[0]
    for key, value in want["first"].items():
        got = utc(first.published) if key == "published" else getattr(first, key)
        assert got == value, (key, got, value)
    for i, (seeders, leechers) in want.get("swarm", {}).items():
        assert (releases[i].seeders, releases[i].leechers) == (seeders, leechers), i
        assert releases[i].peers == seeders + leechers
    sizes = want.get("sizes", {})
    for i, size in (enumerate(sizes) if isinstance(sizes, list) else sizes.items()):
        assert releases[i].size == size, i
    for r in releases:
        assert r.protocol == "torrent" and r.indexer == f"{name} feed" and r.indexer_priority == 12
        assert r.download_url and r.published
        assert r.infohash is None or len(r.infohash) == 40


async def test_magnet_feed(indexer_server: IndexerServer):  # noqa: F811
    idx = feed_indexer(indexer_server, "ShowRSS.info.xml")
    try:
        releases = await idx.rss()
    finally:
        await idx.close()
    for r in releases:
        assert r.download_url.startswith("magnet:?xt=urn:btih:") and r.magnet_url == r.download_url
        assert r.infohash == r.download_url[20:60].lower()


async def test_search_filters_the_feed(indexer_server: IndexerServer):  # noqa: F811
    show = feed_indexer(indexer_server, "ShowRSS.info.xml")
    ezrss = feed_indexer(indexer_server, "Ezrss.xml")
    immortal = feed_indexer(indexer_server, "ImmortalSeed.xml")
    try:
        hits = await show.search(SearchQuery(type="tvsearch", q="The Voice", season=8, episode=25))
        assert [r.title for r in hits] == ["The Voice 8x25"]
        assert [r.title for r in await show.search(SearchQuery(q="the voice"))] == ["The Voice 8x25", "The Voice 8x26"]
        assert [r.title for r in await show.search(SearchQuery(q="the voice", limit=1, offset=1))] == ["The Voice 8x26"]
        assert [r.title for r in await show.search(SearchQuery(q="How Its Made", season=25, episode=7))] == [
            "How It's Made 25x07 720p"
        ]
        assert await show.search(SearchQuery(q="The Voice", season=8, episode=2)) == []
        hits = await ezrss.search(SearchQuery(type="tvsearch", q="Andy McNabs Tour Of Duty", season=1, episode=6))
        assert [r.infohash for r in hits] == ["aaa2038bed9ebca2c312d1c9c3e8e024d0eb414e"]
        hits = await immortal.search(SearchQuery(type="tvsearch", q="Conan", air_date="2015-02-05"))
        assert [r.title for r in hits] == ["Conan.2015.02.05.Jeff.Bridges.720p.HDTV.X264-CROOKS"]
    finally:
        for idx in (show, ezrss, immortal):
            await idx.close()


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [(Fault(kind="html"), ProviderUnavailable), (Fault(kind="malformed"), ProviderResponseError),
     (Fault(status=500), ProviderUnavailable)],
    ids=["html", "malformed", "500"],
)
async def test_bad_answers(indexer_server: IndexerServer, fault: Fault, error_class):  # noqa: F811
    indexer_server.fault = fault
    idx = feed_indexer(indexer_server, "speed.cd.xml")
    try:
        with pytest.raises(error_class) as info:
            await idx.rss()
    finally:
        await idx.close()
    assert str(info.value).startswith("speed.cd.xml feed: ")
    assert "SECRETKEY" not in str(info.value)


async def test_missing_feed_and_extra_bom(indexer_server: IndexerServer):  # noqa: F811
    gone = feed_indexer(indexer_server, "nope.xml")
    with pytest.raises(ProviderResponseError) as info:
        await gone.rss()
    await gone.close()
    assert info.value.code == 404
    # ExtraTorrents already starts with a BOM; one more in front still reads
    indexer_server.fault = Fault(kind="bom")
    idx = feed_indexer(indexer_server, "ExtraTorrents.xml")
    try:
        assert len(await idx.rss()) == 5
    finally:
        await idx.close()


async def test_rss_only_caps_and_schema():
    idx = RssIndexer(None, {"url": "http://127.0.0.1:1/feed"})
    assert (await idx.caps())["search_types"] == {}
    assert idx.name == "rss" and idx.protocol == "torrent"
    schema = omnimedia_manifest().config_schema
    assert schema({"url": "https://tracker.test/rss?passkey=x"}) == {
        "url": "https://tracker.test/rss?passkey=x", "timeout": 30.0, "priority": 25, "enabled": True,
    }


# -- the text readers behind it ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("562386947", 562386947),
        (" Size: 0.99 GB", int(0.99 * GiB)),
        ("Size: 1.2 GB Seeds: 12", int(1.2 * GiB)),
        ("Total Size: 301.8 MB", int(301.8 * MiB)),
        ("size=1,234.5 MB", int(1234.5 * MiB)),
        ("Size: 1,5 GB", int(1.5 * GiB)),
        ("Size: 700 KiB", 700 * 1024),
        ("Size: 512 bytes", 512),
        ("Bitrate: 2 535 Kbps", None),  # a rate, not a size
        ("rar count [ 93x50mb ]", None),  # glued to a word
        ("Video size: 1280x720", None),
        ("0", None),
        ("", None),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_parse_swarm_text():
    assert parse_swarm_text("Size: 1.2 GB Seeds: 12") == (12, None)
    assert parse_swarm_text("Seeders: 6 / Leechers: 2 / Size: 938.49 MB") == (6, 2)
    assert parse_swarm_text(" Status: 4 seeders and no leecher") == (4, 0)
    assert parse_swarm_text("Seeders: 1,204 Leechers: 17") == (1204, 17)
    assert parse_swarm_text("nothing here") == (None, None)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Sat, 14 Mar 2015 17:10:42 -0400", "2015-03-14T21:10:42"),
        ("16 Feb 2017 05:24:26 +0300", "2017-02-16T02:24:26"),
        ("Fri, 06 Feb 2015 13:40:57 -12", "2015-02-07T01:40:57"),
        ("2015-06-03 03:19:49", "2015-06-03T03:19:49"),
        ("2017-05-17T20:36:06Z", "2017-05-17T20:36:06"),
        ("Wed, 17 May 2017 20:36:06 GMT", "2017-05-17T20:36:06"),
        ("yesterday", None),
    ],
)
def test_parse_date(text, iso):
    assert utc(parse_date(text)) == iso


def test_description_text_and_title_matching():
    escaped = "Seeders: 6&lt;br /&gt;&lt;b&gt;Size&lt;/b&gt;: 1 GB &amp;nbsp;"
    assert description_text(escaped) == "Seeders: 6 Size : 1 GB"
    assert title_matches("Show.Name.S02E03.720p", SearchQuery(q="show name", season=2, episode=3))
    assert not title_matches("Show.Name.S02E03.720p", SearchQuery(q="show name", season=2, episode=30))
    assert title_matches("Show Name 2x03", SearchQuery(q="Show Name", season=2))
    assert not title_matches("Other.Show.S02E03", SearchQuery(q="show name"))
    assert title_matches("[Grp] Anime Title - 112 [1080p]", SearchQuery(q="Anime Title", absolute_episode=112))
