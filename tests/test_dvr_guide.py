"""The guide engine (core/dvr/guide.py) on a real database (SQLite, and PostgreSQL where marked):
imports from files and from an HTTP server (plain, .xml.gz, Content-Encoding gzip, ETag/304),
replacement per source in one transaction, failures and broken documents that keep the previous
guide, pruning, stable programme ids, queries, channel mapping (auto and manual), the background
refresh and a guide across a DST change."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from omnimedia.core.bus import EventBus
from omnimedia.core.const import EVENT_DVR_GUIDE
from omnimedia.core.db import Database
from omnimedia.core.dvr.config import DVR_SCHEMA
from omnimedia.core.dvr.guide import Guide, GuideImportError, normalise_name, normalise_number
from omnimedia.core.dvr.types import LineupChannel
from tests.pgcluster import postgres_cluster, postgres_url  # noqa: F401
from tests.waiting import wait_until

XMLTV_DIR = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tv" / "xmltv"


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


#: The tests' "now": a Friday noon, two days before the European DST change of 2026.
NOW = utc(2026, 3, 27, 12)
HOUR = 3600.0


def stamp(epoch: float, zone: str = "UTC") -> str:
    local = datetime.fromtimestamp(epoch, ZoneInfo(zone))
    minutes = int(local.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{local:%Y%m%d%H%M%S} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def document(channels: dict[str, list[str]], programmes: list[tuple], *, zone: str = "UTC",
             close: bool = True) -> bytes:
    """An XMLTV document: ``channels`` {id: display-names}; ``programmes`` (channel, start, stop,
    title[, extra XML])."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv generator-info-name="test">\n']
    for cid, names in channels.items():
        out.append(f'  <channel id="{cid}">' + "".join(f"<display-name>{n}</display-name>" for n in names)
                   + "</channel>\n")
    for channel, start, stop, title, *extra in programmes:
        out.append(f'  <programme start="{stamp(start, zone)}" stop="{stamp(stop, zone)}" channel="{channel}">'
                   f"<title>{title}</title>{''.join(extra)}</programme>\n")
    if close:
        out.append("</tv>\n")
    return "".join(out).encode()


def day_of(channel: str, first: float, count: int, prefix: str, length: float = HOUR) -> list[tuple]:
    return [(channel, first + i * length, first + (i + 1) * length, f"{prefix} {i}") for i in range(count)]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    await database.connect()
    yield database
    await database.close()


@pytest.fixture
async def any_db(database_url: str):
    database = Database(database_url)
    await database.connect()
    yield database
    await database.close()


class Events:
    def __init__(self, bus: EventBus) -> None:
        self.seen: list[dict[str, Any]] = []
        bus.listen(EVENT_DVR_GUIDE, lambda event: self.seen.append(dict(event.data)))


def make_guide(db: Database, config_dir: Path, sources: list[dict[str, Any]] | None = None,
               clock: Any = lambda: NOW, **settings: Any) -> Guide:
    """A Guide as the DVR manager builds it: a manager with ``.hub`` (db, bus, config.config_dir)
    and the validated dvr settings."""
    hub = SimpleNamespace(db=db, bus=EventBus(), config=SimpleNamespace(config_dir=config_dir))
    return Guide(SimpleNamespace(hub=hub), DVR_SCHEMA({"guide": sources or [], **settings}), clock=clock)


CHANNELS = {"one.tv": ["One HD", "5.1"], "two.tv": ["Two"], "three.tv": ["KQED"]}


def week_guide() -> list[tuple]:
    """Hourly programmes on three channels from two days ago to twenty days ahead (so the import
    prunes both ends), plus a news programme with details on one.tv."""
    progs: list[tuple] = []
    for cid in CHANNELS:
        progs += day_of(cid, NOW - 48 * HOUR, 22 * 24, cid.split(".")[0].title())
    progs.append(("two.tv", NOW + 0.5 * HOUR, NOW + 0.75 * HOUR, "Evening News",
                  "<sub-title>Late edition</sub-title><desc>Headlines from the harbour.</desc>"
                  '<category>News</category><episode-num system="xmltv_ns">1.4.</episode-num><new/>'))
    return progs


