"""The player and the "Play on" picker in real Chromium against a real hub on generated media.

- An MP4 plays directly from /api/stream/<id>: "Resume from" starts at the saved position,
  currentTime advances, a pause saves the position, the end marks the item watched.
- A Matroska file (Chromium has no Matroska demuxer) plays through a progressive playback session:
  the decision and its reason are shown, "Resume from" starts the stream at the saved position, the
  chosen subtitle arrives as a WebVTT <track> timed for the stream, the seek bar restarts the
  stream at the chosen time, and leaving the page stops the session and its ffmpeg.
- "Play on" lists renderers live, shows a renderer's failure in words, casts to another one (a
  stand-in that fetches the URL it is given, as a device does) and drives it: pause, resume, stop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from omnimedia.core.casting.types import CastMedia, Renderer, RendererStatus, RendererUnavailable

from . import mediagen
from .browser import chromium_page, require_chromium
from .conftest import minimal_config
from .playback_media import ffmpeg

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 20_000
DURATION = 4.0
CUES = [(0.0, 1.5, "Hello from the sidecar"), (1.5, 4.0, "Second line")]


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_mkv_with_subtitles(path: Path) -> Path:
    """H.264 + AAC + an English SubRip track whose cues cover the whole clip, in Matroska."""
    path.parent.mkdir(parents=True, exist_ok=True)
    srt = path.with_name(".cues.srt")
    srt.write_text("".join(f"{i + 1}\n{_srt_time(a)} --> {_srt_time(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(CUES)),
                   encoding="utf-8")
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={DURATION}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={DURATION}:sample_rate=48000", "-i", str(srt),
           "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-c:s", "srt", "-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=English",
           str(path))
    srt.unlink()
    return path


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "media"
    return {
        "folder": folder,
        "mp4": mediagen.make_mp4(folder / "Big.Buck.Bunny.2008.720p.BluRay.x264-GRP.mp4", duration=DURATION),
        "mkv": make_mkv_with_subtitles(folder / "Show.Name.S01E01.1080p.WEB-DL.x264-GRP.mkv"),
    }


async def _json(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> Any:
    async with http.request(method, url, **kw) as resp:
        assert resp.status < 300, (method, url, resp.status, await resp.text())
        return await resp.json() if resp.status != 204 else None


async def _items(http: aiohttp.ClientSession, base: str) -> dict[str, dict]:
    items = (await _json(http, "GET", f"{base}/api/media"))["items"]
    return {Path(i["path"]).suffix.lstrip("."): i for i in items}


async def _until(check, timeout: float = 20.0):
    async with asyncio.timeout(timeout):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.1)


PLAYER = "document.querySelector('#player')"


async def _advancing(page, minimum: float = 0.0) -> float:
    """Wait until the player's currentTime is past ``minimum`` and still moving; return it."""
    await page.wait_for_function(f"() => {PLAYER}.currentTime > {minimum} && !{PLAYER}.paused", timeout=LIVE_TIMEOUT_MS)
    first = await page.evaluate(f"{PLAYER}.currentTime")
    await page.wait_for_function(f"() => {PLAYER}.currentTime > {first + 0.3}", timeout=LIVE_TIMEOUT_MS)
    return first


