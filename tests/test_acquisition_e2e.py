"""End to end, for real: wanted episode → Torznab search → decision → grab with a real
qBittorrent → a real BitTorrent transfer from a real Transmission seeder → tracking → import,
rename and the episode in the library. And the usenet path with a real NZBGet: add, queue,
history, and a download that fails (the only news server answers "no such article") → blocklist
→ the next release is grabbed.

Nothing here is faked: the hub only gets a wanted episode and the indexer's URL. The test plays
the rest of the world: it makes the media file and its .torrent, seeds it from
transmission-daemon, offers it on a Torznab feed, and — as there is no tracker or DHT on
loopback — tells qBittorrent where the seeder is (what a tracker would do).
"""

from __future__ import annotations

import asyncio
import hashlib
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from omnimedia.core.acquisition.torrent import infohash_from_torrent, make_torrent

from .conftest import minimal_config
from .daemons import NzbgetDaemon, QBittorrentDaemon, TransmissionDaemon
from .mediagen import make_mkv
from .torznab_feed import TorznabFeed

RELEASE = "Test.Show.2020.S01E02.1080p.WEB-DL.DDP5.1.H.264-NTb"


async def _api(hub: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as s, s.request(method, f"http://{host}:{port}{path}", **kwargs) as r:
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def _wait_for_grab(hub: Any, grab_id: int, states: set[str], timeout: float, why: str, daemon: Any) -> dict[str, Any]:
    seen: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                _, queue = await _api(hub, "GET", "/api/acquisition/queue", params={"all": "true"})
                grab = next(g for g in queue["grabs"] if g["id"] == grab_id)
                if not seen or seen[-1] != grab["state"]:
                    seen.append(grab["state"])
                if grab["state"] in states:
                    return {**grab, "seen": seen}
                await asyncio.sleep(0.2)
    except TimeoutError:
        pytest.fail(f"{why}: grab states {seen}, last {grab}; client log:\n{daemon.log_tail()}")


def _config(tv: Path, feed: TorznabFeed, client_entry: dict[str, Any], extra_acq: str = "") -> str:
    plugins = yaml.safe_dump([
        {"platform": "torznab", "name": "Test indexer", "url": feed.url},
        client_entry,
    ], sort_keys=False)
    extra = "acquisition:\n  rss_sync_interval: 0\n  download_poll_interval: 0.3\n" + extra_acq
    extra += "plugins:\n" + textwrap.indent(plugins, "  ")
    return minimal_config([tv], extra).replace("type: mixed", "type: tv")


WANTED = {
    "media_type": "series", "title": "Test Show", "year": 2020, "quality_profile": "HD-1080p", "lookup": False,
    "episodes": [{"season": 1, "episode": 1, "name": "Pilot"}, {"season": 1, "episode": 2, "name": "The Second One"}],
}


@pytest.mark.timeout(300)
async def test_torrent_from_wanted_to_library(
    hub_factory, torznab_feed: TorznabFeed, qbittorrent_daemon: QBittorrentDaemon,
    transmission_daemon: TransmissionDaemon, tmp_path: Path,
) -> None:
    # The world: a real release, seeded by Transmission and offered by a Torznab indexer.
    seed_dir = tmp_path / "seed"
    media = await asyncio.to_thread(make_mkv, seed_dir / f"{RELEASE}.mkv", duration=3)
    torrent = await asyncio.to_thread(make_torrent, media, piece_size=16 * 1024)
    infohash = infohash_from_torrent(torrent)
    assert transmission_daemon.seed(torrent, seed_dir) == infohash
    torznab_feed.offer(RELEASE, torrent=torrent, size=media.stat().st_size, seeders=1, peers=1)
    torznab_feed.offer("Test.Show.2020.S01E02.720p.HDTV.x264-KILLERS", torrent=None, size=media.stat().st_size)
    tv = tmp_path / "tv"
    tv.mkdir()

    hub = await hub_factory(config_text=_config(tv, torznab_feed, qbittorrent_daemon.entry(name="qBittorrent")))
    status, title = await _api(hub, "POST", "/api/acquisition/wanted", json=WANTED)
    assert status == 201, title
    episode = next(t for t in title["targets"] if t["episode"] == 2)
    # Only episode 2 is out there; search for it.
    status, result = await _api(hub, "POST", f"/api/acquisition/wanted/{title['id']}/search",
                                json={"target_ids": [episode["id"]]})
    assert status == 200, result
    assert [g["release_title"] for g in result["grabbed"]] == [RELEASE], result
    grab = result["grabbed"][0]
    assert grab["download_id"] == infohash and grab["quality"] == "WEBDL-1080p"
    rejected = next(d for d in result["decisions"] if "HDTV" in d["release"]["title"])
    assert rejected["rejections"] == ["Quality HDTV-720p is not wanted in profile HD-1080p"]

    # The swarm: point qBittorrent at the seeder (a tracker's job; there is none on loopback).
    qbit = hub.acquisition.clients["qBittorrent"]
    await qbit.add_peers(infohash, [transmission_daemon.peer])

    done = await _wait_for_grab(hub, grab["id"], {"imported", "failed"}, 180, "download and import", qbittorrent_daemon)
    assert done["state"] == "imported", done
    assert "downloading" in done["seen"] or "import_pending" in done["seen"]

    # Renamed into the library with the episode's title and quality, byte for byte the release.
    expected = tv / "Test Show (2020)" / "Season 01" / "Test Show - S01E02 - The Second One WEBDL-1080p.mkv"
    assert expected.is_file(), sorted(str(p) for p in tv.rglob("*"))
    assert done["imported_paths"] == [str(expected)]
    assert hashlib.sha256(expected.read_bytes()).digest() == hashlib.sha256(media.read_bytes()).digest()
    downloaded = qbittorrent_daemon.download_dir / media.name
    assert downloaded.exists(), "the download client's copy must stay (it may still seed)"
    if downloaded.stat().st_dev == expected.stat().st_dev:
        assert downloaded.stat().st_ino == expected.stat().st_ino, "same filesystem: a hard link, not a copy"

    # The wanted episode now has its file; the library shows the item.
    _, wanted = await _api(hub, "GET", f"/api/acquisition/wanted/{title['id']}")
    ep2 = next(t for t in wanted["targets"] if t["episode"] == 2)
    assert ep2["status"] == "have" and ep2["file_path"] == str(expected) and ep2["file_quality"] == "WEBDL-1080p"
    _, items = await _api(hub, "GET", "/api/media", params={"text": "Test Show"})
    assert [(i["path"], i["type"], i["season"], i["episode"]) for i in items["items"]] == [
        (str(expected), "episode", 1, 2)
    ]
    _, history = await _api(hub, "GET", "/api/acquisition/history")
    assert [e["event"] for e in reversed(history["events"])] == ["grabbed", "imported"]


NZB = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nzb PUBLIC "-//newzBin//DTD NZB 1.1//EN" "http://www.newzbin.com/DTD/nzb/nzb-1.1.dtd">
<nzb xmlns="http://www.newzbin.com/DTD/2003/nzb">
 <file poster="poster@example.invalid" date="1700000000" subject="&quot;{name}.mkv&quot; yEnc (1/1)">
  <groups><group>alt.binaries.test</group></groups>
  <segments><segment bytes="500000" number="1">{name}-part1@example.invalid</segment></segments>
 </file>
</nzb>
"""


@pytest.mark.timeout(300)
async def test_usenet_failure_blocklists_and_grabs_the_next_release(
    hub_factory, nzbget_daemon: NzbgetDaemon, tmp_path: Path
) -> None:
    from aiohttp import web

    first = "Test.Show.2020.S01E02.1080p.WEB-DL.DDP5.1.H.264-NTb"
    second = "Test.Show.2020.S01E02.1080p.WEBRip.x264-GRP"
    nzbs = {first: NZB.format(name=first), second: NZB.format(name=second)}
    feed_url = ""

    def item(n: int, title: str, size: int) -> str:
        return (f"<item><title>{title}</title><guid>nzb-{n}</guid><link>{feed_url}/getnzb/{n}.nzb</link>"
                f"<pubDate>Mon, 03 Nov 2025 10:00:00 +0000</pubDate>"
                f'<enclosure url="{feed_url}/getnzb/{n}.nzb" length="{size}" type="application/x-nzb"/>'
                f'<newznab:attr name="size" value="{size}"/><newznab:attr name="category" value="5040"/></item>')

    async def api(request: web.Request) -> web.Response:
        if request.query.get("t") == "caps":
            return web.Response(text='<caps><limits max="100" default="50"/><searching><search available="yes"/>'
                                     '<tv-search available="yes" supportedParams="q,season,ep"/></searching></caps>',
                                content_type="application/xml")
        body = ('<?xml version="1.0"?><rss version="2.0" xmlns:newznab="http://www.newznab.com/DTD/2010/feeds/attributes/">'
                f"<channel>{item(0, first, 1_900_000_000)}{item(1, second, 1_700_000_000)}</channel></rss>")
        return web.Response(text=body, content_type="application/rss+xml")

    async def getnzb(request: web.Request) -> web.Response:
        title = [first, second][int(request.match_info["n"])]
        return web.Response(text=nzbs[title], content_type="application/x-nzb")

    app = web.Application()
    app.router.add_get("/api", api)
    app.router.add_get("/getnzb/{n:\\d+}.nzb", getnzb)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    feed_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        tv = tmp_path / "tv"
        tv.mkdir()
        plugins = yaml.safe_dump([{"platform": "newznab", "name": "Test usenet indexer", "url": feed_url},
                                  nzbget_daemon.entry(name="NZBGet")], sort_keys=False)
        extra = ("acquisition:\n  rss_sync_interval: 0\n  download_poll_interval: 0.3\n"
                 "  quality_profiles:\n    - {name: Usenet, qualities: [WEBRip-1080p, WEBDL-1080p], cutoff: WEBDL-1080p, "
                 "preferred_protocol: usenet}\nplugins:\n" + textwrap.indent(plugins, "  "))
        hub = await hub_factory(config_text=minimal_config([tv], extra))
        status, title = await _api(hub, "POST", "/api/acquisition/wanted",
                                   json={**WANTED, "quality_profile": "Usenet", "episodes": WANTED["episodes"][1:]})
        assert status == 201, title
        status, result = await _api(hub, "POST", f"/api/acquisition/wanted/{title['id']}/search")
        assert [g["release_title"] for g in result["grabbed"]] == [first], result
        grab = result["grabbed"][0]
        assert grab["protocol"] == "usenet" and grab["download_client"] == "NZBGet" and grab["download_id"]

        # NZBGet queues it, finds no article on the news server, and moves it to history as failed.
        failed = await _wait_for_grab(hub, grab["id"], {"failed", "imported"}, 120, "the usenet download to fail", nzbget_daemon)
        assert failed["state"] == "failed" and failed["message"], failed
        _, blocklist = await _api(hub, "GET", "/api/acquisition/blocklist")
        assert [e["release_title"] for e in blocklist["entries"]] == [first]
        # … and the next best release is grabbed automatically.
        async with asyncio.timeout(30):
            while True:
                _, queue = await _api(hub, "GET", "/api/acquisition/queue", params={"all": "true"})
                if any(g["release_title"] == second for g in queue["grabs"]):
                    break
                await asyncio.sleep(0.2)
        _, history = await _api(hub, "GET", "/api/acquisition/history")
        events = [(e["event"], e["release_title"]) for e in reversed(history["events"])]
        assert events[:4] == [("grabbed", first), ("download_failed", first), ("blocklisted", first), ("grabbed", second)]
    finally:
        await runner.cleanup()