# -- import and queries -----------------------------------------------------------------------------------
async def test_import_file_then_query(any_db: Database, tmp_path: Path) -> None:
    (tmp_path / "guide.xml").write_bytes(document(CHANNELS, week_guide()))
    guide = make_guide(any_db, tmp_path, [{"name": "main", "source": "guide.xml"}])
    events = Events(guide.hub.bus)

    result = await guide.import_source("main")
    # Kept: ended at most a day ago, starting at most guide_days (14) ahead: per channel the hours
    # from NOW-25h (its stop is NOW-24h) to NOW+14d; plus the news.
    per_channel = 25 + 14 * 24 + 1
    assert (result.source, result.channels, result.programmes) == ("main", 3, 3 * per_channel + 1)
    assert result.skipped == 0 and result.partial is False and result.errors == []
    assert result.overlaps == 1  # the news sits inside an hourly programme on two.tv
    assert events.seen == [{"source": "main", "result": result.as_dict()}]

    status = guide.status()[0]
    assert status["name"] == "main" and status["state"] == "ok" and status["error"] is None
    assert status["last_import_at"] == NOW and status["result"]["programmes"] == result.programmes

    chans = await guide.channels()
    assert [(c.id, c.names, c.number, c.source) for c in chans] == [
        ("one.tv", ["One HD", "5.1"], "5.1", "main"), ("three.tv", ["KQED"], None, "main"), ("two.tv", ["Two"], None, "main")]

    window = await guide.programmes(NOW, NOW + HOUR, ["two.tv", "one.tv"])
    assert [(p.channel, p.title) for p in window] == [("one.tv", "One 48"), ("two.tv", "Two 48"), ("two.tv", "Evening News")]
    news = window[-1]
    assert (news.start, news.stop) == (NOW + 0.5 * HOUR, NOW + 0.75 * HOUR)
    assert (news.subtitle, news.description, news.categories) == ("Late edition", "Headlines from the harbour.", ["News"])
    assert (news.season, news.episode, news.episode_id, news.new, news.previously_shown) == (2, 5, "1.4.", True, False)
    assert news.id is not None
    assert await guide.programme(news.id) == news
    assert await guide.programme(10**9) is None

    everything = await guide.programmes(NOW - 100 * HOUR, NOW + 100 * 24 * HOUR)
    assert len(everything) == result.programmes
    assert min(p.stop for p in everything) == NOW - 24 * HOUR
    assert max(p.start for p in everything) == NOW + 14 * 24 * HOUR
    # The window is half-open: a programme ending at its start is not in it.
    edge = await guide.programmes(NOW + HOUR, NOW + HOUR + 1, ["one.tv"])
    assert [p.title for p in edge] == ["One 49"]

    found = await guide.search("HARBOUR")
    assert [p.title for p in found] == ["Evening News"]
    assert await guide.search("harbour", NOW + HOUR, NOW + 2 * HOUR) == []
    assert [p.title for p in await guide.search("edition", NOW, NOW + HOUR)] == ["Evening News"]
    assert await guide.search("100%") == [] and await guide.search("  ") == []