async def test_player_direct_play_and_progressive_session(hub_factory, media) -> None:
    from playwright.async_api import expect

    require_chromium()
    hub = await hub_factory(media_dirs=[media["folder"]])
    await hub.library.scan()
    host, port = hub.http.bound_address()
    base = f"http://{host}:{port}"

    async with aiohttp.ClientSession() as http, chromium_page(viewport={"width": 1360, "height": 900}) as (page, errors):
        items = await _items(http, base)
        mp4, mkv = items["mp4"], items["mkv"]
        await _json(http, "PUT", f"{base}/api/items/{mp4['id']}/position", json={"position": 1.0, "duration": DURATION})

        # -- direct play: the file itself, resumed where it was left --------------------------------
        await page.goto(f"{base}/#/item/{mp4['id']}")
        await expect(page.locator("#decision-method")).to_have_text("Direct play")
        await expect(page.locator("#playback-decision")).to_contain_text("plays the file as it is")
        await expect(page.locator("#player")).to_have_attribute("src", f"/api/stream/{mp4['id']}")
        await expect(page.locator("#resume-box")).to_contain_text("You stopped at 0:01")
        await expect(page.locator("#watched-text")).to_have_text("Stopped at 0:01")
        await page.click("#player-resume")
        assert await _advancing(page, 1.0) >= 1.0  # started at the saved position, and it plays
        await expect(page.locator("#resume-box")).to_be_hidden()

        # A pause reports the position; the hub keeps it as the resume point.
        at = await page.evaluate(f"() => {{ {PLAYER}.pause(); return {PLAYER}.currentTime; }}")

        async def saved() -> dict | None:
            row = await _json(http, "GET", f"{base}/api/items/{mp4['id']}/position")
            return row if abs(row["position"] - at) < 0.3 else None

        row = await _until(saved)
        assert row["device"] == "desktop_browser" and not row["watched"]

        # Playing to the end marks it watched, and the page says so.
        await page.evaluate(f"() => {{ {PLAYER}.currentTime = {DURATION - 0.6}; {PLAYER}.play(); }}")
        await expect(page.locator("#watched-badge")).to_have_text("Watched", timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator("#watched-text")).to_have_text("Played once")
        row = await _json(http, "GET", f"{base}/api/items/{mp4['id']}/position")
        assert row["watched"] is True and row["play_count"] == 1 and row["position"] == 0

        # -- Matroska: remuxed by a playback session, with the reason shown ---------------------------
        await _json(http, "PUT", f"{base}/api/items/{mkv['id']}/position", json={"position": 2.5})
        await page.goto(f"{base}/#/item/{mkv['id']}")
        await expect(page.locator("#decision-method")).to_have_text("Direct stream")
        await expect(page.locator("#decision-reasons")).to_contain_text("Direct stream: container mkv is not supported")
        await expect(page.locator("#player-start")).to_be_visible()
        assert (await _json(http, "GET", f"{base}/api/playback/sessions"))["sessions"] == []  # none before "play"

        detail = await _json(http, "GET", f"{base}/api/media/{mkv['id']}")
        subtitle_index = detail["subtitle_tracks"][0]["index"]
        await page.select_option("#player-subtitles", str(subtitle_index))
        await expect(page.locator("#playback-decision")).to_contain_text("WebVTT text track")
        # Resuming starts the stream at the saved position (?start=), so the element's time 0 is 2.5 s.
        await page.click("#player-resume")
        await _advancing(page)
        sessions = (await _json(http, "GET", f"{base}/api/playback/sessions"))["sessions"]
        assert len(sessions) == 1, sessions
        session = sessions[0]
        assert session["item_id"] == mkv["id"] and session["method"] == "direct_stream"
        assert session["client"].startswith("browser:") and session["decision"]["subtitle_stream"] == subtitle_index
        src = urlsplit(await page.evaluate(f"{PLAYER}.currentSrc"))
        assert (src.path, src.query) == (f"/api/playback/sessions/{session['id']}/stream.mp4", "start=2.500")
        await expect(page.locator("#player-time")).to_contain_text("/ 0:04")

        # The sidecar is a real WebVTT <track>, timed for the stream: what remains after 2.5 s.
        cues_js = f"Array.from(({PLAYER}.textTracks[0] || {{}}).cues || [], c => [c.startTime, c.text])"
        track_ready = (f"() => {{ const t = {PLAYER}.textTracks[0]; return t && t.mode === 'showing' && t.cues"
                       f" && t.cues.length >= %d && document.querySelector('#player track').src.includes('%s'); }}")
        await page.wait_for_function(track_ready % (1, "start=2.500"), timeout=LIVE_TIMEOUT_MS)
        assert await page.evaluate(cues_js) == [[0, "Second line"]]
        track_src = await page.get_attribute("#player track", "src")
        assert track_src.startswith(f"/api/playback/sessions/{session['id']}/subtitles.vtt")

        # Seeking before the stream's start restarts it there (a stream made on the fly has no ranges).
        await page.evaluate("() => { const s = document.querySelector('#player-seek'); s.value = '0.5';"
                            " s.dispatchEvent(new Event('change')); }")
        await page.wait_for_function(f"() => {PLAYER}.currentSrc.endsWith('start=0.500')", timeout=LIVE_TIMEOUT_MS)
        await _advancing(page)
        await page.wait_for_function(track_ready % (2, "start=0.500"), timeout=LIVE_TIMEOUT_MS)
        assert [text for _, text in await page.evaluate(cues_js)] == [text for _, _, text in CUES]
        assert len((await _json(http, "GET", f"{base}/api/playback/sessions"))["sessions"]) == 1  # the same session

        # Leaving the page stops the session (and its ffmpeg) and keeps the position.
        pids = (await _json(http, "GET", f"{base}/api/playback/sessions/{session['id']}"))["pids"]
        await page.click(".back-link")
        await _until(lambda: _no_sessions(http, base))
        for pid in pids:
            assert not Path(f"/proc/{pid}").exists() or "ffmpeg" not in Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")
        row = await _json(http, "GET", f"{base}/api/items/{mkv['id']}/position")
        assert 0.5 < row["position"] <= DURATION, row

        await expect(page.locator("#banner")).to_be_hidden()
        assert errors == [], f"uncaught JavaScript errors: {errors}"


async def _no_sessions(http: aiohttp.ClientSession, base: str) -> bool:
    return (await _json(http, "GET", f"{base}/api/playback/sessions"))["sessions"] == []


