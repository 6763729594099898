"""The IPTV tuner against a local aiohttp server: playlists from URLs and files, MPEG-TS passed
through, HLS and other containers remuxed by a real ffmpeg, the headers a provider gets,
max_streams, errors that name the channel, and the plugin's set-up."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from omnimedia.core.config.schema import validate_plugin_entries
from omnimedia.core.dvr.types import TunerBusy, TunerUnavailable, UnknownChannel
from omnimedia.core.library.probe import probe
from omnimedia.plugins import iptv
from omnimedia.plugins.iptv.tuner import CHUNK, IptvTuner, looks_like_ts

from .mediagen import make_mkv

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tv" / "m3u" / "ca.m3u"
CLIP_SECONDS = 3.0


# -- media and a provider ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3 s MPEG-TS clip (H.264 + AAC), the same clip as a VOD HLS playlist with 1 s segments
    and a master playlist over it, and a 2 s Matroska file — all made by ffmpeg."""
    root = tmp_path_factory.mktemp("iptv-media")
    ts = root / "clip.ts"
    hls = root / "hls"
    hls.mkdir()
    ffmpeg = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    # 160x90 at 10 fps with a key frame every second, so HLS can cut 1 s segments
    subprocess.run(
        [*ffmpeg, "-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=10:duration={CLIP_SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-g", "10", "-c:a", "aac", "-f", "mpegts", str(ts)],
        check=True, capture_output=True,
    )
    subprocess.run(
        [*ffmpeg, "-i", str(ts), "-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(hls / "seg%03d.ts"), str(hls / "index.m3u8")],
        check=True, capture_output=True,
    )
    (hls / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=160x90\nindex.m3u8\n", encoding="utf-8")
    (hls / "broken.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXTINF:1.0,\nmissing000.ts\n#EXTINF:1.0,\nmissing001.ts\n#EXT-X-ENDLIST\n", encoding="utf-8")
    mkv = make_mkv(root / "clip.mkv", duration=2.0)
    return {"ts": ts, "hls": hls, "mkv": mkv}


class Provider:
    """An IPTV provider on aiohttp: ``playlist`` is served at /playlist.m3u; every request's
    path and headers are kept in ``requests``; ``live_open`` counts endless streams open now."""

    def __init__(self, media: dict[str, Path]) -> None:
        self.media = media
        self.playlist = "#EXTM3U\n"
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.live_open = 0
        self.live_max = 0

    def headers_for(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def app(self) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            self.requests.append((request.path, dict(request.headers)))
            return await handler(request)

        app = web.Application(middlewares=[record])
        app.router.add_get("/playlist.m3u", self.get_playlist)
        app.router.add_get("/ts/clip.ts", self.clip)
        app.router.add_get("/live.ts", self.live)
        app.router.add_get("/hls/live", self.hls_without_extension)
        app.router.add_get("/live-hls.m3u8", self.live_hls)
        app.router.add_get("/live-seg/{n}", self.live_segment)
        app.router.add_get("/hls/{name}", self.hls_file)
        fixed = {
            "/redirect": lambda: web.Response(status=302, headers={"Location": "/hls/master.m3u8"}),
            "/mkv": lambda: web.FileResponse(self.media["mkv"]),
            "/gone": lambda: web.Response(status=404, text="no such stream"),
            "/busy": lambda: web.Response(status=509, text="max connections"),
            "/forbidden": lambda: web.Response(status=403),
            "/html": lambda: web.Response(text="<html>log in</html>", content_type="text/html"),
        }
        for path, make in fixed.items():
            async def handler(request: web.Request, make: Any = make) -> web.StreamResponse:
                return make()
            app.router.add_get(path, handler)
        return app

    async def get_playlist(self, request: web.Request) -> web.Response:
        return web.Response(text=self.playlist, content_type="audio/x-mpegurl")

    async def clip(self, request: web.Request) -> web.StreamResponse:
        data = self.media["ts"].read_bytes()
        response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        await response.prepare(request)
        for i in range(0, len(data), 20_000):
            await response.write(data[i:i + 20_000])
        await response.write_eof()
        return response

    async def live(self, request: web.Request) -> web.StreamResponse:
        """The clip over and over, about 1 MB/s, until the client goes away."""
        data = self.media["ts"].read_bytes()
        response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        await response.prepare(request)
        self.live_open += 1
        self.live_max = max(self.live_max, self.live_open)
        try:
            while True:
                for i in range(0, len(data), 188 * 100):
                    await response.write(data[i:i + 188 * 100])
                    await asyncio.sleep(0.02)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self.live_open -= 1
        return response

    async def live_hls(self, request: web.Request) -> web.Response:
        """A live HLS playlist (no end tag) whose window moves on one segment a second: the
        segments of the clip over and over."""
        segments = sorted((self.media["hls"]).glob("seg*.ts"))
        now = int(asyncio.get_running_loop().time())
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", f"#EXT-X-MEDIA-SEQUENCE:{now}"]
        for n in range(now, now + 3):
            lines += ["#EXTINF:1.0,", f"live-seg/{n % len(segments)}.ts"]
        return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")

    async def live_segment(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"].removesuffix(".ts"))
        return web.Response(body=(self.media["hls"] / f"seg{n:03d}.ts").read_bytes(), content_type="video/mp2t")

    async def hls_file(self, request: web.Request) -> web.StreamResponse:
        path = self.media["hls"] / request.match_info["name"]
        if not path.is_file():
            return web.Response(status=404)
        kind = "application/vnd.apple.mpegurl" if path.suffix == ".m3u8" else "video/mp2t"
        return web.Response(body=path.read_bytes(), content_type=kind)

    async def hls_without_extension(self, request: web.Request) -> web.Response:
        # some providers send HLS as text/plain from a URL without .m3u8: only the body tells
        return web.Response(body=(self.media["hls"] / "index.m3u8").read_bytes(), content_type="text/plain")


@pytest.fixture
async def provider(media: dict[str, Path], aiohttp_server: Any) -> tuple[Provider, str]:
    prov = Provider(media)
    server = await aiohttp_server(prov.app())
    return prov, str(server.make_url("")).rstrip("/")


class StandInDvr:
    """What the plugin needs of hub.dvr (core/dvr/manager.py): ``add_tuner``."""

    def __init__(self) -> None:
        self.tuners: dict[str, Any] = {}

    def add_tuner(self, tuner: Any) -> None:
        assert tuner.device_id not in self.tuners, f"{tuner.device_id} added twice"
        self.tuners[tuner.device_id] = tuner


def stand_in_hub(config_dir: Path) -> Any:
    return SimpleNamespace(config=SimpleNamespace(config_dir=config_dir), dvr=StandInDvr())


def make_tuner(config_dir: Path, **entry: Any) -> IptvTuner:
    """A tuner from a config entry validated by the plugin's own schema (defaults filled in)."""
    return IptvTuner(stand_in_hub(config_dir), iptv.CONFIG_SCHEMA(entry))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def read_all(stream: Any) -> bytes:
    chunks = [chunk async for chunk in stream]
    assert all(0 < len(c) <= CHUNK for c in chunks)
    return b"".join(chunks)


async def probe_bytes(data: bytes, path: Path) -> dict[str, Any]:
    path.write_bytes(data)
    return await probe(str(path), timeout=60)


# -- direct MPEG-TS ---------------------------------------------------------------------------

async def test_direct_ts_passes_bytes_through_with_headers(provider: tuple[Provider, str], media: dict[str, Path], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = (
        '#EXTM3U url-tvg="http://guide.example/epg.xml"\n'
        '#EXTINF:-1 tvg-id="one.ca" tvg-chno="5" group-title="News",One\n'
        "#EXTVLCOPT:http-referrer=http://ref.example/\n"
        f"{base}/ts/clip.ts|User-Agent=ChannelAgent%2F1.0&Cookie=session%3Dabc\n"
        "#EXTINF:-1,Two\n"
        f"{base}/ts/clip.ts\n"
    )
    tuner = make_tuner(tmp_path, name="Test provider", playlist=f"{base}/playlist.m3u", user_agent="EntryAgent/2",
                       headers={"X-Entry": "e1"})
    assert (tuner.device_id, tuner.tuner_count) == ("iptv-test-provider", 1)
    lineup = await tuner.lineup()
    assert [(c.number, c.name, c.guide_id, c.group) for c in lineup] == [("5", "One", "one.ca", "News"), ("2", "Two", None, None)]
    assert tuner.guide_urls == ["http://guide.example/epg.xml"]
    (fetch,) = prov.headers_for("/playlist.m3u")
    assert (fetch["User-Agent"], fetch["X-Entry"]) == ("EntryAgent/2", "e1")

    async with await tuner.open_stream("5") as stream:
        assert stream.mode == "direct" and stream.tuner_index == 0
        status = await tuner.tuner_status()
        assert status[0]["resource"] == "stream0" and status[0]["channel"] == "5"
        data = await read_all(stream)
    assert data == media["ts"].read_bytes()
    assert await tuner.tuner_status() == [{"resource": "stream0"}]
    sent = prov.headers_for("/ts/clip.ts")[0]
    assert sent["User-Agent"] == "ChannelAgent/1.0"  # the channel's own |User-Agent= wins
    assert sent["Referer"] == "http://ref.example/"
    assert sent["Cookie"] == "session=abc"
    assert sent["X-Entry"] == "e1"

    async with await tuner.open_stream("2") as stream:
        assert await read_all(stream) == media["ts"].read_bytes()
    sent = prov.headers_for("/ts/clip.ts")[1]
    assert sent["User-Agent"] == "EntryAgent/2" and "Referer" not in sent and "Cookie" not in sent
    await tuner.close()


# -- HLS and other containers through ffmpeg --------------------------------------------------

async def test_hls_channels_are_remuxed_to_ts_by_ffmpeg(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = (
        "#EXTM3U\n"
        "#EXTINF:-1,Media playlist\n"
        "#EXTVLCOPT:http-user-agent=HlsAgent/3\n"
        f"{base}/hls/index.m3u8|Referer=http%3A%2F%2Fref.example%2F&Cookie=k%3Dv&X-Token=t1\n"
        "#EXTINF:-1,Master behind a redirect\n"
        f"{base}/redirect\n"
        "#EXTINF:-1,No extension, text/plain\n"
        f"{base}/hls/live\n"
    )
    tuner = make_tuner(tmp_path, playlist=f"{base}/playlist.m3u")
    assert tuner.device_id == "iptv-127-0-0-1"  # named after the playlist's host
    await tuner.lineup()
    for number in ("1", "2", "3"):
        prov.requests.clear()
        async with await tuner.open_stream(number) as stream:
            assert stream.mode == "ffmpeg"
            data = await read_all(stream)
        assert looks_like_ts(data[:188 * 8]), f"channel {number}: not MPEG-TS"
        info = await probe_bytes(data, tmp_path / f"hls-{number}.ts")
        assert info["format"]["format_name"] == "mpegts"
        assert sorted(s["codec_name"] for s in info["streams"]) == ["aac", "h264"]
        assert float(info["format"]["duration"]) > CLIP_SECONDS - 1
        segments = [h for p, h in prov.requests if p.startswith("/hls/seg")]
        assert len(segments) >= 3, prov.requests
        if number == "1":  # ffmpeg sent the channel's headers with every request
            for headers in segments:
                assert headers["User-Agent"] == "HlsAgent/3"
                assert headers["Referer"] == "http://ref.example/"
                assert headers["Cookie"] == "k=v"
                assert headers["X-Token"] == "t1"
        else:
            assert all(h["User-Agent"].startswith("Omni-Media/") for h in segments)
    assert await tuner.tuner_status() == [{"resource": "stream0"}]
    await tuner.close()


async def test_hls_duration_is_passed_to_ffmpeg(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = f"#EXTM3U\n#EXTINF:-1,H\n{base}/hls/index.m3u8\n"
    tuner = make_tuner(tmp_path, playlist=f"{base}/playlist.m3u")
    async with await tuner.open_stream("1", duration=1.0) as stream:
        data = await read_all(stream)
    info = await probe_bytes(data, tmp_path / "short.ts")
    assert float(info["format"]["duration"]) < CLIP_SECONDS - 0.5
    await tuner.close()


async def test_other_containers_are_remuxed(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = f"#EXTM3U\n#EXTINF:-1,Matroska\n{base}/mkv\n"
    tuner = make_tuner(tmp_path, playlist=f"{base}/playlist.m3u")
    async with await tuner.open_stream("1") as stream:
        assert stream.mode == "ffmpeg"
        data = await read_all(stream)
    info = await probe_bytes(data, tmp_path / "mkv.ts")
    assert info["format"]["format_name"] == "mpegts"
    assert sorted(s["codec_name"] for s in info["streams"]) == ["aac", "h264"]
    await tuner.close()


# -- max_streams and duration -----------------------------------------------------------------

async def test_max_streams_gives_tuner_busy(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = f"#EXTM3U\n#EXTINF:-1,One\n{base}/live.ts\n#EXTINF:-1,Two\n{base}/live.ts\n#EXTINF:-1,Three\n{base}/live.ts\n"
    tuner = make_tuner(tmp_path, playlist=f"{base}/playlist.m3u", max_streams=2)
    first = await tuner.open_stream("1")
    second = await tuner.open_stream("2")
    assert (first.tuner_index, second.tuner_index) == (0, 1)
    with pytest.raises(TunerBusy) as info:
        await tuner.open_stream("3")
    assert str(info.value) == "127.0.0.1: all 2 streams allowed (max_streams) are in use: 1 (One), 2 (Two)"
    assert info.value.device_id == "iptv-127-0-0-1"
    assert prov.live_max == 2  # the refused one never reached the provider
    assert [s.get("channel") for s in await tuner.tuner_status()] == ["1", "2"]

    it = aiter(first)
    assert looks_like_ts(await anext(it))
    await first.close()
    await first.close()  # idempotent
    third = await tuner.open_stream("3")
    assert third.tuner_index == 0
    await asyncio.wait_for(_until(lambda: prov.live_open == 2), 20)
    await second.close()
    await third.close()
    await asyncio.wait_for(_until(lambda: prov.live_open == 0), 20)
    await tuner.close()


async def _until(check: Any) -> None:
    while not check():
        await asyncio.sleep(0.05)


async def test_duration_ends_a_direct_stream(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = f"#EXTM3U\n#EXTINF:-1,Live\n{base}/live.ts\n"
    tuner = make_tuner(tmp_path, playlist=f"{base}/playlist.m3u")
    stream = await tuner.open_stream("1", duration=1.0)
    data = await asyncio.wait_for(read_all(stream), 30)  # an endless source, ended by duration
    assert looks_like_ts(data[:188 * 8])
    assert await tuner.tuner_status() == [{"resource": "stream0"}]  # ending the iteration freed it
    await asyncio.wait_for(_until(lambda: prov.live_open == 0), 20)
    await tuner.close()


async def test_close_while_another_task_reads(provider: tuple[Provider, str], tmp_path: Path) -> None:
    """The DVR closes a lease's stream from one task while the recorder reads it in another:
    the reader's iteration just ends."""
    prov, base = provider
    prov.playlist = f"#EXTM3U\n#EXTINF:-1,Live\n{base}/live.ts\n#EXTINF:-1,HLS live\n{base}/live-hls.m3u8\n"
    tuner = make_tuner(tmp_path, playlist=f"{base}/playlist.m3u", max_streams=2)
    for number in ("1", "2"):
        stream = await tuner.open_stream(number)
        got: list[bytes] = []

        async def reader(stream: Any = stream, got: list[bytes] = got) -> None:
            async for chunk in stream:
                got.append(chunk)

        task = asyncio.create_task(reader())
        await asyncio.wait_for(_until(lambda got=got: sum(map(len, got)) > 100_000), 30)
        await stream.close()
        await asyncio.wait_for(task, 20)  # ends without an error
        assert task.exception() is None
    assert await tuner.tuner_status() == [{"resource": "stream0"}, {"resource": "stream1"}]
    await asyncio.wait_for(_until(lambda: prov.live_open == 0), 20)
    await tuner.close()


async def test_closing_the_tuner_ends_its_streams(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = f"#EXTM3U\n#EXTINF:-1,Live\n{base}/live.ts\n#EXTINF:-1,HLS\n{base}/hls/index.m3u8\n"
    tuner = make_tuner(tmp_path, playlist=f"{base}/playlist.m3u", max_streams=2)
    live = await tuner.open_stream("1")
    hls = await tuner.open_stream("2")
    proc = hls._proc
    assert proc is not None
    await tuner.close()
    assert await tuner.tuner_status() == [{"resource": "stream0"}, {"resource": "stream1"}]
    assert proc.returncode is not None
    assert [chunk async for chunk in live] == []  # a closed stream yields nothing more
    await asyncio.wait_for(_until(lambda: prov.live_open == 0), 20)


# -- errors -----------------------------------------------------------------------------------

async def test_stream_errors_name_the_channel(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    dead = free_port()
    prov.playlist = (
        "#EXTM3U\n"
        f"#EXTINF:-1,Gone\n{base}/gone?user=u&password=secret\n"
        f"#EXTINF:-1,Busy\n{base}/busy\n"
        f"#EXTINF:-1,Forbidden\n{base}/forbidden\n"
        f"#EXTINF:-1,Login page\n{base}/html\n"
        f"#EXTINF:-1,Nobody\nhttp://127.0.0.1:{dead}/x.ts\n"
        f"#EXTINF:-1,Broken HLS\n{base}/hls/broken.m3u8\n"
    )
    tuner = make_tuner(tmp_path, name="Prov", playlist=f"{base}/playlist.m3u")

    async def fails(number: str, kind: type[Exception]) -> str:
        with pytest.raises(kind) as info:
            await tuner.open_stream(number)
        assert info.value.device_id == "iptv-prov"
        assert await tuner.tuner_status() == [{"resource": "stream0"}], "a failed open must free its stream"
        return str(info.value)

    message = await fails("1", TunerUnavailable)
    assert message == (
        f"Prov: channel 1 (Gone): the stream URL answered HTTP 404 Not Found ({base}/gone?…): the provider is not "
        "serving this channel now, or moved it (reload the playlist)"
    )
    assert "secret" not in message
    assert (await fails("2", TunerBusy)).startswith("Prov: channel 2 (Busy): the provider refused another connection (HTTP 509")
    assert (await fails("3", TunerUnavailable)).startswith("Prov: channel 3 (Forbidden): the provider refused access (HTTP 403 Forbidden)")
    assert await fails("4", TunerUnavailable) == f"Prov: channel 4 (Login page): {base}/html sent an HTML page, not a stream"
    assert await fails("5", TunerUnavailable) == f"Prov: channel 5 (Nobody): cannot connect to http://127.0.0.1:{dead}/x.ts: Connection refused"
    assert await fails("6", TunerUnavailable) == (
        f"Prov: channel 6 (Broken HLS): ffmpeg could not read {base}/hls/broken.m3u8: HTTP error 404 Not Found; "
        f"{base}/hls/broken.m3u8: Invalid data found when processing input"
    )
    with pytest.raises(UnknownChannel) as info:
        await tuner.open_stream("99")
    assert str(info.value) == "Prov (iptv-prov) has no channel 99; its channels: 1, 2, 3, 4, 5, 6"
    await tuner.close()


async def test_unreachable_playlist_url(tmp_path: Path) -> None:
    port = free_port()
    hub = stand_in_hub(tmp_path)
    entries = [iptv.CONFIG_SCHEMA({"playlist": f"http://127.0.0.1:{port}/get.php?username=u&password=secret", "timeout": 5})]
    iptv.omnimedia_setup(hub=hub, entries=entries)  # the plugin sets up: loading waits for lineup()
    (tuner,) = hub.dvr.tuners.values()
    assert tuner.device_id == "iptv-127-0-0-1"
    with pytest.raises(TunerUnavailable) as info:
        await tuner.lineup()
    message = str(info.value)
    assert message == f"127.0.0.1: playlist http://127.0.0.1:{port}/get.php?…: cannot fetch it: Connection refused"
    assert tuner.status()["error"] == message and tuner.status()["channels"] == 0
    with pytest.raises(TunerUnavailable):  # streams say the same
        await tuner.open_stream("1")
    await iptv.omnimedia_teardown(hub=hub)


async def test_playlist_that_is_not_m3u(provider: tuple[Provider, str], tmp_path: Path) -> None:
    prov, base = provider
    prov.playlist = "<html><body>Your subscription has expired</body></html>"
    tuner = make_tuner(tmp_path, name="Prov", playlist=f"{base}/playlist.m3u")
    with pytest.raises(TunerUnavailable) as info:
        await tuner.lineup()
    assert str(info.value) == f"Prov: {base}/playlist.m3u is an HTML page (a login or error page?), not an M3U playlist"


# -- playlist files, refresh, groups -----------------------------------------------------------

async def test_playlist_file_reload_and_groups(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    playlist = lists / "home.m3u"
    playlist.write_text(
        "#EXTM3U\n"
        '#EXTINF:-1 group-title="News",N1\nhttp://s.example/n1\n'
        '#EXTINF:-1 group-title="Adult",A1\nhttp://s.example/a1\n'
        '#EXTINF:-1 group-title="news",N2\nhttp://s.example/n2\n'
        "#EXTINF:-1,No group\nhttp://s.example/x\n",
        encoding="utf-8",
    )
    tuner = make_tuner(tmp_path, playlist="lists/home.m3u", exclude_groups=["adult"], refresh=0, channel_start=10)
    assert (tuner.name, tuner.device_id) == ("home", "iptv-home")
    assert [(c.number, c.name) for c in await tuner.lineup()] == [("10", "N1"), ("12", "N2"), ("13", "No group")]
    only_news = make_tuner(tmp_path, playlist=str(playlist), include_groups=["NEWS"])
    assert [c.name for c in await only_news.lineup()] == ["N1", "N2"]

    playlist.write_text("#EXTM3U\n#EXTINF:-1,Fresh\nhttp://s.example/f\n", encoding="utf-8")
    assert [c.name for c in await tuner.lineup()] == ["N1", "N2", "No group"]  # refresh 0: loaded once
    assert [c.name for c in await tuner.reload()] == ["Fresh"]
    loaded_at = tuner.status()["loaded_at"]

    playlist.unlink()
    with pytest.raises(TunerUnavailable) as info:
        await tuner.reload()
    assert str(info.value) == f"home: playlist {playlist}: file not found"
    assert [c.name for c in await tuner.lineup()] == ["Fresh"]  # the last good lineup stays
    assert tuner.status()["error"] == str(info.value) and tuner.status()["loaded_at"] == loaded_at

    none_left = make_tuner(tmp_path, playlist="lists/none.m3u")
    (lists / "none.m3u").write_text('#EXTM3U\n#EXTINF:-1 group-title="X",A\nhttp://s.example/a\n', encoding="utf-8")
    none_left.include_groups = {"sports"}
    with pytest.raises(TunerUnavailable) as info:
        await none_left.lineup()
    assert str(info.value) == f"none: playlist {lists / 'none.m3u'} gives no channels: all 1 channels are left out by include_groups/exclude_groups"


async def test_real_playlist_as_a_file(tmp_path: Path) -> None:
    if not FIXTURE.is_file():
        pytest.skip(f"real playlist not found at {FIXTURE} (a clone without ../shared/fixtures)")
    tuner = make_tuner(tmp_path, playlist=str(FIXTURE))
    (channel,) = await tuner.lineup()
    assert (tuner.device_id, channel.number, channel.name, channel.guide_id) == ("iptv-ca", "1", "MétéoMédia", "MeteoMedia.ca@SD")
    assert tuner.status()["parse"]["entries"] == 1


# -- the plugin ------------------------------------------------------------------------------

def test_config_schema_through_the_config_loader() -> None:
    tree = {"plugins": [
        {"platform": "iptv", "playlist": "a.m3u"},
        {"platform": "iptv"},
        {"platform": "iptv", "playlist": "b.m3u", "max_streams": 0},
        {"platform": "iptv", "playlist": "c.m3u", "headers": {"Bad Name": "x"}},
    ]}
    entries, errors = validate_plugin_entries(tree, {"iptv": iptv.CONFIG_SCHEMA})
    assert entries == [{
        "platform": "iptv", "playlist": "a.m3u", "max_streams": 1, "channel_start": 1, "refresh": 24.0,
        "timeout": 15.0, "headers": {}, "include_groups": [], "exclude_groups": [],
    }]
    text = [str(e) for e in errors]
    assert len(text) == 3, text
    assert "playlist" in text[0] and "required" in text[0]
    assert "max_streams" in text[1]
    assert "bad HTTP header 'Bad Name'" in text[2]


async def test_setup_registers_one_device_per_entry(tmp_path: Path) -> None:
    hub = stand_in_hub(tmp_path)
    entries = [iptv.CONFIG_SCHEMA(e) for e in (
        {"playlist": "a.m3u", "name": "Home", "max_streams": 3},
        {"playlist": "b.m3u", "name": "Home"},
        {"playlist": "http://iptv.example/list.m3u?user=x"},
    )]
    iptv.omnimedia_setup(hub=hub, entries=entries)
    assert {d: (t.name, t.tuner_count) for d, t in hub.dvr.tuners.items()} == {
        "iptv-home": ("Home", 3), "iptv-home-2": ("Home 2", 1), "iptv-iptv-example": ("iptv.example", 1)}
    assert iptv.omnimedia_tuners() == [IptvTuner]
    manifest = iptv.omnimedia_manifest()
    assert (manifest.name, manifest.kinds) == ("iptv", ("tuner",))
    iptv.omnimedia_setup(hub=SimpleNamespace(), entries=[])  # nothing configured: nothing needed
    with pytest.raises(RuntimeError, match="hub.dvr"):
        iptv.omnimedia_setup(hub=SimpleNamespace(), entries=entries)
    await iptv.omnimedia_teardown(hub=hub)


# -- in a running hub -------------------------------------------------------------------------

async def test_in_a_hub_with_the_dvr(provider: tuple[Provider, str], media: dict[str, Path], hub_factory: Any, tmp_path: Path) -> None:
    """Configured in configuration.yaml, the plugin registers its devices with hub.dvr; a
    playlist that cannot be loaded leaves the plugin running and the device unavailable with
    the reason; the other device's channel is leased and streamed through the DVR."""
    prov, base = provider
    config_dir = tmp_path / "config"
    (config_dir / "lists").mkdir(parents=True)
    (config_dir / "lists" / "home.m3u").write_text(
        f'#EXTM3U\n#EXTINF:-1 tvg-id="one.ca" tvg-chno="7",One\n{base}/ts/clip.ts\n', encoding="utf-8")
    dead = free_port()
    hub = await hub_factory(
        config_dir=config_dir, serve_http=False,
        extra=(
            "plugins:\n"
            "  - platform: iptv\n    name: Home\n    playlist: lists/home.m3u\n    max_streams: 2\n"
            f"  - platform: iptv\n    name: Dead\n    playlist: http://127.0.0.1:{dead}/list.m3u\n    timeout: 5\n"
        ),
    )
    assert hub.plugins.plugins["iptv"].state == "running"
    status = {d["device_id"]: d for d in hub.dvr.devices_status()}
    assert set(status) >= {"iptv-home", "iptv-dead"}
    home, dead_dev = status["iptv-home"], status["iptv-dead"]
    assert (home["available"], home["channels"], home["tuner_count"], home["platform"]) == (True, 1, 2, "iptv")
    assert dead_dev["available"] is False
    assert dead_dev["reason"] == f"Dead: playlist http://127.0.0.1:{dead}/list.m3u: cannot fetch it: Connection refused"
    lineup = {c["number"]: c for c in await hub.dvr.lineup()}
    assert lineup["7"]["name"] == "One" and lineup["7"]["devices"] == ["iptv-home"] and lineup["7"]["guide_id"] == "one.ca"

    lease = await hub.dvr.acquire("7", purpose="live", holder="test")
    try:
        stream = await lease.open_stream()
        data = b"".join([chunk async for chunk in stream])
    finally:
        await lease.release()
    assert data == media["ts"].read_bytes()
    assert await hub.dvr.tuners["iptv-home"].tuner_status() == [{"resource": "stream0"}, {"resource": "stream1"}]