async def test_reimport_replaces_and_keeps_ids(any_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "guide.xml"
    progs = day_of("one.tv", NOW, 6, "Show")
    path.write_bytes(document({"one.tv": ["One"]}, progs))
    guide = make_guide(any_db, tmp_path, [{"name": "main", "source": str(path)}])
    await guide.import_source("main")
    before = {p.title: p.id for p in await guide.programmes(NOW, NOW + 6 * HOUR)}

    changed = list(progs)
    changed[2] = ("one.tv", NOW + 2 * HOUR, NOW + 3 * HOUR, "Replacement")
    del changed[5]
    path.write_bytes(document({"one.tv": ["One", "1"]}, changed))
    result = await guide.import_source(str(path))  # by its path: the configured source
    assert result.programmes == 5
    after = await guide.programmes(NOW, NOW + 6 * HOUR)
    assert [p.title for p in after] == ["Show 0", "Show 1", "Replacement", "Show 3", "Show 4"]
    for p in after:
        if p.title != "Replacement":
            assert p.id == before[p.title], "an unchanged programme keeps its id"
    assert after[2].id not in before.values()
    assert (await guide.channels())[0].names == ["One", "1"]


async def test_sources_replace_only_their_own_rows(db: Database, tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(document({"a.tv": ["A"], "shared.tv": ["Shared (A)"]},
                                              day_of("a.tv", NOW, 3, "A") + day_of("shared.tv", NOW, 2, "SA")))
    (tmp_path / "b.xml").write_bytes(document({"b.tv": ["B"], "shared.tv": ["Shared (B)"]},
                                              day_of("b.tv", NOW, 3, "B") + day_of("shared.tv", NOW + 5 * HOUR, 1, "SB")))
    guide = make_guide(db, tmp_path, [{"source": "a.xml"}, {"source": "b.xml"}])
    assert [s["name"] for s in guide.status()] == ["a.xml", "b.xml"]  # default names: the file names
    results = await guide.refresh_all()
    assert [(r.source, r.channels, r.programmes) for r in results] == [("a.xml", 2, 5), ("b.xml", 1, 4)]
    assert "'shared.tv' is already declared by guide source 'a.xml'" in results[1].errors[0]

    (tmp_path / "b.xml").write_bytes(document({"b.tv": ["B"]}, day_of("b.tv", NOW, 1, "B2")))
    await guide.import_source("b.xml")
    titles = sorted(p.title for p in await guide.programmes(NOW, NOW + 24 * HOUR))
    assert titles == ["A 0", "A 1", "A 2", "B2 0", "SA 0", "SA 1"]
    assert {c.id: c.source for c in await guide.channels()} == {"a.tv": "a.xml", "shared.tv": "a.xml", "b.tv": "b.xml"}


# -- failures ---------------------------------------------------------------------------------------------
async def test_failed_import_keeps_the_previous_guide(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "guide.xml"
    path.write_bytes(document(CHANNELS, day_of("one.tv", NOW, 4, "Kept")))
    guide = make_guide(db, tmp_path, [{"name": "main", "source": "guide.xml"}])
    events = Events(guide.hub.bus)
    first = await guide.import_source("main")

    async def titles() -> list[str]:
        return [p.title for p in await guide.programmes(NOW, NOW + 10 * HOUR)]

    path.write_bytes(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    with pytest.raises(GuideImportError, match=r"guide source 'main' \(guide.xml\): not an XMLTV document: the root "
                                               r"element is <html>"):
        await guide.import_source("main")
    assert await titles() == ["Kept 0", "Kept 1", "Kept 2", "Kept 3"]
    status = guide.status()[0]
    assert status["state"] == "error" and "<html>" in status["error"]
    assert status["result"] == first.as_dict()  # the last good import is still shown
    assert events.seen[-1]["source"] == "main" and "<html>" in events.seen[-1]["error"]

    path.unlink()
    with pytest.raises(GuideImportError, match="guide.xml does not exist"):
        await guide.import_source("main")
    results = await guide.refresh_all()
    assert len(results) == 1 and results[0].programmes == 0 and "does not exist" in results[0].errors[0]
    assert await titles() == ["Kept 0", "Kept 1", "Kept 2", "Kept 3"]

    path.write_bytes(document(CHANNELS, day_of("one.tv", NOW, 1, "Back")))
    await guide.import_source("main")
    assert await titles() == ["Back 0"] and guide.status()[0]["error"] is None


async def test_partial_document_replaces_only_what_it_covers(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "guide.xml"
    old = day_of("one.tv", NOW, 6, "Old one") + day_of("two.tv", NOW, 6, "Old two") + day_of("three.tv", NOW, 6, "Old three")
    path.write_bytes(document(CHANNELS, old))
    guide = make_guide(db, tmp_path, [{"name": "main", "source": "guide.xml"}])
    await guide.import_source("main")

    new = day_of("one.tv", NOW, 6, "New one") + day_of("two.tv", NOW, 6, "New two") + day_of("three.tv", NOW, 6, "New three")
    full = document(CHANNELS, new)
    cut = full[: full.index(b"<title>New two 3")]  # the download broke inside two.tv's fourth programme
    path.write_bytes(cut)
    result = await guide.import_source("main")
    assert result.partial and result.programmes == 9 and "not well-formed" in result.errors[0]
    assert guide.status()[0]["error"] == result.errors[0]

    by_channel: dict[str, list[str]] = {}
    for p in await guide.programmes(NOW, NOW + 6 * HOUR):
        by_channel.setdefault(p.channel, []).append(p.title)
    assert by_channel["one.tv"] == [f"New one {i}" for i in range(6)]
    # two.tv: replaced up to where the document broke off, the old guide after that.
    assert by_channel["two.tv"] == ["New two 0", "New two 1", "New two 2", "Old two 3", "Old two 4", "Old two 5"]
    assert by_channel["three.tv"] == [f"Old three {i}" for i in range(6)]  # never reached: untouched


async def test_broken_programmes_are_counted_not_fatal(db: Database, tmp_path: Path) -> None:
    doc = document({"c.tv": ["C"]}, day_of("c.tv", NOW, 2, "Fine")).replace(
        b"</tv>", b'<programme start="yesterday" channel="c.tv"><title>Bad</title></programme>\n</tv>')
    (tmp_path / "g.xml").write_bytes(doc)
    guide = make_guide(db, tmp_path)
    result = await guide.import_source("g.xml")  # an ad-hoc source (not configured), relative path
    assert (result.source, result.programmes, result.skipped) == ("g.xml", 2, 1)
    assert "line 7" in result.errors[0] and "'yesterday'" in result.errors[0]
    assert [s["name"] for s in guide.status()] == ["g.xml"]


async def test_real_fixture_imports(db: Database, tmp_path: Path) -> None:
    path = XMLTV_DIR / "jellyfin_etag-base.xml"
    if not path.is_file():
        pytest.skip(f"XMLTV fixture {path} not found (clone without ../shared)")
    guide = make_guide(db, tmp_path, clock=lambda: utc(2022, 11, 4, 12))
    result = await guide.import_source({"name": "jellyfin", "source": str(path)})
    assert (result.channels, result.programmes) == (1, 1)
    (p,) = await guide.programmes(utc(2022, 11, 4), utc(2022, 11, 5))
    assert (p.title, p.season, p.episode, p.episode_id, p.categories) == ("Base Program", 1, 2, "EP123456789012", ["series"])
    assert [c.names for c in await guide.channels()] == [["3297"]]


async def test_dst_guide_round_trip(db: Database, tmp_path: Path) -> None:
    """A guide written in Berlin local time across the night of 29 March 2026 (02:00 CET → 03:00
    CEST): stored and read back in UTC, programmes follow each other with no gap or overlap."""
    change = utc(2026, 3, 29, 1)
    progs = day_of("berlin.tv", change - 3 * HOUR, 12, "Night", length=HOUR / 2)
    (tmp_path / "dst.xml").write_bytes(document({"berlin.tv": ["Berlin"]}, progs, zone="Europe/Berlin"))
    assert b'start="20260329013000 +0100" stop="20260329030000 +0200"' in (tmp_path / "dst.xml").read_bytes()
    guide = make_guide(db, tmp_path)
    result = await guide.import_source("dst.xml")
    assert result.overlaps == 0 and result.programmes == 12
    stored = await guide.programmes(change - 3 * HOUR, change + 3 * HOUR)
    assert [(p.start, p.stop) for p in stored] == [(s, e) for _c, s, e, _t in progs]


# -- URLs -------------------------------------------------------------------------------------------------
class GuideServer:
    """An HTTP server for guides: ``/guide.xml`` (ETag + Last-Modified, answers 304 to a matching
    If-None-Match), ``/guide.xml.gz`` (a gzip file, application/gzip), ``/encoded.xml``
    (Content-Encoding: gzip), ``/broken`` (500)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.version = 1
        self.requests: list[tuple[str, str | None]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/guide.xml", self.plain)
        app.router.add_get("/guide.xml.gz", self.gz)
        app.router.add_get("/encoded.xml", self.encoded)
        app.router.add_get("/broken", self.broken)
        return app

    async def plain(self, request: web.Request) -> web.StreamResponse:
        etag = f'"v{self.version}"'
        self.requests.append((request.path, request.headers.get("If-None-Match")))
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=self.body, content_type="application/xml",
                            headers={"ETag": etag, "Last-Modified": "Fri, 27 Mar 2026 10:00:00 GMT"})

    async def gz(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, None))
        return web.Response(body=gzip.compress(self.body), content_type="application/gzip")

    async def encoded(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, None))
        return web.Response(body=gzip.compress(self.body), content_type="application/xml",
                            headers={"Content-Encoding": "gzip"})

    async def broken(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="upstream exploded")


async def test_import_from_url(db: Database, tmp_path: Path, aiohttp_server: Any) -> None:
    server = GuideServer(document(CHANNELS, day_of("one.tv", NOW, 3, "Web")))
    http = await aiohttp_server(server.app())
    base = str(http.make_url(""))
    guide = make_guide(db, tmp_path, [{"source": f"{base}/guide.xml"}, {"name": "gz", "source": f"{base}/guide.xml.gz"},
                                      {"name": "enc", "source": f"{base}/encoded.xml"},
                                      {"name": "down", "source": f"{base}/broken"}])
    assert guide.status()[0]["name"] == "127.0.0.1"  # default name: the host

    first = await guide.import_source("127.0.0.1")
    assert first.programmes == 3
    # Unchanged (ETag): not imported again, the last result stands.
    again = await guide.import_source("127.0.0.1")
    assert server.requests[-1] == ("/guide.xml", '"v1"')
    assert guide.status()[0]["not_modified"] is True and again.programmes == 3
    server.version, server.body = 2, document(CHANNELS, day_of("one.tv", NOW, 2, "Changed"))
    await guide.import_source("127.0.0.1")
    assert [p.title for p in await guide.programmes(NOW, NOW + 5 * HOUR)] == ["Changed 0", "Changed 1"]
    assert guide.status()[0]["not_modified"] is False

    # A gzip file and a gzip-encoded response; one guide channel id per first source, so the
    # programmes land under the same channel ids from each source.
    server.body = document({"gz.tv": ["GZ"]}, day_of("gz.tv", NOW, 4, "Packed"))
    assert (await guide.import_source("gz")).programmes == 4
    server.body = document({"enc.tv": ["ENC"]}, day_of("enc.tv", NOW, 5, "Encoded"))
    assert (await guide.import_source("enc")).programmes == 5

    with pytest.raises(GuideImportError, match=r"guide source 'down': .*/broken answered HTTP 500"):
        await guide.import_source("down")
    assert {s["name"]: s["state"] for s in guide.status()} == {"127.0.0.1": "ok", "gz": "ok", "enc": "ok", "down": "error"}
    assert len(await guide.programmes(NOW, NOW + 10 * HOUR)) == 2 + 4 + 5


async def test_unreachable_url_keeps_the_guide(db: Database, tmp_path: Path, aiohttp_server: Any) -> None:
    server = GuideServer(document(CHANNELS, day_of("one.tv", NOW, 3, "Web")))
    http = await aiohttp_server(server.app())
    url = str(http.make_url("/guide.xml"))
    guide = make_guide(db, tmp_path, [{"name": "web", "source": url}])
    await guide.import_source("web")
    await http.close()
    with pytest.raises(GuideImportError, match=r"guide source 'web': cannot fetch http://127\.0\.0\.1:\d+/guide.xml"):
        await guide.import_source("web")
    assert [p.title for p in await guide.programmes(NOW, NOW + 5 * HOUR)] == ["Web 0", "Web 1", "Web 2"]
    assert guide.status()[0]["state"] == "error"


async def test_background_refresh_degrades_one_source(db: Database, tmp_path: Path, aiohttp_server: Any) -> None:
    (tmp_path / "guide.xml").write_bytes(document(CHANNELS, day_of("one.tv", NOW, 3, "Loop")))
    http = await aiohttp_server(GuideServer(b"").app())
    guide = make_guide(db, tmp_path, [{"name": "file", "source": "guide.xml", "refresh": 6},
                                      {"name": "down", "source": str(http.make_url("/broken")), "refresh": 0}])
    await guide.start(loops=True)
    try:
        status = await wait_until(lambda: (s := {x["name"]: x for x in guide.status()})["file"]["state"] == "ok"
                                  and s["down"]["state"] == "error" and s["down"]["next_import_at"] and s,
                                  "both sources tried")
        assert status["file"]["next_import_at"] == NOW + 6 * HOUR
        assert status["down"]["next_import_at"] == NOW + 300  # retried after 5 minutes
        assert "HTTP 500" in status["down"]["error"]
        assert len(await guide.programmes(NOW, NOW + 5 * HOUR)) == 3
    finally:
        await guide.stop()

    # A new Guide on the same database knows when each source was last imported.
    later = make_guide(db, tmp_path, [{"name": "file", "source": "guide.xml"}])
    await later.start(loops=False)
    assert later.status()[0]["last_import_at"] == NOW and later.status()[0]["state"] == "ok"


async def test_prune_drops_ended_programmes(db: Database, tmp_path: Path) -> None:
    clock = {"now": NOW}
    (tmp_path / "g.xml").write_bytes(document({"c.tv": ["C"]}, day_of("c.tv", NOW, 48, "P")))
    guide = make_guide(db, tmp_path, clock=lambda: clock["now"])
    await guide.import_source("g.xml")
    clock["now"] = NOW + 36 * HOUR
    assert await guide.prune() == 11  # those that ended more than a day before (not the one ending exactly then)
    assert len(await guide.programmes(0, NOW + 100 * HOUR)) == 37


# -- mapping ----------------------------------------------------------------------------------------------
def test_normalisation() -> None:
    assert normalise_number("5-1") == normalise_number("5.1") == normalise_number(" 5_1 ") == "5.1"
    assert normalise_number("005") == "5"
    assert normalise_name("KQED-HD") == normalise_name("kqed hd") == normalise_name("KQED") == "kqed"
    assert normalise_name("HD") == "hd"


async def test_mapping_auto_and_manual(db: Database, tmp_path: Path) -> None:
    channels = {"kqed.us": ["KQED HD"], "ktvu.us": ["KTVU", "2-1"], "bbc1.uk": ["BBC One"], "cnn.us": ["CNN"]}
    path = tmp_path / "g.xml"
    path.write_bytes(document(channels, day_of("cnn.us", NOW, 2, "News")))
    guide = make_guide(db, tmp_path, [{"name": "main", "source": "g.xml"}])
    await guide.import_source("main")

    lineup = [
        LineupChannel(number="9.1", name="KQED-HD"),  # by name (case, "-HD" suffix)
        LineupChannel(number="2.1", name="FOX 2"),  # by the guide's number "2-1"
        LineupChannel(number="101", name="Whatever", guide_id="BBC1.UK"),  # by tvg-id (case ignored)
        LineupChannel(number="102", name="CNN", guide_id="missing.id"),  # id unknown: falls back to the name
        LineupChannel(number="103", name="Unknown Station"),  # no match: left out
    ]
    auto = await guide.mapping(lineup)
    assert auto == {
        "9.1": {"guide_channel_id": "kqed.us", "manual": False},
        "2.1": {"guide_channel_id": "ktvu.us", "manual": False},
        "101": {"guide_channel_id": "bbc1.uk", "manual": False},
        "102": {"guide_channel_id": "cnn.us", "manual": False},
    }

    await guide.set_mapping("9.1", "cnn.us")
    await guide.set_mapping("101", None)  # "this channel has no guide"
    await guide.set_mapping("103", "bbc1.uk")
    with pytest.raises(ValueError, match=r"no guide channel 'nope\.tv' \(known: bbc1\.uk, cnn\.us"):
        await guide.set_mapping("2.1", "nope.tv")

    path.write_bytes(document(channels, day_of("cnn.us", NOW, 3, "News again")))
    await guide.import_source("main")  # manual entries survive a re-import
    mapped = await guide.mapping(lineup)
    assert mapped["9.1"] == {"guide_channel_id": "cnn.us", "manual": True}
    assert mapped["101"] == {"guide_channel_id": None, "manual": True}
    assert mapped["103"] == {"guide_channel_id": "bbc1.uk", "manual": True}
    assert mapped["2.1"] == {"guide_channel_id": "ktvu.us", "manual": False}

    await guide.clear_mapping("9.1")
    assert (await guide.mapping(lineup))["9.1"] == {"guide_channel_id": "kqed.us", "manual": False}


async def test_mapping_prefers_the_first_configured_source(db: Database, tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(document({"z-a.tv": ["News 24"]}, []))
    (tmp_path / "b.xml").write_bytes(document({"a-b.tv": ["NEWS 24 HD"]}, []))
    guide = make_guide(db, tmp_path, [{"name": "first", "source": "a.xml"}, {"name": "second", "source": "b.xml"}])
    await guide.import_source("second")
    await guide.import_source("first")
    found = await guide.mapping([LineupChannel(number="24", name="News24")])
    assert found == {"24": {"guide_channel_id": "z-a.tv", "manual": False}}


async def test_concurrent_imports_of_one_source_are_serialised(db: Database, tmp_path: Path) -> None:
    (tmp_path / "g.xml").write_bytes(document({"c.tv": ["C"]}, day_of("c.tv", NOW, 24, "P")))
    guide = make_guide(db, tmp_path, [{"name": "g", "source": "g.xml"}])
    results = await asyncio.gather(*(guide.import_source("g") for _ in range(3)))
    assert [r.programmes for r in results] == [24, 24, 24]
    assert len(await guide.programmes(0, NOW + 100 * HOUR)) == 24


async def test_the_hub_imports_its_configured_guide(hub_factory: Any, tmp_path: Path) -> None:
    """Through a real hub: ``dvr.guide`` in configuration.yaml is imported at start in the
    background, and the hub keeps running when a second source is unreachable."""
    from tests.conftest import minimal_config

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).timestamp()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "guide.xml.gz").write_bytes(gzip.compress(document(CHANNELS, day_of("one.tv", now, 5, "Hub"))))
    extra = ("dvr:\n  guide:\n    - name: local\n      source: guide.xml.gz\n"
             "    - name: gone\n      source: http://127.0.0.1:9/guide.xml\n      refresh: 1\n")
    (config_dir / "configuration.yaml").write_text(minimal_config([], extra))
    hub = await hub_factory(config_dir=config_dir, serve_http=False)
    guide = hub.dvr.guide

    def settled() -> dict[str, dict[str, Any]] | None:
        status = {s["name"]: s for s in guide.status()}
        return status if status["local"]["state"] == "ok" and status["gone"]["state"] == "error" else None

    status = await wait_until(settled, "the configured sources imported (or failed)")
    assert status["local"]["result"]["programmes"] == 5
    assert "cannot fetch http://127.0.0.1:9/guide.xml" in status["gone"]["error"]
    assert [p.title for p in await guide.programmes(now, now + 5 * HOUR)] == [f"Hub {i}" for i in range(5)]
    assert hub.state == "running"