class RecordingRenderer(Renderer):
    """A stand-in renderer: fetches the first bytes of the URL it is told to play (as a device
    does), then plays on a clock; records every call. With ``fail`` set, it cannot be reached."""

    protocol = "dlna"
    device_profile = "dlna_generic"

    def __init__(self, id: str, name: str, host: str, *, fail: str | None = None) -> None:
        super().__init__(id, name, host)
        self.fail = fail
        self.calls: list[tuple] = []
        self.media: CastMedia | None = None
        self.fetched: tuple[int, str, int] | None = None
        self.state = "idle"
        self._position = 0.0
        self._since = time.monotonic()

    def _now(self) -> float:
        if self.state != "playing":
            return self._position
        position = self._position + time.monotonic() - self._since
        return min(position, self.media.duration) if self.media and self.media.duration else position

    async def play(self, media: CastMedia) -> None:
        self.calls.append(("play", media.url, media.mime_type))
        if self.fail:
            raise RendererUnavailable(self.fail)
        async with aiohttp.ClientSession() as http, http.get(media.url, headers={"Range": "bytes=0-1023"}) as resp:
            self.fetched = (resp.status, resp.headers.get("Content-Type", ""), len(await resp.read()))
        self.media, self.state, self._position, self._since = media, "playing", media.start, time.monotonic()

    async def pause(self) -> None:
        self.calls.append(("pause",))
        self._position, self.state = self._now(), "paused"

    async def resume(self) -> None:
        self.calls.append(("resume",))
        self.state, self._since = "playing", time.monotonic()

    async def stop(self) -> None:
        self.calls.append(("stop",))
        self._position, self.state = self._now(), "stopped"

    async def seek(self, position: float) -> None:
        self.calls.append(("seek", position))
        self._position, self._since = position, time.monotonic()

    async def status(self) -> RendererStatus:
        return RendererStatus(state=self.state, position=self._now(),
                              duration=self.media.duration if self.media else None,
                              url=self.media.url if self.media else None)


async def test_play_on_picker_casts_and_controls(hub_factory, media) -> None:
    from playwright.async_api import expect

    require_chromium()
    # Listening on every address: a device must reach the hub on a LAN address, never loopback.
    config = minimal_config([media["folder"]]).replace("host: 127.0.0.1", "host: 0.0.0.0")
    hub = await hub_factory(config_text=config)
    await hub.library.scan()
    _, port = hub.http.bound_address()
    base = f"http://127.0.0.1:{port}"
    living = RecordingRenderer("uuid:living-room", "Living Room <TV>", "127.0.0.1")
    broken = RecordingRenderer("uuid:bedroom", "Bedroom TV", "127.0.0.1",
                               fail="Bedroom TV (127.0.0.1) cannot be reached: connection refused")
    hub.casting.add_renderer(living)

    async with aiohttp.ClientSession() as http, chromium_page(viewport={"width": 1360, "height": 900}) as (page, errors):
        mp4 = (await _items(http, base))["mp4"]
        await page.goto(f"{base}/#/item/{mp4['id']}")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "connected")
        await page.click("#cast-open")
        rows = page.locator("#cast-renderers .cast-row")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Living Room <TV>")
        await expect(rows.first).to_contain_text("DLNA · 127.0.0.1")

        # A renderer found while the page is open appears without a reload.
        hub.casting.add_renderer(broken)
        await expect(rows).to_have_count(2, timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator("#cast-count")).to_have_text("2")

        # A device that cannot be reached: the reason, in words.
        await page.click('.cast-row[data-renderer-id="uuid:bedroom"] [data-action="cast"]')
        await expect(page.locator("#cast-error")).to_contain_text("Bedroom TV could not play")
        await expect(page.locator("#cast-error")).to_contain_text("cannot be reached: connection refused")
        await expect(page.locator('.cast-row[data-renderer-id="uuid:bedroom"] .badge')).to_have_text("Unavailable")

        # Casting to the other one: it fetched a LAN URL of the hub, and its state shows.
        await page.click('.cast-row[data-renderer-id="uuid:living-room"] [data-action="cast"]')
        remote = page.locator("#cast-remote")
        await expect(remote).to_be_visible()
        await expect(page.locator("#cast-remote-name")).to_have_text("On Living Room <TV>")
        await expect(page.locator("#cast-error")).to_be_hidden()
        await expect(page.locator("#cast-state .badge")).to_have_text("Playing", timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator("#cast-time")).to_contain_text("/ 0:04")
        await expect(page.locator("#cast-time")).not_to_have_text("0:00 / 0:04", timeout=LIVE_TIMEOUT_MS)
        (_, url, mime) = living.calls[0]
        assert not ipaddress.ip_address(urlsplit(url).hostname).is_loopback, url
        assert urlsplit(url).path == f"/api/stream/{mp4['id']}" and mime == "video/mp4"
        assert living.fetched is not None and living.fetched[0] == 206 and living.fetched[2] == 1024

        await page.click("#cast-pause")
        await expect(page.locator("#cast-state .badge")).to_have_text("Paused")
        assert living.state == "paused"
        await page.click("#cast-resume")
        await expect(page.locator("#cast-state .badge")).to_have_text("Playing")
        await page.click("#cast-stop")
        await expect(page.locator("#cast-state .badge")).to_have_text("Stopped")
        assert [c[0] for c in living.calls] == ["play", "pause", "resume", "stop"]

        # The device leaves the network: the list shrinks and the remote says why.
        hub.casting.remove_renderer("uuid:living-room")
        await expect(rows).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator("#cast-remote-error")).to_contain_text("Living Room <TV> is unavailable")

        assert errors == [], f"uncaught JavaScript errors: {errors}"
