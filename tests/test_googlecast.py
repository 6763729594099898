"""GoogleCastRenderer driven through pychromecast against the Cast v2 stand-in on loopback.

The stand-in (``tests/cast_standin.py``) speaks the real wire format over TLS and really fetches
the media URL it is given, from a small aiohttp file server that stands in for the hub's stream
endpoint. Discovery and the hub's own casting path are tested across a veth pair in
``test_googlecast_netns.py``.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pychromecast.socket_client import SocketClient

from omnimedia.core.casting.types import CastError, CastMedia, RendererStatus, RendererUnavailable
from omnimedia.plugins.googlecast.renderer import (
    GoogleCastRenderer,
    SharedZeroconf,
    cast_type_for,
    load_message,
    map_state,
)

from .cast_standin import PROBE_AFTER, CastStandin, openssl_unavailable_reason
from .mediagen import make_mp4
from .waiting import wait_until

pytestmark = pytest.mark.skipif(openssl_unavailable_reason() is not None, reason=str(openssl_unavailable_reason()))



@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cast_media")
    make_mp4(folder / "clip.mp4", duration=10)
    (folder / "clip.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n", encoding="utf-8")
    (folder / "broken.mp4").write_bytes(b"this is not a video" * 100)
    subprocess.run(  # fragmented MP4 as a progressive transcode sends it, > PROBE_AFTER bytes
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6",
         "-vf", "noise=alls=16:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p",
         "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", str(folder / "progressive.mp4")],
        check=True,
    )
    (folder / "hls").mkdir()
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(folder / "clip.mp4"), "-c", "copy", "-f", "hls",
         "-hls_time", "2", "-hls_playlist_type", "vod", str(folder / "hls" / "index.m3u8")],
        check=True,
    )
    return folder


@pytest.fixture
async def file_server(media: Path) -> AsyncIterator[str]:
    """``http://127.0.0.1:PORT/media`` serving ``media`` with Range support (aiohttp's static
    files), as the hub's direct-play endpoint would."""
    app = web.Application()
    app.router.add_static("/media", media)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/media"
    finally:
        await runner.cleanup()


@pytest.fixture
async def standin() -> AsyncIterator[CastStandin]:
    device = await CastStandin(uuid=uuid.uuid4().hex, friendly_name="Living Room TV").start()
    try:
        yield device
    finally:
        await device.close()


def socket_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, SocketClient)]


@pytest.fixture
async def renderer_for() -> AsyncIterator[Callable[..., Any]]:
    """``await renderer_for(standin)`` → a started renderer; closed after the test, which
    then checks that no pychromecast socket thread is left."""
    made: list[GoogleCastRenderer] = []

    async def make(device: CastStandin, **kw: Any) -> GoogleCastRenderer:
        renderer = GoogleCastRenderer(
            device.uuid, device.friendly_name, "127.0.0.1", port=device.port, model="Chromecast", **kw
        )
        made.append(renderer)
        return renderer

    yield make
    for renderer in made:
        await renderer.close()
    assert not socket_threads(), "pychromecast socket threads left running"




def clip(base: str, **kw: Any) -> CastMedia:
    return CastMedia(url=f"{base}/clip.mp4", mime_type="video/mp4", title="Clip", duration=10.0, **kw)


async def test_play_fetches_the_url_and_plays(standin, renderer_for, file_server, media) -> None:
    renderer = await renderer_for(standin)
    idle = await renderer.status()
    assert idle.state == "idle" and idle.position is None
    assert idle.volume == 0.5  # the stand-in's device volume
    assert standin.snapshot()["app"]["appId"] == "E8C28D3C"  # asking for status launched nothing

    await renderer.play(clip(file_server, start=2.0, item_id=7))

    snap = standin.snapshot()
    assert snap["app"]["appId"] == "CC1AD845" and snap["app"]["displayName"] == "Default Media Receiver"
    [fetch] = snap["fetches"]
    assert fetch["url"] == f"{file_server}/clip.mp4"
    assert fetch["range"] == "bytes=0-" and fetch["status"] == 206
    assert fetch["bytes"] == (media / "clip.mp4").stat().st_size
    assert {s["codec_type"] for s in fetch["probe"]["streams"]} == {"video", "audio"}
    loaded = snap["media"]
    assert loaded["playerState"] == "PLAYING"
    assert loaded["media"]["contentId"] == f"{file_server}/clip.mp4"
    assert loaded["media"]["contentType"] == "video/mp4"
    assert loaded["media"]["streamType"] == "BUFFERED"
    assert loaded["media"]["metadata"] == {"metadataType": 0, "title": "Clip"}
    assert loaded["media"]["customData"] == {"item_id": 7}
    assert loaded["currentTime"] >= 2.0

    first = await renderer.status()
    assert first.state == "playing"
    assert first.url == f"{file_server}/clip.mp4"
    assert first.duration == pytest.approx(10.0)
    assert first.position is not None and first.position >= 2.0
    later = await wait_until(
        lambda: _status_past(renderer, first.position + 0.5), "the position to advance while playing"
    )
    assert later.state == "playing" and later.error is None
    assert renderer.current.state == "playing"  # pushed by the device as well


