"""The acquisition engine through the hub's API: wanted → search → decide → grab → track → fail
over, with the real ``torznab`` plugin against a local Torznab server offering real .torrent files.

The download client here is a small in-process plugin (``memclient``) whose items the test
drives, because these tests are about the engine's decisions and state machine; the real clients
(qBittorrent, Transmission, NZBGet) are exercised end to end in ``test_acquisition_e2e.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import torf

from omnimedia.core.acquisition.torrent import make_torrent
from omnimedia.core.acquisition.types import DownloadItem

from .conftest import minimal_config
from .torznab_feed import TorznabFeed

MEMCLIENT = '''
import voluptuous as vol
from omnimedia.core.acquisition.types import DownloadItem
from omnimedia.core.errors import ProviderUnavailable
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import Downloader

ITEMS = {}
ADDED = []
STATE = {"down": False}


class MemoryClient(Downloader):
    protocol = "torrent"

    def _check(self):
        if STATE["down"]:
            raise ProviderUnavailable(f"{self.name}: cannot connect to 127.0.0.1:1 (connection refused)")

    async def add(self, request):
        self._check()
        ADDED.append(request)
        ITEMS.setdefault(request.infohash, DownloadItem(id=request.infohash, name=request.name, state="queued"))
        return request.infohash

    async def items(self):
        self._check()
        return list(ITEMS.values())

    async def remove(self, item_id, *, delete_data=False):
        ITEMS.pop(item_id, None)


@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="memclient", kinds=("downloader",), config_schema=vol.Schema({}))


@hookimpl
def omnimedia_downloaders():
    return [MemoryClient]
'''


def _torrent(tmp_path: Path, name: str) -> bytes:
    payload = tmp_path / "payloads" / name
    payload.parent.mkdir(parents=True, exist_ok=True)
    payload.write_bytes(hashlib.sha256(name.encode()).digest() * 4096)
    return make_torrent(payload)


def _second_opinion(data: bytes) -> str:
    """The info-hash as torf computes it (not our code)."""
    import io

    return torf.Torrent.read_stream(io.BytesIO(data)).infohash


@pytest.fixture
def memclient(tmp_path: Path) -> Any:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "memclient.py").write_text(textwrap.dedent(MEMCLIENT))
    return folder


def _module() -> Any:
    """The memclient module the running hub loaded (from ``plugins_dir``)."""
    return sys.modules["omnimedia_local_plugins.memclient"]


def _config(tmp_path: Path, feed: TorznabFeed, plugins: Path, *, broken_url: str | None = None) -> str:
    tv = tmp_path / "tv"
    tv.mkdir(exist_ok=True)
    extra = textwrap.dedent(f"""\
        plugins_dir: {str(plugins)!r}
        acquisition:
          rss_sync_interval: 0
          download_poll_interval: 0.1
        plugins:
          - platform: torznab
            name: Test indexer
            url: {feed.url}
          - platform: memclient
            name: Memory
        """)
    if broken_url:
        extra += f"  - platform: torznab\n    name: Broken indexer\n    url: {broken_url}\n"
    return minimal_config([tv], extra)


async def _api(hub: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as s, s.request(method, f"http://{host}:{port}{path}", **kwargs) as r:
        body = await r.json() if r.content_type == "application/json" else await r.text()
        return r.status, body


async def _until(predicate: Any, timeout: float = 20.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(0.05)


WANTED = {
    "media_type": "series", "title": "Test Show", "year": 2020, "quality_profile": "HD-1080p", "lookup": False,
    "episodes": [{"season": 1, "episode": 1, "name": "Pilot", "runtime": 45}],
}


async def test_search_decide_grab_and_fail_over(hub_factory, torznab_feed: TorznabFeed, memclient: Path, tmp_path: Path) -> None:
    webdl = _torrent(tmp_path, "webdl")
    webrip = _torrent(tmp_path, "webrip")
    torznab_feed.offer("Test.Show.S01E01.720p.HDTV.x264-KILLERS", torrent=_torrent(tmp_path, "hdtv"), size=900_000_000)
    torznab_feed.offer("Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb", torrent=webdl, size=1_800_000_000)
    torznab_feed.offer("Test.Show.S01E01.1080p.WEBRip.x264-GRP", torrent=webrip, size=1_700_000_000)
    torznab_feed.offer("Test.Show.Aftershow.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb", torrent=_torrent(tmp_path, "other"))
    hub = await hub_factory(config_text=_config(tmp_path, torznab_feed, memclient))
    mem = _module()

    status, title = await _api(hub, "POST", "/api/acquisition/wanted", json=WANTED)
    assert status == 201, title
    assert title["counts"]["missing"] == 1 and title["root_folder"] == str(tmp_path / "tv")
    status, missing = await _api(hub, "GET", "/api/acquisition/missing")
    assert [t["name"] for t in missing["targets"]] == ["Pilot"]

    status, result = await _api(hub, "POST", f"/api/acquisition/wanted/{title['id']}/search")
    assert status == 200, result
    # The best release was grabbed, tracked by the info-hash the hub computed from the .torrent.
    assert [g["release_title"] for g in result["grabbed"]] == ["Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb"]
    grab = result["grabbed"][0]
    assert grab["download_id"] == _second_opinion(webdl) and grab["quality"] == "WEBDL-1080p"
    assert mem.ADDED[0].torrent == webdl and mem.ADDED[0].category == "omnimedia"
    by_title = {d["release"]["title"]: d for d in result["decisions"]}
    hdtv = by_title["Test.Show.S01E01.720p.HDTV.x264-KILLERS"]
    assert not hdtv["accepted"] and any("HDTV-720p" in r for r in hdtv["rejections"])
    assert not by_title["Test.Show.Aftershow.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb"]["accepted"]

    # The episode is now queued: a second search grabs nothing; grabbing the same release is refused.
    status, again = await _api(hub, "POST", f"/api/acquisition/wanted/{title['id']}/search")
    assert again["grabbed"] == []
    release = by_title["Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb"]["release"]
    status, dup = await _api(hub, "POST", "/api/acquisition/grab", json={"release": release})
    assert status == 409 and "already grabbed" in dup["error"]

    # Progress is tracked and persisted.
    mem.ITEMS[grab["download_id"]].state = "downloading"
    mem.ITEMS[grab["download_id"]].progress = 0.4
    await _until(lambda: _queue_state(hub, grab["id"], "downloading"))

    # The client fails the download: blocklisted, removed from the client, and the next best grabbed.
    mem.ITEMS[grab["download_id"]].state = "failed"
    mem.ITEMS[grab["download_id"]].message = "Unpacking failed, write error or disk is full?"
    hub.acquisition.tracker.wake()
    queue = await _until(lambda: _queue_titles(hub, "Test.Show.S01E01.1080p.WEBRip.x264-GRP"))
    assert queue
    assert grab["download_id"] not in mem.ITEMS
    status, blocklist = await _api(hub, "GET", "/api/acquisition/blocklist")
    assert [e["release_title"] for e in blocklist["entries"]] == ["Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb"]
    assert "disk is full" in blocklist["entries"][0]["reason"]
    status, history = await _api(hub, "GET", "/api/acquisition/history")
    events = [e["event"] for e in reversed(history["events"])]
    assert events == ["grabbed", "download_failed", "blocklisted", "grabbed"]

    # The blocklisted release is rejected with its reason in an interactive search.
    status, search = await _api(hub, "GET", "/api/acquisition/search", params={"title_id": title["id"]})
    blocked = next(d for d in search["results"] if d["release"]["title"].endswith("-NTb") and "Test" in d["release"]["title"])
    assert not blocked["accepted"] and any("blocklist" in r.lower() for r in blocked["rejections"])


async def _queue_state(hub: Any, grab_id: int, state: str) -> bool:
    _, queue = await _api(hub, "GET", "/api/acquisition/queue", params={"all": "true"})
    return any(g["id"] == grab_id and g["state"] == state for g in queue["grabs"])


async def _queue_titles(hub: Any, title: str) -> bool:
    _, queue = await _api(hub, "GET", "/api/acquisition/queue")
    return any(g["release_title"] == title for g in queue["grabs"])


async def test_broken_indexer_and_down_client_degrade_only_themselves(
    hub_factory, torznab_feed: TorznabFeed, memclient: Path, tmp_path: Path
) -> None:
    torznab_feed.offer("Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb", torrent=_torrent(tmp_path, "a"))
    broken = TorznabFeed(broken=True)
    from aiohttp import web

    runner = web.AppRunner(broken.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    broken_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        hub = await hub_factory(config_text=_config(tmp_path, torznab_feed, memclient, broken_url=broken_url))
        status, result = await _api(hub, "GET", "/api/acquisition/search", params={"q": "Test Show", "type": "tvsearch"})
        assert status == 200
        assert [d["release"]["title"] for d in result["results"]] == ["Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb"]
        assert [e["indexer"] for e in result["errors"]] == ["Broken indexer"]
        assert "HTML" in result["errors"][0]["error"] or "html" in result["errors"][0]["error"]

        _module().STATE["down"] = True
        status, err = await _api(hub, "POST", "/api/acquisition/grab", json={"release": result["results"][0]["release"]})
        assert status == 502 and "connection refused" in err["error"]
        status, health = await _api(hub, "GET", "/api/acquisition/health")
        clients = {h["name"]: h for h in health["download_clients"]}
        indexers = {h["name"]: h for h in health["indexers"]}
        assert clients["Memory"]["status"] == "failing" and "connection refused" in clients["Memory"]["message"]
        assert indexers["Broken indexer"]["status"] == "failing" and indexers["Test indexer"]["status"] == "ok"
        status, history = await _api(hub, "GET", "/api/acquisition/history")
        assert history["events"][0]["event"] == "grab_failed"
    finally:
        _module().STATE["down"] = False
        await runner.cleanup()


async def test_grabs_survive_a_restart(hub_factory, torznab_feed: TorznabFeed, memclient: Path, tmp_path: Path) -> None:
    data = _torrent(tmp_path, "restart")
    torznab_feed.offer("Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb", torrent=data)
    config_dir = tmp_path / "config"
    text = _config(tmp_path, torznab_feed, memclient)
    hub = await hub_factory(config_dir=config_dir, config_text=text)
    _, title = await _api(hub, "POST", "/api/acquisition/wanted", json=WANTED)
    _, result = await _api(hub, "POST", f"/api/acquisition/wanted/{title['id']}/search")
    grab = result["grabbed"][0]
    await hub.stop()

    hub2 = await hub_factory(config_dir=config_dir)
    # The client kept downloading while the hub was down (the reloaded plugin starts empty).
    _module().ITEMS[grab["download_id"]] = DownloadItem(
        id=grab["download_id"], name=grab["release_title"], state="downloading", progress=0.75
    )
    await _until(lambda: _queue_state(hub2, grab["id"], "downloading"))
    _, queue = await _api(hub2, "GET", "/api/acquisition/queue")
    assert queue["grabs"][0]["progress"] == pytest.approx(0.75)
    _, wanted = await _api(hub2, "GET", f"/api/acquisition/wanted/{title['id']}")
    assert wanted["targets"][0]["status"] == "queued"


async def test_stalled_download_fails_over_and_a_vanished_download_folder_fails_the_import(
    hub_factory, torznab_feed: TorznabFeed, memclient: Path, tmp_path: Path
) -> None:
    torznab_feed.offer("Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb", torrent=_torrent(tmp_path, "stall"))
    torznab_feed.offer("Test.Show.S01E01.1080p.WEBRip.x264-GRP", torrent=_torrent(tmp_path, "next"))
    text = _config(tmp_path, torznab_feed, memclient).replace(
        "download_poll_interval: 0.1", "download_poll_interval: 0.1\n  stalled_timeout: 0.02"  # 1.2 s
    )
    hub = await hub_factory(config_text=text)
    mem = _module()
    _, title = await _api(hub, "POST", "/api/acquisition/wanted", json=WANTED)
    _, result = await _api(hub, "POST", f"/api/acquisition/wanted/{title['id']}/search")
    stalled = result["grabbed"][0]
    mem.ITEMS[stalled["download_id"]].state = "stalled"
    mem.ITEMS[stalled["download_id"]].progress = 0.1
    mem.ITEMS[stalled["download_id"]].message = "no seeds"

    # A torrent that never completes: failed after the stalled timeout, blocklisted, next one grabbed.
    await _until(lambda: _queue_titles(hub, "Test.Show.S01E01.1080p.WEBRip.x264-GRP"))
    _, queue = await _api(hub, "GET", "/api/acquisition/queue", params={"all": "true"})
    failed = next(g for g in queue["grabs"] if g["id"] == stalled["id"])
    assert failed["state"] == "failed" and "no progress for" in failed["message"] and "no seeds" in failed["message"]

    # The next one completes, but its download folder is gone by the time the hub imports it.
    nxt = next(g for g in queue["grabs"] if g["state"] != "failed")
    item = mem.ITEMS[nxt["download_id"]]
    item.state, item.progress = "completed", 1.0
    item.content_path = str(tmp_path / "downloads" / "Test.Show.S01E01.1080p.WEBRip.x264-GRP")
    await _until(lambda: _queue_state(hub, nxt["id"], "failed"))
    _, queue = await _api(hub, "GET", "/api/acquisition/queue", params={"all": "true"})
    grab = next(g for g in queue["grabs"] if g["id"] == nxt["id"])
    assert grab["message"].startswith("import failed: The download is not at ") and "moved or deleted" in grab["message"]
    _, history = await _api(hub, "GET", "/api/acquisition/history")
    assert history["events"][0]["event"] == "import_failed"
    # An import failure does not blame the release: it is not blocklisted.
    _, blocklist = await _api(hub, "GET", "/api/acquisition/blocklist")
    assert [e["release_title"] for e in blocklist["entries"]] == ["Test.Show.S01E01.1080p.WEB-DL.DDP5.1.H.264-NTb"]


async def test_adding_a_series_looks_up_its_episodes_with_the_metadata_provider(
    hub_factory, aiohttp_server: Any, tmp_path: Path
) -> None:
    """With `tmdb` configured, adding a series by name fills title, year, ids and the episode list
    (air dates from the provider); `monitor: future` wants only episodes not aired yet."""
    from .fake_tmdb import VALID_API_KEY, FakeTmdb

    server = await aiohttp_server(FakeTmdb().app())
    tv = tmp_path / "tv"
    tv.mkdir()
    extra = (f"plugins:\n  - platform: tmdb\n    api_key: {VALID_API_KEY}\n"
             f"    base_url: {str(server.make_url('')).rstrip('/')}\n")
    hub = await hub_factory(config_text=minimal_config([tv], extra))
    status, title = await _api(hub, "POST", "/api/acquisition/wanted",
                               json={"media_type": "series", "title": "better call saul", "quality_profile": "HD-1080p"})
    assert status == 201, title
    assert (title["title"], title["year"]) == ("Better Call Saul", 2015)
    assert title["ids"]["tvdbid"] in ("273181", 273181) and title["ids"]["imdbid"] == "tt3032476"
    assert title["counts"]["targets"] == 63 and title["counts"]["missing"] == 63
    first = title["targets"][0]
    assert (first["season"], first["episode"], first["name"], first["air_date"]) == (1, 1, "Uno", "2015-02-08")

    # Everything has aired: "future" monitors nothing, so nothing is missing.
    status, future = await _api(hub, "POST", "/api/acquisition/wanted",
                                json={"media_type": "series", "title": "Better Call Saul", "monitor": "future"})
    assert future["counts"]["unmonitored"] == 63 and future["counts"]["missing"] == 0
    # A title the provider does not know is a clear 400.
    status, err = await _api(hub, "POST", "/api/acquisition/wanted",
                             json={"media_type": "series", "title": "No Such Show Anywhere"})
    assert status == 400 and "found no series" in err["error"]
