"""Progressive streaming on a real hub with real ffmpeg: fragmented MP4 remux and transcode, start
offsets, audio only, byte ranges, subtitles (sidecars and burn-in), bad input and clients that
disconnect mid-stream. Every output is read back with ffprobe/ffmpeg."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
import pytest

from omnimedia.core import ffmpeg
from omnimedia.core.playback.types import Decision

from .playback_media import (
    FPS,
    MOVIE_CUES,
    MOVIE_DURATION,
    decodes,
    ffprobe,
    gray_frame,
    make_long,
    make_media,
    mp4_boxes,
    packets,
    psnr,
    region_mean,
)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    return make_media(tmp_path_factory.mktemp("streaming") / "media")


@pytest.fixture
async def served(hub_factory, media):
    """``(hub, base_url, http session, {key: item id})`` on a hub that has scanned the media."""
    hub = await hub_factory(media_dirs=[next(iter(media.values())).parent])
    await hub.library.scan()
    items, _ = await hub.library.list_items(limit=50)
    by_path = {Path(i["path"]).name: i["id"] for i in items}
    ids = {key: by_path[path.name] for key, path in media.items() if path.name in by_path}
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as http:
        yield hub, f"http://{host}:{port}", http, ids


async def create(http, base, item_id, **body):
    async with http.post(f"{base}/api/playback/sessions", json={"item_id": item_id, **body}) as resp:
        return resp.status, await resp.json()


async def fetch(http, url, **kw):
    async with http.get(url, **kw) as resp:
        return resp.status, resp.headers, await resp.read()


def save(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def test_remux_mkv_to_fragmented_mp4(served, media, tmp_path):
    hub, base, http, ids = served
    status, plan = await create(http, base, ids["movie"], profile="desktop_browser")
    assert status == 201
    assert plan["decision"]["method"] == "direct_stream"
    assert plan["url"] == f"/api/playback/sessions/{plan['session_id']}/stream.mp4"
    assert plan["mime_type"] == "video/mp4"
    status, headers, body = await fetch(http, base + plan["url"])
    assert status == 200
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Accept-Ranges"] == "none"
    assert headers["Transfer-Encoding"] == "chunked"
    boxes = mp4_boxes(body)
    assert boxes[:2] == ["ftyp", "moov"]
    # Fragments of at most a second, each a moof + mdat pair.
    assert boxes.count("moof") >= MOVIE_DURATION and boxes.count("mdat") == boxes.count("moof")
    out = save(tmp_path, "remux.mp4", body)
    info = ffprobe(out)
    codecs = [(s["codec_type"], s["codec_name"]) for s in info["streams"]]
    assert codecs == [("video", "h264"), ("audio", "aac")]
    assert abs(float(info["format"]["duration"]) - MOVIE_DURATION) < 0.2
    # Copied, not re-encoded: the keyframes are the source's.
    keys = [round(float(p["pts_time"]), 3) for p in packets(out) if "K" in p["flags"]]
    source = [round(float(p["pts_time"]), 3) for p in packets(media["movie"]) if "K" in p["flags"]]
    assert keys == source
    decodes(out)
    # Pictures in step with the audio: the same frame at the same time as in the source.
    assert psnr(out, 3.0, media["movie"], 3.0) == float("inf")
    # Nothing keeps running once the stream has been sent.
    session = (await (await http.get(f"{base}/api/playback/sessions/{plan['session_id']}")).json())
    assert session["pids"] == [] and session["state"] == "idle"


async def test_transcode_is_h264_high_yuv420p_that_browsers_play(served, media, tmp_path):
    hub, base, http, ids = served
    status, plan = await create(http, base, ids["avi"], profile="desktop_browser")
    assert status == 201 and plan["decision"]["method"] == "transcode"
    assert (plan["decision"]["video"], plan["decision"]["audio"]) == ("h264", "copy")  # MP3 goes into MP4 as it is
    status, headers, body = await fetch(http, base + plan["url"])
    assert status == 200 and headers["Content-Type"] == "video/mp4"
    out = save(tmp_path, "transcode.mp4", body)
    info = ffprobe(out)
    video = info["streams"][0]
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert video["level"] == 30  # 320x240@25: the smallest level of H.264 Table A-1 (never below 3.0)
    assert info["streams"][1]["codec_name"] == "mp3"
    # A keyframe every 2 s, so each fragment holds 2 s.
    keys = [float(p["pts_time"]) for p in packets(out) if "K" in p["flags"]]
    assert len(keys) >= 4 and all(abs(b - a - 2.0) < 0.01 for a, b in zip(keys, keys[1:], strict=False))
    assert mp4_boxes(body).count("moof") >= 8
    assert abs(float(info["format"]["duration"]) - 8.0) < 0.2
    # The same pictures at the same times (B-frames and all: the edit list is there).
    assert psnr(out, 3.0, media["avi"], 3.0) > 30
    assert psnr(out, 3.0, media["avi"], 2.96) < 25


async def test_bitrate_cap_and_scaling_from_the_decision(served, media, tmp_path):
    hub, base, http, ids = served
    item = await hub.library.get_item(ids["movie"])
    _, path, info = await hub.playback.item_source(ids["movie"])
    decision = Decision(method="transcode", profile="test", protocol="progressive", container="mp4", video="h264",
                        audio="aac", video_stream=0, audio_stream=1, max_bitrate=400_000, width=160, height=120)
    plan = await hub.playback.plan(item, path, info, decision, start=0)
    _, _, body = await fetch(http, base + plan.url)
    out = save(tmp_path, "capped.mp4", body)
    probe = ffprobe(out)
    assert (probe["streams"][0]["width"], probe["streams"][0]["height"]) == (160, 120)
    assert probe["streams"][1]["codec_name"] == "aac"
    session = hub.playback.get_session(plan.session_id)
    # The audio's share (mono AAC, 96 kbit/s per channel) is left for the audio.
    assert (session.plan.audio_bitrate, session.plan.max_video_bitrate) == (96_000, 400_000 - 96_000)
    assert int(probe["format"]["bit_rate"]) < 400_000 * 1.3


async def test_start_offset_lands_at_the_right_time(served, media, tmp_path):
    hub, base, http, ids = served
    status, plan = await create(http, base, ids["avi"], profile="desktop_browser", start=5.0)
    assert status == 201 and plan["start"] == 5.0
    _, _, body = await fetch(http, base + plan["url"])
    out = save(tmp_path, "from5.mp4", body)
    assert abs(float(ffprobe(out)["format"]["duration"]) - 3.0) < 0.2
    # The stream's first picture is the source's picture at 5 s, not the one before or after.
    assert psnr(out, None, media["avi"], 5.0) > 30
    assert psnr(out, None, media["avi"], 4.96) < 25 and psnr(out, None, media["avi"], 5.04) < 25
    # Seeking by restart: the same session again with ?start=2.
    _, _, body = await fetch(http, base + plan["url"] + "?start=2")
    out = save(tmp_path, "from2.mp4", body)
    assert abs(float(ffprobe(out)["format"]["duration"]) - 6.0) < 0.2
    assert psnr(out, None, media["avi"], 2.0) > 30
    session = hub.playback.get_session(plan["session_id"])
    assert session.stream_start == 2.0


async def test_copied_audio_starts_with_the_encoded_video(served, media, tmp_path):
    # movie.mkv has keyframes 2.5 s, 4 s and 7 s in: a start at 6.5 s makes ffmpeg read from the
    # keyframe at 4 s. The encoded video begins at 6.5 s; the copied audio must too, not at 4 s.
    hub, base, http, ids = served
    item = await hub.library.get_item(ids["movie"])
    _, path, info = await hub.playback.item_source(ids["movie"])
    decision = Decision(method="transcode", profile="test", protocol="progressive", container="mp4", video="h264",
                        audio="copy", video_stream=0, audio_stream=1)
    plan = await hub.playback.plan(item, path, info, decision, start=6.5)
    _, _, body = await fetch(http, base + plan.url)
    out = save(tmp_path, "audio_copy.mp4", body)
    audio = [float(p["pts_time"]) for p in packets(out, "a:0")]
    video = [float(p["pts_time"]) for p in packets(out, "v:0")]
    assert abs(min(audio) - min(video)) < 0.05
    assert float(ffprobe(out)["format"]["duration"]) == pytest.approx(MOVIE_DURATION - 6.5, abs=0.15)


async def test_seeking_to_the_end_gives_an_empty_stream_not_a_hang(served, media, tmp_path):
    hub, base, http, ids = served
    _, plan = await create(http, base, ids["avi"], profile="desktop_browser")
    for start in (8.0, 100.0):  # the end, and past it (clamped to the end)
        status, headers, body = await asyncio.wait_for(fetch(http, f"{base}{plan['url']}?start={start}"), 30)
        assert status == 200
        assert mp4_boxes(body)[:2] == ["ftyp", "moov"]  # a valid MP4 with (next to) nothing in it
        assert float(ffprobe(save(tmp_path, "end.mp4", body))["format"].get("duration") or 0) < 0.5
    assert ffmpeg.running() == []


async def test_audio_only_item_streams_as_audio_mp4(served, media, tmp_path):
    hub, base, http, ids = served
    status, plan = await create(http, base, ids["audio"], profile="desktop_browser")
    assert status == 201
    assert plan["decision"]["video"] is None and plan["decision"]["audio"] == "aac"
    assert plan["mime_type"] == "audio/mp4"
    status, headers, body = await fetch(http, base + plan["url"])
    assert status == 200 and headers["Content-Type"] == "audio/mp4"
    info = ffprobe(save(tmp_path, "audio.mp4", body))
    assert [(s["codec_type"], s["codec_name"]) for s in info["streams"]] == [("audio", "aac")]
    assert abs(float(info["format"]["duration"]) - 6.0) < 0.2


async def test_ranges_and_head(served, media, tmp_path):
    hub, base, http, ids = served
    _, plan = await create(http, base, ids["movie"], profile="desktop_browser")
    url = base + plan["url"]
    # HEAD answers the headers without starting ffmpeg.
    async with http.head(url) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
        assert resp.headers["Accept-Ranges"] == "none"
    assert hub.playback.get_session(plan["session_id"]).processes() == []
    # A range from byte 0 gets the whole stream (200); any other range is refused with a reason.
    status, headers, body = await fetch(http, url, headers={"Range": "bytes=0-"})
    assert status == 200 and mp4_boxes(body)[:2] == ["ftyp", "moov"]
    for header in ("bytes=1000-", "bytes=-500", "bytes=100-200"):
        status, headers, body = await fetch(http, url, headers={"Range": header})
        assert status == 416, header
        assert "?start=" in (await _json(body))["error"]
    # DLNA renderers asking for contentFeatures get them.
    async with http.head(url, headers={"getcontentFeatures.dlna.org": "1"}) as resp:
        assert resp.headers["transferMode.dlna.org"] == "Streaming"
        assert resp.headers["contentFeatures.dlna.org"].startswith("DLNA.ORG_OP=00;DLNA.ORG_CI=1;")


async def _json(body: bytes) -> dict:
    import json

    return json.loads(body)


async def test_dlna_profile_gets_mpeg_ts(served, media, tmp_path):
    hub, base, http, ids = served
    status, plan = await create(http, base, ids["avi"], profile="dlna_generic")
    assert status == 201 and plan["url"].endswith("/stream.ts") and plan["mime_type"] == "video/mp2t"
    status, headers, body = await fetch(http, base + plan["url"])
    assert status == 200 and headers["Content-Type"] == "video/mp2t"
    out = save(tmp_path, "dlna.ts", body)
    info = ffprobe(out)
    assert info["format"]["format_name"] == "mpegts"
    assert [s["codec_name"] for s in info["streams"]] == ["h264", "mp3"]
    decodes(out)


async def test_webvtt_sidecar_follows_the_stream_start(served, media):
    hub, base, http, ids = served
    status, plan = await create(http, base, ids["movie"], profile="desktop_browser", subtitle_stream=2, start=4.0)
    assert plan["decision"]["subtitles"] == "webvtt"
    assert plan["subtitles_url"] == f"/api/playback/sessions/{plan['session_id']}/subtitles.vtt"
    status, headers, body = await fetch(http, base + plan["subtitles_url"])
    assert status == 200 and headers["Content-Type"] == "text/vtt; charset=utf-8"
    text = body.decode()
    assert text.startswith("WEBVTT")
    # The cues where the file has them (ffmpeg's muxer put them 21 ms later than the SubRip said).
    cues = [(float(p["pts_time"]), float(p["pts_time"]) + float(p["duration_time"]), words)
            for p, (_, _, words) in zip(packets(media["movie"], "s:0", "duration_time"), MOVIE_CUES, strict=True)]
    # Cues 4 s earlier (the stream starts at 4 s); the cue at 1–2 s is gone.
    assert text == "WEBVTT\n\n" + "\n\n".join(
        f"{_vtt(a - 4)} --> {_vtt(b - 4)}\n{words}" for a, b, words in cues[1:]) + "\n"
    # The whole track, per item, as WebVTT and SubRip.
    status, headers, body = await fetch(http, f"{base}/api/items/{ids['movie']}/subtitles/2.vtt")
    assert status == 200
    for start, end, words in cues:
        assert f"{_vtt(start)} --> {_vtt(end)}\n{words}" in body.decode()
    status, headers, body = await fetch(http, f"{base}/api/items/{ids['movie']}/subtitles/2.srt?start=0.5")
    assert status == 200 and headers["Content-Type"].startswith("application/x-subrip")
    assert body.decode() == "\n\n".join(
        f"{i}\n{_vtt(a - 0.5).replace('.', ',')} --> {_vtt(b - 0.5).replace('.', ',')}\n{words}"
        for i, (a, b, words) in enumerate(cues, start=1)) + "\n"
    # A picture subtitle, a stream that is not a subtitle, an item that does not exist.
    status, _, body = await fetch(http, f"{base}/api/items/{ids['pgs']}/subtitles/2.vtt")
    assert status == 422 and "picture format" in (await _json(body))["error"]
    status, _, body = await fetch(http, f"{base}/api/items/{ids['movie']}/subtitles/0.vtt")
    assert status == 422
    status, _, body = await fetch(http, f"{base}/api/items/99999/subtitles/2.vtt")
    assert status == 404


def _vtt(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


async def test_image_subtitle_is_burnt_in(served, media, tmp_path):
    hub, base, http, ids = served
    status, plan = await create(http, base, ids["pgs"], profile="desktop_browser", subtitle_stream=2)
    assert status == 201
    assert (plan["decision"]["subtitles"], plan["decision"]["video"]) == ("burn_in", "h264")
    assert plan["subtitles_url"] is None
    _, _, body = await fetch(http, base + plan["url"])
    out = save(tmp_path, "burnt.mp4", body)
    assert [s["codec_type"] for s in ffprobe(out)["streams"]] == ["video", "audio"]  # no subtitle stream left
    box = (140, 210, 40, 20)
    # The white box is in the picture while the subtitle shows (0–0.8 s) and gone afterwards.
    assert region_mean(gray_frame(out, 0.4), *box) > 200
    assert region_mean(gray_frame(media["pgs"], 0.4), *box) < 200
    assert region_mean(gray_frame(out, 1.5), *box) == pytest.approx(
        region_mean(gray_frame(media["pgs"], 1.5), *box), abs=12)


async def test_text_subtitle_burn_in_respects_the_start(served, media, tmp_path):
    hub, base, http, ids = served
    item = await hub.library.get_item(ids["movie"])
    _, path, info = await hub.playback.item_source(ids["movie"])
    decision = Decision(method="transcode", profile="test", protocol="progressive", container="mp4", video="h264",
                        audio="copy", video_stream=0, audio_stream=1, subtitle_stream=2, subtitles="burn_in")
    plan = await hub.playback.plan(item, path, info, decision, start=4.0)
    _, _, body = await fetch(http, base + plan.url)
    out = save(tmp_path, "text_burnt.mp4", body)
    # "Five" shows at 5–6 s of the item: from picture 25 of a stream that starts at 4 s.

    def frame_at(seconds: float) -> int:
        return round((seconds - 4.0) * FPS)

    assert psnr(out, None, media["movie"], 4.5, a_frame=frame_at(4.5)) > 30  # no text at 4.5 s
    assert psnr(out, None, media["movie"], 5.5, a_frame=frame_at(5.5)) < 25  # text at 5.5 s
    assert psnr(out, None, media["movie"], 6.5, a_frame=frame_at(6.5)) > 30  # gone at 6.5 s


async def test_corrupt_and_truncated_files(served, media, tmp_path):
    hub, base, http, ids = served
    status, body = await create(http, base, ids["corrupt"], profile="desktop_browser")
    assert status == 422 and "cannot be played" in body["error"]
    status, body = await create(http, base, ids["truncated_mp4"], profile="desktop_browser")
    assert status == 422 and body["error"].endswith("corrupt or unsupported file: Invalid data found when processing input")
    # Half a Matroska file probes; the stream ends where the data does, and ffmpeg exits.
    status, plan = await create(http, base, ids["truncated_mkv"], profile="desktop_browser")
    assert status == 201
    status, _, data = await asyncio.wait_for(fetch(http, base + plan["url"]), 30)
    assert status == 200
    out = save(tmp_path, "half.mp4", data)
    assert 2.0 < float(ffprobe(out)["format"]["duration"]) < MOVIE_DURATION - 2
    assert hub.playback.get_session(plan["session_id"]).processes() == []
    # Unknown item, unknown profile.
    status, body = await create(http, base, 99999)
    assert status == 404 and body == {"error": "no media item with id 99999"}
    status, body = await create(http, base, ids["movie"], profile="toaster")
    assert status == 400 and "toaster" in body["error"]


async def test_ffmpeg_failing_before_the_first_byte_is_a_clear_error(served, media, tmp_path):
    hub, base, http, ids = served
    item = await hub.library.get_item(ids["movie"])
    _, path, info = await hub.playback.item_source(ids["movie"])
    decision = Decision(method="transcode", profile="test", protocol="progressive", container="mp4", video="h264",
                        audio="copy", video_stream=0, audio_stream=1)
    plan = await hub.playback.plan(item, path, info, decision)
    session = hub.playback.get_session(plan.session_id)
    session.plan.video_encoder = "no_such_encoder"
    status, headers, body = await fetch(http, base + plan.url)
    assert status == 500
    assert "no_such_encoder" in (await _json(body))["error"]
    assert ffmpeg.running() == []
    assert (await (await http.get(f"{base}/api/playback/sessions/{plan.session_id}")).json())["state"] == "error"


async def test_client_disconnect_ends_ffmpeg_at_once(served, media, tmp_path):
    hub, base, http, ids = served
    long = make_long(Path(media["movie"]).parent / "Long.Film.2022.mkv")
    try:
        await hub.library.scan()
        items, _ = await hub.library.list_items(text="Long.Film", limit=1)
        item = items[0]
        _, path, info = await hub.playback.item_source(item["id"])
        decision = Decision(method="transcode", profile="test", protocol="progressive", container="mp4", video="h264",
                            audio="aac", video_stream=0, audio_stream=1)
        plan = await hub.playback.plan(item, path, info, decision)
        session = hub.playback.get_session(plan.session_id)
        async with aiohttp.ClientSession() as client:
            resp = await client.get(base + plan.url)
            assert resp.status == 200
            first = await resp.content.read(4096)
            assert first[4:8] == b"ftyp"
            procs = session.processes()
            assert len(procs) == 1
            proc = procs[0]
            pid = proc.pid
            assert proc.returncode is None and os.path.exists(f"/proc/{pid}")
            resp.close()  # the client goes away mid-stream
        gone_at = None
        started = time.monotonic()
        while time.monotonic() - started < 5:
            if proc not in ffmpeg.running() and not os.path.exists(f"/proc/{pid}"):
                gone_at = time.monotonic() - started
                break
            await asyncio.sleep(0.05)
        assert gone_at is not None and gone_at < 2.0, "ffmpeg outlived its client"
        assert (proc.progress.out_time or 0) < 100  # ended early, not at the end of the item
        assert session.processes() == []
    finally:
        long.unlink(missing_ok=True)


async def test_unknown_session_is_404_everywhere(served):
    hub, base, http, ids = served
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/stream.mp4"), ("GET", "/master.m3u8"),
                         ("GET", "/media.m3u8"), ("GET", "/segments/0.ts"), ("GET", "/subtitles.vtt")):
        async with http.request(method, f"{base}/api/playback/sessions/nope{path}") as resp:
            assert resp.status == 404, path
            assert "no playback session 'nope'" in (await resp.json())["error"], path
    async with http.put(f"{base}/api/playback/sessions/nope/position", json={"position": 3}) as resp:
        assert resp.status == 404



@pytest.mark.browser
async def test_chromium_plays_transcoded_and_audio_only_streams(served, media):
    from .browser import chromium_page

    hub, base, http, ids = served
    _, video_plan = await create(http, base, ids["avi"], profile="desktop_browser", start=2.0)
    _, audio_plan = await create(http, base, ids["audio"], profile="desktop_browser")
    assert video_plan["decision"]["method"] == audio_plan["decision"]["method"] == "transcode"
    async with chromium_page() as (page, errors):
        await page.goto(base + "/")  # same origin as the streams
        for plan, tag in ((video_plan, "video"), (audio_plan, "audio")):
            await page.evaluate(
                """([url, tag]) => { const el = document.createElement(tag); el.id = 'probe-' + tag;
                     el.muted = true; el.src = url; document.body.append(el); el.play(); }""",
                [base + plan["url"], tag])
            await page.wait_for_function(f"() => document.getElementById('probe-{tag}').currentTime > 1.0",
                                         timeout=20_000)
            error = await page.evaluate(f"() => document.getElementById('probe-{tag}').error")
            assert error is None
        assert await page.evaluate("() => document.getElementById('probe-video').videoWidth") == 320
        assert errors == []


async def test_embedded_text_subtitle_travels_as_mov_text(served, media, tmp_path):
    hub, base, http, ids = served
    item = await hub.library.get_item(ids["movie"])
    _, path, info = await hub.playback.item_source(ids["movie"])
    decision = Decision(method="direct_stream", profile="test", protocol="progressive", container="mp4",
                        video="copy", audio="copy", video_stream=0, audio_stream=1, subtitle_stream=2,
                        subtitles="embed")
    plan = await hub.playback.plan(item, path, info, decision)
    assert plan.subtitles_url is None
    _, _, body = await fetch(http, base + plan.url)
    out = save(tmp_path, "embedded.mp4", body)
    streams = ffprobe(out)["streams"]
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [
        ("video", "h264"), ("audio", "aac"), ("subtitle", "mov_text")]
    # One, Five, Nine (mov_text fills the gaps between cues with empty, 2-byte samples).
    assert len([p for p in packets(out, "s:0") if int(p["size"]) > 2]) == 3