async def _status_past(renderer: GoogleCastRenderer, position: float) -> RendererStatus | None:
    status = await renderer.status()
    return status if status.position is not None and status.position > position else None


async def test_pause_seek_resume_volume_stop(standin, renderer_for, file_server) -> None:
    renderer = await renderer_for(standin)
    await renderer.play(clip(file_server))

    await renderer.pause()
    paused = await renderer.status()
    assert paused.state == "paused"
    await asyncio.sleep(0.3)
    assert (await renderer.status()).position == paused.position  # the clock stands still

    await renderer.seek(6.5)
    after_seek = await renderer.status()
    assert after_seek.state == "paused"  # a seek keeps the paused state
    assert after_seek.position == pytest.approx(6.5)
    seek_fetch = standin.snapshot()["fetches"][-1]
    assert seek_fetch["purpose"] == "seek" and seek_fetch["status"] == 206
    assert seek_fetch["range"].startswith("bytes=") and seek_fetch["range"] != "bytes=0-"

    await renderer.resume()
    playing = await renderer.status()
    assert playing.state == "playing" and playing.position >= 6.5

    await renderer.set_volume(0.25)
    assert standin.snapshot()["volume"]["level"] == 0.25
    assert (await renderer.status()).volume == 0.25

    await renderer.stop()
    stopped = await renderer.status()
    assert stopped.state == "stopped"
    assert standin.snapshot()["media"]["idleReason"] == "CANCELLED"
    with pytest.raises(CastError, match="nothing is playing on Living Room TV"):
        await renderer.pause()
    with pytest.raises(CastError, match="between 0.0 and 1.0"):
        await renderer.set_volume(1.5)
    with pytest.raises(CastError, match="negative"):
        await renderer.seek(-1)


async def test_subtitles_are_a_webvtt_text_track(standin, renderer_for, file_server) -> None:
    renderer = await renderer_for(standin)
    await renderer.play(clip(file_server, subtitles_url=f"{file_server}/clip.vtt", subtitles_mime="text/vtt"))
    snap = standin.snapshot()
    [track] = snap["media"]["media"]["tracks"]
    assert track["type"] == "TEXT" and track["trackContentType"] == "text/vtt"
    assert track["trackContentId"] == f"{file_server}/clip.vtt"
    assert snap["media"]["activeTrackIds"] == [track["trackId"]]
    track_fetch = next(f for f in snap["fetches"] if f["purpose"] == "track")
    assert track_fetch["status"] == 200 and track_fetch["probe"] == {"webvtt": True}


async def test_hls(standin, renderer_for, file_server) -> None:
    """What the hub hands a Chromecast when it must transcode: an HLS playlist."""
    renderer = await renderer_for(standin)
    url = f"{file_server}/hls/index.m3u8"
    await renderer.play(CastMedia(url=url, mime_type="application/vnd.apple.mpegurl", title="Clip (HLS)"))
    snap = standin.snapshot()
    [fetch] = snap["fetches"]
    assert (fetch["purpose"], fetch["url"], fetch["status"]) == ("hls", url, 200)
    assert {s["codec_type"] for s in fetch["probe"]["streams"]} == {"video", "audio"}  # segments were read
    assert snap["media"]["media"]["contentType"] == "application/vnd.apple.mpegurl"
    status = await renderer.status()
    assert status.state == "playing" and status.duration == pytest.approx(10.0, abs=0.5)


async def test_progressive_stream_plays_before_it_ends(standin, renderer_for, media) -> None:
    """A stream of unknown length that is still being produced (the hub's progressive remux or
    transcode): the device plays once it has enough, and keeps reading."""
    data = (media / "progressive.mp4").read_bytes()
    assert len(data) > 2 * PROBE_AFTER
    release = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})  # chunked, no length
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        await release.wait()
        await response.write(data[len(data) // 2:])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/stream", stream)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/stream"
    try:
        renderer = await renderer_for(standin)
        await renderer.play(CastMedia(url=url, mime_type="video/mp4", title="Live remux", duration=6.0))
        [fetch] = standin.snapshot()["fetches"]
        assert fetch["status"] == 200 and "Content-Length" not in fetch["headers"]
        assert not fetch["complete"] and PROBE_AFTER <= fetch["bytes"] < len(data)
        status = await renderer.status()
        assert status.state == "playing" and status.duration == 6.0
        release.set()
        await wait_until(lambda: standin.snapshot()["fetches"][0]["complete"], "the rest of the stream")
        assert standin.snapshot()["fetches"][0]["bytes"] == len(data)
    finally:
        release.set()
        await runner.cleanup()


async def test_a_url_the_device_cannot_load_is_an_error(standin, renderer_for, file_server) -> None:
    renderer = await renderer_for(standin)
    with pytest.raises(CastError, match=r"could not load the media: MEDIA_NETWORK \(Cast error 103\)"):
        await renderer.play(CastMedia(url=f"{file_server}/missing.mp4", mime_type="video/mp4", title="Gone"))
    assert standin.snapshot()["fetches"][-1]["status"] == 404
    status = await renderer.status()
    assert status.state == "stopped"
    assert "MEDIA_NETWORK" in status.error

    with pytest.raises(CastError, match="MEDIA_DECODE"):
        await renderer.play(CastMedia(url=f"{file_server}/broken.mp4", mime_type="video/mp4", title="Broken"))
    with pytest.raises(CastError, match="MEDIA_SRC_NOT_SUPPORTED"):
        await renderer.play(CastMedia(url=f"{file_server}/clip.mp4", mime_type="video/x-msvideo", title="AVI"))

    # The device is fine afterwards: the next item plays and the error is gone.
    await renderer.play(clip(file_server))
    status = await renderer.status()
    assert status.state == "playing" and status.error is None


async def test_fetch_failure_reports_idle_error(renderer_for, file_server) -> None:
    device = await CastStandin(uuid=uuid.uuid4().hex, fail_fetch=True).start()
    try:
        renderer = await renderer_for(device)
        with pytest.raises(CastError, match="MEDIA_NETWORK"):
            await renderer.play(clip(file_server))
        snap = device.snapshot()
        assert snap["media"]["playerState"] == "IDLE" and snap["media"]["idleReason"] == "ERROR"
        status = await renderer.status()
        assert (status.state, status.error is not None) == ("stopped", True)
    finally:
        await device.close()


async def test_device_vanishing_mid_cast(standin, renderer_for, file_server) -> None:
    changes: list[str] = []
    renderer = await renderer_for(standin, on_change=lambda r: changes.append(r.current.state))
    await renderer.play(clip(file_server))
    assert (await renderer.status()).state == "playing"
    thread = renderer.thread
    assert thread is not None and thread.is_alive()

    await standin.vanish()

    await wait_until(lambda: renderer.current.state == "unavailable", "the renderer to notice")
    assert "cannot reach the Cast device Living Room TV" in renderer.current.error
    assert changes[-1] == "unavailable"
    assert "idle" not in changes[changes.index("playing"):]  # a lost connection is not "idle"
    # pychromecast tried once more, then its socket thread ended by itself.
    await wait_until(lambda: not thread.is_alive(), "the socket thread to end")
    assert renderer.thread is None and not renderer.connected
    for command in (renderer.status(), renderer.pause(), renderer.play(clip(file_server))):
        with pytest.raises(RendererUnavailable, match="cannot reach the Cast device Living Room TV"):
            await command
    await wait_until(lambda: not renderer.threads_alive(), "the attempts' threads to end")

    await renderer.close()
    await renderer.close()  # twice is fine
    with pytest.raises(RendererUnavailable):
        await renderer.status()


async def test_unreachable_device(renderer_for) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    changes: list[str] = []
    renderer = GoogleCastRenderer(uuid.uuid4().hex, "Bedroom TV", "127.0.0.1", port=port,
                                  on_change=lambda r: changes.append(r.current.state))
    assert renderer.thread is None  # nothing happens before it is used
    try:
        with pytest.raises(RendererUnavailable, match="cannot reach the Cast device Bedroom TV at 127.0.0.1"):
            await renderer.status()
        assert renderer.current.state == "unavailable" and changes == ["unavailable"]
        with pytest.raises(RendererUnavailable):
            await renderer.play(CastMedia(url="http://192.0.2.9/a.mp4", mime_type="video/mp4"))
        await wait_until(lambda: not renderer.threads_alive(), "failed attempts to leave no thread")
    finally:
        await renderer.close()
    assert not socket_threads()


async def test_second_sender_sees_the_same_session(standin, renderer_for, file_server) -> None:
    """Two senders (as when a phone and the hub both control a TV): a stop from one is seen by
    the other, whose next command then finds nothing to control."""
    first = await renderer_for(standin)
    second = await renderer_for(standin)
    await first.play(clip(file_server))
    assert (await second.status()).state == "playing"
    await second.stop()
    await wait_until(lambda: first.current.state == "stopped", "the stop pushed to the other sender")
    with pytest.raises(CastError, match="nothing is playing"):
        await first.pause()


def test_load_message() -> None:
    live = load_message(CastMedia(url="http://10.0.0.2:8765/api/hls/x/index.m3u8",
                                  mime_type="application/vnd.apple.mpegurl", title="News", stream_type="live"))
    assert live["media"]["streamType"] == "LIVE"
    assert "currentTime" not in live and "tracks" not in live["media"]
    srt = load_message(CastMedia(url="http://h/a.mp4", mime_type="video/mp4", start=42.5,
                                 subtitles_url="http://h/a.srt", subtitles_mime="application/x-subrip",
                                 thumbnail_url="http://h/a.jpg"))
    assert srt["currentTime"] == 42.5
    assert "tracks" not in srt["media"]  # Cast shows WebVTT only
    assert srt["media"]["metadata"]["images"] == [{"url": "http://h/a.jpg"}]
    assert srt["media"]["metadata"]["title"] == "a.mp4"


def test_state_mapping() -> None:
    assert map_state("PLAYING", None) == "playing"
    assert map_state("PAUSED", None) == "paused"
    assert map_state("BUFFERING", None) == "buffering"
    assert map_state("IDLE", None) == "idle"
    for reason in ("FINISHED", "CANCELLED", "INTERRUPTED", "ERROR"):
        assert map_state("IDLE", reason) == "stopped"
    assert map_state("UNKNOWN", None) == "idle"
    assert cast_type_for("Chromecast", 8009, "4101") == "cast"
    assert cast_type_for("Google Home", 8009, "2052") == "audio"
    assert cast_type_for("Some TV", 8009, "4101") == "cast"
    assert cast_type_for("Some Speaker", 8009, "2052") == "audio"
    assert cast_type_for("Chromecast", 32187, "4101") == "group"


def test_shared_zeroconf_after_close() -> None:
    """pychromecast's socket thread may resolve while the hub closes mDNS: no exception."""

    class Closed:
        done = True

    assert SharedZeroconf(Closed()).get_service_info("_googlecast._tcp.local.", "x") is None
    assert SharedZeroconf(None).get_service_info("_googlecast._tcp.local.", "x") is None


async def test_concurrent_commands_keep_the_connection(standin, renderer_for, file_server) -> None:
    """Commands sent from many threads at once while pychromecast's own thread reads and answers
    heartbeats: the TLS connection stays intact (pychromecast alone would interleave writes and
    corrupt it — see ``serialize_socket_io``)."""
    renderer = await renderer_for(standin)
    await renderer.play(clip(file_server))
    connections = standin.snapshot()["connections"]
    for _ in range(80):
        results = await asyncio.gather(*(renderer.status() for _ in range(8)), renderer.set_volume(0.4))
        assert all(r.state == "playing" for r in results[:8])
    assert standin.snapshot()["connections"] == connections == 1
    assert renderer.thread is not None and renderer.connected
